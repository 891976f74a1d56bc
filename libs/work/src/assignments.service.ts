import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CONFIG, PrismaService, isUniqueViolation, newId, type Config } from '@idlemint/core';
import type { ClaimBody, ClaimResponse, TxVerifyItem } from '@idlemint/protocol';
import { plantCanaries } from './canaries.js';
import { CanaryStock } from './canary-stock.js';
import { isTrusted } from './reputation.js';
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
/** A manufacturer counts for a class when it has active devices of it seen (heartbeat, or enrolled) this recently. */
const SEEN_RECENTLY_MS = 15 * 60_000;

interface ClaimedUnit {
  id: string;
  status: string;
  auditStatus: string | null;
  items: unknown;
  minManufacturers: number;
}

/**
 * Hands a device one replica of a unit, with canaries of its own planted among the unit's items.
 * The replica's BullMQ job lock is the lease; the assignment row in Postgres is the record, and its
 * unique keys make sure no device, no owner and no network origin holds two replicas of one unit.
 *
 * Which device gets which replica is the platform's choice: replica jobs wait in the queue in a
 * seeded random order (placement.ts), so claiming fast or together buys nothing; a device whose
 * manufacturer already holds a replica of a unit that needs two manufacturers leaves it for others.
 * Every unit needs `QUORUM` independent answers; reputation only sets canaries and quota.
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

  /** `origin`: the request's network origin (placement.ts `networkOrigin`), null when unknown. */
  async claim(device: ClaimingDevice, body: ClaimBody, origin: string | null = null): Promise<ClaimResponse | null> {
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
      const canaryCount = isTrusted(standing, this.config.TRUST_AFTER) ? this.config.CANARIES_TRUSTED : this.config.CANARIES_UNTRUSTED;
      const audit = job.data.audit === true;
      const unit = await this.db.workUnit.findUnique({
        where: { id: job.data.unitId },
        select: { id: true, status: true, auditStatus: true, items: true, minManufacturers: true },
      });
      if (!unit || !stillWanted(unit, audit)) {
        await this.queues.discard(job, token);
        continue;
      }
      const real = unit.items as unknown as TxVerifyItem[];
      if (body.maxItems !== undefined && real.length + canaryCount > body.maxItems) {
        await this.queues.giveBack(job, token);
        return null;
      }
      if (!(await this.placementAllows(unit, device, origin))) {
        await this.queues.giveBack(job, token);
        continue;
      }
      const { items, positions } = plantCanaries(real, await this.canaries.take(canaryCount));
      const deadline = new Date(leaseStart + this.config.LEASE_MS);
      const assignmentId = newId();
      try {
        await this.db.assignment.create({
          data: {
            id: assignmentId,
            unitId: unit.id,
            deviceId: device.id,
            ownerId: device.ownerId,
            manufacturerId: device.manufacturerId,
            origin,
            audit,
            replica: job.data.replica,
            jobId: job.id,
            lockToken: token,
            deadline,
            canaries: positions,
          },
        });
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        // This device, its owner or its network origin already holds a replica of this unit.
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
   * Keeps a unit's replicas apart: not to a device, owner or origin that already holds one (the
   * unique keys hold that too), and, until the unit's live replicas span `minManufacturers`
   * manufacturers, not to a manufacturer already among them.
   */
  private async placementAllows(unit: ClaimedUnit, device: ClaimingDevice, origin: string | null): Promise<boolean> {
    const held = await this.db.$queryRaw<
      { deviceId: string; ownerId: string | null; manufacturerId: string | null; origin: string | null }[]
    >`
      SELECT "deviceId", "ownerId", "manufacturerId", "origin" FROM "Assignment"
       WHERE "unitId" = ${unit.id} AND "status" <> 'expired'`;
    for (const h of held) {
      if (h.deviceId === device.id) return false;
      if (device.ownerId !== null && h.ownerId === device.ownerId) return false;
      if (origin !== null && h.origin === origin) return false;
    }
    const manufacturers = new Set(held.map((h) => h.manufacturerId));
    return !(manufacturers.has(device.manufacturerId) && manufacturers.size < unit.minManufacturers);
  }

  /**
   * How many manufacturers have active devices of a class seen lately (cached briefly: it changes
   * slowly). Units cut while it is 2 or more need agreement across manufacturers.
   */
  async manufacturersOf(deviceClass: string): Promise<number> {
    const hit = this.manufacturerCounts.get(deviceClass);
    if (hit && hit.until > Date.now()) return hit.n;
    const since = new Date(Date.now() - SEEN_RECENTLY_MS);
    const rows = await this.db.$queryRaw<{ n: number }[]>`
      SELECT COUNT(DISTINCT d."manufacturerId")::int AS n FROM "Device" d JOIN "DeviceModel" m ON m."id" = d."modelId"
       WHERE m."deviceClass" = ${deviceClass} AND d."status" = 'active' AND COALESCE(d."lastSeenAt", d."enrolledAt") >= ${since}`;
    const n = rows[0]?.n ?? 0;
    this.manufacturerCounts.set(deviceClass, { n, until: Date.now() + 10_000 });
    return n;
  }
}

/** A replica job is still wanted while its unit is open, or, for an audit, while the audit runs. */
function stillWanted(unit: ClaimedUnit, audit: boolean): boolean {
  if (!audit) return unit.status === 'open';
  return unit.status === 'verified' && (unit.auditStatus === 'pending' || unit.auditStatus === 'contested');
}
