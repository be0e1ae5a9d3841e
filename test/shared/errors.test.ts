import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { reportError } from '../../src/cli/report-error.js';
import { CohortlabError, ERROR_CATALOGUE, errorMessage, internalError, isErrorCode, replaceErrorTable, renderErrorTable } from '../../src/shared/errors.js';

describe('the error catalogue', () => {
  it('is the table of docs/errors.md (regenerate with the command in that file)', async () => {
    const onDisk = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(replaceErrorTable(onDisk));
    expect(onDisk).toContain('| `MODEL_CORRUPT` | 503 | 2 |');
    expect(renderErrorTable().split('\n')).toHaveLength(Object.keys(ERROR_CATALOGUE).length + 2);
  });
  it('gives every code a status, a meaning and a fix; 5xx codes carry a template so no message leaves', () => {
    for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).toMatch(/^[A-Z][A-Z_]+$/);
      expect(e.status >= 400 && e.status < 600, code).toBe(true);
      expect(e.meaning.length, code).toBeGreaterThan(10);
      expect(e.fix.length, code).toBeGreaterThan(2);
      if (e.status >= 500) expect(e.template, code).toBeTruthy();
    }
    expect(isErrorCode('UNKNOWN_USER')).toBe(true);
    expect(isErrorCode('HttpError')).toBe(false);
  });
  it('fills templates', () => {
    expect(errorMessage('INTERNAL', { requestId: 'r-7' })).toBe('internal error; request id r-7');
    expect(errorMessage('NOT_FOUND', { method: 'GET', url: '/v2' })).toBe('no route GET /v2; GET /v1/openapi.json lists the routes');
    expect(new CohortlabError('MODEL_NOT_FOUND', 'x').status).toBe(404);
  });
});

describe('the CLI prints errors in one place', () => {
  const run = (e: unknown, env: NodeJS.ProcessEnv = {}) => {
    let text = '';
    const code = reportError('features', e, env, (t) => (text += t));
    return { code, text };
  };
  it('a 4xx code: exit 2 and its sentence only', () => {
    expect(run(new CohortlabError('FILE_NOT_FOUND', 'no file "a.csv".'))).toEqual({ code: 2, text: 'cohortlab features: no file "a.csv".\n' });
  });
  it('a 5xx code: exit 1, the detail (SQL) only with COHORTLAB_DEBUG=1', () => {
    const e = new CohortlabError('ENGINE_FAILED', 'ClickHouse at http://h failed: Code: 62', { detail: 'query: SELECT secret' });
    const quiet = run(e);
    expect(quiet.code).toBe(1);
    expect(quiet.text).toMatch(/^cohortlab features: internal error: ENGINE_FAILED: ClickHouse at http:\/\/h failed: Code: 62\nSet COHORTLAB_DEBUG=1/);
    expect(quiet.text).not.toContain('SELECT');
    expect(run(e, { COHORTLAB_DEBUG: '1' }).text).toContain('query: SELECT secret');
    expect(run(internalError('bug')).code).toBe(1);
    expect(run(new Error('plain')).code).toBe(1);
  });
});

describe('exit codes', () => {
  it('MODEL_CORRUPT is a 503 for the server and exit 2 for the CLI (the user removes the version)', () => {
    let text = '';
    expect(reportError('score', new CohortlabError('MODEL_CORRUPT', 'models/a/1/model.json fails its sha256'), {}, (t) => (text += t))).toBe(2);
    expect(text).toBe('cohortlab score: models/a/1/model.json fails its sha256\n');
  });
});
