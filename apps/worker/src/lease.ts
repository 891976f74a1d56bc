import type { WorkerOptions } from 'bullmq';

/**
 * Lock settings of every worker queue: a worker killed mid-job loses its lock within 10 s and the
 * stalled check (every 2 s, on every live worker) puts the job back, so a dead worker costs
 * seconds, not the 30 s default (a scheduled job's next run is queued when it starts, so an
 * orphan never holds the schedule back). Locks are renewed every 5 s while a job runs; handlers are
 * idempotent, so a job run twice after a false stall does no harm. A job may stall a few times
 * (worker kill -9 in a row) before BullMQ gives up on it.
 */
export const FAST_RECOVERY: Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'> = {
  lockDuration: 10_000,
  stalledInterval: 2_000,
  maxStalledCount: 10,
};
