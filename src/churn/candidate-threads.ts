/**
 * The candidates of `train --model auto` fitted side by side: logistic and gbdt (pure JavaScript) each in a worker
 * thread while the MLP trains on tfjs in this one. Each fit is deterministic and reads nothing the others write, so
 * the models, choices and calibrations are the same bits as fitted one after another; their log lines are kept and
 * written in kind order once all are done (progress of the MLP stays live).
 *
 * Threads are used with two or more kinds, two or more cores and the compiled worker (dist/) or tsx (tests);
 * otherwise, or with COHORTLAB_CANDIDATE_THREADS=0, the kinds are fitted here one after another.
 */
import { availableParallelism } from 'node:os';
import { internalError } from '../shared/errors.js';
import { fromWorkerError, startWorker, workerSource, type WorkerError } from '../shared/worker.js';
import type { Logger } from '../shared/log.js';
import type { CalibrationChoice, Calibrator } from './calibrate.js';
import { selectCalibration, type CalibrationSelection } from './calibrate-select.js';
import { fitCandidate, type CandidateFit, type ChurnEstimator, type DesignPair } from './candidates.js';
import { GradientBoostedTrees, type GbdtJson } from './gbdt.js';
import { LogisticExact, type LogisticExactJson } from './logistic-exact.js';
import type { ChurnModelKind, ChurnModelParams } from './model.js';

/** A candidate fitted and its calibration chosen on the validation users. */
export interface CalibratedCandidate extends CandidateFit {
  calibrator: Calibrator;
  selection: CalibrationSelection;
}

export interface CandidateJob {
  train: DesignPair & { y: Uint8Array };
  valid: DesignPair & { y: Uint8Array };
  params: ChurnModelParams;
  calibration: CalibrationChoice;
}

/** One kind: fitCandidate, then selectCalibration on its validation predictions. */
export function fitCalibrated(kind: ChurnModelKind, job: CandidateJob, logger: Logger): CalibratedCandidate {
  const fit = fitCandidate(kind, job.train, job.valid, { ...job.params, kind }, logger);
  const { calibrator, selection } = selectCalibration(fit.validRaw, job.valid.y, { requested: job.calibration, seed: job.params.seed });
  return { ...fit, calibrator, selection };
}

/** What the worker sends back per kind: the estimator as its JSON (the registry's form), the rest as it is. */
export interface WorkerResult {
  kind: ChurnModelKind;
  estimator?: { kind: 'logistic'; json: LogisticExactJson } | { kind: 'gbdt'; json: GbdtJson };
  fit?: Omit<CalibratedCandidate, 'estimator'>;
  lines: LogLine[];
  error?: WorkerError;
}

export interface LogLine {
  level: 'info' | 'warn';
  message: string;
}

/** A logger that keeps info and warning lines (to write later, in order) and passes progress through. */
export function keepingLogger(progress: Logger['progress']): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (message) => lines.push({ level: 'info', message }),
    warn: (message) => lines.push({ level: 'warn', message }),
    progress,
  };
}

export function estimatorJson(e: ChurnEstimator): WorkerResult['estimator'] {
  if (e.kind === 'logistic') return { kind: 'logistic', json: e.logistic.toJSON() };
  if (e.kind === 'gbdt') return { kind: 'gbdt', json: e.gbdt.toJSON() };
  throw internalError('the MLP is fitted on the main thread (tfjs), never in a candidate worker');
}

function reviveEstimator(e: NonNullable<WorkerResult['estimator']>): ChurnEstimator {
  return e.kind === 'logistic' ? { kind: 'logistic', logistic: LogisticExact.fromJSON(e.json) } : { kind: 'gbdt', gbdt: GradientBoostedTrees.fromJSON(e.json) };
}

/** The kinds a worker may fit: the pure JavaScript ones. */
const WORKER_KINDS: ChurnModelKind[] = ['logistic', 'gbdt'];


/**
 * Fits every kind (in `kinds` order in the result), in a worker thread where it pays (see the file comment); each
 * kind's log lines are written after all are fitted, in `kinds` order, followed by `after(kind, fit)`'s.
 */
export async function fitCandidates(kinds: ChurnModelKind[], job: CandidateJob, logger: Logger, after: (kind: ChurnModelKind, fit: CalibratedCandidate) => void): Promise<Map<ChurnModelKind, CalibratedCandidate>> {
  const inWorker = kinds.filter((k) => WORKER_KINDS.includes(k));
  const here = kinds.filter((k) => !inWorker.includes(k));
  const src = workerSource(import.meta.url, 'candidate-worker');
  const threads = process.env.COHORTLAB_CANDIDATE_THREADS !== '0' && availableParallelism() >= 2 && src !== null && inWorker.length > 0 && kinds.length > 1;
  const out = new Map<ChurnModelKind, CalibratedCandidate>();
  if (!threads) {
    for (const kind of kinds) {
      const fit = fitCalibrated(kind, job, logger);
      out.set(kind, fit);
      after(kind, fit);
    }
    return out;
  }
  logger.info(`candidates: ${inWorker.join(' and ')} fitted in worker threads${here.length ? ` while ${here.join(' and ')} trains here` : ''}`);
  // one worker per kind: on two cores the three fits share them instead of gbdt waiting for logistic
  const workers = inWorker.map((kind) => startWorker(src, { kinds: [kind], job }));
  const results = Promise.all(workers.map((worker, k) => new Promise<WorkerResult>((resolve, reject) => {
    let answered = false;
    worker.on('message', (r: WorkerResult) => {
      answered = true;
      resolve(r);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (!answered) reject(internalError(`the candidate worker exited with code ${code} before fitting ${inWorker[k]}`));
    });
  })));
  // a failure in a worker is reported after the main thread's own fits (a failure here first)
  results.catch(() => {});
  const lines = new Map<ChurnModelKind, LogLine[]>();
  try {
    for (const kind of here) {
      const kept = keepingLogger(logger.progress.bind(logger));
      out.set(kind, fitCalibrated(kind, job, kept));
      lines.set(kind, kept.lines);
    }
    for (const r of await results) {
      if (r.error) throw fromWorkerError(r.error);
      out.set(r.kind, { ...r.fit!, estimator: reviveEstimator(r.estimator!) });
      lines.set(r.kind, r.lines);
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const ordered = new Map<ChurnModelKind, CalibratedCandidate>();
  for (const kind of kinds) {
    for (const l of lines.get(kind) ?? []) logger[l.level](l.message);
    const fit = out.get(kind)!;
    ordered.set(kind, fit);
    after(kind, fit);
  }
  return ordered;
}
