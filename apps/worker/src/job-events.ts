import { WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Job } from 'bullmq';
import { Metrics } from '@idlemint/core';

/**
 * Every processor's job outcomes, in one place: each failure logged with queue, job id, attempt
 * and cause (a retry at warn, the last attempt at error), and counted in `idlemint_jobs_total`
 * with the completions. The processors keep their own `failed` handlers for what a failure means
 * to them (a relay dead-lettered); this is only what the operator sees.
 */
@Injectable()
export class JobEvents implements OnApplicationBootstrap {
  private readonly log = new Logger('Jobs');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly metrics: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    const hosts = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost);
    for (const host of hosts) {
      let worker: WorkerHost['worker'];
      try {
        worker = host.worker;
      } catch {
        continue;
      }
      const queue = worker.name;
      worker.on('completed', () => this.metrics.jobs.inc({ queue, outcome: 'completed' }));
      worker.on('failed', (job: Job | undefined, error: Error) => this.failed(queue, job, error));
      worker.on('error', (error: Error) => this.log.error({ msg: 'worker error', queue, err: describe(error) }));
    }
  }

  private failed(queue: string, job: Job | undefined, error: Error): void {
    const attempts = Math.max(1, job?.opts.attempts ?? 1);
    const attempt = job?.attemptsMade ?? 0;
    const final = !job || attempt >= attempts || error.name === 'UnrecoverableError';
    this.metrics.jobs.inc({ queue, outcome: final ? 'failed' : 'retried' });
    const line = {
      msg: final ? 'job failed' : 'job failed, will retry',
      queue,
      jobId: job?.id,
      job: job?.name,
      attempt,
      attempts,
      err: describe(error),
    };
    if (final) this.log.error(line);
    else this.log.warn(line);
  }
}

/** The error and its chain of causes ("fetch failed" says little; its cause says ECONNREFUSED). */
function describe(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      parts.push(`${e.message}${typeof code === 'string' ? ` (${code})` : ''}`);
      e = e.cause;
    } else {
      parts.push(typeof e === 'string' ? e : JSON.stringify(e));
      break;
    }
  }
  return parts.join(': ');
}
