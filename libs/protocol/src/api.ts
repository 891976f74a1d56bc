import { z } from 'zod';
import { NAME_RE, hex } from './device.js';
import { webUrl } from './text.js';

/** Bodies of the operator, manufacturer and owner APIs. Strict: unknown fields are refused. */
export const createManufacturerSchema = z.strictObject({ name: z.string().regex(NAME_RE) });
export const createNodeSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/),
  url: webUrl(),
});
/** `proof`: Ed25519 by the key over attestationKeyProofString(manufacturerId, publicKey). */
export const attestationKeySchema = z.strictObject({ publicKey: hex(32), proof: hex(64) });
export const deviceModelSchema = z.strictObject({
  name: z.string().regex(NAME_RE),
  deviceClass: z.string().regex(/^[a-z0-9-]{1,32}$/),
  batchSize: z.number().int().min(1).max(1024),
});
export const claimDeviceSchema = z.strictObject({ claimCode: z.string().regex(/^[A-Z0-9]{8,16}$/) });
export const payoutAddressSchema = z.strictObject({ address: z.string().regex(/^[A-Za-z0-9:_-]{1,128}$/) });
export const payoutStatusQuerySchema = z.strictObject({
  status: z.enum(['pending', 'confirmed', 'unclear', 'failed']).default('unclear'),
});
export const listQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });
