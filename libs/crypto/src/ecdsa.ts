import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { bytesToHex } from './hex.js';
import { LruCache } from './lru.js';
import type { EphemeralSigner } from './types.js';

/** secp256k1 group order and field prime. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N >> 1n;
const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;

// SubjectPublicKeyInfo headers (id-ecPublicKey, secp256k1) for 65- and 33-byte SEC1 points.
const SPKI_UNCOMPRESSED = Buffer.from('3056301006072a8648ce3d020106052b8104000a034200', 'hex');
const SPKI_COMPRESSED = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex');

const publicKeys = new LruCache<string, KeyObject | null>(10_000);

export interface EcdsaSignature {
  r: bigint;
  s: bigint;
}

/** A DER INTEGER body must be non-negative and minimally encoded (BIP-66). */
function isMinimalPositive(b: Uint8Array, offset: number, length: number): boolean {
  if ((b[offset] & 0x80) !== 0) return false;
  if (length > 1 && b[offset] === 0 && (b[offset + 1] & 0x80) === 0) return false;
  return true;
}

function readUint(b: Uint8Array, offset: number, length: number): bigint {
  return BigInt('0x' + bytesToHex(b.subarray(offset, offset + length)));
}

/**
 * Strict DER (BIP-66 IsValidSignatureEncoding, without the sighash byte) with r and s in [1, n-1].
 * High S is left to the caller so this parser can also build the high-S corruption.
 */
export function parseStrictDer(sig: Uint8Array): EcdsaSignature | null {
  const len = sig.length;
  if (len < 8 || len > 72) return null;
  // Short-form lengths only: with at most 70 content bytes the long form is never minimal.
  if (sig[0] !== 0x30 || sig[1] !== len - 2) return null;
  if (sig[2] !== 0x02) return null;
  const lenR = sig[3];
  if (lenR === 0 || 5 + lenR >= len) return null;
  if (sig[4 + lenR] !== 0x02) return null;
  const lenS = sig[5 + lenR];
  if (lenS === 0 || lenR + lenS + 6 !== len) return null;
  if (!isMinimalPositive(sig, 4, lenR) || !isMinimalPositive(sig, 6 + lenR, lenS)) return null;
  const r = readUint(sig, 4, lenR);
  const s = readUint(sig, 6 + lenR, lenS);
  if (r === 0n || r >= SECP256K1_N || s === 0n || s >= SECP256K1_N) return null;
  return { r, s };
}

function derInteger(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  const body = Buffer.from(hex, 'hex');
  const padded = (body[0] & 0x80) !== 0 ? Buffer.concat([Buffer.of(0), body]) : body;
  return Buffer.concat([Buffer.of(0x02, padded.length), padded]);
}

/** DER for r, s in [1, n-1] (no range check: also used to build deliberately high-S signatures). */
export function encodeDer(sig: EcdsaSignature): Uint8Array {
  const r = derInteger(sig.r);
  const s = derInteger(sig.s);
  return Buffer.concat([Buffer.of(0x30, r.length + s.length), r, s]);
}

/** SEC1 prefix and coordinate range checked here; OpenSSL then refuses points off the curve. */
function publicKeyObject(publicKey: Uint8Array): KeyObject | null {
  const hex = bytesToHex(publicKey);
  const cached = publicKeys.get(hex);
  if (cached !== undefined) return cached;
  let key: KeyObject | null = null;
  const prefix = publicKey[0];
  // 0x06/0x07 "hybrid" points are X9.62, not SEC1, yet OpenSSL would take them: refuse up front.
  const wellFormed =
    (publicKey.length === 33 && (prefix === 0x02 || prefix === 0x03) && readUint(publicKey, 1, 32) < P) ||
    (publicKey.length === 65 && prefix === 0x04 && readUint(publicKey, 1, 32) < P && readUint(publicKey, 33, 32) < P);
  if (wellFormed) {
    try {
      const spki = Buffer.concat([publicKey.length === 33 ? SPKI_COMPRESSED : SPKI_UNCOMPRESSED, publicKey]);
      key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    } catch {
      key = null; // not on the curve
    }
  }
  publicKeys.set(hex, key);
  return key;
}

/** ECDSA over SHA-256(message) with strict DER and low S (Bitcoin rules, Wycheproof "bitcoin" results). */
export function verifyEcdsaSecp256k1(publicKey: Uint8Array, message: Uint8Array, derSignature: Uint8Array): boolean {
  try {
    const sig = parseStrictDer(derSignature);
    if (sig === null || sig.s > HALF_N) return false;
    const key = publicKeyObject(publicKey);
    return key !== null && verify('sha256', message, { key, dsaEncoding: 'der' }, derSignature);
  } catch {
    return false;
  }
}

/** Low-S form (BIP-62/146): OpenSSL picks either s or n - s. */
export function normaliseLowS(sig: EcdsaSignature): EcdsaSignature {
  return sig.s > HALF_N ? { r: sig.r, s: SECP256K1_N - sig.s } : sig;
}

/** Fresh key; `compressed` picks the 33-byte SEC1 form, else the 65-byte one. Signatures are low-S DER. */
export function ecdsaSigner(compressed: boolean): EphemeralSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const point = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_UNCOMPRESSED.length);
  const encoded = compressed ? Buffer.concat([Buffer.of(0x02 | (point[64] & 1)), point.subarray(1, 33)]) : Buffer.from(point);
  return {
    publicKey: encoded,
    sign: (message) => {
      const raw = sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const sig = { r: readUint(raw, 0, 32), s: readUint(raw, 32, 32) };
      return encodeDer(normaliseLowS(sig));
    },
  };
}
