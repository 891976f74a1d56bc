import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CONFIG, PrismaService, isUniqueViolation, newId, type Config } from '@idlemint/core';
import type { ClaimBody, ClaimResponse, TxVerifyItem } from '@idlemint/protocol';
import { WorkQueues } from './work-queues.js';

export interface ClaimingDevice {
  id: string;
  ownerId: string | null;
  model: { deviceClass: string };
}

/** How many queued replicas one claim looks at before answering "no work for you now". */
const MAX_TRIES = 6;

/**
 * Hands a device one replica of a unit. The replica's BullMQ job lock is the lease; the assignment
 * row in Postgres is the record, and its unique keys make sure no device and no owner holds two
 * replicas of one unit.
 */
@Injectable()
export class AssignmentsService {
  constructor(
    private readonly db: PrismaService,
    private readonly queues: WorkQueues,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async claim(device: ClaimingDevice, body: ClaimBody): Promise<ClaimResponse | null> {
    if (body.kinds && !body.kinds.includes('tx-verify')) return null;
    const deviceClass = device.model.deviceClass;
    for (let i = 0; i < MAX_TRIES; i++) {
      const token = randomUUID();
      const job = await this.queues.take(deviceClass, token);
      if (!job?.id) return null;
      const unit = await this.db.workUnit.findUnique({
        where: { id: job.data.unitId },
        select: { id: true, status: true, kind: true, items: true },
      });
      if (!unit || unit.status !== 'open') {
        await this.queues.discard(job, token);
        continue;
      }
      const items = unit.items as unknown as TxVerifyItem[];
      if (body.maxItems !== undefined && items.length > body.maxItems) {
        await this.queues.giveBack(job, token);
        return null;
      }
      const deadline = new Date(Date.now() + this.config.LEASE_MS);
      const assignmentId = newId();
      try {
        await this.db.assignment.create({
          data: {
            id: assignmentId,
            unitId: unit.id,
            deviceId: device.id,
            ownerId: device.ownerId,
            replica: job.data.replica,
            jobId: job.id,
            lockToken: token,
            deadline,
          },
        });
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
}
