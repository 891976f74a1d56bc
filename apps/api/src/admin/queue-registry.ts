import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CONFIG, PrismaService, QUEUE, createRedis, workQueueName, type Config } from '@idlemint/core';
import { WorkQueues } from '@idlemint/work';

export interface QueueDepth {
  name: string;
  /** `work` for the per-device-class queues, else the queue's own name (QUEUE in libs/core). */
  kind: (typeof QUEUE)[keyof typeof QUEUE] | 'work';
  deviceClass: string | null;
  counts: {
    waiting: number;
    active: number;
    delayed: number;
    failed: number;
    completed: number;
    prioritized: number;
    'waiting-children': number;
  };
}

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;
/** Every named queue of libs/core (relay, payouts, ingest, alerts, …): a queue added there shows up here. */
const FIXED = Object.values(QUEUE);

/**
 * The API's read-only handles on every queue: the named ones (relay, payouts, ingest, alerts, …)
 * and one work queue per device class known from the device models (`work-<class>`). For the queue depths of the
 * operator API and for Bull Board. The api adds no jobs here (it only enqueues through the outbox).
 */
@Injectable()
export class QueueRegistry implements OnApplicationShutdown {
  private readonly queues = new Map<string, Queue>();
  private connection?: Redis;

  constructor(
    private readonly db: PrismaService,
    private readonly work: WorkQueues,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Every queue, the fixed ones first, then the work queues by class name. */
  async all(): Promise<{ queue: Queue; kind: QueueDepth['kind']; deviceClass: string | null }[]> {
    const fixed = FIXED.map((name) => ({ queue: this.named(name), kind: name, deviceClass: null }));
    const classes = await this.db.deviceModel.findMany({
      distinct: ['deviceClass'],
      select: { deviceClass: true },
      orderBy: { deviceClass: 'asc' },
    });
    const work = classes.map(({ deviceClass }) => ({ queue: this.work.queue(deviceClass), kind: 'work' as const, deviceClass }));
    return [...fixed, ...work];
  }

  async depths(): Promise<QueueDepth[]> {
    const all = await this.all();
    return Promise.all(
      all.map(async ({ queue, kind, deviceClass }) => {
        const c = await queue.getJobCounts(...STATES);
        const counts = Object.fromEntries(STATES.map((s) => [s, c[s] ?? 0])) as QueueDepth['counts'];
        return { name: deviceClass === null ? queue.name : workQueueName(deviceClass), kind, deviceClass, counts };
      }),
    );
  }

  private named(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      this.connection ??= createRedis(this.config.REDIS_URL, 'idlemint-api-queues', {}, this.config.REDIS_CLUSTER);
      q = new Queue(name, { connection: this.connection, prefix: this.config.QUEUE_PREFIX });
      this.queues.set(name, q);
    }
    return q;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    await this.connection?.quit().catch(() => undefined);
  }
}
