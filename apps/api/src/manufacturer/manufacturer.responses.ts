import { z } from 'zod';
import { ALERT_RULE_KINDS, API_ROLES, policyOverrideSchema, timestampSchema, workPolicySchema } from '@idlemint/protocol';

/**
 * What the manufacturer API answers, declared once: the controllers document these schemas
 * (`@ApiOkResponse({ standardSchema })`, into openapi.json), and the API tests check every answer
 * against the document (apps/api/test/support/contract.ts). Times are ISO 8601 strings, amounts
 * decimal strings of minor units.
 */

const timestamp = timestampSchema;
/** A list page: null when this was the last one. */
const cursor = z.string().nullable();
const DEVICE_STATUSES = ['active', 'suspended', 'quarantined', 'revoked'] as const;
export const deviceStatusSchema = z.enum(DEVICE_STATUSES);
/** Free JSON the device or an audit entry carries. */
const json = z.unknown();

export const apiKeySchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  role: z.enum(API_ROLES),
  createdAt: timestamp,
  revokedAt: timestamp.nullable(),
});
export const apiKeyListSchema = z.object({ apiKeys: z.array(apiKeySchema) });
/** The secret is in this answer only. */
export const apiKeyCreatedSchema = apiKeySchema.extend({ secret: z.string() });
export const apiKeyRotatedSchema = apiKeyCreatedSchema.extend({ rotatedFrom: z.string() });

export const attestationKeyViewSchema = z.object({
  id: z.string(),
  manufacturerId: z.string(),
  publicKey: z.string(),
  createdAt: timestamp,
  revokedAt: timestamp.nullable(),
});
export const attestationKeyListSchema = z.object({ attestationKeys: z.array(attestationKeyViewSchema) });
export const attestationKeyRevokedSchema = z.object({ attestationKey: attestationKeyViewSchema, devicesRevoked: z.number().int() });

export const deviceModelViewSchema = z.object({
  id: z.string(),
  manufacturerId: z.string(),
  name: z.string(),
  deviceClass: z.string(),
  batchSize: z.number().int(),
  policy: policyOverrideSchema.nullable(),
  createdAt: timestamp,
});
export const deviceModelListSchema = z.object({ models: z.array(deviceModelViewSchema) });

const telemetryStats = z.object({ avg: z.number().nullable(), min: z.number().nullable(), max: z.number().nullable() });
const telemetryHour = z.object({
  heartbeats: z.number().int(),
  idle: z.number().int(),
  temp: telemetryStats,
  power: telemetryStats,
  load: telemetryStats,
});

export const fleetSummarySchema = z.object({
  generatedAt: timestamp,
  devices: z.object({
    total: z.number().int(),
    online: z.number().int(),
    byStatus: z.record(z.string(), z.number().int()),
    byModel: z.array(z.object({ modelId: z.string(), model: z.string(), devices: z.number().int(), online: z.number().int() })),
    byFirmware: z.array(z.object({ firmware: z.string().nullable(), devices: z.number().int(), online: z.number().int() })),
  }),
  hourly: z.array(
    z.object({
      hour: z.string(),
      verifiedUnits: z.number().int(),
      verifiedResults: z.number().int(),
      earnings: z.object({ manufacturer: z.string(), devices: z.string() }),
      telemetry: telemetryHour,
    }),
  ),
});

export const fleetSeriesSchema = z.object({
  metric: z.enum(['heartbeats', 'units_verified', 'results_agreed', 'rewards_manufacturer', 'rewards_owners']),
  bucket: z.enum(['hour', 'day']),
  unit: z.enum(['count', 'minor']),
  currency: z.string().optional(),
  from: z.string(),
  to: z.string(),
  /** How far the rollup has got; null before its first pass. */
  through: z.string().nullable(),
  /** Counts are numbers, rewards decimal strings of minor units. */
  points: z.array(z.object({ t: z.string(), value: z.union([z.string(), z.number()]) })),
});

export const auditEntrySchema = z.object({
  id: z.string(),
  at: z.string(),
  manufacturerId: z.string().nullable(),
  actor: z.string(),
  action: z.string(),
  targetType: z.string(),
  targetIds: z.array(z.string()),
  before: json,
  after: json,
});
export const auditPageSchema = z.object({ entries: z.array(auditEntrySchema), nextCursor: cursor });

export const deviceSchema = z.object({
  id: z.string(),
  manufacturerId: z.string(),
  modelId: z.string(),
  model: z.string(),
  attestationKeyId: z.string(),
  serial: z.string(),
  publicKey: z.string(),
  status: deviceStatusSchema,
  ownerId: z.string().nullable(),
  claimCode: z.string().nullable(),
  claimed: z.boolean(),
  online: z.boolean(),
  firmware: z.string().nullable(),
  telemetry: json,
  lastSeenAt: timestamp.nullable(),
  strikes: z.number().int(),
  validResults: z.number().int(),
  consecutiveValid: z.number().int(),
  reputation: z.number(),
  quarantineCount: z.number().int(),
  quarantinedAt: timestamp.nullable(),
  dailyQuota: z.number().int(),
  certIssuedAt: timestamp,
  enrolledAt: timestamp,
  timezone: z.string(),
  groupId: z.string().nullable(),
  policy: policyOverrideSchema.nullable(),
  tags: z.array(z.string()),
});
export const devicePageSchema = z.object({ devices: z.array(deviceSchema), nextCursor: cursor });

export const bulkResultSchema = z.object({
  action: z.enum(['tag', 'untag', 'suspend', 'resume', 'revoke', 'set-group', 'set-policy']),
  matched: z.number().int(),
  changed: z.number().int(),
  skipped: z.number().int(),
  auditId: z.string(),
});

export const deviceDetailSchema = deviceSchema.extend({
  group: z.object({ id: z.string(), name: z.string() }).nullable(),
  live: z.object({ online: z.boolean(), lastSeenAt: timestamp.nullable(), firmware: z.string().nullable(), telemetry: json }),
  work: z.object({
    claimed: z.number().int(),
    done: z.number().int(),
    verified: z.number().int(),
    rejected: z.number().int(),
    canaryStrikes: z.number().int(),
    pending: z.number().int(),
    expired: z.number().int(),
  }),
  earnings: z.object({
    currency: z.string(),
    credited: z.string(),
    pending: z.string(),
    paid: z.string(),
    balance: z.string(),
    last24h: z.string(),
  }),
  effectivePolicy: workPolicySchema,
  /** The override of each layer, null where it sets nothing. */
  policyLayers: z.object({
    model: policyOverrideSchema.nullable(),
    group: policyOverrideSchema.nullable(),
    device: policyOverrideSchema.nullable(),
  }),
  telemetryHistory: z.array(telemetryHour.extend({ hour: z.string() })),
});

export const groupSchema = z.object({
  id: z.string(),
  name: z.string(),
  policy: policyOverrideSchema.nullable(),
  createdAt: timestamp,
  devices: z.number().int(),
});
export const groupListSchema = z.object({ groups: z.array(groupSchema) });
export const groupRemovedSchema = z.object({ id: z.string(), devicesUngrouped: z.number().int() });

export const alertRuleSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(ALERT_RULE_KINDS),
  params: z.record(z.string(), z.unknown()),
  webhookUrl: z.string(),
  /** The end of the webhook secret, to tell secrets apart. */
  secretHint: z.string(),
  enabled: z.boolean(),
  evaluatedAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
/** The webhook secret is in this answer only. */
export const alertRuleCreatedSchema = alertRuleSchema.extend({ secret: z.string() });
/** With the new secret when the update rotated it. */
export const alertRuleUpdatedSchema = alertRuleSchema.extend({ secret: z.string().optional() });
export const alertRuleListSchema = z.object({ rules: z.array(alertRuleSchema) });
export const alertRuleRemovedSchema = z.object({ id: z.string(), deleted: z.literal(true) });

export const alertPageSchema = z.object({
  alerts: z.array(
    z.object({
      id: z.string(),
      manufacturerId: z.string(),
      ruleId: z.string(),
      status: z.enum(['firing', 'resolved']),
      subject: z.string(),
      details: json,
      firedAt: timestamp,
      resolvedAt: timestamp.nullable(),
    }),
  ),
  next: cursor,
});

const deliveryFields = {
  id: z.string(),
  manufacturerId: z.string(),
  ruleId: z.string(),
  alertId: z.string(),
  event: z.string(),
  url: z.string(),
  status: z.enum(['pending', 'delivered', 'dead']),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: timestamp,
  deliveredAt: timestamp.nullable(),
};
export const alertDeliveryPageSchema = z.object({
  deliveries: z.array(z.object({ ...deliveryFields, attempts: z.number().int() })),
  next: cursor,
});
export const alertDeliverySchema = z.object({
  ...deliveryFields,
  body: z.string(),
  attempts: z.array(
    z.object({
      id: z.string(),
      attempt: z.number().int(),
      statusCode: z.number().int().nullable(),
      durationMs: z.number(),
      error: z.string().nullable(),
      createdAt: timestamp,
    }),
  ),
});
