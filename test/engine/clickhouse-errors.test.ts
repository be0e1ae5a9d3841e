import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClickHouse, type ClickHouse } from '../../src/engine/clickhouse.js';
import { CohortlabError } from '../../src/shared/errors.js';
import { clickhouseUrls } from './clickhouse-helper.js';

const urls = await clickhouseUrls();

/** A query ClickHouse fails is ENGINE_FAILED (internal, exit 1): the SQL only in `detail` (the log), never in the message. */
describe.skipIf(!urls)('ClickHouse failures', () => {
  let ch: ClickHouse;
  beforeAll(async () => {
    ch = await openClickHouse({ url: urls!.single });
  });
  afterAll(() => ch?.close());

  it('a failed query names the server and the error, with the query kept apart for the log', async () => {
    const e = (await ch.query("SELECT throwIf(1) AS secret_column_name").catch((x: unknown) => x)) as CohortlabError;
    expect(e).toBeInstanceOf(CohortlabError);
    expect(e.code).toBe('ENGINE_FAILED');
    expect(e.status).toBe(502);
    expect(e.message).toMatch(/^ClickHouse at http:\/\/\S+ failed: Code: \d+/);
    expect(e.message).not.toContain('secret_column_name');
    expect(e.detail).toContain('SELECT throwIf(1) AS secret_column_name');
  });
});
