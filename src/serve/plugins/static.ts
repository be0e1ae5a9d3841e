import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCompress from '@fastify/compress';
import fastifyStatic from '@fastify/static';
import { appWide } from './plugin.js';

/**
 * The explorer's files and vega, vega-lite and vega-embed from node_modules (no CDN), through
 * @fastify/static: ETag and Last-Modified, so a reload revalidates (304) instead of downloading the
 * 832 kB of vega again; and @fastify/compress (br, gzip) for them and for the API's answers.
 * The explorer's own files say `no-cache` (always revalidated: a new version is seen at once); vega's
 * may be kept a day (they change only with the installed package).
 */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const EXPLORER_DIR = join(PACKAGE_ROOT, 'explorer');
// explorer/src bundled by `npm run build` (explorer/build.js)
const EXPLORER_BUILD = join(PACKAGE_ROOT, 'dist', 'explorer');
const require = createRequire(import.meta.url);

/** The folder of an installed package (works whether it is hoisted or not). */
function packageDir(name: string): string {
  const main = require.resolve(name);
  const marker = `${join('node_modules', name)}`;
  return main.slice(0, main.lastIndexOf(marker) + marker.length);
}

const EXPLORER_FILES = new Set(['index.html', 'style.css', 'app.js', 'app.js.map']);
const VENDOR_FILES = new Set(['vega.min.js', 'vega-lite.min.js', 'vega-embed.min.js']);
// Only these files, whatever else the folders hold (vega's build folder has sources and maps).
const only = (files: Set<string>) => (path: string) => files.has(path.replace(/^\//, ''));

export const staticPlugin = appWide(async (app) => {
  // Answers under 1 kB are sent as they are (the compressed form would not be smaller).
  await app.register(fastifyCompress, { global: true, threshold: 1024, encodings: ['br', 'gzip'] });
  await app.register(fastifyStatic, {
    // index.html and style.css as written; app.js as built
    root: [EXPLORER_DIR, EXPLORER_BUILD],
    prefix: '/explorer/',
    allowedPath: only(EXPLORER_FILES),
    cacheControl: false,
    setHeaders: (res) => res.setHeader('cache-control', 'no-cache'),
  });
  await app.register(fastifyStatic, {
    root: ['vega', 'vega-lite', 'vega-embed'].map((p) => join(packageDir(p), 'build')),
    prefix: '/vendor/',
    decorateReply: false,
    allowedPath: only(VENDOR_FILES),
    maxAge: '1d',
  });
  app.get('/', (_req, reply) => reply.header('cache-control', 'no-cache').sendFile('index.html', EXPLORER_DIR, { cacheControl: false }));
  app.get('/favicon.ico', async (_req, reply) => reply.status(204).send());
});
