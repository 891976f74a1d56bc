import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@idlemint/core';
import { describe, expect, it } from 'vitest';
import { ed25519VerifyHex } from '@idlemint/crypto';
import { attestationKeyProofString, attestationKeyRegistration } from './attestation-proof.js';

/** The vector of docs/fleet-api.md, "Proof of possession of an attestation key". */
const SECRET = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb';
const PUBLIC = '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c';
const MANUFACTURER = '01JD6Z3K8Q000000000000ACME';
const PROOF =
  '93235a9900b5a97ecd8238db632db91570e78b53364f7f8f187d16608565475ffaa333621e883af34a239a98471856814c5c63d66a6451c51f5d9edcf4c7c60b';

describe('attestation key proof of possession', () => {
  it('matches the documented vector', () => {
    expect(attestationKeyRegistration(SECRET, MANUFACTURER)).toEqual({ publicKey: PUBLIC, proof: PROOF });
    expect(attestationKeyProofString(MANUFACTURER, PUBLIC)).toBe(`IDLEMINT-ATTESTATION-KEY-V1\n${MANUFACTURER}\n${PUBLIC}`);
    expect(ed25519VerifyHex(PUBLIC, attestationKeyProofString(MANUFACTURER, PUBLIC), PROOF)).toBe(true);
  });

  it('is bound to the manufacturer: the proof does not verify for another one', () => {
    expect(ed25519VerifyHex(PUBLIC, attestationKeyProofString('01JD6Z3K8Q00000000000OTHER'.replace('O', '0'), PUBLIC), PROOF)).toBe(false);
  });

  it('is the one docs/fleet-api.md shows', () => {
    const doc = readFileSync(join(repoRoot(), 'docs', 'fleet-api.md'), 'utf8');
    for (const v of [SECRET, PUBLIC, MANUFACTURER, PROOF]) expect(doc).toContain(v);
  });
});
