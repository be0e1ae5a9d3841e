import type { EventConfig } from '../ingest/index.js';
import type { SegmentChange } from '../rules/index.js';
import { join } from 'node:path';
import { HISTORY_FOLDER, type Manifest, type SnapshotMemberIds } from '../registry/index.js';
import { writeFileAtomic } from '../shared/atomic.js';
import { CohortlabError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/log.js';
import { deliverRecords, type DeliveryReport, type WebhookTarget } from '../shared/webhook.js';
import type { RefreshResult } from './refresh.js';

/**
 * Where a refresh's segment changes go (issue 21 part 4): an NDJSON file (`refresh --changes FILE`) and the
 * webhooks of the config's `refresh.webhooks` (signed, batched, retried, dead-lettered: shared/webhook.ts). The
 * delivery id is `refresh:<model>:<as_of>`, so refreshing a date again sends batches with the same
 * Idempotency-Key and a receiver that keeps keys drops the repeats. Privacy: only ids the model keeps (raw or
 * pseudonymized) leave; a model that stores no ids sends nothing and says so before any work is done.
 */
export interface RefreshDestinations {
  changesFile?: string;
  webhooks: WebhookTarget[];
  /** Where batches still failing after the retries are appended. */
  deadLetterFile: string;
  /** Retry settings (tests shorten them). */
  retries?: number;
  backoffMs?: number;
  timeoutMs?: number;
}

export interface PublishReport {
  /** Records written to the changes file (null: no file asked). */
  written: number | null;
  deliveries: DeliveryReport[];
}

/** The config's webhooks with their secrets read from the environment; BAD_CONFIG naming the variable when one is unset. */
export function refreshDestinations(config: EventConfig, env: NodeJS.ProcessEnv, opts: { changesFile?: string; deadLetterFile: string }): RefreshDestinations {
  const webhooks = (config.refresh?.webhooks ?? []).map((w, i) => {
    const secret = env[w.secret_env];
    if (!secret) throw new CohortlabError('BAD_CONFIG', `refresh.webhooks[${i}] (${w.url}) signs with the secret in $${w.secret_env}, which is not set; export it before refreshing.`);
    return { url: w.url, secret, batchSize: w.batch_size };
  });
  return { changesFile: opts.changesFile, webhooks, deadLetterFile: opts.deadLetterFile };
}

/** Refuses, before any work, destinations a model's ids may not reach. */
export function checkDestinations(memberIds: SnapshotMemberIds | 'none', dest: RefreshDestinations, label: string): void {
  if ((memberIds === 'keyed' || memberIds === 'none') && (dest.changesFile || dest.webhooks.length)) {
    const where = [dest.changesFile ? `--changes ${dest.changesFile}` : '', dest.webhooks.length ? `${dest.webhooks.length} webhook(s) of the config` : ''].filter(Boolean).join(' and ');
    throw new CohortlabError('NO_MEMBER_IDS', `${label} stores no user ids (the privacy default), so its segment changes cannot name users for ${where}; train with --keep-user-ids, or --pseudonymize to send keyed hashes. The history still counts changes and transitions.`);
  }
}

/**
 * What a refresh of a version does with its snapshot, for `cohortlab refresh` and `serve --refresh` alike: flags
 * first, else the config's refresh block (keep, track), the destinations (--changes, the config's webhooks, the
 * dead-letter file, default models/NAME/history/dead-letter.ndjson), refused now when the model keeps no ids.
 */
export function refreshSettings(
  config: EventConfig,
  env: NodeJS.ProcessEnv,
  model: { name: string; label: string; manifest: Pick<Manifest, 'memberIds'> },
  opts: { modelsDir: string; keep?: number; track?: string[]; changesFile?: string; deadLetterFile?: string },
): { keep: number | undefined; track: string[] | undefined; dest: RefreshDestinations } {
  const dest = refreshDestinations(config, env, {
    changesFile: opts.changesFile,
    deadLetterFile: opts.deadLetterFile ?? join(opts.modelsDir, model.name, HISTORY_FOLDER, 'dead-letter.ndjson'),
  });
  checkDestinations(model.manifest.memberIds ?? 'none', dest, model.label);
  return { keep: opts.keep ?? config.refresh?.keep, track: opts.track ?? config.refresh?.track, dest };
}

function ndjson(changes: readonly SegmentChange[]): string {
  let out = '';
  for (const c of changes) out += `${JSON.stringify({ user_id: c.user_id, segment: c.segment, from: c.from, to: c.to, as_of: c.as_of })}\n`;
  return out;
}

export async function publishRefresh(result: RefreshResult, dest: RefreshDestinations, opts: { logger?: Logger; seed?: number } = {}): Promise<PublishReport> {
  const logger = opts.logger ?? silentLogger;
  checkDestinations(result.record.member_ids, dest, `${result.record.model.name}@${result.record.model.version}`);
  const changes = result.changes ?? [];
  if (result.record.previous === null && (dest.changesFile || dest.webhooks.length)) {
    logger.info(`refresh ${result.record.as_of}: the first snapshot of the history, so there are no changes to send (the next refresh compares with this one)`);
  }
  let written: number | null = null;
  if (dest.changesFile) {
    await writeFileAtomic(dest.changesFile, ndjson(changes));
    written = changes.length;
  }
  const deliveries: DeliveryReport[] = [];
  if (changes.length) {
    for (const target of dest.webhooks) {
      const r = await deliverRecords(target, changes, {
        deliveryId: `refresh:${result.record.model.name}:${result.record.as_of}`,
        deadLetterFile: dest.deadLetterFile,
        retries: dest.retries,
        backoffMs: dest.backoffMs,
        timeoutMs: dest.timeoutMs,
        seed: opts.seed,
      });
      deliveries.push(r);
      const line = `webhook ${r.url}: ${r.delivered.toLocaleString('en-US')} of ${r.records.toLocaleString('en-US')} changes delivered in ${r.batches} batch(es), ${r.retries} retr${r.retries === 1 ? 'y' : 'ies'}`;
      if (r.deadLettered) logger.warn(`${line}; ${r.deadLettered.toLocaleString('en-US')} not delivered, appended to ${dest.deadLetterFile}`);
      else logger.info(line);
    }
  }
  return { written, deliveries };
}
