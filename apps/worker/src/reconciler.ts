import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CONFIG, JOB_NAME, QUEUE, REDIS, jobOptions, type Config, type JobPayloads } from '@idlemint/core';
import { PayoutRecovery } from '@idlemint/payouts';
import { RelayService } from '@idlemint/relay';
import { ReplicaRecovery } from '@idlemint/work';
import { Schedulers } from './schedulers.js';

export type ReconcileReason = 'start' | 'scheduled' | 'redis-lost';

export interface ReconcileReport {
  reason: ReconcileReason;
  schedulers: boolean;
  replicas: number;
  relays: number;
  payouts: number;
  rechecked: number;
}

/** How often the marker key is looked at: a Redis restarted empty is noticed within this. */
const MARKER_CHECK_MS = 1_000;

/**
 * Postgres is the truth, Redis is rebuilt. From Postgres alone the reconciler re-creates every job
 * that ought to exist: a replica job for each open unit's replica nobody holds, a relay job for each
 * verified unit not yet delivered to an active node (one out of retries again after
 * RELAY_REDRIVE_MS), a payout job for each payout in flight, a recheck of each unclear payout,
 * and every job scheduler. It runs at start, every RECONCILE_EVERY_MS, and at once when the marker
 * key it keeps in Redis has vanished (Redis lost its data). Job ids are deterministic and a job in
 * any live state is left alone, so any number of workers may run it at the same time.
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(Reconciler.name);
  private readonly options: ReturnType<typeof jobOptions>;
  private readonly marker: string;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;
  private nextSweep = 0;

  constructor(
    private readonly replicas: ReplicaRecovery,
    private readonly relay: RelayService,
    private readonly payouts: PayoutRecovery,
    private readonly schedulers: Schedulers,
    @InjectQueue(QUEUE.relay) private readonly relayQueue: Queue,
    @InjectQueue(QUEUE.payouts) private readonly payoutQueue: Queue,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.options = jobOptions(config.RELAY_ATTEMPTS);
    this.marker = `${config.QUEUE_PREFIX}:reconciler:marker`;
  }

  onApplicationBootstrap(): void {
    const tick = async (): Promise<void> => {
      this.running = this.step().catch((e: Error) => this.log.warn(`reconcile: ${e.message}`));
      await this.running;
      if (!this.stopped) this.timer = setTimeout(() => void tick(), MARKER_CHECK_MS);
    };
    this.nextSweep = 0; // the first step is the start sweep
    void tick();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async step(): Promise<void> {
    if (this.nextSweep === 0) {
      await this.reconcile('start');
      return;
    }
    if ((await this.redis.exists(this.marker)) === 0) {
      this.log.warn('the reconciler marker is gone from Redis: rebuilding every job from Postgres');
      await this.reconcile('redis-lost');
      return;
    }
    if (Date.now() >= this.nextSweep) await this.reconcile('scheduled');
  }

  /** One pass; safe to run concurrently with other workers' passes. */
  async reconcile(reason: ReconcileReason): Promise<ReconcileReport> {
    // Written first: a Redis emptied during the pass removes it again and the next step sees that.
    await this.redis.set(this.marker, new Date().toISOString(), 'NX');
    const schedulersRebuilt = reason !== 'scheduled' || !(await this.schedulers.allPresent());
    if (schedulersRebuilt) await this.schedulers.upsertAll();
    const report: ReconcileReport = {
      reason,
      schedulers: schedulersRebuilt,
      replicas: await this.replicas.reenqueueMissing(),
      relays: await this.relays(),
      payouts: await this.pendingPayouts(),
      rechecked: 0,
    };
    for (const id of await this.payouts.unclearDue()) {
      if (this.stopped) break;
      if ((await this.payouts.recheck(id)) === 'resumed') report.payouts += await this.pendingPayouts(0);
      report.rechecked++;
    }
    this.nextSweep = Date.now() + this.config.RECONCILE_EVERY_MS;
    if (report.replicas + report.relays + report.payouts > 0 || reason !== 'scheduled') {
      this.log.log(
        `reconcile (${reason}): replicas=${report.replicas} relays=${report.relays} payouts=${report.payouts} rechecked=${report.rechecked} schedulers=${report.schedulers ? 'upserted' : 'present'}`,
      );
    }
    return report;
  }

  /** Relay jobs for undelivered (unit, node) pairs: added when missing, retried when out of attempts long enough. */
  private async relays(): Promise<number> {
    let n = 0;
    for (const data of await this.relay.undeliveredPairs()) {
      if (this.stopped) break;
      if (
        await this.ensure(
          this.relayQueue,
          JOB_NAME['relay.deliver'],
          data,
          this.options['relay.deliver'](data),
          this.config.RELAY_REDRIVE_MS,
        )
      )
        n++;
    }
    for (const data of await this.relay.unretractedPairs()) {
      if (this.stopped) break;
      if (
        await this.ensure(
          this.relayQueue,
          JOB_NAME['relay.retract'],
          data,
          this.options['relay.retract'](data),
          this.config.RELAY_REDRIVE_MS,
        )
      )
        n++;
    }
    return n;
  }

  /** A job for every payout in flight: a pending payout whose job was lost must not block its owner. */
  private async pendingPayouts(redriveAfterMs = this.config.RELAY_REDRIVE_MS): Promise<number> {
    let n = 0;
    for (const payoutId of await this.payouts.pendingIds()) {
      if (this.stopped) break;
      const data = { payoutId };
      if (await this.ensure(this.payoutQueue, JOB_NAME['payouts.execute'], data, this.options['payouts.execute'](data), redriveAfterMs))
        n++;
    }
    return n;
  }

  /**
   * Makes sure the job with this deterministic id is live: added when missing, replaced when it
   * completed although Postgres says the work is not done, retried when it failed at least
   * `redriveAfterMs` ago. True when something was (re)queued.
   */
  private async ensure<N extends 'relay.deliver' | 'relay.retract' | 'payouts.execute'>(
    queue: Queue,
    name: N,
    data: JobPayloads[N],
    opts: ReturnType<ReturnType<typeof jobOptions>[N]>,
    redriveAfterMs: number,
  ): Promise<boolean> {
    const jobId = opts.jobId!;
    const state = await queue.getJobState(jobId);
    if (state === 'failed') {
      const job = await queue.getJob(jobId);
      if (!job || (job.finishedOn ?? 0) + redriveAfterMs > Date.now()) return false;
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    }
    if (state === 'completed') await queue.remove(jobId);
    else if (state !== 'unknown') return false;
    await queue.add(name, data, opts);
    return true;
  }
}
