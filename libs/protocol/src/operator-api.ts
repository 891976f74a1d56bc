import { z } from 'zod';

/** Operator API bodies for trusted nodes, platform keys, queues and payouts. Strict objects. */

export const rotatePlatformKeySchema = z.strictObject({
  /** How long the old key stays valid at the nodes after the switch (at least 5 s, at most 30 days). */
  overlapS: z.number().int().min(5).max(2_592_000).default(3_600),
});
export type RotatePlatformKey = z.output<typeof rotatePlatformKeySchema>;

export const resolvePayoutSchema = z.strictObject({
  /** `paid`: the node executed it (settle); `not-paid`: it did not (credit the devices back). */
  outcome: z.enum(['paid', 'not-paid']),
});
export type ResolvePayout = z.output<typeof resolvePayoutSchema>;
