import { createHmac } from 'node:crypto';
import { CohortlabError } from './errors.js';

/**
 * Pseudonymous user ids (source article 001, privacy: data minimization, pseudo-anonymization): a keyed
 * hash of the id with a secret salt. The salt never enters a model folder; the server needs it (in
 * COHORTLAB_PSEUDONYM_SALT) only to look up a raw id it is given.
 */
export const SALT_ENV = 'COHORTLAB_PSEUDONYM_SALT';

/** How a trained version stores its members' ids: not at all (default), pseudonymized, or raw (asked for). */
export type MemberIds = 'none' | 'pseudonymized' | 'raw';

export function pseudonym(id: string, salt: string): string {
  return `p_${createHmac('sha256', salt).update(id, 'utf8').digest('hex').slice(0, 24)}`;
}

/** Tells two salts apart without revealing either (stored in the manifest). */
export function saltFingerprint(salt: string): string {
  return createHmac('sha256', salt).update('cohortlab salt fingerprint').digest('hex').slice(0, 12);
}

export function saltFrom(env: NodeJS.ProcessEnv): string {
  const salt = env[SALT_ENV];
  if (!salt || salt.length < 16) {
    throw new CohortlabError('BAD_ARGUMENT', `--pseudonymize needs a secret salt of at least 16 characters in ${SALT_ENV} (it is never stored with the model; keep it to look users up later).`);
  }
  return salt;
}
