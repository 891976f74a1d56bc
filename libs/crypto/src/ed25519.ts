import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { bytesToHex, isHex, toBytes } from './hex.js';
import { LruCache } from './lru.js';
import type { EphemeralSigner } from './types.js';

// DER wrappers turning raw 32-byte keys into what node:crypto imports (RFC 8410).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

/**
 * The 8 points of small order (all canonical encodings). With such a public key any (R = S*B, S)
 * verifies for every message, so platform keys (device, attestation) must never be one.
 */
const SMALL_ORDER_KEYS: ReadonlySet<string> = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
]);

const CACHE_SIZE = 10_000;
// Item keys are mostly single-use; a separate cache stops them evicting the hot device/platform keys.
const itemKeys = new LruCache<string, KeyObject | null>(CACHE_SIZE);
const platformKeys = new LruCache<string, KeyObject | null>(CACHE_SIZE);
const privateKeys = new LruCache<string, { key: KeyObject; publicKey: string }>(CACHE_SIZE);

/** S < L (RFC 8032 5.1.7 step 1): compare little-endian from the most significant byte. */
function scalarBelowL(b: Uint8Array, offset: number): boolean {
  for (let i = 31; i >= 0; i--) {
    const v = b[offset + i];
    const l = L_LE[i];
    if (v !== l) return v < l;
  }
  return false;
}

/**
 * RFC 8032 5.1.3 decoding rules that OpenSSL skips for public keys: y < p, and no sign bit when x = 0
 * (y = 1 or y = p - 1). OpenSSL 3.0 accepts both non-canonical forms for A, so we check in front.
 */
function isCanonicalPoint(b: Uint8Array, offset: number): boolean {
  const low = b[offset];
  const top = b[offset + 31] & 0x7f;
  const signBit = (b[offset + 31] & 0x80) !== 0;
  let midAllFf = true;
  let midAllZero = true;
  for (let i = 1; i < 31; i++) {
    const v = b[offset + i];
    if (v !== 0xff) midAllFf = false;
    if (v !== 0) midAllZero = false;
  }
  // y >= p = 2^255 - 19 means y in [..ed, ..ff] with every higher bit set.
  if (top === 0x7f && midAllFf && low >= 0xed) return false;
  if (signBit && top === 0 && midAllZero && low === 0x01) return false; // y = 1
  if (signBit && top === 0x7f && midAllFf && low === 0xec) return false; // y = p - 1
  return true;
}

type KeyCache = LruCache<string, KeyObject | null>;

function publicKeyObject(cache: KeyCache, hex: string, raw: Uint8Array): KeyObject | null {
  const cached = cache.get(hex);
  if (cached !== undefined) return cached;
  let key: KeyObject | null;
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    key = null;
  }
  cache.set(hex, key);
  return key;
}

function verifyChecked(cache: KeyCache, hex: string, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!isCanonicalPoint(publicKey, 0) || !isCanonicalPoint(signature, 0) || !scalarBelowL(signature, 32)) {
    return false;
  }
  const key = publicKeyObject(cache, hex, publicKey);
  return key !== null && verify(null, message, key, signature);
}

/**
 * RFC 8032 Ed25519 with canonical S and point encodings (exactly the Wycheproof results). Small-order
 * public keys are accepted, as RFC 8032 does; see ed25519VerifyHex for platform keys.
 */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    return verifyChecked(itemKeys, bytesToHex(publicKey), publicKey, message, signature);
  } catch {
    return false;
  }
}

/** Ed25519 for platform keys (hex in): same rules as verifyEd25519, and small-order keys refused. */
export function ed25519VerifyHex(publicKeyHex: string, message: Uint8Array | string, signatureHex: string): boolean {
  try {
    if (!isHex(publicKeyHex, 32) || !isHex(signatureHex, 64)) return false;
    if (SMALL_ORDER_KEYS.has(publicKeyHex)) return false;
    return verifyChecked(platformKeys, publicKeyHex, Buffer.from(publicKeyHex, 'hex'), toBytes(message), Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}

/**
 * ed25519VerifyHex with the curve work on libuv's thread pool (node:crypto's callback form), so
 * a gateway's event loop keeps parsing requests while signatures are checked on the other cores.
 */
export function ed25519VerifyHexAsync(publicKeyHex: string, message: Uint8Array | string, signatureHex: string): Promise<boolean> {
  try {
    if (!isHex(publicKeyHex, 32) || !isHex(signatureHex, 64) || SMALL_ORDER_KEYS.has(publicKeyHex)) return Promise.resolve(false);
    const raw = Buffer.from(publicKeyHex, 'hex');
    const sig = Buffer.from(signatureHex, 'hex');
    if (!isCanonicalPoint(raw, 0) || !isCanonicalPoint(sig, 0) || !scalarBelowL(sig, 32)) return Promise.resolve(false);
    const key = publicKeyObject(platformKeys, publicKeyHex, raw);
    if (!key) return Promise.resolve(false);
    const msg = toBytes(message);
    return new Promise((resolve) => verify(null, msg, key, sig, (err, ok) => resolve(!err && ok)));
  } catch {
    return Promise.resolve(false);
  }
}

export interface Ed25519KeyPair {
  /** 32-byte seed, hex (RFC 8032 "secret key"). */
  secretKey: string;
  /** 32-byte public key, hex. */
  publicKey: string;
}

function privateEntry(seedHex: string): { key: KeyObject; publicKey: string } {
  const cached = privateKeys.get(seedHex);
  if (cached !== undefined) return cached;
  if (!isHex(seedHex, 32)) throw new TypeError('Ed25519 seed must be 32 bytes of lowercase hex');
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, Buffer.from(seedHex, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  });
  const entry = { key, publicKey: rawPublicKey(createPublicKey(key)).toString('hex') };
  privateKeys.set(seedHex, entry);
  return entry;
}

function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

export function ed25519FromSeed(seedHex: string): Ed25519KeyPair {
  return { secretKey: seedHex, publicKey: privateEntry(seedHex).publicKey };
}

export function ed25519Generate(): Ed25519KeyPair {
  return ed25519FromSeed(randomBytes(32).toString('hex'));
}

/** Signs with a cached private KeyObject; throws on a malformed seed (a caller bug, not input). */
export function ed25519Sign(seedHex: string, message: Uint8Array | string): string {
  return sign(null, toBytes(message), privateEntry(seedHex).key).toString('hex');
}

/** Fresh uncached key, for one-off items (caching would only evict useful keys). */
export function ed25519Signer(): EphemeralSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: rawPublicKey(publicKey),
    sign: (message) => sign(null, message, privateKey),
  };
}
