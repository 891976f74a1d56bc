import { ed25519FromSeed, ed25519Sign } from '@idlemint/crypto';

/**
 * Proof of possession of an attestation key (docs/fleet-api.md): registering a key needs an
 * Ed25519 signature by that very key over these lines joined with `\n` (no trailing newline),
 * bound to the registering manufacturer. Nobody can register a maker's factory key without its
 * private half, and one manufacturer's proof is worth nothing to another.
 */
export function attestationKeyProofString(manufacturerId: string, publicKey: string): string {
  return ['IDLEMINT-ATTESTATION-KEY-V1', manufacturerId, publicKey].join('\n');
}

/** The body of `POST /manufacturer/v1/attestation-keys` for the key with this seed. */
export function attestationKeyRegistration(seedHex: string, manufacturerId: string): { publicKey: string; proof: string } {
  const { publicKey } = ed25519FromSeed(seedHex);
  return { publicKey, proof: ed25519Sign(seedHex, attestationKeyProofString(manufacturerId, publicKey)) };
}
