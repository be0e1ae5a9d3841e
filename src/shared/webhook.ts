/**
 * Signed, batched, retried delivery of JSON records to a webhook: what sends segment changes where teams act.
 *
 * - Batches of `batchSize` records, each POSTed as `{"records": [...]}` with
 *   `Idempotency-Key`: sha256 of the URL, the delivery id (e.g. "refresh:<model>:<as_of>") and the batch index, so
 *   a retry and a re-run of the same delivery carry the same key and the receiver can drop repeats;
 *   `X-Cohortlab-Timestamp` (epoch seconds) and `X-Cohortlab-Signature: sha256=<hex>`, the HMAC-SHA256 of
 *   `<timestamp>.<body>` with the secret (the Stripe scheme: the receiver recomputes it and rejects old timestamps).
 * - Retries on network errors, timeouts, 408, 429 and 5xx with exponential backoff and full jitter (seeded), up to
 *   `retries` times; a `Retry-After` in seconds is honoured when longer. Other 4xx answers are not retried.
 * - A batch that still fails goes whole to the dead-letter file (NDJSON: url, key, delivery id, last error, the
 *   records), appended, so nothing is silently dropped; the report counts it.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { CohortlabError } from './errors.js';
import { createRng } from './rng.js';

export interface WebhookTarget {
  url: string;
  /** The signing secret (read from the environment by the caller). */
  secret: string;
  /** Records per POST (default 500). */
  batchSize?: number;
}

export interface DeliveryOptions {
  /** Names this delivery, e.g. "refresh:default:2026-06-30": part of every batch's idempotency key. */
  deliveryId: string;
  /** Where undeliverable batches are appended (NDJSON). */
  deadLetterFile: string;
  /** Retries after the first attempt (default 5). */
  retries?: number;
  /** First backoff in ms (default 500); doubles per attempt, full jitter, capped at maxBackoffMs (default 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Per-request timeout in ms (default 10 s). */
  timeoutMs?: number;
  seed?: number;
  /** Now in epoch ms (tests). */
  now?: () => number;
}

export interface DeliveryReport {
  url: string;
  batches: number;
  records: number;
  delivered: number;
  /** Attempts beyond the first, over all batches. */
  retries: number;
  deadLettered: number;
}

const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500;

/** The signature header value for a body: sha256=HMAC-SHA256(secret, "<timestamp>.<body>") in hex. */
export function signBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The idempotency key of one batch: stable across retries and re-runs of the same delivery. */
export function idempotencyKey(url: string, deliveryId: string, batch: number): string {
  return createHash('sha256').update(`${url}\n${deliveryId}\n${batch}`).digest('hex').slice(0, 32);
}

function describeFailure(e: unknown): string {
  if (e instanceof Error && e.name === 'TimeoutError') return 'timed out';
  const cause = (e as { cause?: { code?: string } })?.cause?.code;
  return cause ? `network error ${cause}` : e instanceof Error ? e.message : String(e);
}

/** POST `records` to one webhook in signed batches; failures after retries go to the dead-letter file. */
export async function deliverRecords(target: WebhookTarget, records: readonly unknown[], opts: DeliveryOptions): Promise<DeliveryReport> {
  const batchSize = target.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new CohortlabError('BAD_CONFIG', `webhook ${target.url}: batch_size must be a positive integer, got ${batchSize}.`);
  if (!target.secret) throw new CohortlabError('BAD_CONFIG', `webhook ${target.url}: no signing secret (set the environment variable its secret_env names).`);
  const retries = opts.retries ?? 5;
  const base = opts.backoffMs ?? 500;
  const cap = opts.maxBackoffMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const rng = createRng(opts.seed ?? 0);
  const report: DeliveryReport = { url: target.url, batches: 0, records: records.length, delivered: 0, retries: 0, deadLettered: 0 };
  for (let start = 0, batch = 0; start < records.length; start += batchSize, batch++) {
    const chunk = records.slice(start, start + batchSize);
    const body = JSON.stringify({ records: chunk });
    const key = idempotencyKey(target.url, opts.deliveryId, batch);
    report.batches++;
    let lastError = '';
    let done = false;
    for (let attempt = 0; attempt <= retries && !done; attempt++) {
      let waitMs = 0;
      try {
        const ts = Math.floor(now() / 1000);
        const res = await fetch(target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': key,
            'x-cohortlab-timestamp': String(ts),
            'x-cohortlab-signature': signBody(target.secret, ts, body),
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.arrayBuffer();
        if (res.ok) {
          done = true;
          break;
        }
        lastError = `HTTP ${res.status}`;
        if (!RETRYABLE(res.status)) break;
        const after = Number(res.headers.get('retry-after'));
        if (Number.isFinite(after) && after > 0) waitMs = Math.min(cap, after * 1000);
      } catch (e) {
        lastError = describeFailure(e);
      }
      if (attempt < retries) {
        report.retries++;
        const backoff = rng.next() * Math.min(cap, base * 2 ** attempt);
        await new Promise((r) => setTimeout(r, Math.max(waitMs, backoff)));
      }
    }
    if (done) report.delivered += chunk.length;
    else {
      report.deadLettered += chunk.length;
      const line = JSON.stringify({ url: target.url, idempotency_key: key, delivery_id: opts.deliveryId, batch, error: lastError, failed_at: new Date(now()).toISOString(), records: chunk });
      try {
        await appendFile(opts.deadLetterFile, `${line}\n`);
      } catch (e) {
        throw new CohortlabError('WRITE_FAILED', `cannot append ${chunk.length} undelivered records for ${target.url} to the dead-letter file "${opts.deadLetterFile}": ${describeFailure(e)}.`, { path: opts.deadLetterFile, cause: e });
      }
    }
  }
  return report;
}
