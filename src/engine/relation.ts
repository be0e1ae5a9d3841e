import type { EventConfig } from '../ingest/index.js';
import type { Dialect } from './dialect.js';

/** The normalized events relation every engine query reads (features/sql.ts, the pipeline's scoring statement). */
export const SOURCE_COLUMNS = ['user_id', 'ts', 'event', 'session_id', 'plan', 'value', 'signup_ts'] as const;

/**
 * A warehouse table as the normalized events relation, through the config's column mapping and
 * exclusions. The timestamp and signup columns must be DateTime (UTC). Without a session column, sessions
 * are cut after `session_gap_minutes` of inactivity as in ingest (ordered by time; events at the same instant share one): per
 * user, the sorted events and a running count of gaps (differences of the sorted times: a lambda that indexed the
 * array itself would copy it per element), unrolled with ARRAY JOIN (18.16 has no window functions).
 */
export function sourceRelation(config: EventConfig, d: Dialect, table: string): string {
  return sourceRelationFrom(config, d, table.split('.').map((p) => d.quoteIdent(p)).join('.'));
}

/** The same over any FROM item: a quoted table, or a parenthesized subquery with an alias (a config's SQL source). */
export function sourceRelationFrom(config: EventConfig, d: Dialect, from: string): string {
  const m = config.columns;
  const col = (c: string) => d.quoteIdent(c);
  const exprs: Record<(typeof SOURCE_COLUMNS)[number], string> = {
    user_id: `toString(${col(m.user_id)})`,
    ts: col(m.timestamp),
    event: m.event ? `toString(${col(m.event)})` : d.quoteString(config.default_event ?? 'event'),
    session_id: m.session_id ? `toString(${col(m.session_id)})` : "''",
    plan: m.plan ? `nullIf(toString(${col(m.plan)}), '')` : 'NULL',
    value: m.value ? d.double(col(m.value)) : d.double('0'),
    signup_ts: m.signup ? col(m.signup) : col(m.timestamp),
  };
  const where = (config.exclude ?? []).map((e) => `NOT ${d.inList(`toString(${col(e.column)})`, e.values)}`);
  const mapped = `(SELECT ${SOURCE_COLUMNS.map((c) => `${exprs[c]} AS ${c}`).join(', ')} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''})`;
  if (m.session_id) return mapped;
  const gap = Math.round(config.session_gap_minutes * 60);
  return `(SELECT user_id, e.1 AS ts, e.2 AS event, toString(sid) AS session_id, e.3 AS plan, e.4 AS value, e.5 AS signup_ts
    FROM (SELECT user_id, evs, arrayCumSum(arrayMap((g, i) -> if(i = 1 OR g > ${gap}, 1, 0), arrayDifference(arrayMap(x -> toInt64(toUInt32(x.1)), evs)), arrayEnumerate(evs))) AS sids
          FROM (SELECT user_id, arraySort(x -> (x.1, x.2), groupArray((ts, event, plan, value, signup_ts))) AS evs FROM ${mapped} AS m0 GROUP BY user_id) AS g0) AS g
    ARRAY JOIN evs AS e, sids AS sid)`;
}

