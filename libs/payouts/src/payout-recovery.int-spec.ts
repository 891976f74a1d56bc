import 'reflect-metadata';
import { Accounts } from '@idlemint/ledger';
import { PayoutRecovery, PayoutUnclearError } from '@idlemint/payouts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closedPortUrl,
  createDevice,
  createFleet,
  createOwner,
  creditDevice,
  ledgerBalances,
  registerNode,
  startNode,
  startPlatform,
  type Platform,
  type TestNode,
} from '../../../test/support/platform.js';

/**
 * Payouts recover by themselves: an unclear payout is asked about again by its key and the node's
 * word decides. A key the node never received is paid with the same key; a payout the node paid is
 * settled; only a node that denies a payout it may have received leaves the owner halted.
 */
describe('unclear payouts recover by asking the node again', { timeout: 180_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!().catch((e: unknown) => console.error('cleanup failed', e));
  });

  async function world(opts: { dropPayoutResponses?: boolean } = {}) {
    const p: Platform = await startPlatform('payout_recovery', { PAYOUT_THRESHOLD: '1000', MATURITY_MS: '0' });
    cleanups.push(p.close);
    const node: TestNode = await startNode({ platformPublicKey: p.signing.publicKey, dropPayoutResponses: opts.dropPayoutResponses });
    cleanups.push(node.close);
    const nodeRow = await registerNode(p, { name: node.name, url: node.url });
    const fleet = await createFleet(p);
    const ownerId = await createOwner(p);
    const device = await createDevice(p, fleet, ownerId);
    const total = await creditDevice(p, device, 3);
    const address = (await p.db.owner.findUniqueOrThrow({ where: { id: ownerId } })).payoutAddress!;
    return { p, node, nodeRow, ownerId, total, address, recovery: p.module.get(PayoutRecovery) };
  }

  const halted = async (p: Platform, ownerId: string) =>
    (await p.db.owner.findUniqueOrThrow({ where: { id: ownerId } })).payoutsHaltedAt !== null;

  it('a payout that never reached the node (refused connections) is resumed once the node is back, and paid once', async () => {
    const w = await world();
    const { p } = w;
    await p.db.trustedNode.update({ where: { id: w.nodeRow.id }, data: { url: await closedPortUrl() } });
    const [id] = await p.payouts.run();
    await expect(p.payouts.execute(id!)).rejects.toBeInstanceOf(PayoutUnclearError);
    await p.payouts.markUnclear(id!, 'NODE.UNREACHABLE');
    expect(await halted(p, w.ownerId)).toBe(true);
    expect((await p.db.payout.findUniqueOrThrow({ where: { id } })).sentAt).toBeNull();

    // Still down: asked, nothing changes but the backoff.
    expect(await w.recovery.recheck(id!)).toBe('unreachable');
    const after = await p.db.payout.findUniqueOrThrow({ where: { id } });
    expect(after).toMatchObject({ status: 'unclear', checks: 1 });
    expect(await w.recovery.unclearDue()).not.toContain(id); // not due again at once

    // Back: the node does not know the key, which never reached it; the payout resumes and is paid.
    await p.db.trustedNode.update({ where: { id: w.nodeRow.id }, data: { url: w.node.url } });
    expect(await w.recovery.recheck(id!)).toBe('resumed');
    expect((await p.db.payout.findUniqueOrThrow({ where: { id } })).status).toBe('pending');
    expect(await halted(p, w.ownerId)).toBe(false);
    expect(await w.recovery.pendingIds()).toContain(id);
    expect(await p.payouts.execute(id!)).toBe('confirmed');
    expect(await w.node.payouts()).toHaveLength(1);
    expect(await w.node.balance(w.address)).toBe(w.total);
    expect((await ledgerBalances(p))(Accounts.payoutsSettled)).toBe(w.total);
  });

  it('a payout the node paid but never answered is settled by the recheck, never paid twice', async () => {
    const w = await world({ dropPayoutResponses: true });
    const { p } = w;
    const [id] = await p.payouts.run();
    await expect(p.payouts.execute(id!)).rejects.toBeInstanceOf(PayoutUnclearError);
    expect((await p.db.payout.findUniqueOrThrow({ where: { id } })).sentAt).toBeInstanceOf(Date);
    await p.payouts.markUnclear(id!, 'no answer');
    expect(await halted(p, w.ownerId)).toBe(true);

    expect(await w.recovery.recheck(id!)).toBe('confirmed');
    expect((await p.db.payout.findUniqueOrThrow({ where: { id } })).status).toBe('confirmed');
    expect(await halted(p, w.ownerId)).toBe(false);
    expect(await w.node.payouts()).toHaveLength(1);
    const get = await ledgerBalances(p);
    expect(get(Accounts.payoutsSettled)).toBe(w.total);
    expect(get(Accounts.payoutsInFlight)).toBe(0n);
    expect(await w.recovery.recheck(id!)).toBe('done');
  });

  it('a node that denies a payout it may have received leaves it unclear and the owner halted', async () => {
    const w = await world();
    const { p } = w;
    const [id] = await p.payouts.run();
    await p.payouts.markUnclear(id!, 'no answer');
    await p.db.payout.update({ where: { id }, data: { sentAt: new Date() } });

    expect(await w.recovery.recheck(id!)).toBe('denied');
    const row = await p.db.payout.findUniqueOrThrow({ where: { id } });
    expect(row.status).toBe('unclear');
    expect(row.error).toContain('denies');
    expect(await halted(p, w.ownerId)).toBe(true);
    expect(await w.node.payouts()).toHaveLength(0);
    expect((await ledgerBalances(p))(Accounts.payoutsInFlight)).toBe(w.total);
  });
});
