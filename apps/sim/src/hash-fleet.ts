import { randomBytes } from 'node:crypto';
import { ed25519Generate, ed25519Sign, type Ed25519KeyPair } from '@idlemint/crypto';
import {
  attestationKeyRegistration,
  certificateSigningString,
  type BirthCertificate,
  type EnrollResponse,
  type StratumCredentialResponse,
} from '@idlemint/protocol';
import { call, deviceCall, expectStatus } from './http.js';

export interface EnrolledMiner {
  deviceId: string;
  keys: Ed25519KeyPair;
  claimCode: string;
  ownerToken: string;
}

/**
 * A manufacturer with `n` enrolled appliances over the real API (operator → manufacturer →
 * attestation key → model → signed enrollment), each claimed by an owner of its own.
 */
export async function enrollMiners(
  apiUrl: string,
  operatorKey: string,
  n: number,
): Promise<{ manufacturerApiKey: string; miners: EnrolledMiner[] }> {
  const tag = randomBytes(4).toString('hex');
  const m = expectStatus(
    await call<{ id: string; apiKey: string }>(
      apiUrl,
      'POST',
      '/operator/v1/manufacturers',
      { name: `miner-${tag}` },
      { 'x-operator-key': operatorKey },
    ),
    [201],
    'create manufacturer',
  );
  const mk = { 'x-api-key': m.apiKey };
  const attestation = ed25519Generate();
  expectStatus(
    await call(apiUrl, 'POST', '/manufacturer/v1/attestation-keys', attestationKeyRegistration(attestation.secretKey, m.id), mk),
    [201],
    'attestation key',
  );
  const model = `miner-${tag}-esp32`;
  expectStatus(
    await call(apiUrl, 'POST', '/manufacturer/v1/models', { name: model, deviceClass: 'miner', batchSize: 8 }, mk),
    [201],
    'model',
  );
  const miners: EnrolledMiner[] = [];
  for (let i = 0; i < n; i++) {
    const keys = ed25519Generate();
    const cert: Omit<BirthCertificate, 'signature'> = {
      v: 1,
      serial: `ESP-${tag}-${i}`,
      model,
      devicePublicKey: keys.publicKey,
      attestationKey: attestation.publicKey,
      issuedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    const certificate = { ...cert, signature: ed25519Sign(attestation.secretKey, certificateSigningString(cert)) };
    const e = expectStatus(await deviceCall<EnrollResponse>(apiUrl, keys, 'POST', '/device/v1/enroll', { certificate }), [201], 'enroll');
    const c = expectStatus(
      await call<{ ownerToken: string }>(apiUrl, 'POST', '/owner/v1/claim', { claimCode: e.claimCode }),
      [201],
      'claim',
    );
    miners.push({ deviceId: e.deviceId, keys, claimCode: e.claimCode, ownerToken: c.ownerToken });
  }
  return { manufacturerApiKey: m.apiKey, miners };
}

/** A Stratum credential, obtained through the signed device protocol. */
export async function stratumCredential(apiUrl: string, keys: Ed25519KeyPair): Promise<StratumCredentialResponse> {
  return expectStatus(
    await deviceCall<StratumCredentialResponse>(apiUrl, keys, 'POST', '/device/v1/hash-share/credential'),
    [201],
    'stratum credential',
  );
}
