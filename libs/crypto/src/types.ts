export type Scheme = 'ed25519' | 'bip340' | 'ecdsa-secp256k1';

export const SCHEMES: readonly Scheme[] = Object.freeze(['ed25519', 'bip340', 'ecdsa-secp256k1'] as const);

/** A `tx-verify` item (device protocol v1): every field lowercase hex; `scheme` is unchecked input. */
export interface TxItem {
  scheme: string;
  publicKey: string;
  message: string;
  signature: string;
}

/** A key pair that signs items: a fresh one per item, or one of a `SenderPool`'s recurring senders. */
export interface EphemeralSigner {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}
