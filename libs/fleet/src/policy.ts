import type { WorkPolicy } from '@idlemint/protocol';

/** The policy a device gets when nothing more specific is set: idle only, any hour, a unit per claim. */
export function defaultPolicy(batchSize: number): WorkPolicy {
  return { idleOnly: true, hours: { from: 0, to: 24 }, powerBudgetW: null, maxItems: batchSize };
}
