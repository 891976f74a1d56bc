import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId, PrismaService } from '@idlemint/core';
import { ed25519Generate } from '@idlemint/crypto';
import { Accounts, LedgerService } from '@idlemint/ledger';
import { PayoutsService } from '@idlemint/payouts';
import { NodeClient } from '@idlemint/protocol';
import { UnitsService } from '@idlemint/work';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl, startNode, type TestNode } from '../../../test/support/platform.js';
import { scratchDatabase } from '../../../test/support/scratch.js';
import { buildOpenApiDocument } from '../src/openapi/openapi.js';
import {
  claimDevice,
  createManufacturer,
  createModel,
  OPERATOR_KEY,
  startApi,
  type RunningApi,
  type TestManufacturer,
} from './support/api.js';
import { expectCode, http, insertDevice } from './support/ops.js';

/**
 * The operator surface: queue depths and the Bull Board dashboard behind the operator key, the
 * OpenAPI document at /docs, trusted node disable/enable, resolving unclear payouts against the
 * node's word, and the per-key rate limits of the manufacturer and owner APIs.
 */

const signing = ed25519Generate();

describe('operator API', () => {
  let drop: () => Promise<void>;
  let url: string;
  let api: RunningApi;
  let db: PrismaService;
  let node: TestNode;
  let nodeId: string;
  let mfr: TestManufacturer;
  let deviceClass: string;
  let modelId: string;

  beforeAll(async () => {
    ({ url, drop } = await scratchDatabase('operator'));
    api = await startApi(url, { PLATFORM_SIGNING_KEY: signing.secretKey, MANUFACTURER_RATE_PER_MIN: '1000', OWNER_RATE_PER_MIN: '1000' });
    db = api.app.get(PrismaService);
    node = await startNode({ platformPublicKey: signing.publicKey, pendingSeed: 12 });
    const n = await http(api.base, 'POST', '/operator/v1/nodes', { operator: true, body: { name: node.name, url: node.url } });
    expect(n.status).toBe(201);
    nodeId = n.body.id;
    mfr = await createManufacturer(api.base);
    const model = await createModel(api.base, mfr.apiKey);
    deviceClass = model.deviceClass;
    modelId = model.id;
  });

  afterAll(async () => {
    await api?.close();
    await node?.close();
    await drop?.();
  });

  describe('queues', () => {
    it('lists the depth of every queue, work queues per device class included', async () => {
      const r = await http<{ queues: { name: string }[] }>(api.base, 'GET', '/operator/v1/queues', { operator: true });
      expect(r.status).toBe(200);
      const names = r.body.queues.map((q) => q.name);
      expect(names).toEqual(expect.arrayContaining(['relay', 'payouts', 'ingest', 'alerts', `work-${deviceClass}`]));
      const work = r.body.queues.find((q) => q.name === `work-${deviceClass}`);
      expect(work).toMatchObject({ kind: 'work', deviceClass, counts: { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 } });
    });

    it('counts jobs that are there', async () => {
      const units = api.app.get(UnitsService);
      expect(units).toBeDefined();
      const { WorkQueues } = await import('@idlemint/work');
      await api.app.get(WorkQueues).addReplica(deviceClass, { unitId: newId(), replica: 0 });
      const r = await http<{ queues: { name: string; counts: { waiting: number; prioritized: number } }[] }>(
        api.base,
        'GET',
        '/operator/v1/queues',
        { operator: true },
      );
      // replica jobs wait with a placement priority, in BullMQ's `prioritized` state
      expect(r.body.queues.find((q) => q.name === `work-${deviceClass}`)!.counts).toMatchObject({ waiting: 0, prioritized: 1 });
    });

    it('refuses manufacturer keys and missing keys', async () => {
      expectCode(await http(api.base, 'GET', '/operator/v1/queues', { key: mfr.apiKey }), 401, 'AUTH.OPERATOR_KEY_INVALID');
      expectCode(await http(api.base, 'GET', '/operator/v1/queues'), 401, 'AUTH.OPERATOR_KEY_INVALID');
    });
  });

  describe('Bull Board at /admin/queues', () => {
    it('answers 401 with a Basic challenge without the operator key, and with a manufacturer key', async () => {
      for (const headers of [{}, { 'x-operator-key': 'wrong-key-wrong-key-1' }, { 'x-api-key': mfr.apiKey }, basic('wrong')]) {
        const r = await fetch(`${api.base}/admin/queues`, { headers });
        expect(r.status).toBe(401);
        expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm="IdleMint queues"/);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('AUTH.OPERATOR_KEY_INVALID');
      }
      expect((await fetch(`${api.base}/admin/queues/api/queues`)).status).toBe(401);
    });

    it('serves the dashboard with the key (header or HTTP Basic password)', async () => {
      for (const headers of [{ 'x-operator-key': OPERATOR_KEY }, basic(OPERATOR_KEY)]) {
        const r = await fetch(`${api.base}/admin/queues`, { headers });
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toMatch(/text\/html/);
        const html = await r.text();
        expect(html).toMatch(/<html/i);
        expect(html).toContain('/admin/queues');
      }
    });

    it('its JSON API lists the relay, payouts, ingest, alerts and work queues', async () => {
      const r = await fetch(`${api.base}/admin/queues/api/queues?activeQueue=relay&status=latest&page=1`, {
        headers: { 'x-operator-key': OPERATOR_KEY },
      });
      expect(r.status).toBe(200);
      const body = (await r.json()) as { queues: { name: string }[] };
      expect(body.queues.map((q) => q.name)).toEqual(
        expect.arrayContaining(['relay', 'payouts', 'ingest', 'alerts', `work-${deviceClass}`]),
      );
    });
  });

  describe('OpenAPI', () => {
    it('serves Swagger UI at /docs and the generated document at /docs/json', async () => {
      const ui = await fetch(`${api.base}/docs`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toMatch(/swagger/i);
      const json = await fetch(`${api.base}/docs/json`);
      expect(json.status).toBe(200);
      const served = (await json.json()) as { openapi: string; paths: Record<string, unknown> };
      expect(served.openapi).toMatch(/^3\./);
      expect(served).toEqual(buildOpenApiDocument(api.app));
      expect(Object.keys(served.paths)).toEqual(
        expect.arrayContaining(['/operator/v1/payouts/{id}/resolve', '/manufacturer/v1/alert-rules']),
      );
    });
  });

  describe('trusted nodes', () => {
    it('disables a node (no ingest from it) and enables it again', async () => {
      const units = api.app.get(UnitsService);
      const off = await http(api.base, 'POST', `/operator/v1/nodes/${nodeId}/disable`, { operator: true });
      expect(off.status).toBe(200);
      expect(off.body).toMatchObject({ id: nodeId, status: 'disabled' });
      expect((await http(api.base, 'POST', `/operator/v1/nodes/${nodeId}/disable`, { operator: true })).body.status).toBe('disabled');
      await units.ingest();
      expect(await db.sourceTx.count({ where: { nodeId } })).toBe(0);
      expect((await http(api.base, 'GET', '/operator/v1/nodes', { operator: true })).body.nodes).toMatchObject([
        { id: nodeId, status: 'disabled' },
      ]);

      const on = await http(api.base, 'POST', `/operator/v1/nodes/${nodeId}/enable`, { operator: true });
      expect(on.status).toBe(200);
      expect(on.body.status).toBe('active');
      await units.ingest();
      expect(await db.sourceTx.count({ where: { nodeId } })).toBeGreaterThan(0);
      const audit = await db.auditLog.findMany({
        where: { targetIds: { has: nodeId }, action: { in: ['node.disable', 'node.enable'] } },
        orderBy: { id: 'asc' },
      });
      expect(audit.map((a) => a.action)).toEqual(['node.disable', 'node.enable']);
    });

    it('answers 404 for an unknown or malformed node id, 401 to a manufacturer key', async () => {
      expectCode(await http(api.base, 'POST', `/operator/v1/nodes/${newId()}/disable`, { operator: true }), 404, 'NODE.NOT_FOUND');
      expectCode(await http(api.base, 'POST', '/operator/v1/nodes/nope/enable', { operator: true }), 404, 'NODE.NOT_FOUND');
      expectCode(
        await http(api.base, 'POST', `/operator/v1/nodes/${nodeId}/disable`, { key: mfr.apiKey }),
        401,
        'AUTH.OPERATOR_KEY_INVALID',
      );
      expect((await db.trustedNode.findUniqueOrThrow({ where: { id: nodeId } })).status).toBe('active');
    });
  });

  describe('device standing', () => {
    it('reads any device’s reputation and what it is built from; 404 for an unknown id', async () => {
      const device = await db.device.create({
        data: {
          id: newId(),
          manufacturerId: mfr.id,
          modelId,
          attestationKeyId: (await db.attestationKey.findFirstOrThrow({ where: { manufacturerId: mfr.id } })).id,
          serial: `OP-${newId()}`,
          publicKey: ed25519Generate().publicKey,
          claimCode: newId().slice(0, 12),
          certIssuedAt: new Date(),
          status: 'quarantined',
          strikes: 3,
          quarantineCount: 1,
          reputation: 0,
        },
      });
      const r = await http(api.base, 'GET', `/operator/v1/devices/${device.id}`, { operator: true });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        id: device.id,
        manufacturerId: mfr.id,
        status: 'quarantined',
        strikes: 3,
        quarantineCount: 1,
        reputation: 0,
      });
      expectCode(await http(api.base, 'GET', `/operator/v1/devices/${newId()}`, { operator: true }), 404, 'DEVICE.NOT_FOUND');
      expectCode(await http(api.base, 'GET', `/operator/v1/devices/${device.id}`, { key: mfr.apiKey }), 401, 'AUTH.OPERATOR_KEY_INVALID');
    });
  });

  describe('resolving unclear payouts', () => {
    const ledger = () => api.app.get(LedgerService);
    const payouts = () => api.app.get(PayoutsService);

    /** An owner with one credited device and a payout made and left unclear (the node never answered). */
    async function unclearPayout(opts: { paidAtNode?: boolean } = {}) {
      const device = await insertDevice(db, { manufacturerId: mfr.id, modelId });
      const { ownerId, ownerToken } = await claimDevice(api.base, device.claimCode);
      await http(api.base, 'PUT', '/owner/v1/payout-address', {
        owner: ownerToken!,
        body: { address: `addr-${randomBytes(4).toString('hex')}` },
      });
      await db.$transaction((tx) =>
        ledger().post(tx, { idempotencyKey: `test-credit:${device.id}`, kind: 'reward', memo: 'test credit' }, [
          { account: Accounts.rewardPool, amount: -10_000n, memo: 'test' },
          { account: Accounts.device(device.id), amount: 10_000n, memo: 'test' },
        ]),
      );
      expect((await payouts().run()).length).toBeGreaterThan(0);
      const p = await db.payout.findFirstOrThrow({ where: { ownerId, status: 'pending' } });
      if (opts.paidAtNode) {
        await new NodeClient(node.url, signing.secretKey).request('POST', '/v1/payouts', {
          idempotencyKey: p.idempotencyKey,
          address: p.address,
          amount: p.amount.toFixed(0),
        });
      }
      await payouts().markUnclear(p.id, 'no answer from the node (test)');
      expect((await db.owner.findUniqueOrThrow({ where: { id: ownerId } })).payoutsHaltedAt).not.toBeNull();
      return { payout: p, ownerId, deviceId: device.id };
    }

    const resolve = (id: string, outcome: string) =>
      http(api.base, 'POST', `/operator/v1/payouts/${id}/resolve`, { operator: true, body: { outcome } });
    const balance = async (code: string) => (await ledger().totals()).get(code) ?? 0n;
    const entries = (payoutId: string) => db.journalEntry.count({ where: { idempotencyKey: { contains: payoutId } } });

    it('paid, with the node confirming: settled, the halt lifted, audited; the same call again changes nothing', async () => {
      const { payout, ownerId } = await unclearPayout({ paidAtNode: true });
      const settled = await balance(Accounts.payoutsSettled);
      const r = await resolve(payout.id, 'paid');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        id: payout.id,
        status: 'confirmed',
        resolution: 'paid',
        nodeCheck: 'confirmed',
        ownerPayoutsHalted: false,
      });
      expect(await balance(Accounts.payoutsSettled)).toBe(settled + BigInt(payout.amount.toFixed(0)));
      expect((await db.owner.findUniqueOrThrow({ where: { id: ownerId } })).payoutsHaltedAt).toBeNull();
      expect(await db.auditLog.findMany({ where: { action: 'payout.resolve', targetIds: { has: payout.id } } })).toHaveLength(1);
      const n = await entries(payout.id);

      const again = await resolve(payout.id, 'paid');
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ status: 'confirmed', resolution: 'paid' });
      expect(await entries(payout.id)).toBe(n);
      expect(await balance(Accounts.payoutsSettled)).toBe(settled + BigInt(payout.amount.toFixed(0)));
      expectCode(await resolve(payout.id, 'not-paid'), 409, 'PAYOUT.ALREADY_RESOLVED');
    });

    it('paid, while the node has no such payout: 409 PAYOUT.NODE_DISAGREES and nothing changes; not-paid then credits the devices back', async () => {
      const { payout, ownerId, deviceId } = await unclearPayout();
      const inFlight = await balance(Accounts.payoutsInFlight);
      const n = await entries(payout.id);
      const r = await resolve(payout.id, 'paid');
      expectCode(r, 409, 'PAYOUT.NODE_DISAGREES');
      expect(r.body.error.details).toEqual({ node: 'not-found', outcome: 'paid' });
      expect((await db.payout.findUniqueOrThrow({ where: { id: payout.id } })).status).toBe('unclear');
      expect(await entries(payout.id)).toBe(n);
      expect(await balance(Accounts.payoutsInFlight)).toBe(inFlight);

      const back = await resolve(payout.id, 'not-paid');
      expect(back.status).toBe(200);
      expect(back.body).toMatchObject({ status: 'failed', resolution: 'not-paid', nodeCheck: 'not-found', ownerPayoutsHalted: false });
      expect(await balance(Accounts.payoutsInFlight)).toBe(inFlight - BigInt(payout.amount.toFixed(0)));
      expect(await balance(Accounts.device(deviceId))).toBe(BigInt(payout.amount.toFixed(0)));
      expect((await db.owner.findUniqueOrThrow({ where: { id: ownerId } })).payoutsHaltedAt).toBeNull();
      expect((await resolve(payout.id, 'not-paid')).status).toBe(200);
      expect(await balance(Accounts.device(deviceId))).toBe(BigInt(payout.amount.toFixed(0)));
    });

    it('not-paid, while the node says it paid: refused, so money is never credited back twice', async () => {
      const { payout } = await unclearPayout({ paidAtNode: true });
      const r = await resolve(payout.id, 'not-paid');
      expectCode(r, 409, 'PAYOUT.NODE_DISAGREES');
      expect(r.body.error.details).toEqual({ node: 'confirmed', outcome: 'not-paid' });
      expect((await db.payout.findUniqueOrThrow({ where: { id: payout.id } })).status).toBe('unclear');
    });

    it('takes the operator’s word when the node cannot be reached, and keeps the halt while another payout is unclear', async () => {
      const { payout, ownerId } = await unclearPayout();
      const dark = await db.trustedNode.create({
        data: { id: newId(), name: `dark-${randomBytes(3).toString('hex')}`, url: await closedPortUrl(), status: 'disabled' },
      });
      await db.payout.update({ where: { id: payout.id }, data: { nodeId: dark.id } });
      // A second unclear payout of the same owner (as an older run could have left).
      const other = await db.payout.create({
        data: {
          id: newId(),
          ownerId,
          nodeId: dark.id,
          address: payout.address,
          amount: '1',
          idempotencyKey: `idlemint-payout-${newId()}`,
          status: 'unclear',
        },
      });
      const r = await resolve(payout.id, 'paid');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'confirmed', nodeCheck: 'unreachable', ownerPayoutsHalted: true });
      expect((await db.owner.findUniqueOrThrow({ where: { id: ownerId } })).payoutsHaltedAt).not.toBeNull();
      await db.payout.update({ where: { id: other.id }, data: { status: 'failed' } });
    });

    it('refuses payouts that are not unclear, unknown ids and bad bodies', async () => {
      const pending = await db.payout.create({
        data: { id: newId(), ownerId: newId(), nodeId, address: 'a', amount: '5', idempotencyKey: `idlemint-payout-${newId()}` },
      });
      expectCode(await resolve(pending.id, 'paid'), 409, 'PAYOUT.NOT_UNCLEAR');
      expectCode(await resolve(newId(), 'paid'), 404, 'PAYOUT.NOT_FOUND');
      expectCode(await resolve('not-an-id', 'paid'), 404, 'PAYOUT.NOT_FOUND');
      expectCode(await resolve(pending.id, 'maybe'), 400, 'REQUEST.INVALID_BODY');
      expectCode(
        await http(api.base, 'POST', `/operator/v1/payouts/${pending.id}/resolve`, { operator: true, body: { outcome: 'paid', extra: 1 } }),
        400,
        'REQUEST.INVALID_BODY',
      );
      expectCode(
        await http(api.base, 'POST', `/operator/v1/payouts/${pending.id}/resolve`, { key: mfr.apiKey, body: { outcome: 'paid' } }),
        401,
        'AUTH.OPERATOR_KEY_INVALID',
      );
      expect((await db.payout.findUniqueOrThrow({ where: { id: pending.id } })).status).toBe('pending');
    });
  });

  describe('rate limits', () => {
    it('gives each manufacturer key and each owner token its own per-minute budget: 429 RATE.LIMITED with retry-after beyond', async () => {
      const limited = await startApi(url, { MANUFACTURER_RATE_PER_MIN: '5', OWNER_RATE_PER_MIN: '3' });
      try {
        await awayFromMinuteEdge();
        const other = await createManufacturer(limited.base); // its key makes one call here (its attestation key)
        for (let i = 0; i < 5; i++)
          expect((await http(limited.base, 'GET', '/manufacturer/v1/alert-rules', { key: mfr.apiKey })).status).toBe(200);
        const r = await http(limited.base, 'GET', '/manufacturer/v1/alert-rules', { key: mfr.apiKey });
        expectCode(r, 429, 'RATE.LIMITED');
        const retry = Number(r.headers.get('retry-after'));
        expect(retry).toBeGreaterThan(0);
        expect(retry).toBeLessThanOrEqual(60);
        // Bad input counts and is refused the same way; another key is unaffected.
        expectCode(
          await http(limited.base, 'POST', '/manufacturer/v1/alert-rules', { key: mfr.apiKey, body: { junk: true } }),
          429,
          'RATE.LIMITED',
        );
        const fine = await http(limited.base, 'GET', '/manufacturer/v1/alert-rules', { key: other.apiKey });
        expect(fine.status).toBe(200);
        expect(fine.headers.get('x-ratelimit-limit')).toBe('5');
        expect(fine.headers.get('x-ratelimit-remaining')).toBe('3');

        const device = await insertDevice(db, { manufacturerId: mfr.id, modelId });
        const { ownerToken } = await claimDevice(limited.base, device.claimCode); // no token yet: not budgeted
        for (let i = 0; i < 3; i++)
          expect((await http(limited.base, 'GET', '/owner/v1/earnings', { owner: ownerToken! })).status).toBe(200);
        expectCode(await http(limited.base, 'GET', '/owner/v1/earnings', { owner: ownerToken! }), 429, 'RATE.LIMITED');
        // The operator API and the health check are not budgeted here.
        expect((await http(limited.base, 'GET', '/health')).status).toBe(200);
      } finally {
        await limited.close();
      }
    });
  });
});

function basic(password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`operator:${password}`).toString('base64')}` };
}

/** The budget is per clock minute: do not start a burst in its last seconds. */
async function awayFromMinuteEdge(): Promise<void> {
  const s = new Date().getSeconds();
  if (s >= 50) await sleep((61 - s) * 1000);
}
