import { CohortlabError } from '../shared/errors.js';

/**
 * The model version's manifest.json, owned here: its type, the value `train` builds, and the parser that
 * turns the JSON on disk back into the type. The format is versioned (`kind` + `formatVersion`): a reader
 * refuses another format with MODEL_INCOMPATIBLE before looking at any field, and a manifest of this format
 * with a missing or mistyped field is MODEL_CORRUPT with the file and the field named.
 *
 * Fields added after the first versions were written (`memberIds`, the verdict fields of `metrics`, ...)
 * are optional, so every version already on disk still parses; they are not a new format. Fields the type
 * does not name are kept as written (not checked), so a field added by a later release survives a read.
 */
export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_KIND = 'cohortlab-model';
export const MANIFEST_FORMAT_VERSION = 1;

/** A file of the version, checked against these before use. */
export interface ManifestFile {
  bytes: number;
  sha256: string;
}

/** The backtest of an events model: the cutoffs (YYYY-MM-DD) and the horizon. */
export interface ManifestCutoffs {
  train: string[];
  valid: string;
  test: string;
  horizonDays: number;
  labelOverlapDays?: number;
}

/** How an events model was trained (the full pipeline). */
export interface EventsModelParams {
  source: 'events';
  /** The test cutoff. */
  asOf: string;
  horizonDays: number;
  cutoffs: ManifestCutoffs;
  /** The day of the stored scored snapshot (scores.parquet). */
  snapshotAsOf: string;
  churnKind: string;
  k: number | null;
  rulesDir: string;
  /** What the model predicts (`train --target`); absent in versions trained before targets existed (= churn). */
  target?: ManifestTarget;
}

/** The outcome of an events model: churn, or a propensity target served as `probabilityColumn`. */
export interface ManifestTarget {
  kind: 'churn' | 'upgrade' | 'event';
  event: string | null;
  events: string[];
  probabilityColumn: string;
}

/** How a per-user table model was trained (`train --table`); the column choices are absent in versions trained before they existed. */
export interface TableModelParams {
  source: 'table';
  table: string;
  label: string;
  positive?: string | null;
  id?: string | null;
  drop?: string[];
  keepLeaky?: boolean;
  churnKind: string;
}

export type ModelParams = EventsModelParams | TableModelParams;

export interface ManifestInterval {
  value: number;
  lo: number;
  hi: number;
}

/** The summary `models list` shows; the full evaluation is in report.json. */
export interface ManifestMetrics {
  aucModel: number | null;
  aucModelInterval?: ManifestInterval | null;
  aucRule: number | null;
  modelBeatsRule?: boolean | null;
  verdictKind?: string;
  strongestBaseline?: string | null;
  testUsers: number;
  testChurners?: number;
  /** sha256 of the sorted test user ids and the test cutoff (or label): equal digests = the same test users. */
  testSet?: string;
  k: number | null;
  users: number;
}

/** What the version was trained on. */
export interface ManifestInput {
  files: { path: string; bytes: number; sha256: string }[];
  location?: string;
  rows?: { read: number; used: number; rejected: Record<string, number> };
  users?: number;
  timeSpan?: { first: string; last: string };
}

/** The manifest fields the writer of a version gives; the store adds `name`, `version` and `files`. */
export interface ManifestFields {
  kind: typeof MANIFEST_KIND;
  formatVersion: typeof MANIFEST_FORMAT_VERSION;
  createdAt: string;
  seed: number;
  params: ModelParams;
  /** How the scored snapshot stores user ids; absent in versions trained before the privacy switches (raw ids). */
  memberIds?: 'none' | 'raw' | 'pseudonymized';
  saltFingerprint?: string;
  features: string[];
  codeVersion: string | null;
  packageVersion: string;
  input: ManifestInput;
  backend: string;
  trainingSeconds: number;
  metrics: ManifestMetrics;
}

export interface Manifest extends ManifestFields {
  name: string;
  version: number;
  files: Record<string, ManifestFile>;
}

type Json = unknown;

/** Reads fields of one JSON object, naming `where` and the dotted field path in every error. */
class FieldReader {
  constructor(
    private readonly where: string,
    private readonly obj: Record<string, Json>,
    private readonly path: string,
  ) {}

  static root(where: string, json: Json): FieldReader {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(where, '', `is ${describe(json)} where a JSON object is expected`);
    return new FieldReader(where, json as Record<string, Json>, '');
  }

  private name(field: string): string {
    return this.path ? `${this.path}.${field}` : field;
  }

  private fail(field: string, want: string): never {
    throw corrupt(this.where, this.name(field), `is ${describe(this.obj[field])} where ${want} is expected`);
  }

  has(field: string): boolean {
    return this.obj[field] !== undefined;
  }

  string(field: string): string {
    const v = this.obj[field];
    return typeof v === 'string' ? v : this.fail(field, 'a string');
  }

  number(field: string): number {
    const v = this.obj[field];
    return typeof v === 'number' && Number.isFinite(v) ? v : this.fail(field, 'a finite number');
  }

  boolean(field: string): boolean {
    const v = this.obj[field];
    return typeof v === 'boolean' ? v : this.fail(field, 'true or false');
  }

  /** A value that may be null (but must be present). */
  nullable<T>(field: string, read: (r: FieldReader, f: string) => T): T | null {
    return this.obj[field] === null ? null : read(this, field);
  }

  /** A field that may be absent. */
  optional<T>(field: string, read: (r: FieldReader, f: string) => T): T | undefined {
    return this.obj[field] === undefined ? undefined : read(this, field);
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const v = this.obj[field];
    return allowed.includes(v as T) ? (v as T) : this.fail(field, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }

  strings(field: string): string[] {
    const v = this.obj[field];
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : this.fail(field, 'a list of strings');
  }

  object(field: string): FieldReader {
    const v = this.obj[field];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'a JSON object');
    return new FieldReader(this.where, v as Record<string, Json>, this.name(field));
  }

  objects(field: string): FieldReader[] {
    const v = this.obj[field];
    if (!Array.isArray(v)) this.fail(field, 'a list of objects');
    return (v as Json[]).map((x, i) => FieldReader.root(this.where, x).at(`${this.name(field)}[${i}]`, x));
  }

  /** Every entry of an object keyed by name (e.g. `files`). */
  entries(field: string): [string, FieldReader][] {
    const o = this.object(field);
    return Object.keys(o.obj).map((k) => [k, o.object(k)]);
  }

  /** Every value of an object of numbers (e.g. rejected row counts by reason). */
  numbers(field: string): Record<string, number> {
    const o = this.object(field);
    return Object.fromEntries(Object.keys(o.obj).map((k) => [k, o.number(k)]));
  }

  private at(path: string, json: Json): FieldReader {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(this.where, path, `is ${describe(json)} where a JSON object is expected`);
    return new FieldReader(this.where, json as Record<string, Json>, path);
  }
}

function describe(v: Json): string {
  if (v === undefined) return 'missing';
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function corrupt(where: string, field: string, what: string): CohortlabError {
  return new CohortlabError('MODEL_CORRUPT', `${where}${field ? ` field "${field}"` : ''} ${what}; the version was not written by this cohortlab or was edited by hand: remove it with "cohortlab models rm" and re-train.`, { path: where });
}

const str = (r: FieldReader, f: string) => r.string(f);
const num = (r: FieldReader, f: string) => r.number(f);
const bool = (r: FieldReader, f: string) => r.boolean(f);

function readInterval(r: FieldReader): ManifestInterval {
  return { value: r.number('value'), lo: r.number('lo'), hi: r.number('hi') };
}

function readParams(r: FieldReader): ModelParams {
  const source = r.oneOf('source', ['events', 'table'] as const);
  if (source === 'events') {
    const c = r.object('cutoffs');
    const labelOverlapDays = c.optional('labelOverlapDays', num);
    return {
      source,
      asOf: r.string('asOf'),
      horizonDays: r.number('horizonDays'),
      cutoffs: { train: c.strings('train'), valid: c.string('valid'), test: c.string('test'), horizonDays: c.number('horizonDays'), ...(labelOverlapDays === undefined ? {} : { labelOverlapDays }) },
      snapshotAsOf: r.string('snapshotAsOf'),
      churnKind: r.string('churnKind'),
      k: r.nullable('k', num),
      rulesDir: r.string('rulesDir'),
      ...readTarget(r),
    };
  }
  const out: TableModelParams = { source, table: r.string('table'), label: r.string('label'), churnKind: r.string('churnKind') };
  const positive = r.optional('positive', (x, f) => x.nullable(f, str));
  if (positive !== undefined) out.positive = positive;
  const id = r.optional('id', (x, f) => x.nullable(f, str));
  if (id !== undefined) out.id = id;
  const drop = r.optional('drop', (x, f) => x.strings(f));
  if (drop !== undefined) out.drop = drop;
  const keepLeaky = r.optional('keepLeaky', bool);
  if (keepLeaky !== undefined) out.keepLeaky = keepLeaky;
  return out;
}

function readTarget(r: FieldReader): { target?: ManifestTarget } {
  const target = r.optional('target', (x, f) => {
    const t = x.object(f);
    return { kind: t.oneOf('kind', ['churn', 'upgrade', 'event'] as const), event: t.nullable('event', str), events: t.strings('events'), probabilityColumn: t.string('probabilityColumn') };
  });
  return target === undefined ? {} : { target };
}

function readMetrics(r: FieldReader): ManifestMetrics {
  const out: ManifestMetrics = {
    aucModel: r.nullable('aucModel', num),
    aucRule: r.nullable('aucRule', num),
    testUsers: r.number('testUsers'),
    k: r.nullable('k', num),
    users: r.number('users'),
  };
  // optional fields (added after the first versions) are set only when present, so a round trip keeps the key set
  const beats = r.optional('modelBeatsRule', (x, f) => x.nullable(f, bool));
  if (beats !== undefined) out.modelBeatsRule = beats;
  const interval = r.optional('aucModelInterval', (x, f) => x.nullable(f, (y, g) => readInterval(y.object(g))));
  if (interval !== undefined) out.aucModelInterval = interval;
  const verdictKind = r.optional('verdictKind', str);
  if (verdictKind !== undefined) out.verdictKind = verdictKind;
  const strongest = r.optional('strongestBaseline', (x, f) => x.nullable(f, str));
  if (strongest !== undefined) out.strongestBaseline = strongest;
  const churners = r.optional('testChurners', num);
  if (churners !== undefined) out.testChurners = churners;
  const testSet = r.optional('testSet', str);
  if (testSet !== undefined) out.testSet = testSet;
  return out;
}

function readInput(r: FieldReader): ManifestInput {
  const out: ManifestInput = { files: r.objects('files').map((f) => ({ path: f.string('path'), bytes: f.number('bytes'), sha256: f.string('sha256') })) };
  const location = r.optional('location', str);
  if (location !== undefined) out.location = location;
  if (r.has('rows')) {
    const rows = r.object('rows');
    out.rows = { read: rows.number('read'), used: rows.number('used'), rejected: rows.numbers('rejected') };
  }
  const users = r.optional('users', num);
  if (users !== undefined) out.users = users;
  if (r.has('timeSpan')) {
    const t = r.object('timeSpan');
    out.timeSpan = { first: t.string('first'), last: t.string('last') };
  }
  return out;
}

/**
 * The manifest of a version from its parsed JSON. `where` names it in errors (the stores pass
 * `model churn@3: manifest.json`, as in `model churn@3: manifest.json field "seed" is "x" ...`). Another kind or format is MODEL_INCOMPATIBLE (re-train); a field
 * missing or of the wrong type is MODEL_CORRUPT naming the field.
 */
export function parseManifest(json: unknown, where: string, file?: string): Manifest {
  try {
    return checkManifest(json, where);
  } catch (e) {
    // the error's path is the file itself when the caller knows it
    if (file && e instanceof CohortlabError) throw new CohortlabError(e.code, e.message, { path: file, cause: e.cause });
    throw e;
  }
}

function checkManifest(json: unknown, where: string): Manifest {
  const r = FieldReader.root(where, json);
  const o = json as Record<string, unknown>;
  if (o.kind !== MANIFEST_KIND || o.formatVersion !== MANIFEST_FORMAT_VERSION) {
    throw new CohortlabError(
      'MODEL_INCOMPATIBLE',
      `${where} has kind ${JSON.stringify(o.kind)} format ${JSON.stringify(o.formatVersion)}; this cohortlab reads ${MANIFEST_KIND} format ${MANIFEST_FORMAT_VERSION}. Re-train it.`,
      { path: where },
    );
  }
  const manifest: Manifest = {
    kind: MANIFEST_KIND,
    formatVersion: MANIFEST_FORMAT_VERSION,
    createdAt: r.string('createdAt'),
    seed: r.number('seed'),
    params: readParams(r.object('params')),
    features: r.strings('features'),
    codeVersion: r.nullable('codeVersion', str),
    packageVersion: r.string('packageVersion'),
    input: readInput(r.object('input')),
    backend: r.string('backend'),
    trainingSeconds: r.number('trainingSeconds'),
    metrics: readMetrics(r.object('metrics')),
    name: r.string('name'),
    version: r.number('version'),
    files: Object.fromEntries(r.entries('files').map(([rel, f]) => [rel, { bytes: f.number('bytes'), sha256: f.string('sha256') }])),
  };
  const memberIds = r.optional('memberIds', (x, f) => x.oneOf(f, ['none', 'raw', 'pseudonymized'] as const));
  if (memberIds !== undefined) manifest.memberIds = memberIds;
  const salt = r.optional('saltFingerprint', str);
  if (salt !== undefined) manifest.saltFingerprint = salt;
  if (!Number.isInteger(manifest.version) || manifest.version < 1) throw corrupt(where, 'version', `is ${manifest.version} where a positive whole number is expected`);
  // the keys in the order of the file, so `models show` prints a version as it was written
  return asWritten(manifest, json) as Manifest;
}

/**
 * The checked `value` with the keys of every object in the order of the file, and the fields this release does
 * not read kept as written (a later writer of this format may add fields; they are shown by `models show`,
 * not checked, and not part of the type until a reader needs them).
 */
function asWritten(value: unknown, original: unknown): unknown {
  if (Array.isArray(value)) return value.map((v, i) => asWritten(v, Array.isArray(original) ? original[i] : undefined));
  if (typeof value !== 'object' || value === null) return value;
  const v = value as Record<string, unknown>;
  const o = typeof original === 'object' && original !== null && !Array.isArray(original) ? (original as Record<string, unknown>) : {};
  const keys = [...Object.keys(o).filter((k) => o[k] !== undefined), ...Object.keys(v).filter((k) => !(k in o))];
  return Object.fromEntries(keys.map((k) => [k, k in v ? asWritten(v[k], o[k]) : o[k]]));
}

/** The manifest of a version from the text of its manifest.json (MODEL_CORRUPT when it is not JSON). */
export function parseManifestText(text: string, where: string, file?: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CohortlabError('MODEL_CORRUPT', `${where} is not valid JSON (${(e as Error).message}).`, { path: file ?? where, cause: e });
  }
  return parseManifest(json, where, file);
}

/** The text written to manifest.json: the fields in the order they were given (stable, readable diffs). */
export function formatManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}
