import { z } from 'zod';
import { timestampSchema } from '@idlemint/protocol';

/**
 * What the operator API answers, declared once: the controllers document these schemas
 * (`@ApiOkResponse({ standardSchema })`, into openapi.json), and the API tests check every answer
 * against the document (apps/api/test/support/contract.ts). Times are ISO 8601 strings, amounts
 * decimal strings of minor units.
 */

const timestamp = timestampSchema;
const count = z.number().int();
const MANUFACTURER_STATUSES = ['active', 'suspended'] as const;
const PAYOUT_STATUSES = ['pending', 'confirmed', 'unclear', 'failed'] as const;

/** The API key is in this answer only. */
export const manufacturerCreatedSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(MANUFACTURER_STATUSES),
  apiKey: z.string(),
});
export const manufacturerSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(MANUFACTURER_STATUSES),
  createdAt: timestamp,
});
export const manufacturerPageSchema = z.object({
  manufacturers: z.array(manufacturerSchema.extend({ devices: count, activeApiKeys: count })),
  nextCursor: z.string().nullable(),
});

export const deviceStandingSchema = z.object({
  id: z.string(),
  manufacturerId: z.string(),
  serial: z.string(),
  status: z.enum(['active', 'suspended', 'quarantined', 'revoked']),
  lastSeenAt: timestamp.nullable(),
  strikes: count,
  validResults: count,
  consecutiveValid: count,
  reputation: z.number(),
  quarantineCount: count,
  quarantinedAt: timestamp.nullable(),
  dailyQuota: count,
});

export const nodeSchema = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  status: z.enum(['active', 'disabled']),
  /** The last node log sequence ingested (a decimal string). */
  ingestCursor: z.string(),
  createdAt: timestamp,
});
export const nodeListSchema = z.object({ nodes: z.array(nodeSchema) });

const platformKeySchema = z.object({
  /** Null for the key from configuration. */
  id: z.string().nullable(),
  publicKey: z.string(),
  status: z.enum(['pending', 'current', 'retired']),
  source: z.enum(['config', 'generated']),
  activeFrom: timestamp.nullable(),
  retiresAt: timestamp.nullable(),
  createdAt: timestamp.nullable(),
});
export const platformKeyListSchema = z.object({ keys: z.array(platformKeySchema) });
export const platformKeyRotationSchema = z.object({
  current: platformKeySchema,
  retired: platformKeySchema,
  nodes: z.array(z.object({ node: z.string(), retirementSent: z.boolean(), error: z.string().optional() })),
});

export const payoutListSchema = z.object({
  payouts: z.array(
    z.object({
      id: z.string(),
      idempotencyKey: z.string(),
      ownerId: z.string(),
      nodeId: z.string(),
      address: z.string(),
      amount: z.string(),
      status: z.enum(PAYOUT_STATUSES),
      checks: count,
      error: z.string().nullable(),
      resolution: z.string().nullable(),
      createdAt: timestamp,
      updatedAt: timestamp,
      sentAt: timestamp.nullable(),
      resolvedAt: timestamp.nullable(),
    }),
  ),
});
export const payoutResolvedSchema = z.object({
  id: z.string(),
  ownerId: z.string(),
  nodeId: z.string(),
  address: z.string(),
  amount: z.string(),
  status: z.enum(PAYOUT_STATUSES),
  resolution: z.string().nullable(),
  resolvedAt: timestamp.nullable(),
  error: z.string().nullable(),
  ownerPayoutsHalted: z.boolean(),
  /** What the node said about the payout when asked, null when it was not asked. */
  nodeCheck: z.enum(['confirmed', 'failed', 'not-found', 'unreachable']).nullable(),
});

export const reconciliationSchema = z.object({
  ok: z.boolean(),
  problems: z.array(z.string()),
  ledger: z.object({ rewardsIssued: z.string(), inFlight: z.string(), settled: z.string(), sumOfAllAccounts: z.string() }),
  units: z.object({ verified: count, disputed: count, open: count }),
  work: z.object({ itemsChecked: count, canariesCaught: count }),
  relay: z.object({ delivered: count, expected: count, dead: count }),
  payouts: z.object({ confirmed: count, confirmedTotal: z.string(), open: count, openTotal: z.string() }),
  nodes: z.array(
    z.object({
      name: z.string(),
      delivered: count,
      logLength: count,
      chainValid: z.boolean(),
      wrongVerdicts: count,
      payoutsTotal: z.string(),
    }),
  ),
});

export const queueDepthsSchema = z.object({
  queues: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(['relay', 'payouts', 'ingest', 'alerts', 'maintenance', 'shares', 'work']),
      deviceClass: z.string().nullable(),
      counts: z.object({
        waiting: count,
        active: count,
        delayed: count,
        failed: count,
        completed: count,
        prioritized: count,
        'waiting-children': count,
      }),
    }),
  ),
});

export const undeliveredSchema = z.object({
  nodes: z.array(z.object({ nodeId: z.string(), name: z.string(), status: z.string(), pending: count, dead: count })),
});
export const redrivenSchema = z.object({ revived: count });
