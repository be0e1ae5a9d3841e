import { CohortlabError } from '../shared/errors.js';

/**
 * Model names and references. REF = NAME (its production version, or the latest when none is
 * promoted), NAME@VERSION or NAME@production (../shared/CONTRACT.md); the default name is "default".
 */
export const DEFAULT_MODEL_NAME = 'default';
const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function validateName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new CohortlabError(
      'BAD_MODEL_NAME',
      `model name "${name}" is not allowed: use 1-64 lower-case letters, digits, "-" or "_", starting with a letter or digit (no "/", "..", spaces or dots).`,
    );
  }
  return name;
}

export interface ModelRef {
  name: string;
  /** A version number, 'production', or undefined (production if promoted, else latest). */
  version: number | 'production' | undefined;
}

export function parseRef(ref: string | undefined): ModelRef {
  const text = ref ?? DEFAULT_MODEL_NAME;
  const at = text.indexOf('@');
  const name = validateName(at >= 0 ? text.slice(0, at) : text);
  if (at < 0) return { name, version: undefined };
  const v = text.slice(at + 1);
  if (v === 'production') return { name, version: 'production' };
  const n = Number(v.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1) throw new CohortlabError('BAD_ARGUMENT', `model reference "${text}": the version after "@" must be a positive integer or "production", got "${v}".`);
  return { name, version: n };
}

export function formatRef(name: string, version: number): string {
  return `${name}@${version}`;
}
