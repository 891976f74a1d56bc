import { z } from 'zod';
import { earningsResponseSchema, timestampSchema } from '@idlemint/protocol';

/** What the owner API answers (documented in openapi.json; every API test answer is checked against it). */

/** The owner token only when the claim created a new owner: it is in this answer only. */
export const claimedSchema = z.object({ ownerId: z.string(), deviceId: z.string(), ownerToken: z.string().optional() });
export const payoutAddressSetSchema = z.object({ ownerId: z.string(), payoutAddress: z.string().nullable() });

export const ownerEarningsSchema = z.object({
  ownerId: z.string(),
  payoutsHalted: z.boolean(),
  payoutAddress: z.string().nullable(),
  currency: z.string(),
  totals: z.object({ pending: z.string(), credited: z.string(), paid: z.string() }),
  devices: z.array(
    z.object({
      id: z.string(),
      serial: z.string(),
      status: z.enum(['active', 'suspended', 'quarantined', 'revoked']),
      earnings: earningsResponseSchema,
    }),
  ),
  /** The latest ledger lines of the owner's devices, each with why it is what it is. */
  lines: z.array(z.object({ account: z.string(), amount: z.string(), kind: z.string(), why: z.string(), at: timestampSchema })),
});
