import { CohortlabError } from '../../shared/errors.js';
import { closest } from '../columns.js';
import type { Expr, SegmentRule } from '../types.js';
import { FEATURES_PREFIX, FUNCTIONS, NAMES, type EvalContext, type Source } from './functions.js';
import { formatPos } from './parse.js';

/**
 * Vectorised evaluation of a §6.1 rule: every AST node becomes one array over all users (numbers a
 * Float64Array, or a plain number for constants; conditions a Uint8Array of 0/1), so a rule costs a
 * few passes over typed columns however many users there are. IEEE arithmetic: x / 0 is +inf, and a
 * comparison with NaN is false.
 */
type Num = number | Float64Array;

function column(ctx: EvalContext, name: string, e: Expr): Float64Array {
  const c = ctx.table.columns[name];
  if (!c) {
    const known = Object.keys(ctx.table.columns).sort();
    const hint = closest(name, known);
    const what = e.kind === 'call' ? `${e.name}(${e.args.join(', ')})` : e.kind === 'name' ? e.name : name;
    throw new CohortlabError(
      'RULE_UNKNOWN_NAME',
      `${formatPos(e.pos)}: ${what} needs the feature "${name}", which the feature table lacks${hint ? `; did you mean "${hint}"?` : '.'} Features present: ${known.join(', ')}.`,
      { path: formatPos(e.pos) },
    );
  }
  if (c.length !== ctx.table.userIds.length) {
    throw new CohortlabError('BAD_FEATURE', `${formatPos(e.pos)}: feature "${name}" has ${c.length} values for ${ctx.table.userIds.length} users.`, { path: formatPos(e.pos) });
  }
  return c;
}

function resolve(ctx: EvalContext, src: Source, e: Expr): Num {
  switch (src.kind) {
    case 'column':
      return column(ctx, src.column, e);
    case 'scaled': {
      const c = column(ctx, src.column, e);
      const out = new Float64Array(c.length);
      for (let i = 0; i < c.length; i++) out[i] = c[i] * src.factor;
      return out;
    }
    case 'sum': {
      const out = new Float64Array(ctx.table.userIds.length);
      for (const name of src.columns) {
        const c = column(ctx, name, e);
        for (let i = 0; i < c.length; i++) out[i] += c[i];
      }
      return out;
    }
    case 'score': {
      const s = ctx.scores[src.score];
      if (!s) throw new CohortlabError('RULE_UNKNOWN_NAME', `${formatPos(e.pos)}: the score "${src.score}" is not available here; known scores: ${Object.keys(ctx.scores).sort().join(', ') || '(none)'}.`, { path: formatPos(e.pos) });
      return s;
    }
    case 'config':
      return src.value(ctx.config);
  }
}

function evalNum(ctx: EvalContext, e: Expr): Num {
  switch (e.kind) {
    case 'number':
      return e.value;
    case 'name': {
      const src = NAMES[e.name];
      if (src) return resolve(ctx, src, e);
      if (e.name.startsWith(FEATURES_PREFIX)) return column(ctx, e.name.slice(FEATURES_PREFIX.length), e);
      throw new CohortlabError('RULE_UNKNOWN_NAME', `${formatPos(e.pos)}: unknown name "${e.name}".`, { path: formatPos(e.pos) });
    }
    case 'call': {
      const src = FUNCTIONS[e.name]?.[e.args[0]];
      if (!src) throw new CohortlabError('RULE_UNKNOWN_NAME', `${formatPos(e.pos)}: unknown function or window ${e.name}(${e.args.join(', ')}).`, { path: formatPos(e.pos) });
      return resolve(ctx, src, e);
    }
    case 'neg': {
      const v = evalNum(ctx, e.operand);
      if (typeof v === 'number') return -v;
      const out = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = -v[i];
      return out;
    }
    case 'arith': {
      const a = evalNum(ctx, e.left);
      const b = evalNum(ctx, e.right);
      return arith(e.op, a, b, ctx.table.userIds.length);
    }
    default:
      throw new CohortlabError('RULE_SYNTAX', `${formatPos(e.pos)}: expected a number, found a condition.`, { path: formatPos(e.pos) });
  }
}

function op(o: '+' | '-' | '*' | '/', x: number, y: number): number {
  return o === '+' ? x + y : o === '-' ? x - y : o === '*' ? x * y : x / y;
}

function arith(o: '+' | '-' | '*' | '/', a: Num, b: Num, n: number): Num {
  if (typeof a === 'number' && typeof b === 'number') return op(o, a, b);
  const out = new Float64Array(n);
  if (typeof a === 'number') {
    const bb = b as Float64Array;
    if (o === '*') for (let i = 0; i < n; i++) out[i] = a * bb[i];
    else for (let i = 0; i < n; i++) out[i] = op(o, a, bb[i]);
  } else if (typeof b === 'number') {
    if (o === '*') for (let i = 0; i < n; i++) out[i] = a[i] * b;
    else for (let i = 0; i < n; i++) out[i] = op(o, a[i], b);
  } else {
    for (let i = 0; i < n; i++) out[i] = op(o, a[i], b[i]);
  }
  return out;
}

function compare(o: string, a: Num, b: Num, n: number): Uint8Array {
  const out = new Uint8Array(n);
  const A = typeof a === 'number' ? null : a;
  const B = typeof b === 'number' ? null : b;
  const sa = typeof a === 'number' ? a : 0;
  const sb = typeof b === 'number' ? b : 0;
  // One tight loop per operator; scalars are read once.
  switch (o) {
    case '>=':
      for (let i = 0; i < n; i++) out[i] = (A ? A[i] : sa) >= (B ? B[i] : sb) ? 1 : 0;
      break;
    case '>':
      for (let i = 0; i < n; i++) out[i] = (A ? A[i] : sa) > (B ? B[i] : sb) ? 1 : 0;
      break;
    case '<=':
      for (let i = 0; i < n; i++) out[i] = (A ? A[i] : sa) <= (B ? B[i] : sb) ? 1 : 0;
      break;
    case '<':
      for (let i = 0; i < n; i++) out[i] = (A ? A[i] : sa) < (B ? B[i] : sb) ? 1 : 0;
      break;
    case '==':
      for (let i = 0; i < n; i++) out[i] = (A ? A[i] : sa) === (B ? B[i] : sb) ? 1 : 0;
      break;
    default:
      for (let i = 0; i < n; i++) out[i] = (A ? A[i] : sa) !== (B ? B[i] : sb) ? 1 : 0;
  }
  return out;
}

/** A condition over all users: 1 where it holds. */
export function evaluateCondition(ctx: EvalContext, e: Expr): Uint8Array {
  const n = ctx.table.userIds.length;
  switch (e.kind) {
    case 'compare':
      return compare(e.op, evalNum(ctx, e.left), evalNum(ctx, e.right), n);
    case 'and': {
      const a = evaluateCondition(ctx, e.left);
      const b = evaluateCondition(ctx, e.right);
      for (let i = 0; i < n; i++) a[i] &= b[i];
      return a;
    }
    case 'or': {
      const a = evaluateCondition(ctx, e.left);
      const b = evaluateCondition(ctx, e.right);
      for (let i = 0; i < n; i++) a[i] |= b[i];
      return a;
    }
    case 'not': {
      const a = evaluateCondition(ctx, e.operand);
      for (let i = 0; i < n; i++) a[i] ^= 1;
      return a;
    }
    default:
      throw new CohortlabError('RULE_SYNTAX', `${formatPos(e.pos)}: expected a condition (a comparison such as x >= 5), found a number.`, { path: formatPos(e.pos) });
  }
}

/** A segment rule over all users, as the 0/1 Float64Array the output table stores. */
export function evaluateSegment(ctx: EvalContext, rule: SegmentRule): Float64Array {
  const m = evaluateCondition(ctx, rule.conditions);
  const out = new Float64Array(m.length);
  for (let i = 0; i < m.length; i++) out[i] = m[i];
  return out;
}

/** Human form of an expression (docs, explanations): `events.session_count(last_7_days) >= 5`. */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return String(e.value);
    case 'name':
      return e.name;
    case 'call':
      return `${e.name}(${e.args.join(', ')})`;
    case 'neg':
      return `-${formatExpr(e.operand)}`;
    case 'arith':
      return `(${formatExpr(e.left)} ${e.op} ${formatExpr(e.right)})`;
    case 'compare':
      return `${formatExpr(e.left)} ${e.op} ${formatExpr(e.right)}`;
    case 'and':
      return `(${formatExpr(e.left)} AND ${formatExpr(e.right)})`;
    case 'or':
      return `(${formatExpr(e.left)} OR ${formatExpr(e.right)})`;
    case 'not':
      return `NOT ${formatExpr(e.operand)}`;
  }
}
