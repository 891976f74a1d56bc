import { createHash } from 'node:crypto';

// Lowercase only: the protocol says binary values are lowercase hex, and one spelling per value keeps
// signatures and cache keys unambiguous.
const HEX_RE = /^(?:[0-9a-f]{2})*$/;

/** True when `s` is lowercase hex of whole bytes (empty string = 0 bytes), optionally exactly `bytes` long. */
export function isHex(s: string, bytes?: number): boolean {
  if (typeof s !== 'string') return false;
  if (bytes !== undefined && s.length !== bytes * 2) return false;
  return HEX_RE.test(s);
}

/** Decodes lowercase hex; throws on anything else (Buffer.from would silently truncate). */
export function hexToBytes(s: string): Uint8Array {
  if (!isHex(s)) throw new TypeError('expected lowercase hex of whole bytes');
  return Buffer.from(s, 'hex');
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Strings are taken as UTF-8, bytes as is. */
export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** Hex SHA-256 of bytes, or of the UTF-8 encoding of a string. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(toBytes(data)).digest('hex');
}
