import 'reflect-metadata';
import { newId, type TrustedNodeModel } from '@idlemint/core';
import { Accounts } from '@idlemint/ledger';
import { PayoutUnclearError } from '@idlemint/payouts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closedPortUrl,
  createDevice,
  createFleet,
  createOwner,
  creditDevice,
  ledgerBalances,
  registerNode,
  startFaultyHop,
  startNode,
  startPlatform,
  unique,
  type Fleet,
  type Platform,
  type TestDevice,
  type TestNode,
} from '../../../test/support/platform.js';

/**
 * Payouts against a reference trusted node running in-process, each test on its own platform and
 * node databases (a payout run looks at every owner, reconciliation at every node). Assertions
 * read both databases: the platform's ledger and payout rows, the node's payout and balance rows.
 */

const THRESHOLD = 5_000n;
const TREASURY = 1_000_000n;

interface World {
  p: Platform;
  node: TestNode;
  nodeRow: TrustedNodeModel;
  fleet: Fleet;
}

interface TestOwner {
  id: string;
  address: string | null;
  devices: TestDevice[];
  /** Owner share credited per device id. */
  credited: Map<string, bigint>;
  total: bigint;
}

describe('payouts through a trusted node', () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!().catch((e: unknown) => console.error('cleanup failed', e));
  });

  /** A platform, a node it trusts (registered under the node's NODE_NAME) and a manufacturer's fleet. */
  async function world(opts: { treasury?: bigint; dropPayoutResponses?: boolean; unreachable?: boolean } = {}): Promise<World> {
    // Rewards mature at once (creditDevice matures them), so credits reach the device accounts payouts pay from.
    const p = await startPlatform('payouts', { PAYOUT_THRESHOLD: THRESHOLD.toString(), MATURITY_MS: '0' });
    cleanups.push(p.close);
    const node = await startNode({
      platformPublicKey: p.signing.publicKey,
      treasury: opts.treasury ?? TREASURY,
      dropPayoutResponses: opts.dropPayoutResponses,
    });
    cleanups.push(node.close);
    const nodeRow = await registerNode(p, { name: node.name, url: opts.unreachable ? await closedPortUrl() : node.url });
    return { p, node, nodeRow, fleet: await createFleet(p) };
  }

  /** An owner with one device per entry of `units`, each credited for that many verified units. */
  async function owner(w: World, units: number[], opts: { payoutAddress?: string | null; halted?: boolean } = {}): Promise<TestOwner> {
    const id = await createOwner(w.p, opts);
    const row = await w.p.db.owner.findUniqueOrThrow({ where: { id } });
    const devices: TestDevice[] = [];
    const credited = new Map<string, bigint>();
    for (const n of units) {
      const d = await createDevice(w.p, w.fleet, id);
      devices.push(d);
      credited.set(d.id, await creditDevice(w.p, d, n));
    }
    return { id, address: row.payoutAddress, devices, credited, total: [...credited.values()].reduce((s, a) => s + a, 0n) };
  }

  const deviceBalances = async (p: Platform, o: TestOwner): Promise<bigint[]> => {
    const get = await ledgerBalances(p);
    return o.devices.map((d) => get(Accounts.device(d.id)));
  };

  /** The postings of one journal entry, by account code. */
  async function entry(p: Platform, idempotencyKey: string): Promise<Map<string, bigint>> {
    const rows = await p.db.$queryRaw<{ code: string; amount: string }[]>`
      SELECT a."code", x."amount"::text AS amount FROM "Posting" x
        JOIN "JournalEntry" e ON e."id" = x."entryId" JOIN "LedgerAccount" a ON a."id" = x."accountId"
       WHERE e."idempotencyKey" = ${idempotencyKey}`;
    return new Map(rows.map((r) => [r.code, BigInt(r.amount)]));
  }

  const payoutOf = (p: Platform, ownerId: string) => p.db.payout.findMany({ where: { ownerId }, orderBy: { createdAt: 'asc' } });

  it('a run pays each eligible owner once through the node; the ledger settles and reconciles', async () => {
    const w = await world();
    const { p, node } = w;
    // 700 per unit to the owner (7000 bps of 1000): 8 units = 5600 ≥ 5000, 7 units = 4900 < 5000.
    const alice = await owner(w, [3, 5]);
    const erin = await owner(w, [10]);
    const bob = await owner(w, [4, 3]); // below the threshold
    const carol = await owner(w, [8], { payoutAddress: null }); // no payout address
    const dave = await owner(w, [9], { halted: true }); // payouts halted
    expect([alice.total, erin.total, bob.total]).toEqual([5_600n, 7_000n, 4_900n]);

    const created = await p.payouts.run();
    expect(created).toHaveLength(2);
    const payouts = await p.db.payout.findMany({ where: { id: { in: created } } });
    expect(new Set(payouts.map((x) => x.ownerId))).toEqual(new Set([alice.id, erin.id]));
    for (const o of [bob, carol, dave]) expect(await payoutOf(p, o.id)).toEqual([]);
    for (const o of [alice, erin]) {
      const [payout] = await payoutOf(p, o.id);
      expect(payout).toMatchObject({
        status: 'pending',
        address: o.address,
        nodeId: w.nodeRow.id,
        idempotencyKey: `idlemint-payout-${payout!.id}`,
      });
      expect(payout!.amount.toFixed(0)).toBe(o.total.toString());
      // The whole balance moved into flight, device by device, with an outbox message for execution.
      expect(await deviceBalances(p, o)).toEqual(o.devices.map(() => 0n));
      const moved = await entry(p, `payout:${payout!.id}`);
      for (const d of o.devices) expect(moved.get(Accounts.device(d.id))).toBe(-o.credited.get(d.id)!);
      expect(moved.get(Accounts.payoutsInFlight)).toBe(o.total);
      expect(await p.db.outboxMessage.count({ where: { topic: 'payout.created', key: `payout.created:${payout!.id}` } })).toBe(1);
    }
    expect((await ledgerBalances(p))(Accounts.payoutsInFlight)).toBe(alice.total + erin.total);

    for (const id of created) expect(await p.payouts.execute(id)).toBe('confirmed');

    const get = await ledgerBalances(p);
    expect(get(Accounts.payoutsSettled)).toBe(alice.total + erin.total);
    expect(get(Accounts.payoutsInFlight)).toBe(0n);
    for (const o of [alice, erin]) expect(await deviceBalances(p, o)).toEqual(o.devices.map(() => 0n));
    expect(await deviceBalances(p, bob)).toEqual([2_800n, 2_100n]);
    expect(await deviceBalances(p, carol)).toEqual([5_600n]);

    // The node paid exactly these payouts, under the platform's keys, to the owners' addresses.
    const atNode = await node.payouts();
    const confirmed = await p.db.payout.findMany({ where: { id: { in: created } } });
    expect(atNode).toHaveLength(2);
    for (const x of confirmed) {
      expect(x.status).toBe('confirmed');
      expect(atNode).toContainEqual({
        idempotencyKey: x.idempotencyKey,
        address: x.address,
        amount: x.amount.toFixed(0),
        status: 'confirmed',
      });
      expect(await node.balance(x.address)).toBe(BigInt(x.amount.toFixed(0)));
    }
    expect(await node.balance('@treasury')).toBe(TREASURY - alice.total - erin.total);

    const rec = await p.reconciliation.reconcile();
    expect(rec.problems).toEqual([]);
    expect(rec.ok).toBe(true);
    expect(rec.payouts).toMatchObject({ confirmed: 2, confirmedTotal: (alice.total + erin.total).toString(), open: 0 });
    expect(rec.nodes).toEqual([expect.objectContaining({ name: node.name, payoutsTotal: (alice.total + erin.total).toString() })]);
  });

  it('executing a payout again, or several times at once, pays once at the node', async () => {
    const w = await world();
    const { p, node } = w;
    const o = await owner(w, [4, 4]);
    const [id] = await p.payouts.run();

    const outcomes = await Promise.all(Array.from({ length: 5 }, () => p.payouts.execute(id!)));
    expect(outcomes.every((x) => x === 'confirmed' || x === 'done')).toBe(true);
    expect(await p.payouts.execute(id!)).toBe('done');
    expect(await p.payouts.execute(id!)).toBe('done');

    expect(await node.payouts()).toEqual([
      expect.objectContaining({ address: o.address, amount: o.total.toString(), status: 'confirmed' }),
    ]);
    expect(await node.balance(o.address!)).toBe(o.total);
    expect(await node.balance('@treasury')).toBe(TREASURY - o.total);
    const get = await ledgerBalances(p);
    expect(get(Accounts.payoutsSettled)).toBe(o.total);
    expect(get(Accounts.payoutsInFlight)).toBe(0n);
    expect(await p.db.journalEntry.count({ where: { idempotencyKey: { startsWith: 'payout-settled:' } } })).toBe(1);
    expect((await p.reconciliation.reconcile()).problems).toEqual([]);
  });

  it('a run never creates a second payout for an owner while one is open, even when runs race', async () => {
    const w = await world();
    const { p } = w;
    const a = await owner(w, [8]);
    const b = await owner(w, [3, 6]);

    const raced = (await Promise.all([p.payouts.run(), p.payouts.run(), p.payouts.run()])).flat();
    expect(raced).toHaveLength(2);
    expect((await payoutOf(p, a.id)).map((x) => x.amount.toFixed(0))).toEqual([a.total.toString()]);
    expect((await payoutOf(p, b.id)).map((x) => x.amount.toFixed(0))).toEqual([b.total.toString()]);
    expect((await ledgerBalances(p))(Accounts.payoutsInFlight)).toBe(a.total + b.total);

    // New earnings past the threshold again: still nothing while the first payout is open.
    const more = await creditDevice(p, a.devices[0]!, 8);
    expect(await p.payouts.run()).toEqual([]);
    expect(await payoutOf(p, a.id)).toHaveLength(1);
    expect((await ledgerBalances(p))(Accounts.payoutsInFlight)).toBe(a.total + b.total);

    // Once it is settled, the next run pays the new balance.
    const [first] = await payoutOf(p, a.id);
    expect(await p.payouts.execute(first!.id)).toBe('confirmed');
    const next = await p.payouts.run();
    expect(next).toHaveLength(1);
    const second = await p.db.payout.findUniqueOrThrow({ where: { id: next[0] } });
    expect(second).toMatchObject({ ownerId: a.id, status: 'pending' });
    expect(second.amount.toFixed(0)).toBe(more.toString());
  });

  it('a definite refusal (treasury short, 422) fails the payout and puts the money back exactly', async () => {
    const w = await world({ treasury: 1_000n });
    const { p, node } = w;
    const o = await owner(w, [2, 5, 1]);
    const [id] = await p.payouts.run();
    expect(await deviceBalances(p, o)).toEqual([0n, 0n, 0n]);

    expect(await p.payouts.execute(id!)).toBe('failed');

    const payout = await p.db.payout.findUniqueOrThrow({ where: { id } });
    expect(payout.status).toBe('failed');
    expect(payout.error).toContain('NODE.INSUFFICIENT_FUNDS');
    // Back on each device account exactly as it was, by one reversal entry.
    expect(await deviceBalances(p, o)).toEqual(o.devices.map((d) => o.credited.get(d.id)!));
    const reversal = await entry(p, `payout-reversed:${id}`);
    expect(reversal.get(Accounts.payoutsInFlight)).toBe(-o.total);
    for (const d of o.devices) expect(reversal.get(Accounts.device(d.id))).toBe(o.credited.get(d.id));
    const get = await ledgerBalances(p);
    expect(get(Accounts.payoutsInFlight)).toBe(0n);
    expect(get(Accounts.payoutsSettled)).toBe(0n);
    expect((await p.db.owner.findUniqueOrThrow({ where: { id: o.id } })).payoutsHaltedAt).toBeNull();

    // The node recorded the refusal and moved nothing.
    expect(await node.payouts()).toEqual([
      { idempotencyKey: payout.idempotencyKey, address: o.address, amount: o.total.toString(), status: 'failed' },
    ]);
    expect(await node.balance(o.address!)).toBe(0n);
    expect(await node.balance('@treasury')).toBe(1_000n);

    // Settled for good: executing again neither pays nor reverses twice; the owner stays payable.
    expect(await p.payouts.execute(id!)).toBe('done');
    expect(await deviceBalances(p, o)).toEqual(o.devices.map((d) => o.credited.get(d.id)!));
    expect((await p.reconciliation.reconcile()).problems).toEqual([]);
    expect(await p.payouts.run()).toHaveLength(1);
  });

  it('an unreachable node leaves the payout pending; out of retries the owner is halted and the money stays in flight', async () => {
    const w = await world({ unreachable: true });
    const { p } = w;
    const o = await owner(w, [4, 5]);
    const [id] = await p.payouts.run();

    await expect(p.payouts.execute(id!)).rejects.toBeInstanceOf(PayoutUnclearError);
    await expect(p.payouts.execute(id!)).rejects.toBeInstanceOf(PayoutUnclearError);
    expect((await p.db.payout.findUniqueOrThrow({ where: { id } })).status).toBe('pending');
    expect(await deviceBalances(p, o)).toEqual([0n, 0n]);
    expect(await p.db.journalEntry.count({ where: { idempotencyKey: `payout-reversed:${id}` } })).toBe(0);
    expect((await ledgerBalances(p))(Accounts.payoutsInFlight)).toBe(o.total);

    // What the worker does when the last attempt failed unclear.
    await p.payouts.markUnclear(id!, 'NODE.UNREACHABLE: connect ECONNREFUSED');
    const payout = await p.db.payout.findUniqueOrThrow({ where: { id } });
    expect(payout.status).toBe('unclear');
    expect(payout.error).toContain('ECONNREFUSED');
    const halted = await p.db.owner.findUniqueOrThrow({ where: { id: o.id } });
    expect(halted.payoutsHaltedAt).toBeInstanceOf(Date);
    expect(halted.haltReason).toContain(id);

    // Earning again past the threshold does not get a halted owner paid; others still are.
    await creditDevice(p, o.devices[0]!, 9);
    const other = await owner(w, [8]);
    const next = await p.payouts.run();
    expect(next).toHaveLength(1);
    expect((await p.db.payout.findUniqueOrThrow({ where: { id: next[0] } })).ownerId).toBe(other.id);
    expect(await payoutOf(p, o.id)).toHaveLength(1);
    expect((await ledgerBalances(p))(Accounts.payoutsInFlight)).toBe(o.total + other.total);
    expect(await p.db.journalEntry.count({ where: { idempotencyKey: `payout-reversed:${id}` } })).toBe(0);
  });

  it('a payout the node committed but never answered is confirmed by asking again, paid once', async () => {
    const w = await world({ dropPayoutResponses: true });
    const { p, node } = w;
    const o = await owner(w, [6, 3]);
    const [id] = await p.payouts.run();

    await expect(p.payouts.execute(id!)).rejects.toBeInstanceOf(PayoutUnclearError);
    // The node did pay; the platform does not know yet and credits nothing back.
    expect(await node.balance(o.address!)).toBe(o.total);
    expect((await p.db.payout.findUniqueOrThrow({ where: { id } })).status).toBe('pending');
    expect(await deviceBalances(p, o)).toEqual([0n, 0n]);
    expect((await ledgerBalances(p))(Accounts.payoutsInFlight)).toBe(o.total);

    // The retry asks first (GET answers normally on this node) and settles without paying again.
    expect(await p.payouts.execute(id!)).toBe('confirmed');
    expect((await p.db.payout.findUniqueOrThrow({ where: { id } })).status).toBe('confirmed');
    expect(await node.payouts()).toHaveLength(1);
    expect(await node.balance(o.address!)).toBe(o.total);
    expect(await node.balance('@treasury')).toBe(TREASURY - o.total);
    const get = await ledgerBalances(p);
    expect(get(Accounts.payoutsSettled)).toBe(o.total);
    expect(get(Accounts.payoutsInFlight)).toBe(0n);
    expect(await deviceBalances(p, o)).toEqual([0n, 0n]);
    expect((await p.reconciliation.reconcile()).problems).toEqual([]);
  });

  it('after a lost answer, a refused status query (4xx to the GET) is unclear, not a refusal of the payout', async () => {
    const w = await world({ dropPayoutResponses: true });
    const { p, node } = w;
    // A gateway in front of the node that turns the status query away (rate limited).
    const hop = await startFaultyHop(node.url, { get: { status: 429, code: 'RATE_LIMITED' } });
    cleanups.push(hop.close);
    const o = await owner(w, [8]);
    const [id] = await p.payouts.run();

    await expect(p.payouts.execute(id!)).rejects.toBeInstanceOf(PayoutUnclearError);
    expect(await node.balance(o.address!)).toBe(o.total); // paid

    await p.db.trustedNode.update({ where: { id: w.nodeRow.id }, data: { url: hop.url } });
    await expect(p.payouts.execute(id!)).rejects.toBeInstanceOf(PayoutUnclearError);
    expect(hop.refused).toBe(1);
    expect((await p.db.payout.findUniqueOrThrow({ where: { id } })).status).toBe('pending');
    expect(await deviceBalances(p, o)).toEqual([0n]);
    expect(await p.db.journalEntry.count({ where: { idempotencyKey: `payout-reversed:${id}` } })).toBe(0);

    await p.db.trustedNode.update({ where: { id: w.nodeRow.id }, data: { url: node.url } });
    expect(await p.payouts.execute(id!)).toBe('confirmed');
    expect(await node.payouts()).toHaveLength(1);
    expect((await ledgerBalances(p))(Accounts.payoutsSettled)).toBe(o.total);
    expect((await p.reconciliation.reconcile()).problems).toEqual([]);
  });

  it('an answer that is not JSON after the node paid is unclear, never a refusal', async () => {
    const w = await world();
    const { p, node } = w;
    const proxy = await startFaultyHop(node.url);
    cleanups.push(proxy.close);
    await p.db.trustedNode.update({ where: { id: w.nodeRow.id }, data: { url: proxy.url } });
    const o = await owner(w, [3, 6]);
    const [id] = await p.payouts.run();

    await expect(p.payouts.execute(id!)).rejects.toBeInstanceOf(PayoutUnclearError);
    expect(proxy.garbled).toBe(1);
    expect(await node.balance(o.address!)).toBe(o.total); // the node paid behind the garbled answer
    expect((await p.db.payout.findUniqueOrThrow({ where: { id } })).status).toBe('pending');
    expect(await deviceBalances(p, o)).toEqual([0n, 0n]);
    expect((await ledgerBalances(p))(Accounts.payoutsInFlight)).toBe(o.total);

    // The retry's status query goes through unharmed and settles.
    expect(await p.payouts.execute(id!)).toBe('confirmed');
    expect(proxy.garbled).toBe(1);
    expect(await node.payouts()).toHaveLength(1);
    expect((await ledgerBalances(p))(Accounts.payoutsSettled)).toBe(o.total);
  });

  it('a late markUnclear (a stalled job’s last attempt) leaves a settled or refused payout as it is', async () => {
    const w = await world({ treasury: 6_000n });
    const { p } = w;
    const paid = await owner(w, [8]);
    const refused = await owner(w, [9]);
    const ids = await p.payouts.run();
    const idOf = async (o: TestOwner) => (await payoutOf(p, o.id))[0]!.id;
    expect(await p.payouts.execute(await idOf(paid))).toBe('confirmed');
    expect(await p.payouts.execute(await idOf(refused))).toBe('failed'); // 6300 > 6000 - 5600
    expect(ids).toHaveLength(2);

    for (const o of [paid, refused]) await p.payouts.markUnclear(await idOf(o), 'job failed: lock lost');

    expect((await payoutOf(p, paid.id))[0]!.status).toBe('confirmed');
    expect((await payoutOf(p, refused.id))[0]!.status).toBe('failed');
    for (const o of [paid, refused]) expect((await p.db.owner.findUniqueOrThrow({ where: { id: o.id } })).payoutsHaltedAt).toBeNull();
    expect((await p.reconciliation.reconcile()).problems).toEqual([]);
  });

  it('a credit rolled back before commit does not break later credits and payouts of that device', async () => {
    const w = await world();
    const { p } = w;
    const ownerId = await createOwner(p, { payoutAddress: unique('addr') });
    const device = await createDevice(p, w.fleet, ownerId);
    // First credit of a new device, in a transaction that then fails (a verification that lost a race):
    // its immature account is created in there, and (as a maturation would) its owner account too.
    const unitId = `fake-unit-${newId()}`;
    await expect(
      p.db.$transaction(async (tx) => {
        await p.rewards.credit(tx, unitId, [{ deviceId: device.id, manufacturerId: device.manufacturerId, ownerRank: 1 }], 1_000n);
        await p.ledger.post(tx, { idempotencyKey: `mature:${unitId}`, kind: 'reward', memo: 'matured' }, [
          { account: Accounts.immature(device.id), amount: -1_000n, memo: 'matured' },
          { account: Accounts.device(device.id), amount: 1_000n, memo: 'owner share' },
        ]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await p.db.ledgerAccount.count({ where: { code: { in: [Accounts.device(device.id), Accounts.immature(device.id)] } } })).toBe(0);
    expect(await p.db.reward.count({ where: { deviceId: device.id } })).toBe(0);

    const credited = await creditDevice(p, device, 8);
    expect((await ledgerBalances(p))(Accounts.device(device.id))).toBe(credited);
    const [id] = await p.payouts.run();
    expect(await p.payouts.execute(id!)).toBe('confirmed');
    expect((await ledgerBalances(p))(Accounts.payoutsSettled)).toBe(credited);
  });
});
