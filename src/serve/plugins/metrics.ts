import type { FastifyInstance } from 'fastify';
import type { ModelProvider } from '../provider.js';
import { appWide } from './plugin.js';
import type { WorkerLink } from '../workers.js';

/**
 * GET /metrics in the Prometheus text exposition format (version 0.0.4): requests and a latency
 * histogram per method, route pattern and status, users scored by /v1/predict, and the loaded model as
 * an info gauge. Labels are route patterns, never URLs, so their number is bounded by the routes.
 * No API key (CONTRACT.md): bind the server privately or keep /metrics behind the proxy.
 */
export const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface Series {
  labels: string;
  count: number;
  sum: number;
  buckets: number[];
}

/** A copy of the counters, as plain data (what a serve --workers worker sends for the sum of all). */
export interface MetricsData {
  series: Series[];
  predictions: number;
}

export class Metrics {
  private readonly series = new Map<string, Series>();
  private predictions = 0;

  data(): MetricsData {
    return { series: [...this.series.values()].map((s) => ({ ...s, buckets: [...s.buckets] })), predictions: this.predictions };
  }

  /** The sum of several workers' counters (each series by its labels). */
  static merged(all: MetricsData[]): Metrics {
    const m = new Metrics();
    for (const d of all) {
      m.predictions += d.predictions;
      for (const s of d.series) {
        const t = m.series.get(s.labels);
        if (!t) m.series.set(s.labels, { ...s, buckets: [...s.buckets] });
        else {
          t.count += s.count;
          t.sum += s.sum;
          s.buckets.forEach((b, i) => (t.buckets[i] += b));
        }
      }
    }
    return m;
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = `method="${esc(method)}",route="${esc(route)}",status="${status}"`;
    let s = this.series.get(labels);
    if (!s) {
      s = { labels, count: 0, sum: 0, buckets: LATENCY_BUCKETS_SECONDS.map(() => 0) };
      this.series.set(labels, s);
    }
    s.count++;
    s.sum += seconds;
    for (let i = 0; i < LATENCY_BUCKETS_SECONDS.length; i++) if (seconds <= LATENCY_BUCKETS_SECONDS[i]) s.buckets[i]++;
  }

  /** Users scored (one per entry of a /v1/predict body that was answered). */
  countPredictions(users: number): void {
    this.predictions += users;
  }

  render(model: { name: string; version: number; loadedAt: string }): string {
    const all = [...this.series.values()].sort((a, b) => (a.labels < b.labels ? -1 : 1));
    const lines = [
      '# HELP cohortlab_http_requests_total Requests answered, by method, route pattern and status.',
      '# TYPE cohortlab_http_requests_total counter',
      ...all.map((s) => `cohortlab_http_requests_total{${s.labels}} ${s.count}`),
      '# HELP cohortlab_http_request_duration_seconds Time from the request to the end of the answer.',
      '# TYPE cohortlab_http_request_duration_seconds histogram',
    ];
    for (const s of all) {
      LATENCY_BUCKETS_SECONDS.forEach((le, i) => lines.push(`cohortlab_http_request_duration_seconds_bucket{${s.labels},le="${le}"} ${s.buckets[i]}`));
      lines.push(`cohortlab_http_request_duration_seconds_bucket{${s.labels},le="+Inf"} ${s.count}`);
      lines.push(`cohortlab_http_request_duration_seconds_sum{${s.labels}} ${s.sum}`);
      lines.push(`cohortlab_http_request_duration_seconds_count{${s.labels}} ${s.count}`);
    }
    lines.push(
      '# HELP cohortlab_predictions_total Users scored by POST /v1/predict.',
      '# TYPE cohortlab_predictions_total counter',
      `cohortlab_predictions_total ${this.predictions}`,
      '# HELP cohortlab_model_info The model version the server answers with (value 1).',
      '# TYPE cohortlab_model_info gauge',
      `cohortlab_model_info{name="${esc(model.name)}",version="${model.version}",loaded_at="${esc(model.loadedAt)}"} 1`,
    );
    return `${lines.join('\n')}\n`;
  }
}

/** A label value as the text format wants it: backslash, double quote and newline escaped. */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export const metricsPlugin = appWide<{ metrics: Metrics; provider: ModelProvider; link: WorkerLink | null }>(async (app: FastifyInstance, opts) => {
  const { metrics, provider, link } = opts;
  link?.onMetrics(() => metrics.data());
  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? '(no route)', reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_req, reply) => {
    const l = provider.current();
    // serve --workers: the sum over every worker, so a scrape sees the whole server whichever worker answers
    const shown = link ? Metrics.merged(await link.metricsOfAll()) : metrics;
    return reply.type('text/plain; version=0.0.4; charset=utf-8').header('cache-control', 'no-store').send(shown.render({ name: l.model.name, version: l.model.version, loadedAt: l.loadedAt }));
  });
});
