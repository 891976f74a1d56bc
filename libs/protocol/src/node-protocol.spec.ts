import { ed25519FromSeed, ed25519Sign, sha256Hex } from '@idlemint/crypto';
import { describe, expect, it } from 'vitest';
import {
  isFreshNodeTimestamp,
  NODE_GENESIS_HASH,
  NODE_HEADERS,
  nodeCanonicalJson,
  nodeLogHash,
  nodePayoutRequestSchema,
  nodeSigningString,
  relayedUnitSchema,
  resultSigningString,
  signNodeRequest,
  verifyNodeLogChain,
  verifyNodeRequest,
} from './node-protocol.js';

const PLATFORM_SEED = 'a8c3e1b0f4d2c6e8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6';
const PLATFORM_PUB = ed25519FromSeed(PLATFORM_SEED).publicKey;
const DEVICE_SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const DEVICE_PUB = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

describe('nodeSigningString', () => {
  it('joins the five lines with \\n, method upper-cased, body hashed (empty string when none)', () => {
    expect(nodeSigningString('get', '/v1/pending?after=0&limit=5', 1795996800000, undefined)).toBe(
      ['IDLEMINT-NODE-V1', 'GET', '/v1/pending?after=0&limit=5', '1795996800000', sha256Hex('')].join('\n'),
    );
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const body = '{"a":1}';
    expect(nodeSigningString('POST', '/v1/payouts', '5', body)).toBe(nodeSigningString('POST', '/v1/payouts', 5, Buffer.from(body)));
    expect(nodeSigningString('POST', '/v1/payouts', '5', body).split('\n')[4]).toBe(sha256Hex(body));
  });
});

describe('signNodeRequest / verifyNodeRequest', () => {
  const body = JSON.stringify({ idempotencyKey: 'key-00001', address: 'addr', amount: '5' });

  it('round-trips: the headers verify for the same method, path, body', () => {
    const headers = signNodeRequest(PLATFORM_SEED, 'POST', '/v1/payouts', body, 1795996800000);
    expect(headers[NODE_HEADERS.timestamp]).toBe('1795996800000');
    expect(headers[NODE_HEADERS.signature]).toMatch(/^[0-9a-f]{128}$/);
    expect(headers[NODE_HEADERS.signature]).toBe(ed25519Sign(PLATFORM_SEED, nodeSigningString('POST', '/v1/payouts', 1795996800000, body)));
    expect(verifyNodeRequest(PLATFORM_PUB, 'POST', '/v1/payouts', headers, Buffer.from(body))).toBe(true);
    expect(verifyNodeRequest(PLATFORM_PUB, 'post', '/v1/payouts', headers, body)).toBe(true);
  });

  it('fails for any change: body, path, query, method, timestamp, key', () => {
    const headers = signNodeRequest(PLATFORM_SEED, 'POST', '/v1/payouts?x=1', body);
    expect(verifyNodeRequest(PLATFORM_PUB, 'POST', '/v1/payouts?x=1', headers, body)).toBe(true);
    expect(verifyNodeRequest(PLATFORM_PUB, 'POST', '/v1/payouts?x=1', headers, body + ' ')).toBe(false);
    expect(verifyNodeRequest(PLATFORM_PUB, 'POST', '/v1/payouts?x=2', headers, body)).toBe(false);
    expect(verifyNodeRequest(PLATFORM_PUB, 'POST', '/v1/payouts', headers, body)).toBe(false);
    expect(verifyNodeRequest(PLATFORM_PUB, 'GET', '/v1/payouts?x=1', headers, body)).toBe(false);
    const ts = String(Number(headers[NODE_HEADERS.timestamp]) + 1);
    expect(verifyNodeRequest(PLATFORM_PUB, 'POST', '/v1/payouts?x=1', { ...headers, [NODE_HEADERS.timestamp]: ts }, body)).toBe(false);
    expect(verifyNodeRequest(DEVICE_PUB, 'POST', '/v1/payouts?x=1', headers, body)).toBe(false);
    expect(verifyNodeRequest(PLATFORM_PUB, 'POST', '/v1/payouts?x=1', {}, body)).toBe(false);
  });

  it('a GET without a body signs the empty string', () => {
    const headers = signNodeRequest(PLATFORM_SEED, 'GET', '/v1/pending', undefined);
    expect(verifyNodeRequest(PLATFORM_PUB, 'GET', '/v1/pending', headers, '')).toBe(true);
    expect(verifyNodeRequest(PLATFORM_PUB, 'GET', '/v1/pending', headers, undefined)).toBe(true);
  });

  it('freshness window is 60 s either way', () => {
    expect(isFreshNodeTimestamp(1_000_000, 1_060_000)).toBe(true);
    expect(isFreshNodeTimestamp(1_000_000, 1_060_001)).toBe(false);
    expect(isFreshNodeTimestamp(1_060_001, 1_000_000)).toBe(false);
  });
});

describe('resultSigningString', () => {
  it('matches the device protocol vector', () => {
    expect(resultSigningString('01JD6Z3K8Q0000000000000000', '1011')).toBe('IDLEMINT-RESULT-V1\n01JD6Z3K8Q0000000000000000\n1011');
    expect(ed25519Sign(DEVICE_SEED, resultSigningString('01JD6Z3K8Q0000000000000000', '1011'))).toBe(
      'bf072ef7a21b824e733924a7f6e04cec70f366d70e5580b1fb94ba3c5ed11bb771116f7ef7c6d79039e4684006e12fb1e5f3f70ef9bd96ec644d880f7d10580c',
    );
  });
});

describe('canonical JSON and the log chain', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(nodeCanonicalJson({ b: 1, a: { d: [3, { z: 1, y: 'x' }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":"x","z":1}]},"b":1}');
    expect(nodeCanonicalJson({ a: 1, b: 2 })).toBe(nodeCanonicalJson({ b: 2, a: 1 }));
  });

  it('hash = sha256(prevHash \\n canonical payload); a chain verifies and any edit breaks it', () => {
    const p1 = { unitId: 'u1', verdicts: '10' };
    const p2 = { verdicts: '1', unitId: 'u2' };
    const h1 = nodeLogHash(NODE_GENESIS_HASH, p1);
    expect(h1).toBe(sha256Hex(`${'0'.repeat(64)}\n{"unitId":"u1","verdicts":"10"}`));
    const h2 = nodeLogHash(h1, p2);
    const chain = [
      { seq: '1', prevHash: NODE_GENESIS_HASH, hash: h1, payload: p1 },
      { seq: 2n, prevHash: h1, hash: h2, payload: p2 },
    ];
    expect(verifyNodeLogChain(chain)).toBe(h2);
    expect(verifyNodeLogChain([chain[1]], h1, 1n)).toBe(h2);
    expect(verifyNodeLogChain([chain[0], { ...chain[1], payload: { ...p2, verdicts: '0' } }])).toBeNull();
    expect(verifyNodeLogChain([chain[1]])).toBeNull();
    expect(verifyNodeLogChain([chain[0], { ...chain[1], seq: 3n }])).toBeNull();
  });
});

describe('schemas', () => {
  const unit = {
    v: 1,
    unitId: 'unit-1',
    kind: 'tx-verify',
    items: [{ scheme: 'ed25519', publicKey: 'aa', message: 'bb', signature: 'cc' }],
    verdicts: '1',
    refs: [{ index: 0, node: 'node-a', id: 'tx1' }],
    results: [{ devicePublicKey: DEVICE_PUB, resultSignature: 'ab'.repeat(64), verdicts: '01', canaries: [0] }],
    assurance: { devices: 1, owners: 1, manufacturers: 1, origins: 1, reputations: [0.5] },
    verifiedAt: '2026-11-25T10:00:00.000Z',
  };

  it('a relayed unit is strict', () => {
    expect(relayedUnitSchema.safeParse(unit).success).toBe(true);
    // The assurance is part of what the platform signs: required, and strict itself.
    const { assurance: _a, ...noAssurance } = unit;
    expect(relayedUnitSchema.safeParse(noAssurance).success).toBe(false);
    expect(relayedUnitSchema.safeParse({ ...unit, assurance: { ...unit.assurance, devices: 0 } }).success).toBe(false);
    expect(relayedUnitSchema.safeParse({ ...unit, assurance: { ...unit.assurance, extra: 1 } }).success).toBe(false);
    expect(relayedUnitSchema.safeParse({ ...unit, extra: 1 }).success).toBe(false);
    expect(relayedUnitSchema.safeParse({ ...unit, results: [] }).success).toBe(false);
    expect(relayedUnitSchema.safeParse({ ...unit, results: [unit.results[0], unit.results[0]] }).success).toBe(false);
    expect(relayedUnitSchema.safeParse({ ...unit, refs: [{ ...unit.refs[0], extra: true }] }).success).toBe(false);
    // Each result carries the device's own verdicts and where its canaries sat in them.
    const result = unit.results[0];
    expect(relayedUnitSchema.safeParse({ ...unit, results: [{ ...result, canaries: [] }] }).success).toBe(true);
    const { verdicts: _v, ...noVerdicts } = result;
    const { canaries: _c, ...noCanaries } = result;
    for (const bad of [
      noVerdicts,
      noCanaries,
      { ...result, extra: true },
      { ...result, verdicts: '' },
      { ...result, verdicts: '0x' },
      { ...result, canaries: [-1] },
      { ...result, canaries: [0.5] },
      { ...result, canaries: Array.from({ length: 65 }, (_, i) => i) },
    ]) {
      expect(relayedUnitSchema.safeParse({ ...unit, results: [bad] }).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('payout requests: key, address and positive integer amount', () => {
    const ok = { idempotencyKey: 'payout:abc_1-2', address: 'owner-1', amount: '1000' };
    expect(nodePayoutRequestSchema.safeParse(ok).success).toBe(true);
    for (const bad of [
      { ...ok, amount: '0' },
      { ...ok, amount: '-5' },
      { ...ok, amount: '1.5' },
      { ...ok, amount: 1000 },
      { ...ok, amount: '01' },
      { ...ok, idempotencyKey: 'short' },
      { ...ok, idempotencyKey: 'has space!' },
      { ...ok, address: '' },
      { ...ok, address: '@treasury' },
      { ...ok, extra: 1 },
    ]) {
      expect(nodePayoutRequestSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
