import { z } from 'zod';
import { text, timestampSchema } from './text.js';

/**
 * Device protocol v1 (docs/protocol/device-v1.md, the firmware contract). Schemas and signing
 * strings are declared here once and used by the gateway, the simulator and the tests.
 */
export const DEVICE_PREFIX = '/device/v1';
export const DEVICE_BODY_LIMIT = 64 * 1024;

export const DEVICE_HEADERS = {
  key: 'x-device-key',
  timestamp: 'x-device-timestamp',
  nonce: 'x-device-nonce',
  signature: 'x-device-signature',
} as const;

export const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes} bytes of lowercase hex`);
export const NONCE_RE = /^[A-Za-z0-9_-]{8,64}$/;
export const NAME_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const isoUtc = z.iso.datetime({ offset: false });

export const certificateSchema = z.strictObject({
  v: z.literal(1),
  serial: z.string().regex(NAME_RE),
  model: z.string().regex(NAME_RE),
  devicePublicKey: hex(32),
  attestationKey: hex(32),
  issuedAt: isoUtc,
  signature: hex(64),
});
export type BirthCertificate = z.infer<typeof certificateSchema>;

export const enrollBodySchema = z.strictObject({ certificate: certificateSchema });
export type EnrollBody = z.infer<typeof enrollBodySchema>;

export const heartbeatBodySchema = z.strictObject({
  idle: z.boolean(),
  firmware: text().min(1).max(32),
  uptimeS: z.number().int().nonnegative(),
  metrics: z
    .strictObject({
      tempC: z.number().min(-100).max(200).optional(),
      powerW: z.number().min(0).max(100_000).optional(),
      loadPct: z.number().min(0).max(100).optional(),
    })
    .optional(),
});
export type HeartbeatBody = z.infer<typeof heartbeatBodySchema>;

export const WORK_KINDS = ['tx-verify', 'hash-share'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];

export const claimBodySchema = z.strictObject({
  kinds: z.array(z.enum(WORK_KINDS)).min(1).optional(),
  maxItems: z.number().int().min(1).max(4096).optional(),
});
export type ClaimBody = z.infer<typeof claimBodySchema>;

/** Shape only; lengths and encodings are judged by the device (a malformed item is "invalid"). */
export const resultBodySchema = z.strictObject({
  verdicts: text().max(8192),
  resultSignature: text().max(256),
});
export type ResultBody = z.infer<typeof resultBodySchema>;

// Answers of the gateway: declared once here, documented in openapi.json from these schemas and
// checked against every answer the API tests get (apps/api/test/support/contract.ts).

export const workPolicySchema = z.object({
  idleOnly: z.boolean(),
  /** Local hours [from, to) the device may work, 0..24. */
  hours: z.object({ from: z.number(), to: z.number() }),
  powerBudgetW: z.number().nullable(),
  maxItems: z.number().int(),
});
export type WorkPolicy = z.infer<typeof workPolicySchema>;

export const enrollResponseSchema = z.object({
  deviceId: z.string(),
  status: z.literal('active'),
  manufacturerId: z.string(),
  model: z.string(),
  claimCode: z.string(),
  policy: workPolicySchema,
});
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

export const heartbeatResponseSchema = z.object({ policy: workPolicySchema, nextHeartbeatS: z.number().int() });
export type HeartbeatResponse = z.infer<typeof heartbeatResponseSchema>;

export const txVerifyItemSchema = z.object({ scheme: z.string(), publicKey: z.string(), message: z.string(), signature: z.string() });
export type TxVerifyItem = z.infer<typeof txVerifyItemSchema>;

export const claimResponseSchema = z.object({
  assignment: z.object({
    assignmentId: z.string(),
    unitId: z.string(),
    kind: z.enum(WORK_KINDS),
    deadline: timestampSchema,
    items: z.array(txVerifyItemSchema),
  }),
});
export type ClaimResponse = z.infer<typeof claimResponseSchema>;

export const RESULT_STATUSES = ['pending', 'verified', 'rejected'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];
export const resultResponseSchema = z.object({ status: z.enum(RESULT_STATUSES), reason: z.string().optional() });
export type ResultResponse = z.infer<typeof resultResponseSchema>;

/** Amounts are decimal strings of minor units. */
export const earningsResponseSchema = z.object({
  currency: z.string(),
  pending: z.string(),
  credited: z.string(),
  paid: z.string(),
  last24h: z.string(),
});
export type EarningsResponse = z.infer<typeof earningsResponseSchema>;

export function certificateSigningString(c: Omit<BirthCertificate, 'signature' | 'v'>): string {
  return ['IDLEMINT-CERT-V1', c.serial, c.model, c.devicePublicKey, c.attestationKey, c.issuedAt].join('\n');
}

export function requestSigningString(
  method: string,
  pathAndQuery: string,
  timestamp: string,
  nonce: string,
  bodySha256Hex: string,
): string {
  return ['IDLEMINT-DEVICE-V1', method.toUpperCase(), pathAndQuery, timestamp, nonce, bodySha256Hex].join('\n');
}

export function resultSigningString(unitId: string, verdicts: string): string {
  return ['IDLEMINT-RESULT-V1', unitId, verdicts].join('\n');
}
