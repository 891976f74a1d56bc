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
  alerts: 'alerts',
  maintenance: 'maintenance',
  shares: 'shares',
} as const;

/** One work queue per device class: a device claims only work sized for its class. */
export function workQueueName(deviceClass: string): string {
  return `work-${deviceClass}`;
}

export interface JobPayloads {
  /** `audit`: a replica issued after the verdict to check it (an audit or its tie-break). */
  'work.replica': { unitId: string; replica: number; audit?: boolean };
  'relay.deliver': { unitId: string; nodeId: string };
  'relay.retract': { unitId: string; nodeId: string };
  'payouts.run': Record<string, never>;
  'payouts.execute': { payoutId: string };
  'ingest.tick': Record<string, never>;
  'alerts.evaluate': Record<string, never>;
  'alerts.deliver': { deliveryId: string };
  'maintenance.mature': Record<string, never>;
  'maintenance.canaries': Record<string, never>;
  'maintenance.expire': Record<string, never>;
  'maintenance.rollup': Record<string, never>;
  'shares.credit': Record<string, never>;
  'shares.template': Record<string, never>;
  'shares.relay-block': { candidateId: string; nodeId: string };
}
export type JobName = keyof JobPayloads;

export const JOB_NAME: { [K in JobName]: K } = {
  'work.replica': 'work.replica',
  'relay.deliver': 'relay.deliver',
  'relay.retract': 'relay.retract',
  'payouts.run': 'payouts.run',
  'payouts.execute': 'payouts.execute',
  'ingest.tick': 'ingest.tick',
  'alerts.evaluate': 'alerts.evaluate',
  'alerts.deliver': 'alerts.deliver',
  'maintenance.mature': 'maintenance.mature',
  'maintenance.canaries': 'maintenance.canaries',
  'maintenance.expire': 'maintenance.expire',
  'maintenance.rollup': 'maintenance.rollup',
  'shares.credit': 'shares.credit',
  'shares.template': 'shares.template',
  'shares.relay-block': 'shares.relay-block',
};

/** Retry policy of alert webhook deliveries (config ALERT_DELIVERY_ATTEMPTS, ALERT_BACKOFF_MS). */
export interface AlertDeliveryPolicy {
  attempts: number;
  backoffMs: number;
}

export function jobOptions(
  relayAttempts: number,
  alerts: AlertDeliveryPolicy = { attempts: 8, backoffMs: 2_000 },
): { [K in JobName]: (p: JobPayloads[K]) => JobsOptions } {
  return {
    'work.replica': (p) => ({ jobId: `unit-${p.unitId}-r${p.replica}`, removeOnComplete: true, removeOnFail: 1000 }),
    'relay.deliver': (p) => ({
      jobId: `relay-${p.unitId}-${p.nodeId}`,
      attempts: relayAttempts,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: 1000,
      removeOnFail: 5000,
    }),
    'relay.retract': (p) => ({
      jobId: `retract-${p.unitId}-${p.nodeId}`,
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
    'alerts.evaluate': () => ({ removeOnComplete: 100, removeOnFail: 100 }),
    'maintenance.mature': () => ({ removeOnComplete: 100, removeOnFail: 100 }),
    'maintenance.canaries': () => ({ removeOnComplete: 100, removeOnFail: 100 }),
    'maintenance.expire': () => ({ removeOnComplete: 100, removeOnFail: 100 }),
    'maintenance.rollup': () => ({ removeOnComplete: 100, removeOnFail: 100 }),
    'shares.credit': () => ({ removeOnComplete: 100, removeOnFail: 100 }),
    'shares.template': () => ({ removeOnComplete: 100, removeOnFail: 100 }),
    'shares.relay-block': (p) => ({
      jobId: `block-${p.candidateId}-${p.nodeId}`,
      attempts: relayAttempts,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: 1000,
      removeOnFail: 5000,
    }),
    'alerts.deliver': (p) => ({
      jobId: `alert-delivery-${p.deliveryId}`,
      attempts: Math.max(1, alerts.attempts),
      backoff: { type: 'exponential', delay: alerts.backoffMs },
      removeOnComplete: 1000,
      removeOnFail: 5000,
    }),
  };
}

/** Outbox topics: facts committed in Postgres that the dispatcher turns into jobs. */
export interface OutboxPayloads {
  /** `delayMs`: held back this long before devices may take it (audits). */
  'work.replica': { unitId: string; replica: number; deviceClass: string; audit?: boolean; delayMs?: number };
  'unit.verified': { unitId: string };
  /** An audit overturned the unit's relayed verdict: every node is told to withdraw it. */
  'unit.retracted': { unitId: string };
  'block.found': { candidateId: string };
  'payout.created': { payoutId: string };
  'alert.delivery': { deliveryId: string };
}
export type OutboxTopic = keyof OutboxPayloads;
