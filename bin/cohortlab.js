#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli and is compiled to dist/ by `npm run build` (run by `npm pack` via
// `prepack`, by `npm test` via `pretest`, and by `npm run demo`; a fresh clone runs `npm run build` once).
import { main } from '../dist/cli/index.js';
process.exitCode = await main(process.argv.slice(2));
