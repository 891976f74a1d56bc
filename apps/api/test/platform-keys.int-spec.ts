import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId, PLATFORM_KEY_SEED, SecretBox } from '@idlemint/core';
import { ed25519FromSeed, ed25519Generate } from '@idlemint/crypto';
import { NODE_PLATFORM_KEYS_PATH, NodeClient, NodeRequestError, type NodeKeysAnswer } from '@idlemint/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closedPortUrl,
  createDevice,
  createFleet,
  createOwner,
  registerNode,
  seedVerifiedUnit,
  startNode,
  startPlatform,
  type Fleet,
  type Platform,
  type SeededUnit,
  type TestDevice,
  type TestNode,
} from '../../../test/support/platform.js';
import type { TrustedNodeModel } from '@idlemint/core';
import { startApi, type RunningApi } from './support/api.js';
import { expectCode, http } from './support/ops.js';

/**
 * Platform signing key rotation with an overlap window, against two real reference nodes: after a
 * rotation both keys are accepted until the overlap ends, then only the new one; relays keep
 * flowing throughout; a node that was disabled during a rotation is brought up to date when
 * enabled; a rotation that cannot reach every active node switches nothing.
 */

const OVERLAP_S = 5;

describe('platform key rotation', () => {
  let p: Platform;
  let api: RunningApi;
  let a: TestNode;
  let b: TestNode;
  let rowA: TrustedNodeModel;
  let rowB: TrustedNodeModel;
  let fleet: Fleet;
  let devices: TestDevice[];
  const units: SeededUnit[] = [];
  const seeds = new Map<string, string>(); // public key -> seed
  let k1: string;
  let k2: string;
  let retiresAt: number;

  const rotate = (overlapS: number) => http(api.base, 'POST', '/operator/v1/platform-keys/rotate', { operator: true, body: { overlapS } });
  const pending = (node: TestNode, seed: string) => new NodeClient(node.url, seed).request<unknown>('GET', '/v1/pending?after=0&limit=1');
  const keysAt = (node: TestNode, seed: string) => new NodeClient(node.url, seed).request<NodeKeysAnswer>('GET', NODE_PLATFORM_KEYS_PATH);
  const refusal = async (call: Promise<unknown>) => {
    try {
      await call;
      return null;
    } catch (e) {
      return e instanceof NodeRequestError ? { status: e.status, code: e.code } : { status: -1, code: String(e) };
    }
  };
  async function seedOf(publicKey: string): Promise<string> {
    const row = await p.db.platformKey.findUniqueOrThrow({ where: { publicKey } });
    if (row.seed === null) return p.config.PLATFORM_SIGNING_KEY;
    // A rotated seed is stored sealed with its key id beside it, never in the clear (issue 9, finding 10).
    expect(row.seed).toMatch(new RegExp(`^enc:v1:${p.config.DATA_ENCRYPTION_KEY_ID}:`));
    const seed = SecretBox.fromConfig(p.config).open(PLATFORM_KEY_SEED, row.seed);
    expect(ed25519FromSeed(seed).publicKey).toBe(publicKey);
    expect(row.seed).not.toContain(seed);
    return seed;
  }

  beforeAll(async () => {
    p = await startPlatform('keys');
    [a, b] = await Promise.all([
      startNode({ platformPublicKey: p.signing.publicKey, pendingSeed: 40 }),
      startNode({ platformPublicKey: p.signing.publicKey, pendingSeed: 40 }),
    ]);
    rowA = await registerNode(p, a);
    rowB = await registerNode(p, b);
    api = await startApi(p.config.DATABASE_URL, { PLATFORM_SIGNING_KEY: p.signing.secretKey });
    fleet = await createFleet(p);
    devices = [await createDevice(p, fleet, await createOwner(p)), await createDevice(p, fleet, await createOwner(p))];
    // Units seeded now: seeding lists the nodes' pending transactions with the configured key.
    for (let i = 0; i < 4; i++) {
      units.push(
        await seedVerifiedUnit(
          p,
          fleet,
          [
            { node: a, nodeRow: rowA, count: 2 },
            { node: b, nodeRow: rowB, count: 2 },
          ],
          devices,
        ),
      );
    }
    k1 = p.signing.publicKey;
    seeds.set(k1, p.signing.secretKey);
  });

  afterAll(async () => {
    await api?.close();
    await a?.close();
    await b?.close();
    await p?.close();
  });

  it('before any rotation, the configured key is the only one and relays are signed with it', async () => {
    const r = await http(api.base, 'GET', '/operator/v1/platform-keys', { operator: true });
    expect(r.status).toBe(200);
    expect(r.body.keys).toEqual([
      { id: null, publicKey: k1, status: 'current', source: 'config', activeFrom: null, retiresAt: null, createdAt: null },
    ]);
    expect(await p.relay.deliver(units[0]!.unitId, rowA.id)).toBe('delivered');
    expect(await p.relay.deliver(units[0]!.unitId, rowB.id)).toBe('delivered');
    expect((await keysAt(a, seeds.get(k1)!)).keys).toMatchObject([{ publicKey: k1, source: 'config', validUntil: null }]);
  });

  it('rotates: every node accepts both keys during the overlap', async () => {
    const before = Date.now();
    const r = await rotate(OVERLAP_S);
    expect(r.status).toBe(200);
    k2 = r.body.current.publicKey as string;
    expect(k2).toMatch(/^[0-9a-f]{64}$/);
    expect(k2).not.toBe(k1);
    expect(r.body.current).toMatchObject({ status: 'current', source: 'generated', retiresAt: null });
    expect(r.body.retired).toMatchObject({ publicKey: k1, status: 'retired', source: 'config' });
    retiresAt = new Date(r.body.retired.retiresAt as string).getTime();
    expect(retiresAt).toBeGreaterThanOrEqual(before + OVERLAP_S * 1000);
    expect(retiresAt).toBeLessThan(Date.now() + OVERLAP_S * 1000 + 1000);
    expect(r.body.nodes).toEqual(
      expect.arrayContaining([
        { node: a.name, retirementSent: true },
        { node: b.name, retirementSent: true },
      ]),
    );
    expect(JSON.stringify(r.body)).not.toMatch(/seed/);
    seeds.set(k2, await seedOf(k2));

    for (const node of [a, b]) {
      const { keys } = await keysAt(node, seeds.get(k2)!);
      const old = keys.find((k) => k.publicKey === k1)!;
      const fresh = keys.find((k) => k.publicKey === k2)!;
      expect(new Date(old.validUntil!).getTime()).toBe(retiresAt);
      expect(fresh).toMatchObject({ source: 'announced', validUntil: null });
      // Both keys sign requests the node accepts.
      await expect(pending(node, seeds.get(k1)!)).resolves.toBeDefined();
      await expect(pending(node, seeds.get(k2)!)).resolves.toBeDefined();
    }
    // The platform signs with the new key now; relays flow.
    expect(await p.relay.deliver(units[1]!.unitId, rowA.id)).toBe('delivered');
    expect(await p.relay.deliver(units[1]!.unitId, rowB.id)).toBe('delivered');
    const listed = await http<{ keys: { publicKey: string; status: string }[] }>(api.base, 'GET', '/operator/v1/platform-keys', {
      operator: true,
    });
    expect(listed.body.keys.map((k) => [k.publicKey, k.status])).toEqual([
      [k2, 'current'],
      [k1, 'retired'],
    ]);
    expect((await p.db.auditLog.findMany({ where: { action: 'platform_key.rotate' } })).length).toBe(1);
  });

  it('after the overlap, the old key is refused and only the new one works; relays keep flowing', async () => {
    await sleep(Math.max(0, retiresAt - Date.now()) + 300);
    for (const node of [a, b]) {
      expect(await refusal(pending(node, seeds.get(k1)!))).toEqual({ status: 401, code: 'NODE.PLATFORM_SIGNATURE_INVALID' });
      await expect(pending(node, seeds.get(k2)!)).resolves.toBeDefined();
    }
    expect(await p.relay.deliver(units[2]!.unitId, rowA.id)).toBe('delivered');
    expect(await p.relay.deliver(units[2]!.unitId, rowB.id)).toBe('delivered');
    for (const node of [a, b]) {
      const logged = (await node.log()).map((e) => e.unitId);
      expect(logged).toEqual(units.slice(0, 3).map((u) => u.unitId));
    }
  });

  it('a node disabled during a rotation is brought up to date, signed with a key it still accepts, when enabled', async () => {
    expect((await http(api.base, 'POST', `/operator/v1/nodes/${rowB.id}/disable`, { operator: true })).status).toBe(200);
    const r = await rotate(3600);
    expect(r.status).toBe(200);
    const k3 = r.body.current.publicKey as string;
    seeds.set(k3, await seedOf(k3));
    expect(r.body.nodes).toEqual([{ node: a.name, retirementSent: true }]);
    expect(await p.relay.deliver(units[3]!.unitId, rowB.id)).toBe('node-disabled');
    // B never heard of k3: it still accepts k2 (no retirement known for it) and refuses k3.
    expect(await refusal(pending(b, seeds.get(k3)!))).toEqual({ status: 401, code: 'NODE.PLATFORM_SIGNATURE_INVALID' });

    const on = await http(api.base, 'POST', `/operator/v1/nodes/${rowB.id}/enable`, { operator: true });
    expect(on.status).toBe(200);
    expect(on.body.status).toBe('active');
    const { keys } = await keysAt(b, seeds.get(k3)!);
    expect(keys.find((k) => k.publicKey === k3)).toMatchObject({ validUntil: null });
    expect(keys.find((k) => k.publicKey === k2)!.validUntil).not.toBeNull();
    expect(await p.relay.deliver(units[3]!.unitId, rowB.id)).toBe('delivered');
    expect(await p.relay.deliver(units[3]!.unitId, rowA.id)).toBe('delivered');
  });

  it('switches nothing when an active node cannot be told, and finishes with the same pending key once it can', async () => {
    const dark = await p.db.trustedNode.create({ data: { id: newId(), name: `dark-${newId().slice(-6)}`, url: await closedPortUrl() } });
    const current = (await p.db.platformKey.findFirstOrThrow({ where: { status: 'current' } })).publicKey;
    const failed = await rotate(60);
    expectCode(failed, 503, 'PLATFORM_KEY.ANNOUNCE_FAILED');
    expect(failed.body.error.details.nodes).toMatchObject([{ node: dark.name }]);
    const pendingKey = failed.body.error.details.pendingKey as string;
    expect((await p.db.platformKey.findFirstOrThrow({ where: { status: 'current' } })).publicKey).toBe(current);
    expect((await p.db.platformKey.findUniqueOrThrow({ where: { publicKey: pendingKey } })).status).toBe('pending');
    // The nodes still accept the current key (they only learned the pending one).
    await expect(pending(a, seeds.get(current)!)).resolves.toBeDefined();

    // Enabling a node that cannot be reached fails the same way and leaves it disabled.
    await http(api.base, 'POST', `/operator/v1/nodes/${dark.id}/disable`, { operator: true });
    expectCode(await http(api.base, 'POST', `/operator/v1/nodes/${dark.id}/enable`, { operator: true }), 503, 'PLATFORM_KEY.SYNC_FAILED');
    expect((await p.db.trustedNode.findUniqueOrThrow({ where: { id: dark.id } })).status).toBe('disabled');

    const done = await rotate(60);
    expect(done.status).toBe(200);
    expect(done.body.current.publicKey).toBe(pendingKey);
  });

  it('a node registered after rotations with the original key catches up when enabled (already active)', async () => {
    const c = await startNode({ platformPublicKey: k1, pendingSeed: 10 });
    try {
      const rowC = await registerNode(p, c);
      const unit = await seedVerifiedUnit(p, fleet, [{ node: c, nodeRow: rowC, count: 2 }], devices); // lists with k1: still trusted there
      await expect(p.relay.deliver(unit.unitId, rowC.id)).rejects.toThrow(/NODE.PLATFORM_SIGNATURE_INVALID/);
      const on = await http(api.base, 'POST', `/operator/v1/nodes/${rowC.id}/enable`, { operator: true });
      expect(on.status).toBe(200);
      expect(on.body.status).toBe('active');
      expect(await p.relay.deliver(unit.unitId, rowC.id)).toBe('delivered');
      expect(await refusal(pending(c, seeds.get(k1)!))).toEqual({ status: 401, code: 'NODE.PLATFORM_SIGNATURE_INVALID' });
    } finally {
      await c.close();
    }
  });

  it('nodes refuse announcements by unknown keys, of retired keys, and that retire the key they announce', async () => {
    const stranger = ed25519Generate();
    const body = { publicKey: stranger.publicKey, validFrom: new Date().toISOString(), retire: [] };
    expect(await refusal(new NodeClient(a.url, stranger.secretKey).request('POST', NODE_PLATFORM_KEYS_PATH, body))).toEqual({
      status: 401,
      code: 'NODE.PLATFORM_SIGNATURE_INVALID',
    });
    const current = (await p.db.platformKey.findFirstOrThrow({ where: { status: 'current' } })).publicKey;
    const seed = await seedOf(current);
    expect(
      await refusal(
        new NodeClient(a.url, seed).request('POST', NODE_PLATFORM_KEYS_PATH, {
          publicKey: k1,
          validFrom: new Date().toISOString(),
          retire: [],
        }),
      ),
    ).toEqual({ status: 409, code: 'NODE.KEY_RETIRED' });
    expect(
      await refusal(
        new NodeClient(a.url, seed).request('POST', NODE_PLATFORM_KEYS_PATH, {
          publicKey: stranger.publicKey,
          validFrom: new Date().toISOString(),
          retire: [{ publicKey: stranger.publicKey, at: new Date().toISOString() }],
        }),
      ),
    ).toEqual({ status: 422, code: 'NODE.KEY_ANNOUNCEMENT_INVALID' });
    expect((await keysAt(a, seed)).keys.map((k) => k.publicKey)).not.toContain(stranger.publicKey);
  });

  it('is operator-only and validates the overlap', async () => {
    const m = await http(api.base, 'POST', '/operator/v1/manufacturers', { operator: true, body: { name: `m-${newId().slice(-8)}` } });
    expectCode(
      await http(api.base, 'POST', '/operator/v1/platform-keys/rotate', { key: m.body.apiKey, body: { overlapS: 60 } }),
      401,
      'AUTH.OPERATOR_KEY_INVALID',
    );
    expectCode(await http(api.base, 'GET', '/operator/v1/platform-keys', { key: m.body.apiKey }), 401, 'AUTH.OPERATOR_KEY_INVALID');
    expectCode(await rotate(1), 400, 'REQUEST.INVALID_BODY');
    expectCode(
      await http(api.base, 'POST', '/operator/v1/platform-keys/rotate', { operator: true, body: { overlapS: 60, seed: 'x' } }),
      400,
      'REQUEST.INVALID_BODY',
    );
  });
});
