import { z } from 'zod';
import { NAME_RE } from './device.js';
import { text } from './text.js';

/**
 * Fleet management contracts of the manufacturer and operator APIs (docs/fleet-api.md): device
 * filters, list queries, bulk actions, work policy overrides, keys, groups. Strict objects: unknown
 * fields are refused.
 */

export const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const TAG_RE = /^[A-Za-z0-9._:-]{1,32}$/;
export const DEVICE_STATUSES = ['active', 'suspended', 'quarantined', 'revoked'] as const;
export type DeviceStatusName = (typeof DEVICE_STATUSES)[number];
export const API_ROLES = ['admin', 'viewer'] as const;
export type ApiRoleName = (typeof API_ROLES)[number];

const ulid = z.string().regex(ULID_RE, 'expected an id');
/** An ISO 8601 instant the database can hold (years 1970 to 9999), as a Date. */
const isoUtc = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s))
  .refine((d) => d.getUTCFullYear() >= 1970 && d.getUTCFullYear() <= 9999, 'expected a time between 1970 and 9999');

/** An IANA time zone name the runtime knows ("UTC", "Europe/Berlin"). */
export function isTimeZone(name: string): boolean {
  if (name.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
export const timeZoneSchema = z.string().refine(isTimeZone, 'expected an IANA time zone name');

/**
 * A partial work policy: the fields a model, group or device sets; the rest comes from the level
 * below (device > group > model > default). `powerBudgetW: null` lifts a budget set below.
 * `hours` are local [from, to) hours in the device's time zone; from > to wraps past midnight.
 */
export const policyOverrideSchema = z.strictObject({
  idleOnly: z.boolean().optional(),
  hours: z
    .strictObject({ from: z.number().int().min(0).max(23), to: z.number().int().min(1).max(24) })
    .refine((h) => h.from !== h.to, 'from and to must differ')
    .optional(),
  powerBudgetW: z.number().positive().max(100_000).nullable().optional(),
  maxItems: z.number().int().min(1).max(4096).optional(),
});
export type PolicyOverride = z.infer<typeof policyOverrideSchema>;

// ---------------------------------------------------------------------------------------------
// Device filters: one language for the list (query string) and bulk actions (JSON body).

export const deviceFilterSchema = z.strictObject({
  status: z.array(z.enum(DEVICE_STATUSES)).min(1).max(4).optional(),
  /** Model names. */
  model: z.array(z.string().regex(NAME_RE)).min(1).max(50).optional(),
  firmware: z.array(text().min(1).max(32)).min(1).max(50).optional(),
  /** Group ids; "none" matches devices in no group. */
  group: z
    .array(z.union([ulid, z.literal('none')]))
    .min(1)
    .max(50)
    .optional(),
  /** Every tag listed must be on the device. */
  tag: z.array(z.string().regex(TAG_RE)).min(1).max(10).optional(),
  lastSeenBefore: isoUtc.optional(),
  lastSeenAfter: isoUtc.optional(),
  reputationMin: z.number().min(0).max(1).optional(),
  reputationMax: z.number().min(0).max(1).optional(),
  claimed: z.boolean().optional(),
  online: z.boolean().optional(),
});
export type DeviceFilter = z.infer<typeof deviceFilterSchema>;

/** `a,b` or repeated `x=a&x=b` in a query string. */
const csv = <T extends z.ZodType>(item: T, max: number) =>
  z
    .union([text(), z.array(text())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).filter((s) => s !== ''))
    .pipe(z.array(item).min(1).max(max) as unknown as z.ZodType<z.output<T>[], string[]>);
const queryBool = z.enum(['true', 'false']).transform((v) => v === 'true');
const queryNumber = z
  .string()
  .regex(/^\d+(\.\d+)?$/)
  .transform(Number);

export const DEVICE_SORTS = ['enrolledAt', 'lastSeenAt', 'serial'] as const;
export type DeviceSort = (typeof DEVICE_SORTS)[number];

export const deviceListQuerySchema = z
  .strictObject({
    status: csv(z.enum(DEVICE_STATUSES), 4).optional(),
    model: csv(z.string().regex(NAME_RE), 50).optional(),
    firmware: csv(text().min(1).max(32), 50).optional(),
    group: csv(z.union([ulid, z.literal('none')]), 50).optional(),
    tag: csv(z.string().regex(TAG_RE), 10).optional(),
    lastSeenBefore: isoUtc.optional(),
    lastSeenAfter: isoUtc.optional(),
    reputationMin: queryNumber.pipe(z.number().min(0).max(1)).optional(),
    reputationMax: queryNumber.pipe(z.number().min(0).max(1)).optional(),
    claimed: queryBool.optional(),
    online: queryBool.optional(),
    sort: z.enum(DEVICE_SORTS).default('enrolledAt'),
    order: z.enum(['asc', 'desc']).default('desc'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: text().min(1).max(512).optional(),
  })
  .transform(({ sort, order, limit, cursor, ...filter }) => ({ filter: filter as DeviceFilter, sort, order, limit, cursor }));
export type DeviceListQuery = z.output<typeof deviceListQuerySchema>;

export const pageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: text().min(1).max(512).optional(),
});
export type PageQuery = z.infer<typeof pageQuerySchema>;

export const auditQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: text().min(1).max(512).optional(),
  action: z
    .string()
    .regex(/^[a-z0-9._-]{1,64}$/)
    .optional(),
  targetId: ulid.optional(),
});
export const operatorAuditQuerySchema = auditQuerySchema.extend({ manufacturerId: ulid.optional() });
export type AuditQuery = z.infer<typeof operatorAuditQuerySchema>;

// ---------------------------------------------------------------------------------------------
// Bulk actions

/** Most devices one bulk action may touch (one transaction, one audit row). */
export const BULK_MAX_DEVICES = 100_000;
export const IDEMPOTENCY_KEY_RE = /^[A-Za-z0-9._:-]{1,128}$/;

const selection = {
  ids: z.array(ulid).min(1).max(10_000).optional(),
  filter: deviceFilterSchema.optional(),
};
const onlyOne = (b: { ids?: unknown; filter?: unknown }) => (b.ids === undefined) !== (b.filter === undefined);
const ONLY_ONE = { message: 'give exactly one of ids and filter', path: ['ids'] };

export const bulkActionSchema = z
  .discriminatedUnion('action', [
    z.strictObject({ action: z.literal('suspend'), ...selection }),
    z.strictObject({ action: z.literal('resume'), ...selection }),
    z.strictObject({ action: z.literal('revoke'), ...selection }),
    z.strictObject({ action: z.literal('tag'), tags: z.array(z.string().regex(TAG_RE)).min(1).max(32), ...selection }),
    z.strictObject({ action: z.literal('untag'), tags: z.array(z.string().regex(TAG_RE)).min(1).max(32), ...selection }),
    z.strictObject({ action: z.literal('set-group'), groupId: ulid.nullable(), ...selection }),
    z.strictObject({ action: z.literal('set-policy'), policy: policyOverrideSchema.nullable(), ...selection }),
  ])
  .refine(onlyOne, ONLY_ONE);
export type BulkAction = z.infer<typeof bulkActionSchema>;

// ---------------------------------------------------------------------------------------------
// Devices, groups, models, keys

export const devicePatchSchema = z
  .strictObject({
    timezone: timeZoneSchema.optional(),
    groupId: ulid.nullable().optional(),
    tags: z.array(z.string().regex(TAG_RE)).max(32).optional(),
    policy: policyOverrideSchema.nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');
export type DevicePatch = z.infer<typeof devicePatchSchema>;

export const createGroupSchema = z.strictObject({ name: z.string().regex(NAME_RE), policy: policyOverrideSchema.nullable().optional() });
export const groupPatchSchema = z
  .strictObject({ name: z.string().regex(NAME_RE).optional(), policy: policyOverrideSchema.nullable().optional() })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');
export type GroupPatch = z.infer<typeof groupPatchSchema>;

export const modelPatchSchema = z.strictObject({ policy: policyOverrideSchema.nullable() });

export const createApiKeySchema = z.strictObject({
  role: z.enum(API_ROLES),
  name: z.string().regex(NAME_RE).optional(),
});

// ---------------------------------------------------------------------------------------------
// Time series (answered from the hourly rollup, docs/fleet-api.md)

export const SERIES_METRICS = ['heartbeats', 'units_verified', 'results_agreed', 'rewards_manufacturer', 'rewards_owners'] as const;
export type SeriesMetric = (typeof SERIES_METRICS)[number];
export const SERIES_BUCKETS = ['hour', 'day'] as const;
/** Most buckets one answer holds. */
export const SERIES_MAX_POINTS = 1_000;

/**
 * `GET /manufacturer/v1/fleet/series`: one metric per bucket over [from, to). Without `to`, up to
 * now; without `from`, the last 24 hours (bucket=hour) or 30 days (bucket=day).
 */
export const fleetSeriesQuerySchema = z
  .strictObject({
    metric: z.enum(SERIES_METRICS),
    bucket: z.enum(SERIES_BUCKETS).default('hour'),
    from: isoUtc.optional(),
    to: isoUtc.optional(),
  })
  .refine((q) => !q.from || !q.to || q.from < q.to, { message: 'from must be before to', path: ['from'] });
export type FleetSeriesQuery = z.infer<typeof fleetSeriesQuerySchema>;
