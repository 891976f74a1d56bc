import { z } from 'zod';

/**
 * Trusted-node protocol v1, platform key rotation: `POST /v1/platform-keys`, signed like every
 * platform request (nodeSigningString) by a key the node accepts at that moment. It introduces the
 * platform's next public key and, once the platform signs with it, says when older keys stop being
 * accepted (the overlap). A node never extends a key's validity and never accepts a retired key
 * again; announcing a key the node already holds changes nothing but the retirements.
 */

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 32 bytes of lowercase hex');
const isoUtc = z.iso.datetime({ offset: true });

export const NODE_PLATFORM_KEYS_PATH = '/v1/platform-keys';

export const NODE_KEY_ERRORS = {
  announcementInvalid: 'NODE.KEY_ANNOUNCEMENT_INVALID', // 422: e.g. it retires the key it announces
  keyRetired: 'NODE.KEY_RETIRED', // 409: the announced key was retired before
} as const;

export const nodeKeyAnnouncementSchema = z.strictObject({
  /** The platform's next signing key (or its current one, when a node is brought up to date). */
  publicKey: hex32,
  /** When the platform starts signing with it; the node accepts it from then (less clock skew). */
  validFrom: isoUtc,
  /**
   * Keys the node must stop accepting at `at` (never later than it would anyway). The rotation
   * sends these once the platform signs with the new key: the end of the overlap window.
   */
  retire: z
    .array(z.strictObject({ publicKey: hex32, at: isoUtc }))
    .max(32)
    .default([]),
});
export type NodeKeyAnnouncement = z.infer<typeof nodeKeyAnnouncementSchema>;

export const nodeAcceptedKeySchema = z.strictObject({
  publicKey: hex32,
  source: z.enum(['config', 'announced']),
  validFrom: z.string(),
  validUntil: z.string().nullable(),
});
export type NodeAcceptedKey = z.infer<typeof nodeAcceptedKeySchema>;

export const nodeKeysAnswerSchema = z.strictObject({ keys: z.array(nodeAcceptedKeySchema) });
export type NodeKeysAnswer = z.infer<typeof nodeKeysAnswerSchema>;
