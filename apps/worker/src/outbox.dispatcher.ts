import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { CONFIG, JOB_NAME, PrismaService, QUEUE, jobOptions, type Config, type OutboxPayloads, type OutboxTopic } from '@idlemint/core';
import { WorkQueues } from '@idlemint/work';

interface OutboxRow {
  id: bigint;
  topic: OutboxTopic;
  payload: unknown;
}

/**
 * Turns committed outbox messages into jobs. Rows are taken with SKIP LOCKED, so any number of
 * workers can run it; a message enqueued but not yet marked is enqueued again after a crash, with
 * the same job id, and the handlers are idempotent in Postgres.
 */
@Injectable()
export class OutboxDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(OutboxDispatcher.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly options: ReturnType<typeof jobOptions>;

  constructor(
    private readonly db: PrismaService,
    private readonly work: WorkQueues,
    @InjectQueue(QUEUE.relay) private readonly relay: Queue,
    @InjectQueue(QUEUE.payouts) private readonly payouts: Queue,
    @InjectQueue(QUEUE.alerts) private readonly alerts: Queue,
    @InjectQueue(QUEUE.shares) private readonly shares: Queue,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.options = jobOptions(config.RELAY_ATTEMPTS, { attempts: config.ALERT_DELIVERY_ATTEMPTS, backoffMs: config.ALERT_BACKOFF_MS });
  }

  onApplicationBootstrap(): void {
    const loop = async () => {
      this.running = this.drain().then(
        () => undefined,
        (e: Error) => this.log.error(`outbox: ${e.message}`),
      );
      await this.running;
      // Shutdown may have come while this pass ran: do not schedule another one.
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.config.OUTBOX_POLL_MS);
    };
    void loop();
  }

  /**
   * Stops before the database goes: Nest runs every onModuleDestroy (Prisma disconnects in its own)
   * before any onApplicationShutdown, so waiting here keeps a pass in flight from reopening the pool.
   */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Dispatches until the outbox is empty. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.dispatchBatch(200);
      total += n;
      if (n < 200) return total;
    }
  }

  private dispatchBatch(limit: number): Promise<number> {
    return this.db.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<OutboxRow[]>`
          SELECT "id", "topic", "payload" FROM "OutboxMessage" WHERE "dispatchedAt" IS NULL
           ORDER BY "id" LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
        for (const row of rows) await this.dispatch(row);
        if (rows.length > 0) {
          await tx.$executeRaw`UPDATE "OutboxMessage" SET "dispatchedAt" = now() WHERE "id" = ANY(${rows.map((r) => r.id)})`;
        }
        return rows.length;
      },
      { timeout: 60_000 },
    );
  }

  private async dispatch(row: OutboxRow): Promise<void> {
    switch (row.topic) {
      case 'work.replica': {
        const p = row.payload as OutboxPayloads['work.replica'];
        await this.work.addReplica(
          p.deviceClass,
          { unitId: p.unitId, replica: p.replica, ...(p.audit ? { audit: true } : {}) },
          p.delayMs ?? 0,
        );
        return;
      }
      case 'unit.retracted': {
        const { unitId } = row.payload as OutboxPayloads['unit.retracted'];
        const nodes = await this.db.trustedNode.findMany({ where: { status: 'active' }, select: { id: true } });
        for (const { id: nodeId } of nodes) {
          const data = { unitId, nodeId };
          await this.relay.add(JOB_NAME['relay.retract'], data, this.options['relay.retract'](data));
        }
        return;
      }
      case 'unit.verified': {
        const { unitId } = row.payload as OutboxPayloads['unit.verified'];
        const nodes = await this.db.trustedNode.findMany({ where: { status: 'active' }, select: { id: true } });
        for (const { id: nodeId } of nodes) {
          const data = { unitId, nodeId };
          await this.relay.add(JOB_NAME['relay.deliver'], data, this.options['relay.deliver'](data));
        }
        return;
      }
      case 'payout.created': {
        const data = row.payload as OutboxPayloads['payout.created'];
        await this.payouts.add(JOB_NAME['payouts.execute'], data, this.options['payouts.execute'](data));
        return;
      }
      case 'alert.delivery': {
        const data = row.payload as OutboxPayloads['alert.delivery'];
        await this.alerts.add(JOB_NAME['alerts.deliver'], data, this.options['alerts.deliver'](data));
        return;
      }
      case 'block.found': {
        const { candidateId } = row.payload as OutboxPayloads['block.found'];
        const nodes = await this.db.trustedNode.findMany({ where: { status: 'active' }, select: { id: true } });
        for (const { id: nodeId } of nodes) {
          const data = { candidateId, nodeId };
          await this.shares.add(JOB_NAME['shares.relay-block'], data, this.options['shares.relay-block'](data));
        }
        return;
      }
    }
  }
}
