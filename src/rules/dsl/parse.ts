import { CohortlabError } from '../../shared/errors.js';
import { closest } from '../columns.js';
import type { CompareOp, Expr, Refresh, SegmentRule, SourcePos } from '../types.js';
import { FEATURES_PREFIX, FUNCTIONS, NAMES, knownFunctions, knownNames } from './functions.js';
import { describeToken, tokenize, type Token } from './tokenize.js';

/**
 * Recursive-descent parser of the §6.1 segment-rule language into a typed AST.
 *
 *   file        := segment*
 *   segment     := "segment" STRING "{" item* "}"
 *   item        := "conditions" "{" expr "}" | "refresh" ":" IDENT | "action" ":" STRING
 *   expr        := and ("OR" and)*
 *   and         := not ("AND" not)*
 *   not         := "NOT" not | comparison
 *   comparison  := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
 *   sum         := product (("+" | "-") product)*
 *   product     := unary (("*" | "/") unary)*
 *   unary       := "-" unary | primary
 *   primary     := NUMBER | name | name "(" IDENT ("," IDENT)* ")" | "(" expr ")"
 *   name        := IDENT ("." IDENT)*
 *
 * AND, OR and NOT are keywords in any case. Types are checked while parsing: AND/OR/NOT take conditions,
 * comparisons and arithmetic take numbers. Function names and windows are checked against the function
 * table here; `features.<column>` is checked against the feature table when evaluated.
 */
export const REFRESH_VALUES: readonly Refresh[] = ['hourly', 'daily', 'weekly', 'monthly', 'manual'];
const COMPARE_OPS = new Set(['<', '<=', '>', '>=', '==', '!=']);

export function slugify(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

/** 'bool' for conditions, 'num' for numbers. */
export function exprType(e: Expr): 'bool' | 'num' {
  switch (e.kind) {
    case 'compare':
    case 'and':
    case 'or':
    case 'not':
      return 'bool';
    default:
      return 'num';
  }
}

export function formatPos(p: SourcePos): string {
  return `${p.file}:${p.line}:${p.column}`;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[], private readonly file: string) {}

  private peek(): Token {
    return this.tokens[this.i];
  }
  private next(): Token {
    return this.tokens[this.i++];
  }
  private pos(t: Token): SourcePos {
    return { file: this.file, line: t.line, column: t.column };
  }
  private fail(t: Token, expected: string): never {
    const where = `${this.file}:${t.line}:${t.column}`;
    throw new CohortlabError('RULE_SYNTAX', `${where}: expected ${expected}, found ${describeToken(t)}.`, { path: where });
  }
  private failAt(pos: SourcePos, message: string, code: 'RULE_SYNTAX' | 'RULE_UNKNOWN_NAME' = 'RULE_SYNTAX'): never {
    throw new CohortlabError(code, `${formatPos(pos)}: ${message}`, { path: formatPos(pos) });
  }
  private isKeyword(t: Token, word: string): boolean {
    return t.type === 'ident' && t.text.toUpperCase() === word;
  }
  private expectPunct(p: string, expected = `"${p}"`): Token {
    const t = this.peek();
    if (t.type !== 'punct' || t.text !== p) this.fail(t, expected);
    return this.next();
  }

  parseFile(): SegmentRule[] {
    const out: SegmentRule[] = [];
    while (this.peek().type !== 'eof') out.push(this.parseSegment());
    return out;
  }

  private parseSegment(): SegmentRule {
    const kw = this.peek();
    if (kw.type !== 'ident' || kw.text !== 'segment') this.fail(kw, '"segment"');
    this.next();
    const nameTok = this.peek();
    if (nameTok.type !== 'string') this.fail(nameTok, 'the segment name in double quotes, e.g. segment "Power Users"');
    this.next();
    const name = nameTok.text.trim();
    const slug = slugify(name);
    if (slug === '') this.failAt(this.pos(nameTok), `segment name "${nameTok.text}" has no letters or digits; name it, e.g. segment "Power Users".`);
    this.expectPunct('{', `"{" after segment "${name}"`);
    let conditions: Expr | undefined;
    let refresh: Refresh | undefined;
    let action: string | undefined;
    for (;;) {
      const t = this.peek();
      if (t.type === 'punct' && t.text === '}') {
        this.next();
        break;
      }
      if (t.type === 'ident' && t.text === 'conditions') {
        if (conditions) this.failAt(this.pos(t), `segment "${name}" has a second conditions block; combine them with AND in one block.`);
        this.next();
        this.expectPunct('{', '"{" after conditions');
        const e = this.parseOr();
        if (exprType(e) !== 'bool') this.failAt(e.pos, `expected a condition (a comparison such as x >= 5) as the conditions of segment "${name}", found a number.`);
        this.expectPunct('}', 'AND, OR, an operator or "}" to close the conditions');
        conditions = e;
        continue;
      }
      if (t.type === 'ident' && t.text === 'refresh') {
        this.next();
        this.expectPunct(':', '":" after refresh');
        const v = this.peek();
        if (v.type !== 'ident' || !REFRESH_VALUES.includes(v.text as Refresh)) this.fail(v, `one of ${REFRESH_VALUES.join(', ')} after "refresh:"`);
        this.next();
        refresh = v.text as Refresh;
        continue;
      }
      if (t.type === 'ident' && t.text === 'action') {
        this.next();
        this.expectPunct(':', '":" after action');
        const v = this.peek();
        if (v.type !== 'string') this.fail(v, 'the action in double quotes after "action:"');
        this.next();
        action = v.text;
        continue;
      }
      this.fail(t, `"conditions", "refresh", "action" or "}" in segment "${name}"`);
    }
    if (!conditions) this.failAt(this.pos(kw), `segment "${name}" has no conditions; expected "conditions { ... }" inside its braces.`);
    return { name, slug, conditions, refresh, action, pos: this.pos(kw) };
  }

  private requireBool(e: Expr, op: string, side: string): void {
    if (exprType(e) !== 'bool') this.failAt(e.pos, `expected a condition (a comparison such as x >= 5) on the ${side} of ${op}, found a number.`);
  }
  private requireNum(e: Expr, op: string, side: string): void {
    if (exprType(e) !== 'num') this.failAt(e.pos, `expected a number on the ${side} of "${op}", found a condition.`);
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isKeyword(this.peek(), 'OR')) {
      const t = this.next();
      const right = this.parseAnd();
      this.requireBool(left, 'OR', 'left');
      this.requireBool(right, 'OR', 'right');
      left = { kind: 'or', left, right, pos: this.pos(t) };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isKeyword(this.peek(), 'AND')) {
      const t = this.next();
      const right = this.parseNot();
      this.requireBool(left, 'AND', 'left');
      this.requireBool(right, 'AND', 'right');
      left = { kind: 'and', left, right, pos: this.pos(t) };
    }
    return left;
  }

  private parseNot(): Expr {
    const t = this.peek();
    if (this.isKeyword(t, 'NOT')) {
      this.next();
      const operand = this.parseNot();
      this.requireBool(operand, 'NOT', 'right');
      return { kind: 'not', operand, pos: this.pos(t) };
    }
    return this.parseComparison();
  }

  private parseComparison(): Expr {
    const left = this.parseSum();
    const t = this.peek();
    if (t.type === 'op' && COMPARE_OPS.has(t.text)) {
      this.next();
      const right = this.parseSum();
      this.requireNum(left, t.text, 'left');
      this.requireNum(right, t.text, 'right');
      const after = this.peek();
      if (after.type === 'op' && COMPARE_OPS.has(after.text)) this.fail(after, 'AND or OR between two comparisons (comparisons do not chain)');
      return { kind: 'compare', op: t.text as CompareOp, left, right, pos: this.pos(t) };
    }
    return left;
  }

  private parseSum(): Expr {
    let left = this.parseProduct();
    for (;;) {
      const t = this.peek();
      if (t.type !== 'op' || (t.text !== '+' && t.text !== '-')) return left;
      this.next();
      const right = this.parseProduct();
      this.requireNum(left, t.text, 'left');
      this.requireNum(right, t.text, 'right');
      left = { kind: 'arith', op: t.text, left, right, pos: this.pos(t) };
    }
  }

  private parseProduct(): Expr {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if (t.type !== 'op' || (t.text !== '*' && t.text !== '/')) return left;
      this.next();
      const right = this.parseUnary();
      this.requireNum(left, t.text, 'left');
      this.requireNum(right, t.text, 'right');
      left = { kind: 'arith', op: t.text, left, right, pos: this.pos(t) };
    }
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (t.type === 'op' && t.text === '-') {
      this.next();
      const operand = this.parseUnary();
      this.requireNum(operand, '-', 'right');
      return { kind: 'neg', operand, pos: this.pos(t) };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    if (t.type === 'number') {
      this.next();
      return { kind: 'number', value: Number(t.text), pos: this.pos(t) };
    }
    if (t.type === 'punct' && t.text === '(') {
      this.next();
      const e = this.parseOr();
      this.expectPunct(')', `")" to close the "(" at line ${t.line}, column ${t.column}`);
      return { ...e, pos: e.pos };
    }
    if (t.type === 'ident' && !this.isKeyword(t, 'AND') && !this.isKeyword(t, 'OR') && !this.isKeyword(t, 'NOT')) {
      this.next();
      let name = t.text;
      while (this.peek().type === 'punct' && this.peek().text === '.') {
        this.next();
        const part = this.peek();
        if (part.type !== 'ident') this.fail(part, `a name after "${name}."`);
        this.next();
        name += `.${part.text}`;
      }
      const pos = this.pos(t);
      if (this.peek().type === 'punct' && this.peek().text === '(') {
        this.next();
        const args: string[] = [];
        if (!(this.peek().type === 'punct' && this.peek().text === ')')) {
          for (;;) {
            const a = this.peek();
            if (a.type !== 'ident') this.fail(a, `a window such as last_7_days as the argument of ${name}`);
            this.next();
            args.push(a.text);
            if (this.peek().type === 'punct' && this.peek().text === ',') {
              this.next();
              continue;
            }
            break;
          }
        }
        this.expectPunct(')', `"," or ")" to close the arguments of ${name}`);
        this.checkCall(name, args, pos);
        return { kind: 'call', name, args, pos };
      }
      this.checkName(name, pos);
      return { kind: 'name', name, pos };
    }
    this.fail(t, 'a number, a name, a function call or "("');
  }

  private checkCall(name: string, args: string[], pos: SourcePos): void {
    const windows = FUNCTIONS[name];
    if (!windows) {
      if (NAMES[name] || name.startsWith(FEATURES_PREFIX)) this.failAt(pos, `"${name}" is not a function; write it without parentheses.`, 'RULE_UNKNOWN_NAME');
      const hint = closest(name, knownFunctions());
      this.failAt(pos, `unknown function "${name}"${hint ? `; did you mean "${hint}"?` : '.'} Known functions: ${knownFunctions().join(', ')}.`, 'RULE_UNKNOWN_NAME');
    }
    const known = Object.keys(windows);
    if (args.length !== 1) this.failAt(pos, `${name} takes exactly one window, got ${args.length}; known windows: ${known.join(', ')}.`);
    if (!windows[args[0]]) this.failAt(pos, `unknown window "${args[0]}" for ${name}; known windows: ${known.join(', ')}.`, 'RULE_UNKNOWN_NAME');
  }

  private checkName(name: string, pos: SourcePos): void {
    if (NAMES[name]) return;
    if (name.startsWith(FEATURES_PREFIX) && name.length > FEATURES_PREFIX.length && !name.slice(FEATURES_PREFIX.length).includes('.')) return;
    if (FUNCTIONS[name]) {
      const w = Object.keys(FUNCTIONS[name])[0];
      this.failAt(pos, `"${name}" is a function; call it with a window, e.g. ${name}(${w}).`, 'RULE_UNKNOWN_NAME');
    }
    const all = Object.keys(NAMES);
    const hint = closest(name, all);
    this.failAt(pos, `unknown name "${name}"${hint ? `; did you mean "${hint}"?` : '.'} Known names: ${knownNames().join(', ')}.`, 'RULE_UNKNOWN_NAME');
  }
}

/** Parse the segment rules of one file (`file` is only used in messages). Throws RULE_SYNTAX / RULE_UNKNOWN_NAME naming file:line:column. */
export function parseSegmentRules(text: string, file: string): SegmentRule[] {
  const rules = new Parser(tokenize(text, file), file).parseFile();
  const seen = new Map<string, SegmentRule>();
  for (const r of rules) {
    const prev = seen.get(r.slug);
    if (prev) {
      throw new CohortlabError('RULE_SYNTAX', `${formatPos(r.pos)}: segment "${r.name}" has the same column name (segment_${r.slug}) as segment "${prev.name}" at ${formatPos(prev.pos)}; rename one of them.`, { path: formatPos(r.pos) });
    }
    seen.set(r.slug, r);
  }
  return rules;
}
