import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModelStore } from '../../src/registry/index.js';
import { buildApp, createProvider } from '../../src/serve/index.js';
import { trainedFixture } from './helper.js';

describe('GET /v1/charts caching', () => {
  it('answers 304 to a revalidation with its ETag, and a new ETag once another version is loaded', async () => {
    const fx = await trainedFixture();
    const dir = join(await mkdtemp(join(tmpdir(), 'cl-etag-')), 'models');
    await cp(fx.modelsDir, dir, { recursive: true });
    const app = await buildApp({ provider: await createProvider('default', openModelStore(dir)) });
    try {
      const first = await app.inject({ url: '/v1/charts' });
      expect(first.statusCode).toBe(200);
      const tag = first.headers.etag as string;
      expect(tag).toMatch(/^"charts-[a-z0-9]+-\d+"$/);
      expect(first.headers['cache-control']).toBe('no-cache');
      const again = await app.inject({ url: '/v1/charts', headers: { 'if-none-match': tag } });
      expect(again.statusCode).toBe(304);
      expect(again.body).toBe('');
      expect((await app.inject({ url: '/v1/charts', headers: { 'if-none-match': '"charts-other-1"' } })).statusCode).toBe(200);
      // a reload loads the version again: its charts are rebuilt, the old ETag no longer matches
      expect((await app.inject({ method: 'POST', url: '/v1/models/reload' })).statusCode).toBe(200);
      const after = await app.inject({ url: '/v1/charts', headers: { 'if-none-match': tag } });
      expect(after.statusCode).toBe(200);
      expect(after.headers.etag).not.toBe(tag);
      expect(after.json()).toEqual(first.json());
    } finally {
      await app.close();
    }
  }, 120_000);
});
