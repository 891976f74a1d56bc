import { z } from 'zod';
import { containsNul, NUL_MESSAGE, webUrl, text } from './text.js';

/**
 * Alerts API contracts (docs/alerts.md): rules per manufacturer, each a condition over its fleet
 * and a webhook told when the condition starts (alert.fired) and stops (alert.resolved). Strict
 * objects: unknown fields are refused.
 */

export const ALERT_RULE_KINDS = ['device_offline', 'reject_rate', 'canary_strike', 'online_share'] as const;
export type AlertRuleKindName = (typeof ALERT_RULE_KINDS)[number];
export const ALERT_EVENTS = ['alert.fired', 'alert.resolved'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

/** Webhook headers: HMAC-SHA256 over `<timestamp>.<body>`, hex, as `sha256=<hex>`; timestamp in Unix seconds. */
export const WEBHOOK_HEADERS = {
  signature: 'x-idlemint-signature',
  timestamp: 'x-idlemint-timestamp',
  event: 'x-idlemint-event',
  delivery: 'x-idlemint-delivery',
} as const;

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const pct = z.number().min(0).max(100);

/** Thresholds per kind. */
export const alertParamsSchemas = {
  /** An active device not seen (heartbeat) for more than `offlineMinutes`. One alert per device. */
  device_offline: z.strictObject({ offlineMinutes: z.number().int().min(1).max(43_200) }),
  /** Rejected results (disagreed or canary_failed) above `thresholdPct` of the decided results of the last `windowMinutes`, once at least `minResults` were decided. */
  reject_rate: z.strictObject({
    thresholdPct: pct,
    windowMinutes: z.number().int().min(1).max(10_080),
    minResults: z.number().int().min(1).max(1_000_000).default(20),
  }),
  /** Any canary_failed result of a device since the previous evaluation. One alert per device. */
  canary_strike: z.strictObject({}),
  /** Share of active devices seen within `onlineWithinMinutes` below `thresholdPct`. */
  online_share: z.strictObject({ thresholdPct: pct, onlineWithinMinutes: z.number().int().min(1).max(1_440).default(5) }),
} as const;
export type AlertParams = { [K in AlertRuleKindName]: z.output<(typeof alertParamsSchemas)[K]> };

const name = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9 ._:-]+$/, 'letters, digits, space and ._:-');
const webhookUrl = webUrl().max(2048);
const secret = z
  .string()
  .min(16)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

const ruleOf = <K extends AlertRuleKindName>(kind: K) =>
  z.strictObject({
    name,
    kind: z.literal(kind),
    params: alertParamsSchemas[kind],
    webhookUrl,
    /** HMAC key of the webhook signature; generated (and shown once) when omitted. */
    secret: secret.optional(),
    enabled: z.boolean().default(true),
  });

export const createAlertRuleSchema = z.discriminatedUnion('kind', [
  ruleOf('device_offline'),
  ruleOf('reject_rate'),
  ruleOf('canary_strike'),
  ruleOf('online_share'),
]);
export type CreateAlertRule = z.output<typeof createAlertRuleSchema>;

/** Partial update; `params` is checked against the rule's kind (which never changes). */
export const updateAlertRuleSchema = z
  .strictObject({
    name: name.optional(),
    params: z
      .record(text(), z.unknown())
      .refine((v) => !containsNul(v), NUL_MESSAGE)
      .optional(),
    webhookUrl: webhookUrl.optional(),
    secret: secret.optional(),
    /** Generate a new secret, shown once in the answer. */
    rotateSecret: z.literal(true).optional(),
    enabled: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to update')
  .refine((b) => !(b.secret !== undefined && b.rotateSecret), 'give secret or rotateSecret, not both');
export type UpdateAlertRule = z.output<typeof updateAlertRuleSchema>;

const before = z.string().regex(ULID, 'expected an id').optional();
const limit = z.coerce.number().int().min(1).max(500).default(100);

export const alertListQuerySchema = z.strictObject({
  status: z.enum(['firing', 'resolved']).optional(),
  ruleId: z.string().regex(ULID, 'expected an id').optional(),
  /** Newest first; pass the last id seen to get older ones. */
  before,
  limit,
});
export type AlertListQuery = z.output<typeof alertListQuerySchema>;

export const alertDeliveryListQuerySchema = z.strictObject({
  status: z.enum(['pending', 'delivered', 'dead']).optional(),
  ruleId: z.string().regex(ULID, 'expected an id').optional(),
  before,
  limit,
});
export type AlertDeliveryListQuery = z.output<typeof alertDeliveryListQuerySchema>;

/** What a webhook receives (the exact bytes are signed). */
export interface AlertWebhookBody {
  id: string;
  event: AlertEvent;
  createdAt: string;
  manufacturerId: string;
  rule: { id: string; name: string; kind: AlertRuleKindName };
  alert: {
    id: string;
    subject: string;
    status: 'firing' | 'resolved';
    firedAt: string;
    resolvedAt: string | null;
    details: Record<string, unknown>;
  };
}
