import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One process's Prometheus metrics: prom-client's defaults (CPU, memory, event loop, GC) plus
 * IdleMint's own families. Every name starts with `idlemint_`; counters end in `_total`.
 * Counters are incremented at a few single points (the HTTP hooks, the worker's job events);
 * what the database already knows (units, results, credits, payouts, deliveries, the outbox) is
 * read from PostgreSQL at scrape time (platform-stats.ts), never counted twice.
 */
export class Metrics {
  readonly registry = new Registry();

  /** Every HTTP request: route template (not the raw URL, so ids do not explode the series). */
  readonly httpDuration = new Histogram({
    name: 'idlemint_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [],
  });

  /** Device gateway requests answered with an error, by its stable code. */
  readonly deviceRefused = new Counter({
    name: 'idlemint_device_requests_refused_total',
    help: 'Device gateway requests refused, by error code',
    labelNames: ['code'] as const,
    registers: [],
  });

  /** Result submissions as the gateway answered them: accepted, or rejected with the error code as reason. */
  readonly results = new Counter({
    name: 'idlemint_results_total',
    help: 'Device result submissions by outcome (accepted, rejected) and reason (the error code when rejected)',
    labelNames: ['outcome', 'reason'] as const,
    registers: [],
  });

  /** Worker jobs by queue and outcome: completed, retried (a failure with attempts left), failed (final). */
  readonly jobs = new Counter({
    name: 'idlemint_jobs_total',
    help: 'BullMQ jobs processed by this worker, by queue and outcome (completed, retried, failed)',
    labelNames: ['queue', 'outcome'] as const,
    registers: [],
  });

  /** `app` labels every series; the api exposes the HTTP families, the worker the job family. */
  constructor(app: string) {
    this.registry.setDefaultLabels({ app });
    collectDefaultMetrics({ register: this.registry });
    // prom-client names three gauges `*_total`, which `promtool check metrics` refuses (that suffix is
    // for counters); the same counts stay, by type, in nodejs_active_handles/requests/resources.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    if (app === 'worker') {
      this.registry.registerMetric(this.jobs);
    } else {
      this.registry.registerMetric(this.httpDuration);
      this.registry.registerMetric(this.deviceRefused);
      this.registry.registerMetric(this.results);
    }
  }

  /** A gauge whose values are computed when Prometheus scrapes (a database count, a queue depth). */
  scrapeGauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Promise<{ labels: Partial<Record<L, string>>; value: number }[]>,
  ): Gauge<L> {
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        const rows = await read();
        this.reset();
        for (const r of rows) this.set(r.labels, r.value);
      },
    });
  }

  /** The exposition in Prometheus text format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** Reads `load` at most once per `ttlMs`: several gauges fed by one query, and a cheap scrape. */
export function cached<T>(ttlMs: number, load: () => Promise<T>): () => Promise<T> {
  let at = 0;
  let pending: Promise<T> | undefined;
  return () => {
    if (!pending || Date.now() - at > ttlMs) {
      at = Date.now();
      pending = load().catch((e: unknown) => {
        at = 0;
        throw e;
      });
    }
    return pending;
  };
}
