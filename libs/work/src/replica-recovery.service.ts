import { Injectable } from '@nestjs/common';
import { PrismaService } from '@idlemint/core';
import { WorkQueues } from './work-queues.js';

/** A replica of an open unit, as Postgres sees it. */
export interface OpenReplica {
  unitId: string;
  deviceClass: string;
  replica: number;
  /** An audit (or tie-break) replica of a verified unit whose audit is still out. */
  audit: boolean;
}

/**
 * Rebuilds the work queues from Postgres: every replica an open unit has issued that no device
 * holds (no submitted answer, no lease still inside its deadline) must have a job in its queue.
 * Redis may lose jobs (restarted empty, failover); Postgres says what ought to be there.
 */
@Injectable()
export class ReplicaRecovery {
  constructor(
    private readonly db: PrismaService,
    private readonly queues: WorkQueues,
  ) {}

  /**
   * Replicas of open units, and audit replicas of verified units whose audit is still out, without
   * a live lease or an answer. A replica still waiting in the outbox is left to the dispatcher.
   */
  openReplicasWithoutLease(limit = 2_000): Promise<OpenReplica[]> {
    return this.db.$queryRaw<OpenReplica[]>`
      SELECT u."id" AS "unitId", u."deviceClass", r.replica::int AS replica, (u."status" = 'verified') AS audit
        FROM "WorkUnit" u CROSS JOIN LATERAL generate_series(
               CASE WHEN u."status" = 'verified' THEN u."replicasIssued" - u."auditReplicas" + 1 ELSE 1 END,
               u."replicasIssued") AS r(replica)
       WHERE (u."status" = 'open' OR (u."status" = 'verified' AND u."auditStatus" IN ('pending', 'contested')))
         AND NOT EXISTS (
               SELECT 1 FROM "Assignment" a
                WHERE a."unitId" = u."id" AND a."replica" = r.replica
                  AND (a."status" = 'submitted' OR (a."status" = 'leased' AND a."deadline" > (now() AT TIME ZONE 'UTC'))))
         AND NOT EXISTS (
               SELECT 1 FROM "OutboxMessage" o
                WHERE o."key" = 'work.replica:' || u."id" || ':' || r.replica AND o."dispatchedAt" IS NULL)
       ORDER BY u."createdAt", u."id", r.replica
       LIMIT ${limit}`;
  }

  /**
   * Puts back the job of every replica that should have one and has none. Deterministic job ids
   * make this safe to run from several workers at once; a job that exists in any live state is
   * left alone. Postgres is asked again after Redis, so a replica claimed meanwhile is not doubled.
   * Returns how many jobs were added.
   */
  async reenqueueMissing(limit = 2_000): Promise<number> {
    const candidates = await this.openReplicasWithoutLease(limit);
    if (candidates.length === 0) return 0;
    const missing: OpenReplica[] = [];
    for (const r of candidates) if (await this.queues.replicaMissing(r.deviceClass, r)) missing.push(r);
    if (missing.length === 0) return 0;
    const still = new Set((await this.openReplicasWithoutLease(limit)).map((r) => `${r.unitId}:${r.replica}`));
    let added = 0;
    for (const r of missing) {
      if (!still.has(`${r.unitId}:${r.replica}`)) continue;
      await this.queues.addReplica(r.deviceClass, { unitId: r.unitId, replica: r.replica, ...(r.audit ? { audit: true } : {}) });
      added++;
    }
    return added;
  }
}
