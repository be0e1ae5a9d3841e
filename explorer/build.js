// Bundles the explorer's TypeScript (explorer/src, type-checked by `tsc -p explorer/tsconfig.json` first in
// `npm run build`) into one ES module, dist/explorer/app.js, served at /explorer/app.js.
import { build } from 'esbuild';

await build({
  entryPoints: ['explorer/src/main.ts'],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: 'dist/explorer/app.js',
  logLevel: 'warning',
});
