import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { generateCommand } from '../../src/cli/generate.js';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { collectingLogger, silentLogger } from '../../src/shared/log.js';
import { writeSynthetic } from '../../src/synth/index.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'cohortlab-synth-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('writeSynthetic', () => {
  it('writes events.csv and events.parquet with the same rows, user ids as text', async () => {
    const dir = tempDir();
    const r = await writeSynthetic(dir, { users: 60, days: 60, seed: 4 }, { logger: silentLogger });
    const csvLines = readFileSync(join(dir, 'events.csv'), 'utf8').trim().split('\n').slice(1);
    expect(csvLines.length).toBe(r.events);
    const pq = join(dir, 'events.parquet');
    const types = await query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '${pq}')`);
    expect(types).toEqual([
      { column_name: 'user_id', column_type: 'VARCHAR' },
      { column_name: 'timestamp', column_type: 'TIMESTAMP' },
      { column_name: 'event', column_type: 'VARCHAR' },
      { column_name: 'session_id', column_type: 'VARCHAR' },
      { column_name: 'plan', column_type: 'VARCHAR' },
      { column_name: 'signup_at', column_type: 'TIMESTAMP' },
    ]);
    const rows = await query(
      `SELECT concat_ws(',', user_id, strftime(timestamp, '%Y-%m-%dT%H:%M:%SZ'), event, session_id, plan, strftime(signup_at, '%Y-%m-%dT%H:%M:%SZ')) AS line FROM '${pq}'`,
    );
    expect(rows.map((x) => x.line)).toEqual(csvLines);
  });

  it('writes truth.csv, truth.json and the synthetic config; same seed gives byte-identical files', async () => {
    const a = tempDir();
    const b = tempDir();
    const ra = await writeSynthetic(a, { users: 80, days: 70, seed: 21, horizonDays: 20 }, { parquet: false });
    await writeSynthetic(b, { users: 80, days: 70, seed: 21, horizonDays: 20 }, { parquet: false });
    for (const f of ['events.csv', 'truth.csv', 'truth.json', 'cohortlab.config.json']) {
      expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(a, 'truth.json'), 'utf8'))).toEqual({ as_of: '2026-02-19', horizon_days: 20 });
    expect(JSON.parse(readFileSync(join(a, 'cohortlab.config.json'), 'utf8'))).toEqual(SYNTHETIC_PRESET);
    const truth = readFileSync(join(a, 'truth.csv'), 'utf8').trim().split('\n');
    expect(truth[0]).toBe('user_id,latent_type,churn_probability,churned,churn_date,churn_at,plan,role,company_size,signup_at,alive_at_cutoff,p_upgrade,upgraded,upgrade_at');
    expect(truth.length).toBe(81);
    for (let i = 1; i < truth.length; i++) {
      const c = truth[i].split(',');
      expect(c[0]).toBe(ra.truth.userIds[i - 1]);
      expect(Number(c[2])).toBeCloseTo(ra.truth.churnProbability[i - 1], 5);
      expect(c[4]).toBe(Number.isNaN(ra.truth.churnMs[i - 1]) ? '' : new Date(ra.truth.churnMs[i - 1]).toISOString().slice(0, 10));
      expect(Number(c[11])).toBeCloseTo(ra.truth.upgradeProbability[i - 1], 5);
      expect(c[13]).toBe(Number.isNaN(ra.truth.upgradeMs[i - 1]) ? '' : new Date(ra.truth.upgradeMs[i - 1]).toISOString().replace('.000Z', 'Z'));
    }
  });
});

describe('cohortlab generate', () => {
  const ctx = (lines: string[]) => ({ logger: collectingLogger(), out: (t: string) => lines.push(t), cwd: process.cwd(), env: {} });

  it('rejects a bad number naming the flag and the value', async () => {
    const args = parseArgs(['--users', '12x', '--days', '90', '--seed', '1', '--out', tempDir()], generateCommand.options, 'generate');
    await expect(generateCommand.run(args, ctx([]))).rejects.toThrow(/--users must be an integer .* got "12x"/);
    const short = parseArgs(['--users', '10', '--days', '30', '--seed', '1', '--out', tempDir()], generateCommand.options, 'generate');
    await expect(generateCommand.run(short, ctx([]))).rejects.toThrow(/--days must be an integer between 58 and 3660, got "30"/);
  });

  it('generates and prints one summary line with counts, churn rate and files', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const args = parseArgs(['--users', '40', '--days', '60', '--seed', '2', '--out', dir, '--no-parquet'], generateCommand.options, 'generate');
    expect(await generateCommand.run(args, ctx(lines))).toBe(0);
    expect(lines).toHaveLength(1);
    const events = readFileSync(join(dir, 'events.csv'), 'utf8').trim().split('\n').length - 1;
    expect(lines[0]).toMatch(new RegExp(`^generated ${events.toLocaleString('en-US')} events for 40 users \\(power \\d+, regular \\d+, casual \\d+, declining \\d+, dormant \\d+, evaluator \\d+, team_champion \\d+\\); truth as of 2026-01-30 \\+ 30 days: churn rate \\d+\\.\\d%`));
  });
});
