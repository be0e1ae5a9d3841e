import { exitCodeOf, isCohortlabError } from '../shared/errors.js';

/**
 * The CLI's one place that turns an error into stderr text and an exit code (CONTRACT.md): a code of the
 * catalogue with a 4xx status (or MODEL_CORRUPT: remove the version) is bad input or usage, exit 2, its one sentence and nothing else; a 5xx code
 * (ENGINE_FAILED, INTERNAL) and any uncoded error is internal, exit 1, with the stack and the error's
 * `detail` (e.g. the failed SQL) only when COHORTLAB_DEBUG=1.
 */
export function reportError(command: string, e: unknown, env: NodeJS.ProcessEnv, write: (text: string) => void): 1 | 2 {
  if (isCohortlabError(e) && exitCodeOf(e.code) === 2) {
    write(`cohortlab ${command}: ${e.message}\n`);
    return 2;
  }
  const err = e as Error | undefined;
  const coded = isCohortlabError(e) ? `${e.code}: ` : '';
  write(`cohortlab ${command}: internal error: ${coded}${err?.message ?? String(e)}\n`);
  if (env.COHORTLAB_DEBUG === '1') {
    if (isCohortlabError(e) && e.detail) write(`${e.detail}\n`);
    if (err?.stack) write(`${err.stack}\n`);
  } else write('Set COHORTLAB_DEBUG=1 to see the stack trace, and report it.\n');
  return 1;
}
