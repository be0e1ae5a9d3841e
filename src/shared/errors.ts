/**
 * One error type for everything the caller can fix. `code` is stable (listed in docs/errors.md),
 * the message names what is wrong, where, and how to fix it. The CLI maps it to exit code 2 and
 * prints only the message; the server maps it to a 4xx `{ code, message, path }`.
 */
export type ErrorCode =
  | 'BAD_ARGUMENT'
  | 'FILE_NOT_FOUND'
  | 'EMPTY_INPUT'
  | 'UNKNOWN_FORMAT'
  | 'MISSING_COLUMN'
  | 'BAD_CONFIG'
  | 'BAD_ROWS'
  | 'BAD_FEATURE'
  | 'TOO_FEW_LIVE_USERS'
  | 'RULE_SYNTAX'
  | 'RULE_UNKNOWN_NAME'
  | 'NOT_FITTED'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_INCOMPATIBLE'
  | 'MODEL_CORRUPT'
  | 'BAD_MODEL_NAME'
  | 'REGISTRY_CONFLICT'
  | 'UNKNOWN_USER'
  | 'HORIZON_NOT_COVERED'
  | 'TABLE_NOT_FOUND'
  | 'WRITE_FAILED'
  | 'ONE_CLASS'
  | 'NEEDS_FORCE'
  | 'TOO_FEW_PURCHASES'
  | 'TARGET_EVENT_ABSENT';

export class CohortlabError extends Error {
  readonly code: ErrorCode;
  /** Where the problem is: a file, "file:line", a JSON path or a route. */
  readonly path: string | undefined;
  constructor(code: ErrorCode, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CohortlabError';
    this.code = code;
    this.path = options.path;
  }
}

export function isCohortlabError(e: unknown): e is CohortlabError {
  return e instanceof CohortlabError;
}

/** Exhaustive switch helper: a new union member that is not handled fails to compile. */
export function assertNever(x: never, what: string): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(x)}`);
}
