import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CONFIG, PrismaService, isUniqueViolation, newId, writeOutbox, type Config, type Tx } from '@idlemint/core';
import type { ClaimBody, ClaimResponse, TxVerifyItem } from '@idlemint/protocol';
import { plantCanaries } from './canaries.js';
import { CanaryStock } from './canary-stock.js';
import { isTrusted, replicasFor } from './reputation.js';
import { WorkQueues } from './work-queues.js';

export interface ClaimingDevice {
  id: string;
  ownerId: string | null;
  manufacturerId: string;
  model: { deviceClass: string };
}

interface Standing {
  consecutiveValid: number;
  strikes: number;
  dailyQuota: number;
  today: number;
}

/** How many queued replicas one claim looks at before answering "no work for you now". */
const MAX_TRIES = 6;

/**
 * Hands a device one replica of a unit, with canaries of its own planted among the unit's items.
 * The replica's BullMQ job lock is the lease; the assignment row in Postgres is the record, and its
 * unique keys make sure no device and no owner holds two replicas of one unit.
 *
 * Replication adapts to the taker (BOINC adaptive replication): a unit starts with one replica;
 * a device not yet trusted, or a random spot check of a trusted one, raises it to `QUORUM`.
 */
@Injectable()
export class AssignmentsService {
  private readonly manufacturerCounts = new Map<string, { n: number; until: number }>();

  constructor(
    private readonly db: PrismaService,
    private readonly queues: WorkQueues,
    private readonly canaries: CanaryStock,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async claim(device: ClaimingDevice, body: ClaimBody): Promise<ClaimResponse | null> {
    if (body.kinds && !body.kinds.includes('tx-verify')) return null;
    const deviceClass = device.model.deviceClass;
    let standing: Standing | null | undefined;
    for (let i = 0; i < MAX_TRIES; i++) {
      const token = randomUUID();
      // Taken before the job is locked, so the deadline never outlives the lock (the lease): once the
      // stalled check can hand the replica to another device, this one can no longer submit.
      const leaseStart = Date.now();
      const job = await this.queues.take(deviceClass, token);
      if (!job?.id) return null;
      // Read only once there is work to hand out: a device polling an empty queue costs no query.
      standing ??= await this.standing(device.id);
      if (!standing || standing.today >= standing.dailyQuota) {
        await this.queues.giveBack(job, token, 0);
        return null;
      }
      const trusted = isTrusted(standing, this.config.TRUST_AFTER);
      const canaryCount = trusted ? this.config.CANARIES_TRUSTED : this.config.CANARIES_UNTRUSTED;
      const unit = await this.db.workUnit.findUnique({
        where: { id: job.data.unitId },
        select: { id: true, status: true, items: true, quorum: true, replicasIssued: true, createdAt: true },
      });
      if (!unit || unit.status !== 'open') {
        await this.queues.discard(job, token);
        continue;
      }
      const real = unit.items as unknown as TxVerifyItem[];
      if (body.maxItems !== undefined && real.length + canaryCount > body.maxItems) {
        await this.queues.giveBack(job, token);
        return null;
      }
      if (await this.sameManufacturerTooSoon(unit, device)) {
        await this.queues.giveBack(job, token);
        continue;
      }
      const { items, positions } = plantCanaries(real, await this.canaries.take(canaryCount));
      const needed = replicasFor(trusted, this.config.SPOT_CHECK_RATE) === 1 ? 1 : this.config.QUORUM;
      const deadline = new Date(leaseStart + this.config.LEASE_MS);
      const assignmentId = newId();
      try {
        await this.db.$transaction(
          async (tx) => {
            await tx.assignment.create({
              data: {
                id: assignmentId,
                unitId: unit.id,
                deviceId: device.id,
                ownerId: device.ownerId,
                replica: job.data.replica,
                jobId: job.id!,
                lockToken: token,
                deadline,
                canaries: positions,
              },
            });
            if (needed > unit.quorum) await this.raiseQuorum(tx, unit.id, deviceClass, needed);
          },
          { maxWait: 10_000, timeout: 20_000 },
        );
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        // This device or its owner already holds a replica of this unit: leave it for others.
        await this.queues.giveBack(job, token);
        continue;
      }
      return { assignment: { assignmentId, unitId: unit.id, kind: 'tx-verify', deadline: deadline.toISOString(), items } };
    }
    return null;
  }

  private async standing(deviceId: string): Promise<Standing | null> {
    const rows = await this.db.$queryRaw<Standing[]>`
      SELECT d."consecutiveValid", d."strikes", d."dailyQuota",
             (SELECT COUNT(*)::int FROM "Assignment" a
               WHERE a."deviceId" = d."id" AND a."createdAt" >= date_trunc('day', now() AT TIME ZONE 'UTC')) AS today
        FROM "Device" d WHERE d."id" = ${deviceId}`;
    return rows[0] ?? null;
  }

  /**
   * Replicas of a unit go to different manufacturers where the fleet allows: for a little while
   * after the unit was cut, a device of a manufacturer that already holds a replica leaves it,
   * if another manufacturer has active devices of this class at all.
   */
  private async sameManufacturerTooSoon(unit: { id: string; createdAt: Date }, device: ClaimingDevice): Promise<boolean> {
    if (Date.now() - unit.createdAt.getTime() > this.config.SPREAD_MANUFACTURERS_MS) return false;
    if ((await this.manufacturersOf(device.model.deviceClass)) < 2) return false;
    const rows = await this.db.$queryRaw<{ n: number }[]>`
      SELECT COUNT(*)::int AS n FROM "Assignment" a JOIN "Device" d ON d."id" = a."deviceId"
       WHERE a."unitId" = ${unit.id} AND d."manufacturerId" = ${device.manufacturerId}`;
    return (rows[0]?.n ?? 0) > 0;
  }

  /** How many manufacturers have active devices of a class (cached briefly: it changes slowly). */
  private async manufacturersOf(deviceClass: string): Promise<number> {
    const hit = this.manufacturerCounts.get(deviceClass);
    if (hit && hit.until > Date.now()) return hit.n;
    const rows = await this.db.$queryRaw<{ n: number }[]>`
      SELECT COUNT(DISTINCT d."manufacturerId")::int AS n FROM "Device" d JOIN "DeviceModel" m ON m."id" = d."modelId"
       WHERE m."deviceClass" = ${deviceClass} AND d."status" = 'active'`;
    const n = rows[0]?.n ?? 0;
    this.manufacturerCounts.set(deviceClass, { n, until: Date.now() + 10_000 });
    return n;
  }

  /** Raises a unit's quorum and announces the replicas that adds, in the claim's transaction. */
  private async raiseQuorum(tx: Tx, unitId: string, deviceClass: string, needed: number): Promise<void> {
    const rows = await tx.$queryRaw<{ quorum: number; replicasIssued: number; status: string }[]>`
      SELECT "quorum", "replicasIssued", "status"::text AS status FROM "WorkUnit" WHERE "id" = ${unitId} FOR UPDATE`;
    const u = rows[0];
    if (!u || u.status !== 'open' || u.quorum >= needed) return;
    const issued = Math.max(u.replicasIssued, needed);
    await tx.workUnit.update({ where: { id: unitId }, data: { quorum: needed, replicasIssued: issued } });
    for (let replica = u.replicasIssued + 1; replica <= issued; replica++) {
      await writeOutbox(tx, 'work.replica', `work.replica:${unitId}:${replica}`, { unitId, replica, deviceClass });
    }
  }
}
