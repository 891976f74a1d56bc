import { randomBytes } from 'node:crypto';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import type { EphemeralSigner } from './types.js';

/** BIP-340 Schnorr over secp256k1 (x-only 32-byte key, 64-byte signature, message of any length). */
export function verifyBip340(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    return schnorr.verify(signature, message, publicKey);
  } catch {
    // noble throws on argument type problems only; the contract here is "never throws".
    return false;
  }
}

const { Fn, BASE } = secp256k1.Point;
const { taggedHash } = schnorr.utils;
const num = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);

/**
 * A BIP-340 key ready to sign: the secret scalar already negated to the even-y public point, and
 * the x-only public key, computed once. Signing follows BIP-340's Default Signing step by step
 * (one base-point multiplication). noble's `schnorr.sign` does the same and then verifies its own
 * signature, a second, variable-base multiplication that made signing ten times slower than it
 * needs to be; the nodes sign every pending transaction they make, so that check is left out
 * here. The BIP-340 vectors pin the output (`vectors.spec.ts`).
 */
class Bip340Key {
  readonly publicKey: Uint8Array;
  private readonly d: bigint;

  constructor(secretKey: Uint8Array) {
    const d0 = num(secretKey);
    if (!Fn.isValidNot0(d0)) throw new Error('bip340: secret key out of range');
    const p = BASE.multiply(d0).toAffine();
    this.d = p.y % 2n === 0n ? d0 : Fn.neg(d0);
    this.publicKey = Fn.toBytes(p.x);
  }

  sign(message: Uint8Array, auxRand: Uint8Array): Uint8Array {
    if (auxRand.length !== 32) throw new Error('bip340: aux_rand must be 32 bytes');
    const t = Fn.toBytes(this.d ^ num(taggedHash('BIP0340/aux', auxRand)));
    const k0 = Fn.create(num(taggedHash('BIP0340/nonce', t, this.publicKey, message)));
    if (k0 === 0n) throw new Error('bip340: nonce is zero');
    const r = BASE.multiply(k0).toAffine();
    const k = r.y % 2n === 0n ? k0 : Fn.neg(k0);
    const rx = Fn.toBytes(r.x);
    const e = Fn.create(num(taggedHash('BIP0340/challenge', rx, this.publicKey, message)));
    const sig = new Uint8Array(64);
    sig.set(rx, 0);
    sig.set(Fn.toBytes(Fn.create(k + e * this.d)), 32);
    return sig;
  }
}

/** BIP-340 signing with explicit aux_rand (the test vectors pin it). */
export function bip340Sign(secretKey: Uint8Array, message: Uint8Array, auxRand: Uint8Array): Uint8Array {
  return new Bip340Key(secretKey).sign(message, auxRand);
}

export function bip340Signer(): EphemeralSigner {
  const key = new Bip340Key(schnorr.utils.randomSecretKey());
  return {
    publicKey: key.publicKey,
    sign: (message) => key.sign(message, randomBytes(32)),
  };
}
