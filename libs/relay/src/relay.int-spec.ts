import 'reflect-metadata';
import type { TrustedNodeModel } from '@idlemint/core';
import { ed25519Sign } from '@idlemint/crypto';
import { NodeRequestError, resultSigningString, type RelayedUnit } from '@idlemint/protocol';
import { RelayRefusedError } from '@idlemint/relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closedPortUrl,
  createDevice,
  createFleet,
  createOwner,
  registerNode,
  seedVerifiedUnit,
  startFaultyHop,
  startNode,
  startPlatform,
  type Fleet,
  type Platform,
  type SeededUnit,
  type TestDevice,
  type TestNode,
} from '../../../test/support/platform.js';

/**
 * Relay of verified units to reference trusted nodes running in-process on their own databases.
 * Units are built over the nodes' real pending transactions and signed by real device keys; the
 * assertions read the platform's RelayDelivery rows and the nodes' logs and transactions.
 */

describe('relay to trusted nodes', () => {
  let p: Platform;
  let fleet: Fleet;
  let devices: TestDevice[];
  const nodes: TestNode[] = [];
  let a: TestNode;
  let b: TestNode;
  let rowA: TrustedNodeModel;
  let rowB: TrustedNodeModel;

  beforeAll(async () => {
    p = await startPlatform('relay');
    a = await startNode({ name: 'node-a', platformPublicKey: p.signing.publicKey, pendingSeed: 60 });
    nodes.push(a);
    b = await startNode({ name: 'node-b', platformPublicKey: p.signing.publicKey, pendingSeed: 60 });
    nodes.push(b);
    rowA = await registerNode(p, a);
    rowB = await registerNode(p, b);
    fleet = await createFleet(p);
    devices = [];
    for (let i = 0; i < 2; i++) devices.push(await createDevice(p, fleet, await createOwner(p)));
  });

  afterAll(async () => {
    for (const n of nodes) await n.close();
    await p?.close();
  });

  const delivery = (unitId: string, nodeId: string) =>
    p.db.relayDelivery.findUniqueOrThrow({ where: { unitId_nodeId: { unitId, nodeId } } });

  /** The node's own rows for the unit's transactions: truth, recorded verdict, unit. */
  async function nodeTxs(node: TestNode, ids: string[]) {
    const { rows } = await node.db.query<{ txId: string; valid: boolean; verdict: boolean | null; unitId: string | null }>(
      'SELECT "txId", "valid", "verdict", "unitId" FROM "PendingTx" WHERE "txId" = ANY($1) ORDER BY "txId"',
      [ids],
    );
    return rows;
  }

  const idsAt = (unit: SeededUnit, node: TestNode) => unit.txs.get(node.name)!.map((t) => t.id);

  it('delivers a verified unit once: the node logs it with the agreed verdicts and records them', async () => {
    const unit = await seedVerifiedUnit(p, fleet, [{ node: a, nodeRow: rowA, count: 5 }], devices);
    const before = await a.log();

    expect(await p.relay.deliver(unit.unitId, rowA.id)).toBe('delivered');

    const log = await a.log();
    expect(log).toHaveLength(before.length + 1);
    const entry = log.at(-1)!;
    expect(entry.unitId).toBe(unit.unitId);
    const payload = entry.payload as RelayedUnit;
    expect(payload.verdicts).toBe(unit.verdicts);
    expect(payload.items).toEqual(unit.items);
    expect(payload.refs).toEqual(idsAt(unit, a).map((id, index) => ({ index, node: a.name, id })));
    const assignments = await p.db.assignment.findMany({ where: { unitId: unit.unitId } });
    expect(new Set(payload.results.map((r) => `${r.devicePublicKey}:${r.resultSignature}`))).toEqual(
      new Set(assignments.map((x) => `${devices.find((d) => d.id === x.deviceId)!.keys.publicKey}:${x.resultSignature}`)),
    );

    const row = await delivery(unit.unitId, rowA.id);
    expect(row).toMatchObject({ status: 'delivered', attempts: 1, lastError: null, nodeSeq: BigInt(entry.seq) });
    expect(row.deliveredAt).toBeInstanceOf(Date);

    // The node recorded the agreed verdict on each of its transactions, and each is the truth.
    const txs = await nodeTxs(a, idsAt(unit, a));
    expect(txs).toHaveLength(5);
    for (const t of txs) {
      expect(t.unitId).toBe(unit.unitId);
      expect(t.verdict).toBe(unit.txs.get(a.name)!.find((x) => x.id === t.txId)!.valid);
      expect(t.verdict).toBe(t.valid);
    }
    expect((await a.stats()).verdicts.wrong).toBe(0);

    expect(await p.relay.deliver(unit.unitId, rowA.id)).toBe('already-delivered');
    expect(await a.log()).toEqual(log);
    expect(await delivery(unit.unitId, rowA.id)).toMatchObject({ status: 'delivered', nodeSeq: BigInt(entry.seq), attempts: 2 });
  });

  it('a forged device signature is refused by the node: RelayRefusedError, nothing logged or recorded', async () => {
    const unit = await seedVerifiedUnit(p, fleet, [{ node: a, nodeRow: rowA, count: 3 }], devices);
    // The second device's signature, replaced by its signature over other verdicts.
    const other = unit.verdicts.replace(/^./, (c) => (c === '1' ? '0' : '1'));
    await p.db.assignment.update({
      where: { unitId_deviceId: { unitId: unit.unitId, deviceId: devices[1]!.id } },
      data: { resultSignature: ed25519Sign(devices[1]!.keys.secretKey, resultSigningString(unit.unitId, other)) },
    });
    const before = await a.log();

    const error = await p.relay.deliver(unit.unitId, rowA.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RelayRefusedError);
    expect((error as Error).message).toContain('NODE.RESULT_SIGNATURE_INVALID');

    const row = await delivery(unit.unitId, rowA.id);
    expect(row).toMatchObject({ status: 'pending', nodeSeq: null, deliveredAt: null, attempts: 1 });
    expect(row.lastError).toContain('NODE.RESULT_SIGNATURE_INVALID');
    expect(await a.log()).toEqual(before);
    expect((await nodeTxs(a, idsAt(unit, a))).map((t) => [t.verdict, t.unitId])).toEqual([
      [null, null],
      [null, null],
      [null, null],
    ]);
  });

  it('an unreachable node is a retryable failure, counted per attempt; markDead dead-letters it', async () => {
    const offline = await registerNode(p, { name: 'node-offline', url: await closedPortUrl() });
    const unit = await seedVerifiedUnit(p, fleet, [{ node: a, nodeRow: rowA, count: 2 }], devices);

    for (let attempt = 1; attempt <= 3; attempt++) {
      const error = await p.relay.deliver(unit.unitId, offline.id).catch((e: unknown) => e);
      expect(error).not.toBeInstanceOf(RelayRefusedError);
      expect(error).toBeInstanceOf(NodeRequestError);
      expect((error as NodeRequestError).unclear).toBe(true);
      const row = await delivery(unit.unitId, offline.id);
      expect(row).toMatchObject({ status: 'pending', attempts: attempt, nodeSeq: null });
      expect(row.lastError).toContain('NODE.UNREACHABLE');
    }

    // The same unit reaches the other node; dead-lettering the offline one leaves that alone.
    expect(await p.relay.deliver(unit.unitId, rowA.id)).toBe('delivered');
    await p.relay.markDead(unit.unitId, offline.id, 'attempts exhausted');
    await p.relay.markDead(unit.unitId, rowA.id, 'late failure report');
    expect(await delivery(unit.unitId, offline.id)).toMatchObject({ status: 'dead', lastError: 'attempts exhausted', attempts: 3 });
    expect(await delivery(unit.unitId, rowA.id)).toMatchObject({ status: 'delivered', lastError: null });
    await p.db.trustedNode.update({ where: { id: offline.id }, data: { status: 'disabled' } });
  });

  it('delivered to two nodes, the same unit is in both logs and each records verdicts on its own transactions', async () => {
    const unit = await seedVerifiedUnit(
      p,
      fleet,
      [
        { node: a, nodeRow: rowA, count: 3 },
        { node: b, nodeRow: rowB, count: 4 },
      ],
      devices,
    );
    const message = await p.relay.buildMessage(unit.unitId);
    expect(message.refs.map((r) => r.node)).toEqual([a.name, a.name, a.name, b.name, b.name, b.name, b.name]);

    expect(await Promise.all([p.relay.deliver(unit.unitId, rowA.id), p.relay.deliver(unit.unitId, rowB.id)])).toEqual([
      'delivered',
      'delivered',
    ]);

    const inA = (await a.log()).find((e) => e.unitId === unit.unitId);
    const inB = (await b.log()).find((e) => e.unitId === unit.unitId);
    expect(inA).toBeDefined();
    expect(inB).toBeDefined();
    expect(inA!.payload).toEqual(message);
    expect(inB!.payload).toEqual(inA!.payload);
    expect((await delivery(unit.unitId, rowA.id)).nodeSeq).toBe(BigInt(inA!.seq));
    expect((await delivery(unit.unitId, rowB.id)).nodeSeq).toBe(BigInt(inB!.seq));

    for (const node of [a, b]) {
      const own = await nodeTxs(node, idsAt(unit, node));
      expect(own).toHaveLength(unit.txs.get(node.name)!.length);
      for (const t of own) expect(t).toMatchObject({ unitId: unit.unitId, verdict: t.valid });
    }
    // A node knows nothing of the other's transactions.
    expect(await nodeTxs(a, idsAt(unit, b))).toEqual([]);
    expect(await nodeTxs(b, idsAt(unit, a))).toEqual([]);
    for (const node of [a, b])
      expect(await node.stats()).toMatchObject({ chainValid: true, verdicts: expect.objectContaining({ wrong: 0 }) });
  });

  it('an answer that is not JSON is retryable, not a refusal; the retry records the delivery once', async () => {
    const proxy = await startFaultyHop(b.url);
    try {
      const viaProxy = await registerNode(p, { name: 'node-b-proxied', url: proxy.url });
      const unit = await seedVerifiedUnit(p, fleet, [{ node: b, nodeRow: rowB, count: 2 }], devices);
      const before = await b.log();

      const error = await p.relay.deliver(unit.unitId, viaProxy.id).catch((e: unknown) => e);
      expect(proxy.garbled).toBe(1);
      expect(error).not.toBeInstanceOf(RelayRefusedError);
      expect(await b.log()).toHaveLength(before.length + 1); // b took it behind the garbled answer
      expect((await delivery(unit.unitId, viaProxy.id)).status).toBe('pending');

      // Straight to the node this time: it answers the unit is already logged, with its seq.
      await p.db.trustedNode.update({ where: { id: viaProxy.id }, data: { url: b.url } });
      expect(await p.relay.deliver(unit.unitId, viaProxy.id)).toBe('delivered');
      const log = await b.log();
      expect(log.filter((e) => e.unitId === unit.unitId)).toHaveLength(1);
      expect(await delivery(unit.unitId, viaProxy.id)).toMatchObject({
        status: 'delivered',
        attempts: 2,
        nodeSeq: BigInt(log.find((e) => e.unitId === unit.unitId)!.seq),
      });
      await p.db.trustedNode.update({ where: { id: viaProxy.id }, data: { status: 'disabled' } });
    } finally {
      await proxy.close();
    }
  });
});
