/**
 * Lifetime value in the playbook's §9.1 cross-segment dashboard (issue 20 part 4): per rule segment, cluster and
 * lifecycle stage, the sum and mean of the BG/NBD expected purchases over the horizon and, when the log has a
 * value column (a Gamma-Gamma spend model), of the CLV. §9.1 lists "LTV" beside average revenue per segment.
 * Pure: takes the group labels and the per-user scores in the same order.
 */
import { CohortlabError } from '../shared/errors.js';

export interface LtvDashboardRow {
  group: string;
  users: number;
  /** Users with a purchase before the cutoff (the rest are scored as customers without a repeat purchase). */
  customers: number;
  expectedPurchasesSum: number;
  expectedPurchasesMean: number;
  /** Null without a spend model (no value column). */
  clvSum: number | null;
  clvMean: number | null;
}

export interface LtvDashboardTable {
  /** The grouping column: behavioral_segment, lifecycle_stage or cluster_label. */
  by: string;
  rows: LtvDashboardRow[];
}

export interface LtvDashboard {
  asOf: string;
  horizonDays: number;
  clvMonths: number;
  monthlyDiscount: number;
  /** Set when there is no value column: the tables carry expected purchases only. */
  note: string | null;
  tables: LtvDashboardTable[];
}

/** One table: rows in the order of `order` (then any other label, alphabetically). */
export function ltvByGroup(by: string, labels: string[], values: { expectedPurchases: ArrayLike<number>; clv: ArrayLike<number> | null; customer: ArrayLike<number> }, order: string[] = []): LtvDashboardTable {
  const n = labels.length;
  if (values.expectedPurchases.length !== n || (values.clv && values.clv.length !== n) || values.customer.length !== n) {
    throw new CohortlabError('BAD_ARGUMENT', `ltvByGroup(${by}): ${n} labels but ${values.expectedPurchases.length} expected purchases${values.clv ? `, ${values.clv.length} clv` : ''} and ${values.customer.length} customer flags; pass them for the same users in the same order.`);
  }
  const acc = new Map<string, { users: number; customers: number; ep: number; clv: number }>();
  for (let i = 0; i < n; i++) {
    const a = acc.get(labels[i]) ?? { users: 0, customers: 0, ep: 0, clv: 0 };
    a.users++;
    a.customers += values.customer[i] ? 1 : 0;
    a.ep += values.expectedPurchases[i];
    if (values.clv) a.clv += values.clv[i];
    acc.set(labels[i], a);
  }
  const rank = new Map(order.map((l, k) => [l, k]));
  const keys = [...acc.keys()].sort((x, y) => (rank.get(x) ?? Infinity) - (rank.get(y) ?? Infinity) || (x < y ? -1 : x > y ? 1 : 0));
  return {
    by,
    rows: keys.map((group) => {
      const a = acc.get(group)!;
      return {
        group,
        users: a.users,
        customers: a.customers,
        expectedPurchasesSum: a.ep,
        expectedPurchasesMean: a.ep / a.users,
        clvSum: values.clv ? a.clv : null,
        clvMean: values.clv ? a.clv / a.users : null,
      };
    }),
  };
}

const money = (v: number | null) => (v === null ? 'n/a' : v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));

/** The dashboard as text, one table per grouping (what `train` prints). */
export function formatLtvDashboard(d: LtvDashboard): string {
  const lines = [`Lifetime value (playbook §9.1 "LTV") as of ${d.asOf}: BG/NBD expected purchases over ${d.horizonDays} days${d.note ? '' : `, CLV over ${d.clvMonths} months (monthly discount ${d.monthlyDiscount})`}`];
  if (d.note) lines.push(`(${d.note})`);
  for (const t of d.tables) {
    const head = ['users', 'customers', 'exp. purchases sum', 'mean', ...(d.note ? [] : ['CLV sum', 'CLV mean'])];
    const cells = t.rows.map((r) => [r.group, String(r.users), String(r.customers), r.expectedPurchasesSum.toFixed(1), r.expectedPurchasesMean.toFixed(3), ...(d.note ? [] : [money(r.clvSum), money(r.clvMean)])]);
    const widths = [t.by, ...head].map((h, k) => Math.max(h.length, ...cells.map((c) => c[k].length)));
    const row = (c: string[]) => c.map((v, k) => (k === 0 ? v.padEnd(widths[k]) : v.padStart(widths[k]))).join('  ');
    lines.push('', row([t.by, ...head]), ...cells.map(row));
  }
  return lines.join('\n');
}
