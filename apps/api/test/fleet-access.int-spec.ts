/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call --
   JSON answers of the API under test, read loosely and checked by the assertions. */
import 'reflect-metadata';
import { PrismaService } from '@idlemint/core';
import { API_KEY_CACHE_MS, DEVICE_CACHE_MS } from '@idlemint/fleet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unique, type RunningApi } from './support/api.js';
import { DeviceClient } from './support/device-client.js';
import {
  call,
  CLAIM,
  client,
  enroll,
  expectError,
  heartbeat,
  newTenant,
  queueUnit,
  within,
  startFleetApi,
  type FleetApi,
} from './support/fleet.js';

/**
 * Who may do what: manufacturer API keys (roles, rotation, revocation reaching every process within
 * 5 s), the operator's manufacturer list, suspension and resumption (keys refused, devices given
 * no work), and the audit log as the tenant and the operator read it.
 */

describe('keys, operator and audit', () => {
  let platform: FleetApi;
  let api: RunningApi;
  let db: PrismaService;

  beforeAll(async () => {
    platform = await startFleetApi('fleet_access');
    ({ api, db } = platform);
  });

  afterAll(() => platform?.close());

  const otherProcess = () => platform.another();

  const op = (method: string, path: string, body?: unknown) =>
    call(api.base, method, path, { operator: true, ...(body === undefined ? {} : { body }) });

  describe('manufacturer API keys', () => {
    it('create with a role, list without secrets, rotate, revoke; the secret is shown once and stored hashed', async () => {
      const t = await newTenant(api.base);
      const created = await t.api.post('/manufacturer/v1/api-keys', { role: 'viewer', name: 'grafana' });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: expect.any(String),
        name: 'grafana',
        role: 'viewer',
        createdAt: expect.any(String),
        revokedAt: null,
        secret: expect.stringMatching(/^imk_/),
      });
      const secret = created.body.secret as string;
      const row = await db.apiKey.findUniqueOrThrow({ where: { id: created.body.id } });
      expect(row.secretHash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(row)).not.toContain(secret);
      expect((await client(api.base, secret).get('/manufacturer/v1/devices')).status).toBe(200);

      const list = await t.api.get('/manufacturer/v1/api-keys');
      expect(list.body.apiKeys).toHaveLength(2);
      expect(JSON.stringify(list.body)).not.toMatch(/secret/i);
      expect(list.body.apiKeys.map((k: { role: string }) => k.role).sort()).toEqual(['admin', 'viewer']);

      const rotated = await t.api.post(`/manufacturer/v1/api-keys/${created.body.id}/rotate`);
      expect(rotated.status).toBe(201);
      expect(rotated.body).toMatchObject({
        role: 'viewer',
        name: 'grafana',
        revokedAt: null,
        rotatedFrom: created.body.id,
        secret: expect.stringMatching(/^imk_/),
      });
      expect(rotated.body.id).not.toBe(created.body.id);
      // The old secret stops at once in this process; the new one works.
      expectError(await client(api.base, secret).get('/manufacturer/v1/devices'), 401, 'AUTH.API_KEY_INVALID');
      expect((await client(api.base, rotated.body.secret).get('/manufacturer/v1/devices')).status).toBe(200);
      expectError(await t.api.post(`/manufacturer/v1/api-keys/${created.body.id}/rotate`), 409, 'API_KEY.REVOKED');

      const revoked = await t.api.del(`/manufacturer/v1/api-keys/${rotated.body.id}`);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ id: rotated.body.id, revokedAt: expect.any(String) });
      expectError(await client(api.base, rotated.body.secret).get('/manufacturer/v1/devices'), 401, 'AUTH.API_KEY_INVALID');
      expectError(await t.api.post(`/manufacturer/v1/api-keys/${rotated.body.id}/revoke`), 409, 'API_KEY.REVOKED');

      const actions = await db.auditLog.findMany({ where: { manufacturerId: t.m.id, targetType: 'api_key' }, orderBy: { id: 'asc' } });
      expect(actions.map((a) => a.action)).toEqual(['api_key.create', 'api_key.rotate', 'api_key.revoke']);
      expect(actions[1]).toMatchObject({
        targetIds: [created.body.id, rotated.body.id],
        before: { [created.body.id]: { revokedAt: null, role: 'viewer' } },
        after: { [created.body.id]: { revokedAt: expect.any(String) }, [rotated.body.id]: { revokedAt: null, role: 'viewer' } },
      });
      expect(actions[2]).toMatchObject({ before: { revokedAt: null }, after: { revokedAt: expect.any(String) } });
      expect(JSON.stringify(actions)).not.toContain('imk_');
    });

    it('the last active admin key cannot be revoked; an admin key may rotate itself', async () => {
      const t = await newTenant(api.base);
      const own = (await t.api.get('/manufacturer/v1/api-keys')).body.apiKeys[0].id as string;
      expectError(await t.api.post(`/manufacturer/v1/api-keys/${own}/revoke`), 409, 'API_KEY.LAST_ADMIN');
      const self = await t.api.post(`/manufacturer/v1/api-keys/${own}/rotate`);
      expect(self.status).toBe(201);
      expectError(await t.api.get('/manufacturer/v1/api-keys'), 401, 'AUTH.API_KEY_INVALID');
      const fresh = client(api.base, self.body.secret as string);
      expect(
        (await fresh.get('/manufacturer/v1/api-keys')).body.apiKeys.filter((k: { revokedAt: null }) => k.revokedAt === null),
      ).toHaveLength(1);
      // With a second admin, either may go.
      const second = await fresh.post('/manufacturer/v1/api-keys', { role: 'admin' });
      expect((await fresh.post(`/manufacturer/v1/api-keys/${self.body.id}/revoke`)).status).toBe(200);
      expectError(
        await client(api.base, second.body.secret).post(`/manufacturer/v1/api-keys/${second.body.id}/revoke`),
        409,
        'API_KEY.LAST_ADMIN',
      );
    });

    it('a revoked key stops working within 5 s on a process that had it cached', async () => {
      const t = await newTenant(api.base);
      const k = await t.api.post('/manufacturer/v1/api-keys', { role: 'viewer' });
      const remote = client((await otherProcess()).base, k.body.secret as string);
      expect((await remote.get('/manufacturer/v1/devices')).status).toBe(200);
      const t0 = Date.now();
      expect((await t.api.post(`/manufacturer/v1/api-keys/${k.body.id}/revoke`)).status).toBe(200);
      await within(API_KEY_CACHE_MS + 1_000, async () => (await remote.get('/manufacturer/v1/devices')).status === 401, 200);
      expect(Date.now() - t0).toBeLessThanOrEqual(API_KEY_CACHE_MS + 1_000);
    });
  });

  describe('operator: manufacturers', () => {
    it('lists manufacturers page by page with device and key counts; 401 without the operator key', async () => {
      const made = [await newTenant(api.base), await newTenant(api.base), await newTenant(api.base)];
      await made[0]!.api.post('/manufacturer/v1/api-keys', { role: 'viewer' });
      const seen: any[] = [];
      let cursor: string | null = null;
      do {
        const r: { status: number; body: any } = await op('GET', `/operator/v1/manufacturers?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(r.status).toBe(200);
        expect(r.body.manufacturers.length).toBeLessThanOrEqual(2);
        seen.push(...r.body.manufacturers);
        cursor = r.body.nextCursor;
      } while (cursor);
      expect(new Set(seen.map((m) => m.id)).size).toBe(seen.length);
      const first = seen.find((m) => m.id === made[0]!.m.id);
      expect(first).toEqual({
        id: made[0]!.m.id,
        name: expect.any(String),
        status: 'active',
        createdAt: expect.any(String),
        devices: 0,
        activeApiKeys: 2,
      });
      for (const t of made) expect(seen.map((m) => m.id)).toContain(t.m.id);
      expectError(await call(api.base, 'GET', '/operator/v1/manufacturers'), 401, 'AUTH.OPERATOR_KEY_INVALID');
      expectError(
        await call(api.base, 'GET', '/operator/v1/manufacturers', { headers: { 'x-operator-key': 'wrong-key-0123456789' } }),
        401,
        'AUTH.OPERATOR_KEY_INVALID',
      );
      expectError(
        await call(api.base, 'POST', `/operator/v1/manufacturers/${made[0]!.m.id}/suspend`, { key: made[0]!.m.apiKey }),
        401,
        'AUTH.OPERATOR_KEY_INVALID',
      );
      expectError(await op('GET', '/operator/v1/manufacturers?limit=0'), 400, 'REQUEST.INVALID_QUERY');
      expectError(await op('GET', '/operator/v1/manufacturers?cursor=nope!'), 400, 'REQUEST.INVALID_CURSOR');
      expectError(await op('POST', '/operator/v1/manufacturers/01JD6Z3K8Q0000000000000000/suspend'), 404, 'MANUFACTURER.NOT_FOUND');
      expectError(await op('POST', '/operator/v1/manufacturers/nope/resume'), 404, 'MANUFACTURER.NOT_FOUND');
    });

    it('suspend: its keys stop working and its devices get no work within 5 s; resume undoes both; audited', async () => {
      const t = await newTenant(api.base, { batchSize: 8 });
      const e = await enroll(api.base, t.m, t.model);
      const gw = await otherProcess();
      const remoteDevice = new DeviceClient(gw.base, e.device.key);
      const remoteKey = client(gw.base, t.m.apiKey);
      expect((await heartbeat(remoteDevice)).status).toBe(200); // cached on gw: active manufacturer
      expect((await remoteKey.get('/manufacturer/v1/devices')).status).toBe(200);

      const t0 = Date.now();
      const s = await op('POST', `/operator/v1/manufacturers/${t.m.id}/suspend`);
      expect(s.status).toBe(200);
      expect(s.body).toMatchObject({ id: t.m.id, status: 'suspended' });
      // This process at once.
      expectError(await t.api.get('/manufacturer/v1/devices'), 401, 'AUTH.API_KEY_INVALID');
      const unit = await queueUnit(api, db, t.model.deviceClass);
      expect((await e.device.post(CLAIM, {})).status).toBe(204);
      // The other process within the cache time.
      await within(Math.max(API_KEY_CACHE_MS, DEVICE_CACHE_MS) + 1_000, async () => {
        const [k, c] = await Promise.all([remoteKey.get('/manufacturer/v1/devices'), remoteDevice.post(CLAIM, {})]);
        return k.status === 401 && c.status === 204;
      });
      expect(Date.now() - t0).toBeLessThanOrEqual(Math.max(API_KEY_CACHE_MS, DEVICE_CACHE_MS) + 1_000);
      expect(await db.assignment.count({ where: { unitId: unit } })).toBe(0);
      // Heartbeats still work: the device is not revoked, only idle.
      expect((await heartbeat(e.device)).status).toBe(200);
      // Suspending again changes nothing.
      expect((await op('POST', `/operator/v1/manufacturers/${t.m.id}/suspend`)).body).toMatchObject({ status: 'suspended' });

      expect((await op('POST', `/operator/v1/manufacturers/${t.m.id}/resume`)).body).toMatchObject({ status: 'active' });
      expect((await t.api.get('/manufacturer/v1/devices')).status).toBe(200);
      const claimed = await e.device.post(CLAIM, {});
      expect(claimed.status).toBe(200);
      expect((claimed.body as { assignment: { unitId: string } }).assignment.unitId).toBe(unit);

      const rows = await db.auditLog.findMany({ where: { manufacturerId: t.m.id, targetType: 'manufacturer' }, orderBy: { id: 'asc' } });
      expect(rows.map((r) => [r.action, r.actor, r.before, r.after])).toEqual([
        ['manufacturer.create', 'operator', null, expect.objectContaining({ manufacturer: expect.objectContaining({ id: t.m.id }) })],
        ['manufacturer.suspend', 'operator', { status: 'active' }, { status: 'suspended' }],
        ['manufacturer.resume', 'operator', { status: 'suspended' }, { status: 'active' }],
      ]);
    });
  });

  describe('audit log', () => {
    it('the tenant reads its own rows newest first, page by page; the operator reads everyone’s and can filter', async () => {
      const a = await newTenant(api.base);
      const b = await newTenant(api.base);
      for (let i = 0; i < 7; i++) await a.api.post('/manufacturer/v1/groups', { name: `g${i}` });
      await b.api.post('/manufacturer/v1/groups', { name: 'b-only' });
      const node = await op('POST', '/operator/v1/nodes', { name: unique('node'), url: 'http://127.0.0.1:1' });
      expect(node.status).toBe(201);

      const pages: any[][] = [];
      let cursor: string | null = null;
      do {
        const r: { status: number; body: any } = await a.api.get(`/manufacturer/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(r.status).toBe(200);
        pages.push(r.body.entries);
        cursor = r.body.nextCursor;
      } while (cursor);
      const entries = pages.flat();
      // manufacturer.create, its attestation key, its model, then 7 groups.
      expect(entries.map((e) => e.action)).toEqual([
        ...Array.from({ length: 7 }, () => 'group.create'),
        'model.create',
        'attestation_key.create',
        'manufacturer.create',
      ]);
      expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort().reverse());
      expect(entries.every((e) => e.manufacturerId === a.m.id)).toBe(true);
      expect(entries[0]).toEqual({
        id: expect.any(String),
        at: expect.any(String),
        manufacturerId: a.m.id,
        actor: expect.stringMatching(/^key:/),
        action: 'group.create',
        targetType: 'group',
        targetIds: [expect.any(String)],
        before: null,
        after: expect.objectContaining({ name: 'g6', manufacturerId: a.m.id }),
      });
      const groupId = entries[0].targetIds[0] as string;
      expect((await a.api.get(`/manufacturer/v1/audit?targetId=${groupId}`)).body.entries.map((e: any) => e.action)).toEqual([
        'group.create',
      ]);
      expect((await a.api.get('/manufacturer/v1/audit?action=model.create')).body.entries).toHaveLength(1);
      expectError(await a.api.get('/manufacturer/v1/audit?manufacturerId=' + b.m.id), 400, 'REQUEST.INVALID_QUERY');

      const all = await op('GET', '/operator/v1/audit?limit=500');
      const tenants = new Set((all.body.entries as any[]).map((e) => e.manufacturerId));
      expect(tenants.has(a.m.id) && tenants.has(b.m.id)).toBe(true);
      expect((all.body.entries as any[]).find((e) => e.action === 'node.create' && e.targetIds[0] === node.body.id)).toMatchObject({
        manufacturerId: null,
        actor: 'operator',
        after: { name: node.body.name, url: 'http://127.0.0.1:1' },
      });
      const onlyB = await op('GET', `/operator/v1/audit?manufacturerId=${b.m.id}`);
      expect(onlyB.body.entries.map((e: any) => e.action)).toEqual([
        'group.create',
        'model.create',
        'attestation_key.create',
        'manufacturer.create',
      ]);
      expectError(await call(api.base, 'GET', '/operator/v1/audit'), 401, 'AUTH.OPERATOR_KEY_INVALID');
      expectError(await a.api.get('/manufacturer/v1/audit?cursor=AAAA'), 400, 'REQUEST.INVALID_CURSOR');
    });
  });
});
