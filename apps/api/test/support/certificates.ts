import { ed25519Sign, type Ed25519KeyPair } from '@idlemint/crypto';

/** A birth certificate, keys in the order of the protocol page. */
export interface Certificate {
  v: 1;
  serial: string;
  model: string;
  devicePublicKey: string;
  attestationKey: string;
  issuedAt: string;
  signature: string;
}

/** The certificate signing string, straight from the protocol page. */
export function certificateString(c: Omit<Certificate, 'v' | 'signature'>): string {
  return ['IDLEMINT-CERT-V1', c.serial, c.model, c.devicePublicKey, c.attestationKey, c.issuedAt].join('\n');
}

/** What a factory burns into a device: a certificate signed by `attestation` for `device`. */
export function makeCertificate(
  attestation: Ed25519KeyPair,
  devicePublicKey: string,
  fields: { serial: string; model: string; issuedAt?: string },
): Certificate {
  const unsigned = {
    serial: fields.serial,
    model: fields.model,
    devicePublicKey,
    attestationKey: attestation.publicKey,
    issuedAt: fields.issuedAt ?? '2026-11-01T00:00:00Z',
  };
  return { v: 1, ...unsigned, signature: ed25519Sign(attestation.secretKey, certificateString(unsigned)) };
}
