import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/shared/rng.js';
import { drawUser, generateSynthetic, userSeed } from '../../src/synth/index.js';
import { createSimContext, createSimScratch, simulateUser } from '../../src/synth/simulate.js';
import { drawUpgradeState, upgradeProbability, upgradeRate, upgradeSeed, UPGRADE_EVENT } from '../../src/synth/upgrade.js';

const days = 90;
const horizon = 30;
const world = { days, cutDay: days - horizon, startDow: 4 };
const startMs = Date.parse('2026-01-01T00:00:00Z');
const W = { cutDay: world.cutDay, endDay: days, inactivityDays: 21 };

describe('synthetic upgrades', () => {
  it('only add upgraded_plan rows: every other row is what the generator writes without them', () => {
    const ctx = createSimContext(startMs, days, days - 21);
    let upgrades = 0;
    for (let i = 0; i < 300; i++) {
      const seed = userSeed(9, i);
      const u = drawUser(i, world, createRng(seed));
      const plain: string[] = [];
      simulateUser(u, 'u1', '2026-01-01T00:00:00Z', ctx, createSimScratch(), createRng(seed + 1), (t) => plain.push(t));
      const up = drawUpgradeState(upgradeSeed(seed));
      const withUp: string[] = [];
      const u2 = drawUser(i, world, createRng(seed));
      simulateUser(u2, 'u1', '2026-01-01T00:00:00Z', ctx, createSimScratch(), createRng(seed + 1), (t) => withUp.push(t), up);
      const lines = withUp.join('').split('\n');
      const kept = lines.filter((l) => !l.includes(`,${UPGRADE_EVENT},`));
      expect(kept.join('\n')).toBe(plain.join(''));
      const n = lines.length - kept.length;
      expect(n).toBe(up.day >= 0 ? 1 : 0); // at most one upgrade per user
      upgrades += n;
    }
    expect(upgrades).toBeGreaterThan(5);
  });

  it('never upgrades a user on the top plan', () => {
    for (let s = 1; s < 400; s++) {
      const u = drawUser(0, world, createRng(s));
      if (u.plan0 === 'enterprise' && !Number.isFinite(u.planChangeDay)) for (let d = 0; d < days; d++) expect(upgradeRate(u, d, 3)).toBe(0);
    }
  });

  it('upgradeProbability equals the upgrade frequency of many simulations of the same user (Monte Carlo, 3.5 standard errors)', () => {
    const ctx = createSimContext(startMs, days, days - 21);
    const scratch = createSimScratch();
    const cases: [string, (u: ReturnType<typeof drawUser>) => boolean][] = [
      ['evaluator in trial', (u) => u.type === 'evaluator' && u.signupDay < world.cutDay - 5 && u.phaseStart > world.cutDay],
      ['regular', (u) => u.type === 'regular' && u.signupDay < 0],
      ['declining', (u) => u.type === 'declining' && u.phaseStart < world.cutDay && u.phaseStart + u.phaseDays > world.cutDay + 10 && u.plan0 !== 'enterprise'],
    ];
    const affinity = 2.5; // a fixed hidden affinity, so p is far enough from 0 for the comparison to have power
    for (const [wanted, ok] of cases) {
      let s = 1;
      let u = drawUser(0, world, createRng(s));
      while (!ok(u) || !(upgradeProbability(u, affinity, W) > 0.03)) u = drawUser(0, world, createRng(++s));
      const p = upgradeProbability(u, affinity, W);
      let eligible = 0;
      let upgraded = 0;
      for (let r = 0; r < 4000; r++) {
        const up = { ...drawUpgradeState(5000 + r), affinity };
        const o = simulateUser(u, 'u1', '2025-01-01T00:00:00Z', ctx, scratch, createRng(1000 + r), () => {}, up);
        if ((o.churnDay >= 0 && o.churnDay < world.cutDay) || (up.day >= 0 && up.day < world.cutDay)) continue;
        eligible++;
        if (up.day >= world.cutDay) upgraded++;
      }
      const se = Math.sqrt((p * (1 - p)) / eligible);
      expect(eligible).toBeGreaterThan(500);
      expect(Math.abs(upgraded / eligible - p), `${wanted}: p=${p} freq=${upgraded / eligible}`).toBeLessThan(3.5 * se + 1e-9);
    }
  });

  it('truth: realized upgrades in the window match the mean true probability, and the truth ranks them (AUC well above 0.5)', () => {
    const r = generateSynthetic({ users: 4000, days, seed: 5, horizonDays: horizon }, () => {});
    const t = r.truth;
    const cutoffMs = r.cutoffMs;
    let n = 0;
    let hits = 0;
    let sumP = 0;
    let varP = 0;
    const pos: number[] = [];
    const neg: number[] = [];
    for (let i = 0; i < t.userIds.length; i++) {
      if (!t.aliveAtCutoff[i]) continue; // cancelled before the cutoff (p 0, or 1 after an earlier upgrade) or not signed up yet
      if (t.upgradeMs[i] < cutoffMs) {
        expect(t.upgradeProbability[i]).toBe(1);
        continue;
      }
      n++;
      const p = t.upgradeProbability[i];
      sumP += p;
      varP += p * (1 - p);
      const y = t.upgradeMs[i] >= cutoffMs ? 1 : 0;
      hits += y;
      (y ? pos : neg).push(p);
    }
    expect(r.upgradeRate).toBeCloseTo(hits / n, 12);
    expect(hits).toBeGreaterThan(40);
    expect(Math.abs(hits - sumP)).toBeLessThan(3.5 * Math.sqrt(varP));
    let wins = 0;
    for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
    expect(wins / (pos.length * neg.length)).toBeGreaterThan(0.7);
  });
});
