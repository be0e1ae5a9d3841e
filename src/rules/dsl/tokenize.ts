import { CohortlabError } from '../../shared/errors.js';

/**
 * Tokenizer of the §6.1 segment-rule language. Hand-written: one pass, tracking line and column
 * (1-based) so every error can point at the character. `#` and `//` start a comment to the end of the line.
 */
export type TokenType = 'ident' | 'number' | 'string' | 'punct' | 'op' | 'eof';

export interface Token {
  type: TokenType;
  /** The source text (for strings: the unquoted value). */
  text: string;
  line: number;
  column: number;
}

const PUNCT = new Set(['{', '}', '(', ')', ',', ':', '.']);
const OPS2 = new Set(['>=', '<=', '==', '!=']);
const OPS1 = new Set(['>', '<', '+', '-', '*', '/']);

export function describeToken(t: Token): string {
  switch (t.type) {
    case 'eof':
      return 'the end of the file';
    case 'string':
      return `the string "${t.text}"`;
    case 'number':
      return `the number ${t.text}`;
    default:
      return `"${t.text}"`;
  }
}

export function tokenize(text: string, file: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const n = text.length;
  const isIdentStart = (c: string) => /[A-Za-z_]/.test(c);
  const isIdent = (c: string) => /[A-Za-z0-9_]/.test(c);
  const isDigit = (c: string) => c >= '0' && c <= '9';
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      i++;
      line++;
      col = 1;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      col++;
      continue;
    }
    if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    const startCol = col;
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdent(text[j])) j++;
      out.push({ type: 'ident', text: text.slice(i, j), line, column: startCol });
      col += j - i;
      i = j;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1] ?? ''))) {
      const m = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i, i + 64))!;
      const s = m[0];
      if (isIdentStart(text[i + s.length] ?? '')) {
        throw new CohortlabError('RULE_SYNTAX', `${file}:${line}:${startCol}: expected a number, found "${s}${text[i + s.length]}"; names cannot start with a digit.`, { path: `${file}:${line}:${startCol}` });
      }
      out.push({ type: 'number', text: s, line, column: startCol });
      col += s.length;
      i += s.length;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"' && text[j] !== '\n') j++;
      if (j >= n || text[j] !== '"') {
        throw new CohortlabError('RULE_SYNTAX', `${file}:${line}:${startCol}: expected a closing '"' for the string started here before the end of the line.`, { path: `${file}:${line}:${startCol}` });
      }
      out.push({ type: 'string', text: text.slice(i + 1, j), line, column: startCol });
      col += j + 1 - i;
      i = j + 1;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (OPS2.has(two)) {
      out.push({ type: 'op', text: two, line, column: startCol });
      i += 2;
      col += 2;
      continue;
    }
    if (OPS1.has(c)) {
      out.push({ type: 'op', text: c, line, column: startCol });
      i++;
      col++;
      continue;
    }
    if (PUNCT.has(c)) {
      out.push({ type: 'punct', text: c, line, column: startCol });
      i++;
      col++;
      continue;
    }
    const hint = c === '=' ? ' (write "==" to compare)' : c === '&' || c === '|' ? ' (write AND / OR)' : '';
    throw new CohortlabError(
      'RULE_SYNTAX',
      `${file}:${line}:${startCol}: unexpected character "${c}"${hint}; expected a name, a number, a string, an operator (>= <= > < == != + - * /) or one of { } ( ) , : .`,
      { path: `${file}:${line}:${startCol}` },
    );
  }
  out.push({ type: 'eof', text: '', line, column: col });
  return out;
}
