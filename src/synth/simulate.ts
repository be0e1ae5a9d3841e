import type { Rng } from '../shared/rng.js';
import { CORE_FEATURES } from './profiles.js';
import { dayState, newDayState, type DayState, type UserSpec } from './user.js';
import { UPGRADE_EVENT, upgradeRate, type UpgradeState } from './upgrade.js';

/**
 * Turns one user's hidden parameters into event rows (CSV lines), day by day, without building
 * event objects. On each UTC day: the cancellation is drawn with probability 1 - exp(-h_d), the
 * day is active with probability a_d (always on the signup day) and then has 1 + Poisson(m - 1) sessions, sessions are placed around the
 * user's working hours at least 30 minutes apart within the day, and each session is `app_opened`
 * followed by core-feature actions and the occasional pricing view, locked-feature click, support
 * ticket, cancel-page view, failed payment or downgrade. A cancelling user ends with a session
 * `app_opened, viewed_cancel_page, cancelled_subscription` and emits nothing afterwards.
 * With an upgrade state (upgrade.ts), an active day without cancellation may end its first session with
 * `upgraded_plan`, drawn from the upgrade's own stream after everything else of the day is decided.
 */

export const EVENTS_CSV_HEADER = 'user_id,timestamp,event,session_id,plan,signup_at\n';

/** Precomputed text pieces shared by all users of a run. */
export interface SimContext {
  days: number;
  /** 'YYYY-MM-DDT' of each day of data. */
  dayPrefix: string[];
  /** 'HH:MM:SSZ' of each second of a day. */
  clock: string[];
  /** Days [labelFrom, days) are the label's inactivity window. */
  labelFrom: number;
}

export interface UserOutcome {
  events: number;
  sessions: number;
  /** Day index and second of the cancellation; -1 when none. */
  churnDay: number;
  churnSec: number;
  /** 1 when the user had any event in [labelFrom, days). */
  activeInLabelWindow: boolean;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

export function createSimContext(startMs: number, days: number, labelFrom: number): SimContext {
  const dayPrefix: string[] = new Array(days);
  for (let d = 0; d < days; d++) dayPrefix[d] = `${new Date(startMs + d * 86_400_000).toISOString().slice(0, 10)}T`;
  const clock: string[] = new Array(86_400);
  for (let h = 0; h < 24; h++) {
    for (let m = 0; m < 60; m++) {
      const hm = `${pad2(h)}:${pad2(m)}:`;
      for (let s = 0; s < 60; s++) clock[h * 3600 + m * 60 + s] = `${hm}${pad2(s)}Z`;
    }
  }
  return { days, dayPrefix, clock, labelFrom };
}

/** Poisson draw by inversion of products (the rates here are small: < 5 per day, < 40 per session). */
export function poisson(lambda: number, rng: Rng): number {
  if (lambda <= 0) return 0;
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

const LAST_START_SEC = 82_800; // no session starts after 23:00 UTC, so sessions stay inside their day
const DAY_END_SEC = 86_340;

/** Mutable scratch of one run (reused across users). */
export interface SimScratch {
  starts: Float64Array;
  gaps: Float64Array;
  names: string[];
  day: DayState;
}

export function createSimScratch(): SimScratch {
  return { starts: new Float64Array(64), gaps: new Float64Array(128), names: [], day: newDayState() };
}

function pickFeature(u: UserSpec, breadth: number, rng: Rng): string {
  const r = rng.next() * u.featureCum[breadth - 1];
  let k = 0;
  while (k < breadth - 1 && r >= u.featureCum[k]) k++;
  return CORE_FEATURES[u.featureOrder[k]];
}

function insertAt(names: string[], name: string, rng: Rng, first: boolean): void {
  if (first) names.unshift(name);
  else names.splice(rng.int(names.length + 1), 0, name);
}

/**
 * Simulates user `u` over the data window and passes its CSV lines to `write` (in time order).
 * `uid` and `signupIso` are the text written in every row.
 */
export function simulateUser(
  u: UserSpec, uid: string, signupIso: string, ctx: SimContext, scratch: SimScratch, rng: Rng, write: (text: string) => void,
  upgrade?: UpgradeState,
): UserOutcome {
  const out: UserOutcome = { events: 0, sessions: 0, churnDay: -1, churnSec: -1, activeInLabelWindow: false };
  const s = scratch.day;
  const names = scratch.names;
  let starts = scratch.starts;
  let downgradeEmitted = false;
  let buf = '';
  const firstDay = Math.max(0, u.signupDay);
  for (let d = firstDay; d < ctx.days; d++) {
    dayState(u, d, s);
    const prefix = ctx.dayPrefix[d];
    let cancelSec = -1;
    if (s.hazard > 0 && rng.next() < -Math.expm1(-s.hazard)) {
      cancelSec = Math.round(Math.min(LAST_START_SEC, Math.max(3600, u.peakSec + 7200 * rng.normal())));
    }
    const signupToday = d === u.signupDay;
    let k = signupToday || rng.next() < s.activeP ? 1 + poisson(s.sessionsPerActiveDay - 1, rng) : 0;
    // Drawn only from the upgrade stream, and only on days whose first session is always written (k > 0, no cancellation).
    const upgradeToday = upgrade !== undefined && upgrade.day < 0 && cancelSec < 0 && k > 0 && upgrade.rng.next() < upgradeRate(u, d, upgrade.affinity);
    if (k > starts.length) starts = scratch.starts = new Float64Array(k * 2);
    for (let i = 0; i < k; i++) starts[i] = Math.min(LAST_START_SEC, Math.max(300, u.peakSec + 8000 * rng.normal()));
    // Insertion sort: k is small.
    for (let i = 1; i < k; i++) {
      const v = starts[i];
      let j = i - 1;
      while (j >= 0 && starts[j] > v) {
        starts[j + 1] = starts[j];
        j--;
      }
      starts[j + 1] = v;
    }
    let prevEnd = -Infinity;
    for (let i = 0; i < k; i++) {
      let start = Math.round(starts[i]);
      if (signupToday && start < u.signupSec + 60) start = u.signupSec + 60 + rng.int(600);
      if (start < prevEnd + 1800) start = prevEnd + 1800 + rng.int(600); // 30-minute gap: sessionizing by gap agrees
      if (start > LAST_START_SEC) break;
      let dur = Math.round(s.minutes * 60 * Math.exp(0.5 * rng.normal() - 0.125));
      dur = Math.max(20, Math.min(dur, 3 * 3600, DAY_END_SEC - start));
      if (cancelSec >= 0 && start + dur >= cancelSec - 120) break; // nothing after the cancellation
      // The events of this session besides app_opened.
      names.length = 0;
      const n = 1 + poisson(s.actions - 1, rng);
      for (let a = 0; a < n; a++) names.push(pickFeature(u, s.breadth, rng));
      if (signupToday && i === 0) {
        // Onboarding: the first session walks through the first activation milestones (playbook §4.2).
        names.unshift('created_project', 'added_task');
      }
      if (rng.next() < s.pricingP) {
        insertAt(names, 'viewed_pricing', rng, false);
        if (rng.next() < 0.3) insertAt(names, 'viewed_pricing', rng, false);
      }
      if (s.lockedP > 0 && rng.next() < s.lockedP) insertAt(names, 'clicked_locked_feature', rng, false);
      if (rng.next() < s.ticketP) {
        insertAt(names, 'opened_support_ticket', rng, false);
        if (rng.next() < s.negativeP) names.push('negative_support_rating');
      }
      if (rng.next() < s.cancelViewP) insertAt(names, 'viewed_cancel_page', rng, false);
      if (u.downgrades && !downgradeEmitted && d >= u.planChangeDay) {
        insertAt(names, 'downgraded_plan', rng, true);
        downgradeEmitted = true;
      }
      if (s.paymentFailedP > 0 && rng.next() < s.paymentFailedP) insertAt(names, 'payment_failed', rng, true);

      out.sessions++;
      const tail = `,${uid}-${out.sessions},${s.plan},${signupIso}\n`;
      buf += `${uid},${prefix}${ctx.clock[start]},app_opened${tail}`;
      // Event times: exponential spacings normalised so the last event ends the session.
      const m = names.length;
      let total = 0;
      if (m > scratch.gaps.length) scratch.gaps = new Float64Array(m * 2);
      const gaps = scratch.gaps;
      for (let a = 0; a < m; a++) {
        const g = -Math.log(1 - rng.next());
        gaps[a] = g;
        total += g;
      }
      let acc = 0;
      for (let a = 0; a < m; a++) {
        acc += gaps[a];
        const t = start + Math.round((dur * acc) / total);
        buf += `${uid},${prefix}${ctx.clock[t]},${names[a]}${tail}`;
      }
      if (upgradeToday && i === 0) {
        buf += `${uid},${prefix}${ctx.clock[start + dur]},${UPGRADE_EVENT}${tail}`;
        upgrade.day = d;
        upgrade.sec = start + dur;
        out.events++;
      }
      out.events += 1 + m;
      prevEnd = start + dur;
      if (d >= ctx.labelFrom) out.activeInLabelWindow = true;
    }
    if (cancelSec >= 0) {
      let t = Math.max(cancelSec, prevEnd + 120);
      if (t > DAY_END_SEC - 120) t = DAY_END_SEC - 120;
      out.sessions++;
      const tail = `,${uid}-${out.sessions},${s.plan},${signupIso}\n`;
      const clock = ctx.clock;
      buf += `${uid},${prefix}${clock[t]},app_opened${tail}`;
      buf += `${uid},${prefix}${clock[t + 20 + rng.int(40)]},viewed_cancel_page${tail}`;
      const tc = t + 90 + rng.int(30);
      buf += `${uid},${prefix}${clock[tc]},cancelled_subscription${tail}`;
      out.events += 3;
      out.churnDay = d;
      out.churnSec = tc;
      if (d >= ctx.labelFrom) out.activeInLabelWindow = true;
      break;
    }
    if (buf.length > 1 << 16) {
      write(buf);
      buf = '';
    }
  }
  if (buf.length > 0) write(buf);
  return out;
}
