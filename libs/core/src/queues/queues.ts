import type { JobsOptions } from 'bullmq';

/**
 * Every queue, job name and payload in one place. Job ids are deterministic where a job stands
 * for a database fact, so a re-dispatched outbox row does not double the work; handlers are still
 * idempotent in Postgres because BullMQ delivers at least once.
 */
export const QUEUE = {
  relay: 'relay',
  payouts: 'payouts',
  ingest: 'ingest',
} as const;

/** One work queue per device class: a device claims only work sized for its class. */
export function workQueueName(deviceClass: string): string {
  return `work-${deviceClass}`;
}

export interface JobPayloads {
  'work.replica': { unitId: string; replica: number };
  'relay.deliver': { unitId: string; nodeId: string };
  'payouts.run': Record<string, never>;
  'payouts.execute': { payoutId: string };
  'ingest.tick': Record<string, never>;
}
export type JobName = keyof JobPayloads;

export const JOB_NAME: { [K in JobName]: K } = {
  'work.replica': 'work.replica',
  'relay.deliver': 'relay.deliver',
  'payouts.run': 'payouts.run',
  'payouts.execute': 'payouts.execute',
  'ingest.tick': 'ingest.tick',
};

export function jobOptions(relayAttempts: number): { [K in JobName]: (p: JobPayloads[K]) => JobsOptions } {
  return {
    'work.replica': (p) => ({ jobId: `unit-${p.unitId}-r${p.replica}`, removeOnComplete: true, removeOnFail: 1000 }),
    'relay.deliver': (p) => ({
      jobId: `relay-${p.unitId}-${p.nodeId}`,
      attempts: relayAttempts,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: 1000,
      removeOnFail: 5000,
    }),
    'payouts.run': () => ({ removeOnComplete: 100, removeOnFail: 100 }),
    'payouts.execute': (p) => ({
      jobId: `payout-${p.payoutId}`,
      attempts: 5,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: 1000,
      removeOnFail: 5000,
    }),
    'ingest.tick': () => ({ removeOnComplete: 100, removeOnFail: 100 }),
  };
}

/** Outbox topics: facts committed in Postgres that the dispatcher turns into jobs. */
export interface OutboxPayloads {
  'work.replica': { unitId: string; replica: number; deviceClass: string };
  'unit.verified': { unitId: string };
  'payout.created': { payoutId: string };
}
export type OutboxTopic = keyof OutboxPayloads;
