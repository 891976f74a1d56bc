import { randomBytes, randomInt } from 'node:crypto';
import { bip340Signer, verifyBip340 } from './bip340.js';
import { ecdsaSigner, encodeDer, parseStrictDer, SECP256K1_N, verifyEcdsaSecp256k1 } from './ecdsa.js';
import { ed25519Signer, verifyEd25519 } from './ed25519.js';
import { bytesToHex, isHex, toBytes } from './hex.js';
import { SCHEMES, type EphemeralSigner, type Scheme, type TxItem } from './types.js';

/** Validity of one `tx-verify` item; any malformed field makes it invalid. Never throws. */
export function verifyItem(item: TxItem): boolean {
  try {
    if (typeof item !== 'object' || item === null) return false;
    const { scheme, publicKey, message, signature } = item;
    if (!isHex(publicKey) || !isHex(message) || !isHex(signature)) return false;
    // Each verifier checks its own lengths and encodings on the decoded bytes.
    const pk = Buffer.from(publicKey, 'hex');
    const msg = Buffer.from(message, 'hex');
    const sig = Buffer.from(signature, 'hex');
    switch (scheme) {
      case 'ed25519':
        return verifyEd25519(pk, msg, sig);
      case 'bip340':
        return verifyBip340(pk, msg, sig);
      case 'ecdsa-secp256k1':
        return verifyEcdsaSecp256k1(pk, msg, sig);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

function newSigner(scheme: Scheme, compressed: boolean): EphemeralSigner {
  switch (scheme) {
    case 'ed25519':
      return ed25519Signer();
    case 'bip340':
      return bip340Signer();
    case 'ecdsa-secp256k1':
      return ecdsaSigner(compressed);
  }
}

function flipBit(bytes: Uint8Array, byteIndex: number, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[byteIndex] ^= 1 << bit;
  return copy;
}

/**
 * Flips one bit of the signature. For DER we stay inside r or s and skip their first byte, so the
 * encoding stays strict and a verifier has to do the actual curve arithmetic to notice.
 */
function flipSignatureBit(scheme: Scheme, sig: Uint8Array): Uint8Array {
  if (scheme !== 'ecdsa-secp256k1') return flipBit(sig, randomInt(sig.length), randomInt(8));
  const lenR = sig[3];
  const [start, length] = randomInt(2) === 0 ? [4, lenR] : [6 + lenR, sig[5 + lenR]];
  if (length < 2) return flipBit(sig, start, 0); // a 1-byte r or s: astronomically rare
  return flipBit(sig, start + 1 + randomInt(length - 1), randomInt(8));
}

function otherMessage(msg: Uint8Array): Uint8Array {
  return msg.length === 0 ? randomBytes(32) : flipBit(msg, randomInt(msg.length), randomInt(8));
}

type Corruption = 'flip-bit' | 'other-message' | 'other-key' | 'high-s' | 'scalar-out-of-range';

/** Ed25519 group order L, and the secp256k1 order n (BIP-340's s must be below it). */
const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

const beToBig = (b: Uint8Array): bigint => BigInt('0x' + (bytesToHex(b) || '0'));
const bigToBe = (v: bigint, len: number): Uint8Array => Buffer.from(v.toString(16).padStart(len * 2, '0'), 'hex');

/**
 * The edge cases of the shared vectors, kept in shape: a signature whose scalar is pushed out of
 * range (Ed25519 S + L, the malleability Wycheproof tests; BIP-340 s >= n), so only a verifier
 * that checks ranges, not just the curve equation, catches it.
 */
function scalarOutOfRange(scheme: Scheme, sig: Uint8Array): Uint8Array {
  const out = Uint8Array.from(sig);
  if (scheme === 'ed25519') {
    const s = beToBig(Uint8Array.from(sig.subarray(32)).reverse()) + ED25519_L;
    out.set(bigToBe(s, 32).reverse(), 32);
  } else {
    const s = SECP256K1_N + (beToBig(sig.subarray(32)) % (2n ** 256n - SECP256K1_N));
    out.set(bigToBe(s, 32), 32);
  }
  return out;
}

function corrupt(scheme: Scheme, valid: TxItem, msg: Uint8Array, signer: EphemeralSigner): TxItem {
  const kinds: Corruption[] = ['flip-bit', 'other-message', 'other-key'];
  kinds.push(scheme === 'ecdsa-secp256k1' ? 'high-s' : 'scalar-out-of-range');
  const sig = Buffer.from(valid.signature, 'hex');
  switch (kinds[randomInt(kinds.length)]) {
    case 'flip-bit':
      return { ...valid, signature: bytesToHex(flipSignatureBit(scheme, sig)) };
    case 'other-message':
      return { ...valid, signature: bytesToHex(signer.sign(otherMessage(msg))) };
    case 'other-key':
      // Same key format: for ECDSA a compressed key stays compressed.
      return { ...valid, publicKey: bytesToHex(newSigner(scheme, signer.publicKey.length === 33).publicKey) };
    case 'high-s': {
      const parsed = parseStrictDer(sig);
      if (parsed === null) throw new Error('makeItem: own ECDSA signature is not strict DER');
      return { ...valid, signature: bytesToHex(encodeDer({ r: parsed.r, s: SECP256K1_N - parsed.s })) };
    }
    case 'scalar-out-of-range':
      return { ...valid, signature: bytesToHex(scalarOutOfRange(scheme, sig)) };
    default:
      throw new Error('makeItem: unreachable corruption');
  }
}

/**
 * Senders that each sign many items, as a chain's accounts do: the reference nodes' pending
 * transactions, made a hundred thousand at a time, come from such a pool, so making one costs a
 * signature and not a key generation too. Never for canaries: a key that recurs among canaries
 * would tell a device which items are canaries.
 */
export class SenderPool {
  private readonly signers = new Map<Scheme, EphemeralSigner[]>();

  constructor(private readonly size = 64) {}

  /** A sender of `scheme`, picked at random (ECDSA senders in both SEC1 key forms). */
  pick(scheme: Scheme): EphemeralSigner {
    let pool = this.signers.get(scheme);
    if (!pool) {
      pool = Array.from({ length: this.size }, (_, i) => newSigner(scheme, i % 2 === 0));
      this.signers.set(scheme, pool);
    }
    return pool[randomInt(pool.length)]!;
  }
}

/**
 * A signed item of `scheme` over `message`, by `sender` or else a fresh random key. With
 * `valid = false` the item is made invalid by a realistic corruption while keeping its shape
 * (well-formed hex, same key format).
 */
export function makeItem(scheme: Scheme, message: Uint8Array | string, valid: boolean, sender?: SenderPool): TxItem {
  if (!SCHEMES.includes(scheme)) throw new TypeError(`unknown scheme: ${String(scheme)}`);
  const msg = toBytes(message);
  // ECDSA keys come in both SEC1 forms so consumers see both.
  const signer = sender?.pick(scheme) ?? newSigner(scheme, randomInt(2) === 0);
  const item: TxItem = {
    scheme,
    publicKey: bytesToHex(signer.publicKey),
    message: bytesToHex(msg),
    signature: bytesToHex(signer.sign(msg)),
  };
  if (valid) return item;
  // A corruption that still verifies is a ~2^-128 event; checking keeps canaries honest regardless.
  for (let attempt = 0; attempt < 8; attempt++) {
    const bad = corrupt(scheme, item, msg, signer);
    if (!verifyItem(bad)) return bad;
  }
  throw new Error('makeItem: could not build an invalid item');
}
