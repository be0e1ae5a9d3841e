#!/usr/bin/env node
// bench churn: the three churn model kinds of `train --model` and `auto` against scikit-learn
// LogisticRegression, HistGradientBoostingClassifier and xgboost (bench/peers/churn_sklearn.py), same rows,
// same run. Data: simulateChurn (known logistic truth + non-linear terms), 20 features, seeded, at 10k and
// 100k rows; seeded 60/20/20 split (train / validation / test).
//   ours: fitCandidate (src/churn/candidates.ts) exactly as trainChurn runs it: logistic = C on validation then
//   refit on train + validation; gbdt = trees at the validation minimum, refit on train + validation; mlp =
//   early stopping on validation. auto = all three + each one's calibration selection (selectCalibration)
//   + the choice on validation log loss; its fit time is the sum, its AUC the chosen kind's (calibrated).
//   peers: LR and HGB fit on train + validation (HGB early-stops internally above 10k rows), xgboost
//   early-stops on validation.
// Usage (after npm run build): node bench/churn.js [--rows=10000,100000] [--peer-threads=N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  applyCalibrator, applyScaler, estimatorInput, estimatorRaw, fitCandidate, fitScaler, initBackend, resolveChurnParams,
  selectCalibration, simulateChurn, takeRows, rocAuc
} from 'cohortlab';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const cols = 20;
const quiet = { info: () => {}, warn: (m) => console.log(`warning: ${m}`), progress: () => {} };
const backend = await initBackend(quiet, 'auto');
console.log(`node ${process.version}, ${cpus().length} CPU(s), tfjs backend ${backend}; load average ${loadavg().map((v) => v.toFixed(1)).join(' ')}`);

for (const rows of arg('rows', '10000,100000').split(',').map(Number)) {
  const sim = simulateChurn({ rows, cols, seed: 2024, nonlinear: 1 });
  const nTrain = Math.floor(rows * 0.6);
  const nValid = Math.floor(rows * 0.2);
  const range = (a, b) => Uint32Array.from({ length: b - a }, (_, i) => a + i);
  const raw = { train: takeRows(sim.x, range(0, nTrain)), valid: takeRows(sim.x, range(nTrain, nTrain + nValid)), test: takeRows(sim.x, range(nTrain + nValid, rows)) };
  const y = { train: sim.y.slice(0, nTrain), valid: sim.y.slice(nTrain, nTrain + nValid), test: sim.y.slice(nTrain + nValid) };
  const truthAuc = rocAuc(sim.truthProbability.slice(nTrain + nValid), y.test);
  console.log(`\n${rows.toLocaleString('en-US')} users x ${cols} features, split ${nTrain}/${nValid}/${rows - nTrain - nValid}; ceiling ROC-AUC (true probability) ${truthAuc.toFixed(4)}`);

  const dir = mkdtempSync(join(tmpdir(), 'cohortlab-bench-churn-'));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ rows, cols, train: nTrain, valid: nValid, test: rows - nTrain - nValid }));
  writeFileSync(join(dir, 'x.f32'), Buffer.from(sim.x.data.buffer, sim.x.data.byteOffset, sim.x.data.byteLength));
  writeFileSync(join(dir, 'y.u8'), Buffer.from(sim.y.buffer, sim.y.byteOffset, sim.y.byteLength));
  const threads = arg('peer-threads', '');
  const env = threads ? { ...process.env, OMP_NUM_THREADS: threads } : process.env;
  const py = spawnSync('/usr/bin/python3', [join(here, 'peers', 'churn_sklearn.py'), dir], { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  rmSync(dir, { recursive: true, force: true });
  if (py.status !== 0) console.log(`peer script failed (exit ${py.status}): ${py.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const peers = (py.stdout ?? '').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

  const scaler = fitScaler(raw.train, sim.features);
  const pair = (m) => ({ raw: m, scaled: applyScaler(scaler, m) });
  const x = { train: pair(raw.train), valid: pair(raw.valid), test: pair(raw.test) };
  const params = resolveChurnParams({ kind: 'mlp', seed: 7 });
  const ours = [];
  for (const kind of ['logistic', 'mlp', 'gbdt']) {
    const fit = fitCandidate(kind, { ...x.train, y: y.train }, { ...x.valid, y: y.valid }, { ...params, kind }, quiet);
    const t0 = performance.now();
    const { calibrator, selection } = selectCalibration(fit.validRaw, y.valid, { seed: 7 });
    const calSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const p = applyCalibrator(calibrator, estimatorRaw(fit.estimator, estimatorInput(fit.estimator, x.test)));
    const predictSeconds = (performance.now() - t1) / 1000;
    const choiceLoss = selection.cvLogLoss ? selection.cvLogLoss[selection.chosen] : NaN;
    const detail = kind === 'logistic' ? `C ${fit.details.C}` : kind === 'gbdt' ? `${fit.details.trees} trees` : `${fit.details.epochs} epochs`;
    ours.push({ name: `cohortlab ${kind} (${detail})`, kind, auc: rocAuc(p, y.test), train_seconds: fit.seconds, cal_seconds: calSeconds, predict_seconds: predictSeconds, choiceLoss });
  }
  const chosen = ours.reduce((a, b) => (b.choiceLoss < a.choiceLoss - 1e-12 ? b : a));
  const autoRow = { name: `cohortlab auto (chose ${chosen.kind})`, auc: chosen.auc, train_seconds: ours.reduce((s, r) => s + r.train_seconds + r.cal_seconds, 0), predict_seconds: chosen.predict_seconds };
  if (threads) console.log(`  (sklearn peers with OMP_NUM_THREADS=${threads})`);
  for (const r of [...ours, autoRow, ...peers]) {
    if (r.error) console.log(`  ${r.name.padEnd(44)} ${r.error}`);
    else console.log(`  ${r.name.padEnd(44)} test ROC-AUC ${r.auc.toFixed(4)}  fit ${r.train_seconds.toFixed(2).padStart(6)} s  predict ${(1000 * r.predict_seconds).toFixed(1).padStart(7)} ms${r.choiceLoss !== undefined ? `  validation log loss ${r.choiceLoss.toFixed(4)}` : ''}`);
  }
  const okPeers = peers.filter((p) => !p.error);
  if (okPeers.length) {
    const best = okPeers.reduce((a, b) => (b.auc > a.auc ? b : a));
    console.log(`  auto - best peer (${best.name}) = ${(autoRow.auc - best.auc).toFixed(4)} ROC-AUC (target: not below by more than 0.01: ${best.auc - autoRow.auc <= 0.01 ? 'met' : 'MISSED'})`);
    const hgb = okPeers.find((p) => p.name.includes('HistGradient'));
    const gb = ours.find((r) => r.kind === 'gbdt');
    if (hgb) console.log(`  gbdt fit (incl. the refit) / HGB fit = ${(gb.train_seconds / hgb.train_seconds).toFixed(2)}; AUC gbdt - HGB = ${(gb.auc - hgb.auc).toFixed(4)}`);
  }
}
