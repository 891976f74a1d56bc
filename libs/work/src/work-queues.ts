import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Job, Queue, Worker } from 'bullmq';
import { CONFIG, JOB_NAME, createRedis, jobOptions, workQueueName, type Config, type JobPayloads } from '@idlemint/core';
import type { Redis } from 'ioredis';
import { placementPriority, placementSeed } from './placement.js';

type ReplicaJob = Job<JobPayloads['work.replica']>;

/**
 * The per-device-class work queues. Replica jobs are added by the worker's outbox dispatcher and
 * taken by devices through BullMQ manual fetching: the job lock is the device's lease. A lock that
 * runs out makes the job stalled, and the stalled check puts it back in the queue.
 */
@Injectable()
export class WorkQueues implements OnApplicationShutdown {
  private readonly log = new Logger(WorkQueues.name);
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, Worker>();
  private connection?: Redis;
  private readonly seed: string;

  constructor(@Inject(CONFIG) private readonly config: Config) {
    this.seed = placementSeed(config.PLACEMENT_SEED);
  }

  private conn(): Redis {
    this.connection ??= createRedis(this.config.REDIS_URL, 'idlemint-work', {}, this.config.REDIS_CLUSTER);
    return this.connection;
  }

  queue(deviceClass: string): Queue {
    const name = workQueueName(deviceClass);
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.conn(), prefix: this.config.QUEUE_PREFIX });
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * Queues one replica at a place drawn from the placement seed (see placement.ts): devices are
   * handed replicas in a random order, never two of one unit side by side.
   */
  async addReplica(deviceClass: string, payload: JobPayloads['work.replica'], delayMs = 0): Promise<void> {
    const options = jobOptions(this.config.RELAY_ATTEMPTS)['work.replica'](payload);
    await this.queue(deviceClass).add(JOB_NAME['work.replica'], payload, {
      ...options,
      priority: placementPriority(this.seed, options.jobId!),
      ...(delayMs > 0 ? { delay: delayMs } : {}),
    });
  }

  /**
   * True when the replica has no job waiting, delayed or leased. A finished job (completed or
   * failed, kept for inspection) no longer stands for the replica: it is removed so the
   * deterministic id can be used again.
   */
  async replicaMissing(deviceClass: string, payload: JobPayloads['work.replica']): Promise<boolean> {
    const queue = this.queue(deviceClass);
    const jobId = jobOptions(this.config.RELAY_ATTEMPTS)['work.replica'](payload).jobId!;
    const state = await queue.getJobState(jobId);
    if (state === 'unknown') return true;
    if (state === 'completed' || state === 'failed') {
      await queue.remove(jobId).catch(() => 0);
      return true;
    }
    return false;
  }

  private worker(deviceClass: string): Worker {
    const name = workQueueName(deviceClass);
    let w = this.workers.get(name);
    if (!w) {
      w = new Worker(name, null, {
        connection: this.conn(),
        prefix: this.config.QUEUE_PREFIX,
        lockDuration: this.config.LEASE_MS,
        stalledInterval: Math.max(1_000, Math.min(5_000, this.config.LEASE_MS / 2)),
        maxStalledCount: 1_000,
        autorun: false,
      });
      w.on('error', (e) => this.log.warn(`work queue ${name}: ${e.message}`));
      void w.startStalledCheckTimer();
      this.workers.set(name, w);
    }
    return w;
  }

  /** The next replica job of this class, locked with `token` for the lease; null when none wait. */
  async take(deviceClass: string, token: string): Promise<ReplicaJob | null> {
    const job = (await this.worker(deviceClass).getNextJob(token, { block: false })) as ReplicaJob | undefined;
    return job ?? null;
  }

  /** Gives a job back for another device: a moment later so the same claim does not take it again, or at once. */
  async giveBack(job: ReplicaJob, token: string, delayMs = 250): Promise<void> {
    const back = delayMs > 0 ? job.moveToDelayed(Date.now() + delayMs, token) : job.moveToWait(token);
    await back.catch((e: Error) => this.log.warn(`give back ${job.id}: ${e.message}`));
  }

  /** Done with a replica: the answer is in Postgres. A lost lock is harmless (the result counts). */
  async complete(deviceClass: string, jobId: string, token: string): Promise<void> {
    const job = await Job.fromId(this.queue(deviceClass), jobId);
    if (!job) return;
    await job.moveToCompleted('answered', token, false).catch(() => undefined);
  }

  async discard(job: ReplicaJob, token: string): Promise<void> {
    await job.moveToCompleted('unit closed', token, false).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.close(true).catch(() => undefined)));
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    await this.connection?.quit().catch(() => undefined);
  }
}
