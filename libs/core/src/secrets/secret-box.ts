import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Config } from '../config/config.js';

const PREFIX = 'enc:v1';
const b64 = (b: Buffer): string => b.toString('base64url');

/** What a stored secret is for; bound to its ciphertext (AES-GCM additional data), so one cannot stand in for another. */
export type SecretPurpose = 'alert-webhook-secret' | 'platform-key-seed';

function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function unseal(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < 28) throw new Error('sealed value too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
}

/**
 * Envelope encryption of secrets stored in the database (alert webhook secrets, rotated platform
 * key seeds). Each value gets a fresh data key (AES-256-GCM); the data key is wrapped by the key
 * encryption key from config (DATA_ENCRYPTION_KEY) and stored with it and the wrapping key's id:
 *
 *   enc:v1:<key id>:<wrapped data key>:<ciphertext>        (base64url; iv and tag inside each)
 *
 * Only `wrap`/`unwrap` of a 32-byte data key touch the key encryption key, so a KMS can take
 * that part over later (its key id in the same place) without re-encrypting any value. A value
 * without the prefix is a secret written before encryption: it is read as it is and sealed at its
 * next write.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;

  constructor(
    private readonly keyId: string,
    kek: Buffer,
  ) {
    if (kek.length !== 32) throw new Error('the data encryption key must be 32 bytes');
    this.keys = new Map([[keyId, kek]]);
  }

  static fromConfig(config: Pick<Config, 'DATA_ENCRYPTION_KEY' | 'DATA_ENCRYPTION_KEY_ID'>): SecretBox {
    return new SecretBox(config.DATA_ENCRYPTION_KEY_ID, Buffer.from(config.DATA_ENCRYPTION_KEY, 'hex'));
  }

  static isSealed(value: string): boolean {
    return value.startsWith(`${PREFIX}:`);
  }

  seal(purpose: SecretPurpose, plaintext: string): string {
    const dataKey = randomBytes(32);
    const wrapped = seal(this.keys.get(this.keyId)!, dataKey, `${PREFIX}:${this.keyId}:${purpose}:data-key`);
    const body = seal(dataKey, Buffer.from(plaintext, 'utf8'), `${PREFIX}:${purpose}`);
    return `${PREFIX}:${this.keyId}:${b64(wrapped)}:${b64(body)}`;
  }

  open(purpose: SecretPurpose, stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const parts = stored.split(':');
    if (parts.length !== 5) throw new Error('malformed sealed secret');
    const [, , keyId, wrapped, body] = parts as [string, string, string, string, string];
    const kek = this.keys.get(keyId);
    if (!kek) throw new Error(`sealed secret uses key "${keyId}", which this process does not have (DATA_ENCRYPTION_KEY_ID)`);
    const dataKey = unseal(kek, Buffer.from(wrapped, 'base64url'), `${PREFIX}:${keyId}:${purpose}:data-key`);
    return unseal(dataKey, Buffer.from(body, 'base64url'), `${PREFIX}:${purpose}`).toString('utf8');
  }
}
