import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { generateCommand } from '../../src/cli/generate.js';
import { collectingLogger } from '../../src/shared/log.js';
import { createRng } from '../../src/shared/rng.js';
import {
  LATENT_TYPES, churnProbability, drawMovementPlan, drawUser, expectOverMoves, generateSynthetic, latentTypesAt, moveScenarios,
  readMovementCsv, scheduledMoveDay, withMove, writeSynthetic, type MovementPlan, type MovementRecord, type SynthParams,
} from '../../src/synth/index.js';
import { createSimContext, createSimScratch, simulateUser } from '../../src/synth/simulate.js';
import { upgradeProbability } from '../../src/synth/upgrade.js';

const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'cohortlab-movement-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function run(p: Partial<SynthParams> & Pick<SynthParams, 'users' | 'days' | 'seed'>) {
  const chunks: string[] = [];
  const result = generateSynthetic(p, (t) => chunks.push(t));
  return { result, text: chunks.join('') };
}

/** Event lines per user (header dropped), in file order. */
function linesByUser(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const u = lines[i].slice(0, lines[i].indexOf(','));
    if (!out.has(u)) out.set(u, []);
    out.get(u)!.push(lines[i]);
  }
  return out;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** Two-sided 99% normal quantile. */
const Z99 = 2.5758;

describe('generate without the new flags', () => {
  it('writes files byte-identical to the generator before movement and shift existed', async () => {
    // sha256 of the files of writeSynthetic(dir, { users: 300, days: 120, seed: 21 }, { parquet: false }) at main
    // commit ac4bb74 (before issue 21 part 6), printed by `sha256sum events.csv truth.csv truth.json`.
    const dir = tempDir();
    await writeSynthetic(dir, { users: 300, days: 120, seed: 21 }, { parquet: false });
    expect(sha(join(dir, 'events.csv'))).toBe('09e80285824ac7f2e9406e5267cb0fec29ba489f4bdadde2a87cf0b9541d6a23');
    expect(sha(join(dir, 'truth.csv'))).toBe('7affa2fb1d935ca7855fb8f4bb2fea5841fe9c80453f67e372d6789665f1cdd2');
    expect(sha(join(dir, 'truth.json'))).toBe('a79937214b4ca834949688656e1318d4509f33631c6814c0036d4332bcd2bbd4');
  });
});

describe('generate --movement', () => {
  const RATE = 0.1;
  const DAYS = 180;
  const base = run({ users: 3000, days: DAYS, seed: 7 });
  const moved = run({ users: 3000, days: DAYS, seed: 7, movementRate: RATE });
  const { truth } = moved.result;
  const records = moved.result.movement!.records;
  const movedAt = new Map(records.map((r) => [r.userId, r.movedAtMs]));

  it('moves only regular and power users, once, to declining, at midnight inside the data', () => {
    expect(moved.result.movement!.rate).toBe(RATE);
    expect(records.length).toBeGreaterThan(200);
    expect(new Set(records.map((r) => r.userId)).size).toBe(records.length);
    const typeOf = new Map(truth.userIds.map((u, i) => [u, LATENT_TYPES[truth.typeCode[i]]]));
    for (const r of records) {
      expect(['regular', 'power']).toContain(r.fromType);
      expect(r.fromType).toBe(typeOf.get(r.userId));
      expect(r.toType).toBe('declining');
      expect(r.movedAtMs % DAY).toBe(0);
      expect(r.movedAtMs).toBeGreaterThanOrEqual(START);
      expect(r.movedAtMs).toBeLessThan(START + DAYS * DAY);
    }
  });

  it('leaves every row of a user identical until its move day (own random stream), and non-movers entirely', () => {
    const a = linesByUser(base.text);
    const b = linesByUser(moved.text);
    let movers = 0;
    let changed = 0;
    for (const [u, rows] of a) {
      const m = movedAt.get(u);
      const other = b.get(u)!;
      if (m === undefined) {
        expect(other, u).toEqual(rows);
        continue;
      }
      movers++;
      const before = (xs: string[]) => xs.filter((l) => Date.parse(l.split(',')[1]) < m);
      expect(before(other), u).toEqual(before(rows));
      if (other.length !== rows.length) changed++;
    }
    expect(movers).toBe(records.length);
    expect(changed).toBeGreaterThan(0.9 * movers);
  });

  it('moves RATE of the eligible regular (and power) users per 30 days: binomial 99% interval', () => {
    // Eligible in period k: signed up before it, not cancelled before it, not moved before it. A user who cancels
    // between the period start and its drawn day never moves: about 0.5% of the coins for regular users (hazard
    // ~0.0004/day over 15 days on average), 0.05 points of RATE, well inside the interval.
    for (const type of ['regular', 'power']) {
      let eligible = 0;
      let moves = 0;
      const perPeriod: string[] = [];
      for (let k = 0; k * 30 < DAYS; k++) {
        const p0 = START + k * 30 * DAY;
        const p1 = p0 + 30 * DAY;
        let e = 0;
        let m = 0;
        for (let i = 0; i < truth.userIds.length; i++) {
          if (LATENT_TYPES[truth.typeCode[i]] !== type || truth.signupMs[i] >= p0 || truth.churnMs[i] < p0) continue;
          const at = movedAt.get(truth.userIds[i]);
          if (at !== undefined && at < p0) continue;
          e++;
          if (at !== undefined && at < p1) m++;
        }
        eligible += e;
        moves += m;
        perPeriod.push(`${m}/${e}`);
      }
      const share = moves / eligible;
      const half = Z99 * Math.sqrt((RATE * (1 - RATE)) / eligible);
      expect(eligible, type).toBeGreaterThan(type === 'regular' ? 1500 : 600);
      expect(Math.abs(share - RATE), `${type}: ${moves}/${eligible} = ${share.toFixed(4)} per period (${perPeriod.join(', ')}), 99% half-width ${half.toFixed(4)}`).toBeLessThan(half);
    }
  });

  it("halves a mover's weekly sessions 4-5 weeks after the move, while non-movers of the same types keep theirs", () => {
    const sessions = linesByUser(moved.text);
    const count = (rows: string[], from: number, to: number) =>
      rows.reduce((n, l) => {
        const c = l.split(',');
        const t = Date.parse(c[1]);
        return n + (c[2] === 'app_opened' && t >= from && t < to ? 1 : 0);
      }, 0);
    const ratio = (pick: (i: number) => number | undefined) => {
      let before = 0;
      let after = 0;
      let n = 0;
      for (let i = 0; i < truth.userIds.length; i++) {
        const m = pick(i);
        if (m === undefined || m - 7 * DAY < START || m + 35 * DAY > START + DAYS * DAY) continue;
        if (truth.signupMs[i] >= m - 7 * DAY || truth.churnMs[i] < m + 35 * DAY) continue; // both weeks observed, still a customer
        const rows = sessions.get(truth.userIds[i]) ?? [];
        before += count(rows, m - 7 * DAY, m);
        after += count(rows, m + 28 * DAY, m + 35 * DAY);
        n++;
      }
      return { n, ratio: after / before };
    };
    const movers = ratio((i) => movedAt.get(truth.userIds[i]));
    // Non-movers of the movable types over the same calendar weeks as the movers (a mover's date, by index).
    const dates = records.map((r) => r.movedAtMs);
    const controls = ratio((i) => (['regular', 'power'].includes(LATENT_TYPES[truth.typeCode[i]]) && !movedAt.has(truth.userIds[i]) ? dates[i % dates.length] : undefined));
    expect(movers.n).toBeGreaterThan(80);
    expect(controls.n).toBeGreaterThan(200);
    // Decline progress 4.5 weeks into a 5-9 week decline is about 0.65: active days x (1 - 0.7 x 0.65) = 0.55.
    expect(movers.ratio).toBeLessThan(0.7);
    expect(movers.ratio).toBeGreaterThan(0.35);
    expect(controls.ratio).toBeGreaterThan(0.9);
    expect(controls.ratio).toBeLessThan(1.1);
  });

  it('keeps the label at the rate its (mixed) true probability says, and raises churn over the run without movement', () => {
    let n = 0;
    let realized = 0;
    let expected = 0;
    let variance = 0;
    for (let i = 0; i < truth.userIds.length; i++) {
      if (!truth.aliveAtCutoff[i] || !['regular', 'power'].includes(LATENT_TYPES[truth.typeCode[i]])) continue;
      n++;
      realized += truth.churned[i];
      const p = truth.churnProbability[i];
      expected += p;
      variance += p * (1 - p);
    }
    expect(n).toBeGreaterThan(400);
    expect(Math.abs(realized - expected), `realized ${realized}, expected ${expected.toFixed(1)} of ${n}`).toBeLessThan(3.5 * Math.sqrt(variance));
    expect(moved.result.meanChurnProbability).toBeGreaterThan(base.result.meanChurnProbability + 0.02);
  });

  it('latentTypesAt gives the start types before any move and every move applied at the end', () => {
    const start = latentTypesAt(truth, records, START - 1);
    expect(start).toEqual(Array.from(truth.typeCode, (c) => LATENT_TYPES[c]));
    const end = latentTypesAt(truth, records, START + DAYS * DAY);
    const count = (xs: string[], t: string) => xs.filter((x) => x === t).length;
    expect(count(end, 'declining')).toBe(count(start, 'declining') + records.length);
    expect(count(end, 'regular') + count(end, 'power')).toBe(count(start, 'regular') + count(start, 'power') - records.length);
    // On the move day itself the user is declining already; the day before it is not.
    const r = records[0];
    const i = truth.userIds.indexOf(r.userId);
    expect(latentTypesAt(truth, records, r.movedAtMs)[i]).toBe('declining');
    expect(latentTypesAt(truth, records, r.movedAtMs - 1)[i]).toBe(r.fromType);
  });
});

describe('latentTypesAt', () => {
  const truth = { userIds: ['u1', 'u2', 'u3'], typeCode: Uint8Array.from([1, 0, 2]) }; // regular, power, casual
  const t = (d: string) => Date.parse(`${d}T00:00:00Z`);
  const moves: MovementRecord[] = [
    { userId: 'u2', fromType: 'power', toType: 'declining', movedAtMs: t('2026-02-10') },
    { userId: 'u1', fromType: 'regular', toType: 'declining', movedAtMs: t('2026-01-20') },
  ];

  it('applies the moves dated at or before the date, in time order', () => {
    expect(latentTypesAt(truth, moves, t('2026-01-19'))).toEqual(['regular', 'power', 'casual']);
    expect(latentTypesAt(truth, moves, t('2026-01-20'))).toEqual(['declining', 'power', 'casual']);
    expect(latentTypesAt(truth, moves, t('2026-03-01'))).toEqual(['declining', 'declining', 'casual']);
  });

  it('names the user when a move does not start from its type, or the user is unknown', () => {
    expect(() => latentTypesAt(truth, [{ userId: 'u3', fromType: 'regular', toType: 'declining', movedAtMs: 0 }], 1)).toThrow(/user "u3" moves it from regular but it is casual/);
    expect(() => latentTypesAt(truth, [{ userId: 'u9', fromType: 'regular', toType: 'declining', movedAtMs: 0 }], 1)).toThrow(/user "u9" names a user the truth does not have/);
  });
});

describe('moveScenarios', () => {
  const world = { days: 120, cutDay: 75, startDow: 4 };
  let u = drawUser(0, world, createRng(1));
  for (let s = 2; !(u.type === 'regular' && u.signupDay < 0); s++) u = drawUser(0, world, createRng(s));
  const plan: MovementPlan = { dayByPeriod: Int32Array.from([-1, -1, -1, -1]), declineDays: 49, downgrade: false, downgradeAt: 0.4 };

  it('weights the rest of the cutoff period by RATE/30 over the chance of no move so far, later periods by RATE/30', () => {
    // Cutoff day 75, inside period [60, 90): 15 days passed without a move.
    const s = moveScenarios(u, plan, 0.3, { cutDay: 75, endDay: 105 });
    const q = 0.01 / (1 - 0.01 * 15);
    expect(s[0]).toEqual({ day: 75, weight: q });
    expect(s[14].day).toBe(89);
    expect(s[14].weight).toBeCloseTo(q, 15);
    const noMoveInPeriod = 1 - 15 * q; // = 0.7 / 0.85
    expect(s[15].day).toBe(90);
    expect(s[15].weight).toBeCloseTo(noMoveInPeriod * 0.01, 15);
    expect(s).toHaveLength(31);
    expect(s[30].day).toBe(Infinity);
    expect(s[30].weight).toBeCloseTo(noMoveInPeriod * (1 - 15 * 0.01), 12);
    expect(s.reduce((a, x) => a + x.weight, 0)).toBeCloseTo(1, 12);
  });

  it('is certain for a user moved before the cutoff and empty of moves for a type that cannot move', () => {
    const early = { ...plan, dayByPeriod: Int32Array.from([-1, 40, -1, -1]) };
    expect(moveScenarios(u, early, 0.3, { cutDay: 75, endDay: 105 })).toEqual([{ day: 40, weight: 1 }]);
    let c = drawUser(0, world, createRng(1));
    for (let s = 2; c.type !== 'casual'; s++) c = drawUser(0, world, createRng(s));
    expect(moveScenarios(c, plan, 0.3, { cutDay: 75, endDay: 105 })).toEqual([{ day: Infinity, weight: 1 }]);
  });
});

describe('truth for movers', () => {
  it('equals the label and upgrade frequencies of many simulations with fresh movement coins (Monte Carlo, 3.5 standard errors)', () => {
    const days = 105;
    const horizon = 30;
    const cutDay = days - horizon; // day 75, halfway through the period [60, 90)
    const RATE = 0.8; // high, so that the moves still possible in the window change the truth by more than the tolerance
    const world = { days, cutDay, startDow: 4 };
    const W = { cutDay, endDay: days, inactivityDays: 21 };
    const ctx = createSimContext(START, days, days - 21);
    const scratch = createSimScratch();
    const affinity = 1.5;
    const cases: [string, (u: ReturnType<typeof drawUser>) => boolean, number][] = [
      // not moved at the cutoff: the truth mixes over the moves still possible in the window
      ['regular, not moved yet', (u) => u.type === 'regular' && u.signupDay < 0 && u.plan0 === 'basic', Infinity],
      ['power, not moved yet', (u) => u.type === 'power' && u.signupDay < 0, Infinity],
      // moved 20 days before the cutoff: mid-decline, a certain scenario
      ['regular moved on day 55', (u) => u.type === 'regular' && u.signupDay < 0, 55],
    ];
    for (const [name, ok, movedDay] of cases) {
      let u = drawUser(0, world, createRng(1));
      for (let s = 2; !ok(u); s++) u = drawUser(0, world, createRng(s));
      const hidden = drawMovementPlan(99, u, days, RATE);
      // The latent state at the cutoff: coins that moved the user on movedDay, or none before the cutoff.
      const known: MovementPlan = { ...hidden, dayByPeriod: Int32Array.from([-1, movedDay === Infinity ? -1 : movedDay, -1, -1]) };
      const p = expectOverMoves(u, known, RATE, W, (v) => churnProbability(v, W));
      const pUp = expectOverMoves(u, known, RATE, W, (v) => upgradeProbability(v, affinity, W));
      let alive = 0;
      let churned = 0;
      let eligibleUp = 0;
      let upgraded = 0;
      for (let r = 0; r < 6000; r++) {
        const coins = createRng(5000 + r);
        // Fresh coins for the periods the cutoff does not settle, the decline itself (length, downgrade) fixed: it is
        // a hidden parameter. The coins of periods 0 and 1 are known at the cutoff (tails, or the move on movedDay);
        // the coin of period 2 is drawn and the runs that moved before the cutoff are rejected (conditioning).
        const dayByPeriod = Int32Array.from([0, 1, 2, 3], (k) => (coins.next() < RATE ? 30 * k + coins.int(30) : -1));
        dayByPeriod.set([-1, movedDay === Infinity ? -1 : movedDay], 0);
        const plan = { ...hidden, dayByPeriod };
        const m = scheduledMoveDay(u, plan);
        if (movedDay === Infinity ? m < cutDay : m !== movedDay) continue; // condition on the latent state at the cutoff
        const up = { rng: createRng(90_000 + r), affinity, day: -1, sec: -1 };
        const o = simulateUser(withMove(u, m, plan), 'u1', '2025-01-01T00:00:00Z', ctx, scratch, createRng(1000 + r), () => {}, up);
        if (o.churnDay >= 0 && o.churnDay < cutDay) continue;
        alive++;
        if (o.churnDay >= cutDay || !o.activeInLabelWindow) churned++;
        if (up.day >= 0 && up.day < cutDay) continue;
        eligibleUp++;
        if (up.day >= cutDay) upgraded++;
      }
      const se = Math.sqrt((p * (1 - p)) / alive);
      const seUp = Math.sqrt((pUp * (1 - pUp)) / eligibleUp);
      expect(alive, name).toBeGreaterThan(1000);
      expect(Math.abs(churned / alive - p), `${name}: churn p=${p} freq=${churned / alive} (${alive})`).toBeLessThan(3.5 * se);
      expect(Math.abs(upgraded / eligibleUp - pUp), `${name}: upgrade p=${pUp} freq=${upgraded / eligibleUp} (${eligibleUp})`).toBeLessThan(3.5 * seUp);
      if (movedDay === Infinity) {
        // The mixture matters: the truth that ignored the possible moves would fail this check.
        expect(Math.abs(churned / alive - churnProbability(u, W)), name).toBeGreaterThan(3.5 * se);
      }
    }
  });
});

describe('generate --shift-after', () => {
  const DAYS = 120;
  const SHIFT = '2026-03-02'; // day 60
  const shiftMs = Date.parse(`${SHIFT}T00:00:00Z`);
  const base = run({ users: 2000, days: DAYS, seed: 3 });
  const shifted = run({ users: 2000, days: DAYS, seed: 3, shiftAfter: SHIFT });

  it('records the shift with the default factor 0.5 and leaves every row before the date identical', () => {
    expect(shifted.result.shift).toEqual({ after: SHIFT, factor: 0.5 });
    expect(base.result.shift).toBeUndefined();
    const a = linesByUser(base.text);
    const b = linesByUser(shifted.text);
    for (const [u, rows] of a) {
      const before = (xs: string[]) => xs.filter((l) => Date.parse(l.split(',')[1]) < shiftMs);
      expect(before(b.get(u) ?? []), u).toEqual(before(rows)); // a user may have no rows at all (a quiet dormant one)
    }
  });

  it('halves mean weekly events per user after the date (99% interval of the ratio)', () => {
    // Users signed up before the shift; events per user-week in the 8 weeks after it, in both runs.
    const perUser = (text: string) => {
      const m = new Map<string, number>();
      for (const [u, rows] of linesByUser(text)) {
        m.set(u, rows.filter((l) => {
          const t = Date.parse(l.split(',')[1]);
          return t >= shiftMs && t < shiftMs + 56 * DAY;
        }).length / 8);
      }
      return m;
    };
    const a = perUser(base.text);
    const b = perUser(shifted.text);
    const ids = base.result.truth.userIds.filter((_, i) => base.result.truth.signupMs[i] < shiftMs);
    const xs = ids.map((u) => a.get(u) ?? 0);
    const ys = ids.map((u) => b.get(u) ?? 0);
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const vari = (v: number[], mu: number) => v.reduce((s, x) => s + (x - mu) ** 2, 0) / (v.length - 1);
    const mx = mean(xs);
    const my = mean(ys);
    const ratio = my / mx;
    // Delta method for a ratio of means, the two runs taken as independent (they share users, so this is wide).
    const se = ratio * Math.sqrt(vari(xs, mx) / (xs.length * mx * mx) + vari(ys, my) / (ys.length * my * my));
    expect(ids.length).toBeGreaterThan(1000);
    expect(se).toBeLessThan(0.05);
    expect(Math.abs(ratio - 0.5), `ratio ${ratio.toFixed(3)} ± ${(Z99 * se).toFixed(3)}`).toBeLessThan(Z99 * se);
  });

  it('keeps the truth exact: realized labels match the true probabilities with a shift inside the label window', () => {
    const r = run({ users: 2000, days: 90, seed: 4, shiftAfter: '2026-03-15', shiftFactor: 0.3 });
    const base90 = run({ users: 2000, days: 90, seed: 4 });
    const t = r.result.truth;
    let n = 0;
    let realized = 0;
    let expected = 0;
    let variance = 0;
    for (let i = 0; i < t.userIds.length; i++) {
      if (!t.aliveAtCutoff[i]) continue;
      n++;
      realized += t.churned[i];
      expected += t.churnProbability[i];
      variance += t.churnProbability[i] * (1 - t.churnProbability[i]);
    }
    expect(Math.abs(realized - expected), `realized ${realized}, expected ${expected.toFixed(1)} of ${n}`).toBeLessThan(3.5 * Math.sqrt(variance));
    // Fewer active days in the last 21 days of the horizon: more users silent, a higher true label rate.
    expect(r.result.meanChurnProbability).toBeGreaterThan(base90.result.meanChurnProbability + 0.02);
  });
});

describe('cohortlab generate --movement / --shift-after', () => {
  const ctx = (lines: string[]) => ({ logger: collectingLogger(), out: (t: string) => lines.push(t), cwd: process.cwd(), env: {} });

  it('writes truth-movement.csv, the movement and shift in truth.json and the report line', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const args = parseArgs(['--users', '600', '--days', '120', '--seed', '2', '--out', dir, '--no-parquet', '--movement', '0.2', '--shift-after', '2026-04-01', '--shift-factor', '0.4'], generateCommand.options, 'generate');
    expect(await generateCommand.run(args, ctx(lines))).toBe(0);
    const moves = readMovementCsv(join(dir, 'truth-movement.csv'));
    expect(readFileSync(join(dir, 'truth-movement.csv'), 'utf8').split('\n')[0]).toBe('user_id,from_type,to_type,moved_at');
    expect(moves.length).toBeGreaterThan(10);
    const regular = moves.filter((m) => m.fromType === 'regular').length;
    expect(lines[0]).toContain(`; movement 0.2 per 30 days: ${moves.length} moved to declining (power ${moves.length - regular}, regular ${regular}); shift from 2026-04-01: expected sessions per day x 0.4; `);
    expect(JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'))).toEqual({
      as_of: '2026-03-31', horizon_days: 30,
      movement: { rate: 0.2, period_days: 30, from: ['regular', 'power'], to: 'declining' },
      shift: { after: '2026-04-01', factor: 0.4 },
    });
    const again = tempDir();
    await generateCommand.run(parseArgs(['--users', '600', '--days', '120', '--seed', '2', '--out', again, '--no-parquet', '--movement', '0.2', '--shift-after', '2026-04-01', '--shift-factor', '0.4'], generateCommand.options, 'generate'), ctx([]));
    for (const f of ['events.csv', 'truth.csv', 'truth-movement.csv']) expect(sha(join(again, f)), f).toBe(sha(join(dir, f)));
  });

  it('names the bad value and the fix', async () => {
    const go = (extra: string[]) => generateCommand.run(parseArgs(['--users', '10', '--days', '90', '--seed', '1', '--out', tempDir(), '--no-parquet', ...extra], generateCommand.options, 'generate'), ctx([]));
    await expect(go(['--movement', '1.5'])).rejects.toThrow(/movement rate 1.5 is not valid: give a probability per 30 days from 0 to 1/);
    await expect(go(['--movement', 'lots'])).rejects.toThrow(/--movement must be a number, got "lots"/);
    await expect(go(['--shift-after', '2026-06-01'])).rejects.toThrow(/shift date "2026-06-01" is not a day after the first day of data \(2026-01-01\) and at most its last \(2026-03-31\)/);
    await expect(go(['--shift-factor', '0.5'])).rejects.toThrow(/--shift-factor needs --shift-after/);
    await expect(go(['--shift-after', '2026-02-01', '--shift-factor', '0'])).rejects.toThrow(/shift factor 0 is not valid: give a number above 0 and at most 3/);
  });
});
