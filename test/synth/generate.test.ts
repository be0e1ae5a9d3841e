import { describe, expect, it } from 'vitest';
import { SYNTHETIC_PRESET } from '../../src/ingest/presets.js';
import { createRng } from '../../src/shared/rng.js';
import {
  LATENT_TYPES, TYPE_PROFILES, churnProbability, drawUser, generateSynthetic, userId, userSeed, validateSynthParams, type SynthResult,
} from '../../src/synth/index.js';
import { createSimContext, createSimScratch, simulateUser } from '../../src/synth/simulate.js';

/** Runs the generator into memory; rows parsed into parallel arrays (small runs only). */
function run(users: number, days: number, seed: number, horizonDays = 30) {
  const chunks: string[] = [];
  const result = generateSynthetic({ users, days, seed, horizonDays }, (t) => chunks.push(t));
  const text = chunks.join('');
  return { result, text };
}

interface Rows { user: string[]; ms: number[]; event: string[] }
function parse(text: string): Rows {
  const lines = text.split('\n');
  const rows: Rows = { user: [], ms: [], event: [] };
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const c = lines[i].split(',');
    rows.user.push(c[0]);
    rows.ms.push(Date.parse(c[1]));
    rows.event.push(c[2]);
  }
  return rows;
}

const DAY = 86_400_000;

describe('generateSynthetic determinism', () => {
  it('gives byte-identical events for the same seed and different events for another seed', () => {
    const a = run(120, 60, 11).text;
    const b = run(120, 60, 11).text;
    const c = run(120, 60, 12).text;
    expect(a.length).toBeGreaterThan(10_000);
    expect(a === b).toBe(true);
    expect(a === c).toBe(false);
  });

  it('writes the contract header and ISO 8601 UTC timestamps, zero-padded text user ids', () => {
    const { text } = run(5, 60, 3);
    const lines = text.split('\n');
    expect(lines[0]).toBe('user_id,timestamp,event,session_id,plan,signup_at');
    expect(lines[1]).toMatch(/^u00000[1-5],\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z,app_opened,u00000[1-5]-1,(free|trial|basic|pro|enterprise),\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(userId(122, 5000)).toBe('u000123');
    expect(userId(0, 12_000_000)).toBe('u00000001');
  });
});

describe('generateSynthetic against its known truth', () => {
  // One medium run shared by the checks below (about 0.5M events, no files).
  const { result, text } = run(3000, 90, 5);
  const rows = parse(text);
  const { truth } = result;

  it('mixes the latent types in the profile shares', () => {
    for (const t of LATENT_TYPES) {
      expect(Math.abs(result.typeCounts[t] / 3000 - TYPE_PROFILES[t].share), t).toBeLessThan(0.025);
    }
  });

  it('uses only event names of the synthetic preset taxonomy, and each of them', () => {
    const tax = SYNTHETIC_PRESET.taxonomy;
    const allowed = new Set(Object.values(tax).flat());
    const seen = new Set(rows.event);
    for (const e of seen) expect(allowed.has(e), e).toBe(true);
    for (const e of allowed) expect(seen.has(e), e).toBe(true);
    for (const m of SYNTHETIC_PRESET.activation.milestones) expect(seen.has(m.event)).toBe(true);
  });

  it('ends every churner with its cancellation, at churn_at, with no later event', () => {
    const last = new Map<string, { ms: number; event: string }>();
    const cancels = new Map<string, number>();
    let outOfOrder = 0;
    for (let i = 0; i < rows.user.length; i++) {
      const prev = last.get(rows.user[i]);
      if (prev && rows.ms[i] < prev.ms) outOfOrder++; // time order within a user
      last.set(rows.user[i], { ms: rows.ms[i], event: rows.event[i] });
      if (rows.event[i] === 'cancelled_subscription') cancels.set(rows.user[i], (cancels.get(rows.user[i]) ?? 0) + 1);
    }
    expect(outOfOrder).toBe(0);
    let churners = 0;
    for (let i = 0; i < truth.userIds.length; i++) {
      const id = truth.userIds[i];
      if (Number.isNaN(truth.churnMs[i])) {
        expect(cancels.has(id)).toBe(false);
        continue;
      }
      churners++;
      expect(cancels.get(id)).toBe(1);
      expect(last.get(id)).toEqual({ ms: truth.churnMs[i], event: 'cancelled_subscription' });
    }
    expect(churners).toBeGreaterThan(300);
  });

  it('realizes the label at the rate its true probability says', () => {
    let n = 0;
    let realized = 0;
    let expected = 0;
    let variance = 0;
    for (let i = 0; i < truth.userIds.length; i++) {
      if (!truth.aliveAtCutoff[i]) {
        continue;
      }
      n++;
      realized += truth.churned[i];
      const p = truth.churnProbability[i];
      expected += p;
      variance += p * (1 - p);
    }
    const se = Math.sqrt(variance) / n;
    expect(n).toBeGreaterThan(1500);
    expect(Math.abs(realized / n - expected / n)).toBeLessThan(4 * se);
    expect(result.churnRate).toBeCloseTo(realized / n, 12);
    // Users who cancelled before the cutoff carry probability 1 and label 1.
    for (let i = 0; i < truth.userIds.length; i++) {
      if (truth.churnMs[i] < result.cutoffMs) {
        expect(truth.churnProbability[i]).toBe(1);
        expect(truth.churned[i]).toBe(1);
      }
    }
  });

  it('makes declining users risky and power users safe', () => {
    const mean = (t: string) => {
      let s = 0;
      let n = 0;
      for (let i = 0; i < truth.userIds.length; i++) {
        if (truth.aliveAtCutoff[i] && LATENT_TYPES[truth.typeCode[i]] === t) {
          s += truth.churnProbability[i];
          n++;
        }
      }
      return s / n;
    };
    expect(mean('declining')).toBeGreaterThan(0.35); // some are not declining yet at the cutoff
    expect(mean('evaluator')).toBeGreaterThan(0.5);
    expect(mean('power')).toBeLessThan(0.05);
    expect(mean('team_champion')).toBeLessThan(0.05);
  });

  it('puts the truth window at the end of the data', () => {
    expect(result.asOf).toBe('2026-03-01'); // 90 days from 2026-01-01: last day 2026-03-31, minus 30
    expect(result.cutoffMs).toBe(Date.parse('2026-03-02T00:00:00Z'));
    const maxMs = Math.max(...rows.ms.slice(0, 50_000));
    expect(maxMs).toBeLessThan(Date.parse('2026-04-01T00:00:00Z'));
  });
});

describe('declining users', () => {
  it('use the product less, more narrowly and with more tickets at the end of their decline than in the week before it', () => {
    const days = 150;
    const seed = 9;
    const { result, text } = run(1500, days, seed);
    const rows = parse(text);
    const startMs = Date.parse('2026-01-01T00:00:00Z');
    const world = { days, cutDay: days - 30, startDow: new Date(startMs).getUTCDay() };
    // The hidden decline of every declining user, redrawn from its own seed as the generator does.
    const windows = new Map<string, { early: [number, number]; late: [number, number] }>();
    for (let i = 0; i < result.truth.userIds.length; i++) {
      if (LATENT_TYPES[result.truth.typeCode[i]] !== 'declining') continue;
      const u = drawUser(i, world, createRng(userSeed(seed, i)));
      const from = Math.floor(u.phaseStart);
      const to = Math.floor(u.phaseStart + u.phaseDays);
      const churn = result.truth.churnMs[i];
      if (from - 7 < 0 || to > days || churn < startMs + to * DAY) continue; // both weeks observed, still a customer
      windows.set(result.truth.userIds[i], { early: [startMs + (from - 7) * DAY, startMs + from * DAY], late: [startMs + (to - 7) * DAY, startMs + to * DAY] });
    }
    const early = { sessions: 0, trouble: 0 };
    const late = { sessions: 0, trouble: 0 };
    const earlySets = new Map<string, Set<string>>();
    const lateSets = new Map<string, Set<string>>();
    const core = new Set(SYNTHETIC_PRESET.taxonomy.core_features);
    for (let i = 0; i < rows.user.length; i++) {
      const w = windows.get(rows.user[i]);
      if (!w) continue;
      const t = rows.ms[i];
      const isEarly = t >= w.early[0] && t < w.early[1];
      const isLate = t >= w.late[0] && t < w.late[1];
      if (!isEarly && !isLate) continue;
      const bucket = isEarly ? early : late;
      const e = rows.event[i];
      if (e === 'app_opened') bucket.sessions++;
      if (e === 'opened_support_ticket' || e === 'viewed_cancel_page') bucket.trouble++;
      if (core.has(e)) {
        const sets = isEarly ? earlySets : lateSets;
        if (!sets.has(rows.user[i])) sets.set(rows.user[i], new Set());
        sets.get(rows.user[i])!.add(e);
      }
    }
    const meanBreadth = (m: Map<string, Set<string>>) => [...m.values()].reduce((a, s) => a + s.size, 0) / m.size;
    expect(windows.size).toBeGreaterThan(40);
    expect(late.sessions).toBeLessThan(0.5 * early.sessions);
    expect(meanBreadth(lateSets)).toBeLessThan(meanBreadth(earlySets) - 0.5);
    // per session, trouble (tickets, cancel-page views) more than doubles
    expect(late.trouble / late.sessions).toBeGreaterThan(2 * (early.trouble / early.sessions));
  });
});

describe('churnProbability', () => {
  it('equals the label frequency of many simulations of the same user (Monte Carlo, 3.5 standard errors)', () => {
    const days = 90;
    const horizon = 30;
    const world = { days, cutDay: days - horizon, startDow: 4 };
    const startMs = Date.parse('2026-01-01T00:00:00Z');
    const ctx = createSimContext(startMs, days, days - 21);
    const scratch = createSimScratch();
    // A declining user in the middle of its decline at the cutoff, an evaluator, a user whose failed payments
    // start just before the cutoff (hazard after the grace period), a casual one and a dormant one (often
    // silent for 21 days); each with a probability away from 0 and 1 so the comparison has power.
    const W = { cutDay: world.cutDay, endDay: days, inactivityDays: 21 };
    const cases: [string, (u: ReturnType<typeof drawUser>) => boolean][] = [
      ['declining', (u) => u.type === 'declining' && u.phaseStart < world.cutDay - 10 && u.phaseStart + u.phaseDays > world.cutDay + 10],
      ['evaluator', (u) => u.type === 'evaluator' && u.signupDay < world.cutDay - 5 && u.phaseStart > world.cutDay],
      ['card problem', (u) => u.cardFrom >= world.cutDay - 5 && u.cardFrom < world.cutDay],
      ['casual', (u) => u.type === 'casual' && u.signupDay < 0],
      ['dormant', (u) => u.type === 'dormant' && u.phaseStart < 0],
    ];
    for (const [wanted, ok] of cases) {
      let u = drawUser(0, world, createRng(1));
      for (let s = 2; !ok(u) || !(churnProbability(u, W) > 0.02 && churnProbability(u, W) < 0.98); s++) u = drawUser(0, world, createRng(s));
      const p = churnProbability(u, W);
      let alive = 0;
      let churned = 0;
      for (let r = 0; r < 3000; r++) {
        const o = simulateUser(u, 'u1', '2025-01-01T00:00:00Z', ctx, scratch, createRng(1000 + r), () => {});
        if (o.churnDay >= 0 && o.churnDay < world.cutDay) continue;
        alive++;
        if (o.churnDay >= world.cutDay || !o.activeInLabelWindow) churned++;
      }
      const se = Math.sqrt((p * (1 - p)) / alive);
      expect(alive).toBeGreaterThan(500);
      expect(Math.abs(churned / alive - p), `${wanted}: p=${p} freq=${churned / alive}`).toBeLessThan(3.5 * se + 1e-9);
    }
  });
});

describe('validateSynthParams', () => {
  it('names the bad value and the fix', () => {
    expect(() => validateSynthParams({ users: 0, days: 90, seed: 1 })).toThrow(/users 0 is not valid: give an integer from 1/);
    expect(() => validateSynthParams({ users: 10, days: 40, seed: 1 })).toThrow(/days 40 is not valid: give an integer from 58/);
    expect(() => validateSynthParams({ users: 10, days: 90, seed: 1, start: '2026-02-30x' })).toThrow(/start date "2026-02-30x"/);
    const ok: SynthResult['horizonDays'] = validateSynthParams({ users: 10, days: 90, seed: 1 }).horizonDays;
    expect(ok).toBe(30);
  });
});
