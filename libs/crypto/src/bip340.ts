import { randomBytes } from 'node:crypto';
import { schnorr } from '@noble/curves/secp256k1.js';
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

/** BIP-340 signing with explicit aux_rand (the test vectors pin it). */
export function bip340Sign(secretKey: Uint8Array, message: Uint8Array, auxRand: Uint8Array): Uint8Array {
  return schnorr.sign(message, secretKey, auxRand);
}

export function bip340Signer(): EphemeralSigner {
  const { secretKey, publicKey } = schnorr.keygen();
  return {
    publicKey,
    sign: (message) => schnorr.sign(message, secretKey, randomBytes(32)),
  };
}
