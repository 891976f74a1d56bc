/* eslint-disable @typescript-eslint/no-unsafe-call -- JSON answers of the API under test, checked by the assertions. */
import 'reflect-metadata';
import { DEVICE_CACHE_MS } from '@idlemint/fleet';
import { PrismaService } from '@idlemint/core';
import { ed25519Generate } from '@idlemint/crypto';
import { attestationKeyRegistration } from '@idlemint/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unique, type RunningApi } from './support/api.js';
import { makeCertificate } from './support/certificates.js';
import { DeviceClient } from './support/device-client.js';
import {
  client,
  enroll,
  expectError,
  fleetOf,
  heartbeat,
  newTenant,
  seedDevices,
  within,
  startFleetApi,
  type FleetApi,
} from './support/fleet.js';

/**
 * Bulk actions, groups, device edits, quarantine release and attestation key revocation: atomic,
 * idempotent under an Idempotency-Key, audited with before and after, and revocation reaching the
 * gateway (a second API process that cached the device) within the 5 s cache time.
 */

const BULK = '/manufacturer/v1/devices/bulk';

describe('bulk actions and revocation', () => {
  let platform: FleetApi;
  let api: RunningApi;
  let db: PrismaService;

  beforeAll(async () => {
    platform = await startFleetApi('fleet_bulk');
    ({ api, db } = platform);
  });

  afterAll(() => platform?.close());

  const otherGateway = () => platform.another();

  const statuses = async (ids: string[]) =>
    Object.fromEntries(
      (await db.device.findMany({ where: { id: { in: ids } }, select: { id: true, status: true } })).map((d) => [d.id, d.status]),
    );
  const auditRows = (manufacturerId: string, action: string) =>
    db.auditLog.findMany({ where: { manufacturerId, action }, orderBy: { id: 'asc' } });

  describe('idempotency', () => {
    it('the same key and body twice: the stored first answer, one effect, one audit row', async () => {
      const t = await newTenant(api.base);
      const ids = await seedDevices(db, await fleetOf(db, t.m, t.model.id), 4, (i) => ({ status: i === 3 ? 'suspended' : 'active' }));
      const body = { action: 'suspend', ids };
      const first = await t.api.post(BULK, body, { 'idempotency-key': 'suspend-2026-11-25' });
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ action: 'suspend', matched: 4, changed: 3, skipped: 1, auditId: expect.any(String) });
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      // Someone resumes one of them meanwhile: a replay must not suspend it again.
      await db.device.update({ where: { id: ids[0]! }, data: { status: 'active' } });
      const again = await t.api.post(BULK, { ids, action: 'suspend' }, { 'idempotency-key': 'suspend-2026-11-25' });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await statuses(ids)).toEqual({ [ids[0]!]: 'active', [ids[1]!]: 'suspended', [ids[2]!]: 'suspended', [ids[3]!]: 'suspended' });
      const rows = await auditRows(t.m.id, 'device.bulk.suspend');
      expect(rows).toHaveLength(1);
      expect(rows[0]!.id).toBe(first.body.auditId);
      expect(rows[0]).toMatchObject({
        actor: expect.stringMatching(/^key:/),
        targetType: 'device',
        targetIds: ids.slice(0, 3).sort(),
        before: { status: { [ids[0]!]: 'active', [ids[1]!]: 'active', [ids[2]!]: 'active' } },
        after: { status: 'suspended', request: body },
      });
      // The same key with another body: 409, and nothing happens.
      expectError(
        await t.api.post(BULK, { action: 'revoke', ids }, { 'idempotency-key': 'suspend-2026-11-25' }),
        409,
        'BULK.IDEMPOTENCY_KEY_REUSED',
      );
      expectError(
        await t.api.post(BULK, { action: 'suspend', ids: ids.slice(1) }, { 'idempotency-key': 'suspend-2026-11-25' }),
        409,
        'BULK.IDEMPOTENCY_KEY_REUSED',
      );
      expect(Object.values(await statuses(ids))).not.toContain('revoked');
      expect(await db.auditLog.count({ where: { manufacturerId: t.m.id, action: { startsWith: 'device.bulk' } } })).toBe(1);
      // Keys are per tenant: another tenant's same key is its own.
      const other = await newTenant(api.base);
      const theirs = await seedDevices(db, await fleetOf(db, other.m, other.model.id), 1);
      const r = await other.api.post(BULK, { action: 'suspend', ids: theirs }, { 'idempotency-key': 'suspend-2026-11-25' });
      expect(r.body).toMatchObject({ matched: 1, changed: 1 });
    });

    it('concurrent requests with one key: one effect, one audit row, the same answer for all', async () => {
      const t = await newTenant(api.base);
      const ids = await seedDevices(db, await fleetOf(db, t.m, t.model.id), 20, () => ({ tags: ['old'] }));
      const body = { action: 'tag', tags: ['wave-1'], filter: { tag: ['old'] } };
      const replies = await Promise.all(Array.from({ length: 6 }, () => t.api.post(BULK, body, { 'idempotency-key': 'tag-wave-1' })));
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(new Set(replies.map((r) => JSON.stringify(r.body))).size).toBe(1);
      expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(5);
      expect(replies[0]!.body).toMatchObject({ matched: 20, changed: 20 });
      expect(await auditRows(t.m.id, 'device.bulk.tag')).toHaveLength(1);
      const tags = await db.device.findMany({ where: { id: { in: ids } }, select: { tags: true } });
      expect(tags.every((d) => JSON.stringify(d.tags) === '["old","wave-1"]')).toBe(true);
    });

    it('without a key each call acts again; a failed call leaves no record, so its key can be retried', async () => {
      const t = await newTenant(api.base);
      const fleet = await fleetOf(db, t.m, t.model.id);
      const [a, b] = await seedDevices(db, fleet, 2, (i) => ({ status: i === 0 ? 'suspended' : 'revoked' }));
      expectError(
        await t.api.post(BULK, { action: 'resume', ids: [a, b] }, { 'idempotency-key': 'resume-1' }),
        409,
        'DEVICE.REVOKED_PERMANENT',
      );
      expect(await statuses([a!, b!])).toEqual({ [a!]: 'suspended', [b!]: 'revoked' }); // atomic: a not resumed either
      expect(await db.idempotencyRecord.count({ where: { manufacturerId: t.m.id } })).toBe(0);
      expect(await db.auditLog.count({ where: { manufacturerId: t.m.id, action: 'device.bulk.resume' } })).toBe(0);
      const ok = await t.api.post(BULK, { action: 'resume', ids: [a] }, { 'idempotency-key': 'resume-1' });
      expect(ok.body).toMatchObject({ matched: 1, changed: 1 });
      expect((await t.api.post(BULK, { action: 'suspend', ids: [a] })).body).toMatchObject({ changed: 1 });
      expect((await t.api.post(BULK, { action: 'suspend', ids: [a] })).body).toMatchObject({ changed: 0, skipped: 1 });
      expect(await db.auditLog.count({ where: { manufacturerId: t.m.id, action: 'device.bulk.suspend' } })).toBe(2);
    });
  });

  describe('actions by filter and by ids', () => {
    it('suspend, resume, tag, untag, set-group and set-policy, each audited with before and after', async () => {
      const t = await newTenant(api.base);
      const fleet = await fleetOf(db, t.m, t.model.id);
      const ids = await seedDevices(db, fleet, 6, (i) => ({ firmware: i < 4 ? '1.0' : '2.0', tags: i % 2 ? ['eu'] : [] }));
      const old = ids.slice(0, 4);
      const group = (await t.api.post('/manufacturer/v1/groups', { name: 'pilot' })).body.id as string;

      expect((await t.api.post(BULK, { action: 'suspend', filter: { firmware: ['1.0'] } })).body).toMatchObject({ matched: 4, changed: 4 });
      expect(Object.values(await statuses(old))).toEqual(['suspended', 'suspended', 'suspended', 'suspended']);
      expect((await t.api.post(BULK, { action: 'resume', filter: { status: ['suspended'] } })).body).toMatchObject({
        matched: 4,
        changed: 4,
      });

      const tag = await t.api.post(BULK, { action: 'tag', tags: ['eu', 'beta'], filter: { firmware: ['1.0'] } });
      expect(tag.body).toMatchObject({ matched: 4, changed: 4 });
      const tagged = await db.device.findMany({ where: { id: { in: old } }, orderBy: { id: 'asc' }, select: { id: true, tags: true } });
      for (const d of tagged) expect(d.tags).toEqual(['eu', 'beta']); // 'eu' kept where it was, both added in order elsewhere
      const [tagAudit] = await auditRows(t.m.id, 'device.bulk.tag');
      expect(tagAudit!.before).toEqual({ tags: Object.fromEntries(old.map((id, i) => [id, i % 2 ? ['eu'] : []])) });
      expect((tagAudit!.after as { tags: unknown }).tags).toEqual(Object.fromEntries(old.map((id) => [id, ['eu', 'beta']])));

      const untag = await t.api.post(BULK, { action: 'untag', tags: ['eu'], ids });
      expect(untag.body).toMatchObject({ matched: 6, changed: 5, skipped: 1 });
      const after = await db.device.findMany({ where: { id: { in: ids } }, select: { id: true, tags: true } });
      expect(Object.fromEntries(after.map((d) => [d.id, d.tags]))).toEqual(
        Object.fromEntries(ids.map((id, i) => [id, i < 4 ? ['beta'] : []])),
      );

      expect((await t.api.post(BULK, { action: 'set-group', groupId: group, filter: { tag: ['beta'] } })).body).toMatchObject({
        changed: 4,
      });
      expect((await t.api.get(`/manufacturer/v1/groups/${group}`)).body).toMatchObject({ name: 'pilot', devices: 4 });
      expect((await t.api.post(BULK, { action: 'set-group', groupId: null, ids: old.slice(0, 1) })).body).toMatchObject({ changed: 1 });
      const [groupAudit] = (await auditRows(t.m.id, 'device.bulk.set-group')).slice(-1);
      expect(groupAudit).toMatchObject({ targetIds: [old[0]], before: { groupId: { [old[0]!]: group } }, after: { groupId: null } });

      const policy = { maxItems: 2, hours: { from: 22, to: 6 } };
      expect((await t.api.post(BULK, { action: 'set-policy', policy, filter: { group: [group] } })).body).toMatchObject({ changed: 3 });
      expect((await t.api.post(BULK, { action: 'set-policy', policy, filter: { group: [group] } })).body).toMatchObject({
        changed: 0,
        skipped: 3,
      });
      const detail = await t.api.get(`/manufacturer/v1/devices/${old[1]}`);
      expect(detail.body).toMatchObject({
        policy,
        effectivePolicy: { idleOnly: true, hours: { from: 22, to: 6 }, maxItems: 2, powerBudgetW: null },
      });
      expect((await t.api.post(BULK, { action: 'set-policy', policy: null, ids: [old[1]] })).body).toMatchObject({ changed: 1 });
      expect((await t.api.get(`/manufacturer/v1/devices/${old[1]}`)).body.policy).toBeNull();
    });

    it('404 DEVICE.NOT_FOUND naming ids that are not this tenant’s, and nothing changes', async () => {
      const t = await newTenant(api.base);
      const mine = await seedDevices(db, await fleetOf(db, t.m, t.model.id), 2);
      const other = await newTenant(api.base);
      const theirs = await seedDevices(db, await fleetOf(db, other.m, other.model.id), 1);
      const r = await t.api.post(BULK, { action: 'revoke', ids: [...mine, ...theirs] });
      expectError(r, 404, 'DEVICE.NOT_FOUND');
      expect(r.body.error.details).toEqual({ missing: theirs, count: 1 });
      expect(Object.values(await statuses([...mine, ...theirs]))).toEqual(['active', 'active', 'active']);
    });
  });

  describe('revocation', () => {
    it('a bulk revoke reaches a gateway that cached the device within 5 s, and is permanent', async () => {
      const t = await newTenant(api.base);
      const e = await enroll(api.base, t.m, t.model);
      const gw = await otherGateway();
      const remote = new DeviceClient(gw.base, e.device.key);
      expect((await heartbeat(remote)).status).toBe(200); // gw now caches the device as active
      const revokedAt = Date.now();
      expect((await t.api.post(BULK, { action: 'revoke', ids: [e.deviceId] })).body).toMatchObject({ changed: 1 });
      // The process that revoked it refuses it at once.
      expectError(await heartbeat(e.device), 403, 'DEVICE.REVOKED');
      // The other one within its cache time.
      await within(DEVICE_CACHE_MS + 1_000, async () => (await heartbeat(remote)).status === 403, 200);
      expect(Date.now() - revokedAt).toBeLessThanOrEqual(DEVICE_CACHE_MS + 1_000);
      expect((await heartbeat(remote)).status).toBe(403);
      // No way back.
      expectError(await t.api.post(BULK, { action: 'resume', ids: [e.deviceId] }), 409, 'DEVICE.REVOKED_PERMANENT');
      expect((await t.api.post(BULK, { action: 'revoke', ids: [e.deviceId] })).body).toMatchObject({ changed: 0, skipped: 1 });
      expect((await db.device.findUniqueOrThrow({ where: { id: e.deviceId } })).status).toBe('revoked');
    });

    it('revoking an attestation key revokes every device enrolled under it, atomically and audited', async () => {
      const t = await newTenant(api.base);
      const second = ed25519Generate();
      const k2 = await t.api.post('/manufacturer/v1/attestation-keys', attestationKeyRegistration(second.secretKey, t.m.id));
      expect(k2.status).toBe(201);
      const underFirst = [await enroll(api.base, t.m, t.model), await enroll(api.base, t.m, t.model), await enroll(api.base, t.m, t.model)];
      const underSecond = await enroll(api.base, t.m, t.model, second);
      const k1 = (await db.attestationKey.findUniqueOrThrow({ where: { publicKey: t.m.attestation.publicKey } })).id;
      // One of them was suspended before: it is revoked too.
      await t.api.post(BULK, { action: 'suspend', ids: [underFirst[2]!.deviceId] });
      const gw = await otherGateway();
      const remote = new DeviceClient(gw.base, underFirst[0]!.device.key);
      expect((await heartbeat(remote)).status).toBe(200);

      const r = await t.api.del(`/manufacturer/v1/attestation-keys/${k1}`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ attestationKey: { id: k1, revokedAt: expect.any(String) }, devicesRevoked: 3 });
      const ids = underFirst.map((e) => e.deviceId);
      expect(await statuses([...ids, underSecond.deviceId])).toEqual({
        ...Object.fromEntries(ids.map((id) => [id, 'revoked'])),
        [underSecond.deviceId]: 'active',
      });
      const [row] = await auditRows(t.m.id, 'attestation_key.revoke');
      expect(row!.targetIds[0]).toBe(k1);
      expect(row!.targetIds.slice(1).sort()).toEqual([...ids].sort());
      expect(row).toMatchObject({
        before: {
          attestationKey: { id: k1, revokedAt: null },
          devices: { [ids[0]!]: { status: 'active' }, [ids[2]!]: { status: 'suspended' } },
        },
        after: { attestationKey: { id: k1 }, devices: { status: 'revoked', count: 3 } },
      });
      // Its devices are refused by the gateway; the other key's device is not.
      expectError(await heartbeat(underFirst[1]!.device), 403, 'DEVICE.REVOKED');
      expect((await heartbeat(underSecond.device)).status).toBe(200);
      await within(DEVICE_CACHE_MS + 1_000, async () => (await heartbeat(remote)).status === 403, 200);
      // No new device enrolls under it.
      const newcomer = new DeviceClient(api.base, ed25519Generate());
      const cert = makeCertificate(t.m.attestation, newcomer.publicKey, { serial: unique('SN'), model: t.model.name });
      expectError(await newcomer.post('/device/v1/enroll', { certificate: cert }), 403, 'CERT.ATTESTATION_KEY_REVOKED');
      // Again: nothing more to do, no second audit row.
      const again = await t.api.post(`/manufacturer/v1/attestation-keys/${k1}/revoke`);
      expect(again.body).toMatchObject({ devicesRevoked: 0 });
      expect(await auditRows(t.m.id, 'attestation_key.revoke')).toHaveLength(1);
    });
  });

  describe('one device: edits and quarantine release', () => {
    it('PATCH time zone, group, tags and policy, audited with the fields before and after', async () => {
      const t = await newTenant(api.base);
      const [id] = await seedDevices(db, await fleetOf(db, t.m, t.model.id), 1, () => ({ tags: ['a'] }));
      const group = (await t.api.post('/manufacturer/v1/groups', { name: 'kitchen', policy: { maxItems: 3 } })).body.id as string;
      const r = await t.api.patch(`/manufacturer/v1/devices/${id}`, {
        timezone: 'Europe/Berlin',
        groupId: group,
        tags: ['b', 'b', 'c'],
        policy: { idleOnly: false },
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ id, timezone: 'Europe/Berlin', groupId: group, tags: ['b', 'c'], policy: { idleOnly: false } });
      const [row] = await auditRows(t.m.id, 'device.update');
      expect(row).toMatchObject({
        targetIds: [id],
        before: { timezone: 'UTC', groupId: null, tags: ['a'], policy: null },
        after: { timezone: 'Europe/Berlin', groupId: group, tags: ['b', 'c'], policy: { idleOnly: false } },
      });
      const detail = (await t.api.get(`/manufacturer/v1/devices/${id}`)).body;
      expect(detail).toMatchObject({
        group: { id: group, name: 'kitchen' },
        policyLayers: { model: null, group: { maxItems: 3 }, device: { idleOnly: false } },
        effectivePolicy: { idleOnly: false, maxItems: 3 },
      });
      expect((await t.api.patch(`/manufacturer/v1/devices/${id}`, { groupId: null, policy: null })).body).toMatchObject({
        groupId: null,
        policy: null,
      });
    });

    it('release: quarantined → active with strikes reset, audited; 409 DEVICE.NOT_QUARANTINED otherwise', async () => {
      const t = await newTenant(api.base);
      const [q, a] = await seedDevices(db, await fleetOf(db, t.m, t.model.id), 2, (i) => ({
        status: i === 0 ? 'quarantined' : 'active',
        strikes: 3,
      }));
      const r = await t.api.post(`/manufacturer/v1/devices/${q}/release`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ id: q, status: 'active', strikes: 0 });
      expect(await db.device.findUniqueOrThrow({ where: { id: q! } })).toMatchObject({ status: 'active', strikes: 0 });
      expect(await auditRows(t.m.id, 'device.release')).toMatchObject([
        { targetIds: [q], before: { status: 'quarantined', strikes: 3 }, after: { status: 'active', strikes: 0 } },
      ]);
      expectError(await t.api.post(`/manufacturer/v1/devices/${q}/release`), 409, 'DEVICE.NOT_QUARANTINED');
      expectError(await t.api.post(`/manufacturer/v1/devices/${a}/release`), 409, 'DEVICE.NOT_QUARANTINED');
      expect(await auditRows(t.m.id, 'device.release')).toHaveLength(1);
    });
  });

  describe('groups', () => {
    it('create, list with member counts, rename, set policy, delete leaving members ungrouped; all audited', async () => {
      const t = await newTenant(api.base);
      const ids = await seedDevices(db, await fleetOf(db, t.m, t.model.id), 3);
      const g = await t.api.post('/manufacturer/v1/groups', { name: 'garage' });
      expect(g.status).toBe(201);
      expectError(await t.api.post('/manufacturer/v1/groups', { name: 'garage' }), 409, 'GROUP.NAME_TAKEN');
      // Another tenant may use the same name.
      expect((await (await newTenant(api.base)).api.post('/manufacturer/v1/groups', { name: 'garage' })).status).toBe(201);
      await t.api.post(BULK, { action: 'set-group', groupId: g.body.id, ids: ids.slice(0, 2) });
      expect((await t.api.get('/manufacturer/v1/groups')).body.groups).toEqual([
        { id: g.body.id, name: 'garage', policy: null, createdAt: expect.any(String), devices: 2 },
      ]);
      const renamed = await t.api.patch(`/manufacturer/v1/groups/${g.body.id}`, { name: 'shed', policy: { powerBudgetW: 15 } });
      expect(renamed.body).toMatchObject({ name: 'shed', policy: { powerBudgetW: 15 }, devices: 2 });
      const del = await t.api.del(`/manufacturer/v1/groups/${g.body.id}`);
      expect(del.body).toEqual({ id: g.body.id, devicesUngrouped: 2 });
      expect(await db.device.count({ where: { id: { in: ids }, groupId: { not: null } } })).toBe(0);
      expectError(await t.api.get(`/manufacturer/v1/groups/${g.body.id}`), 404, 'GROUP.NOT_FOUND');
      const actions = (await db.auditLog.findMany({ where: { manufacturerId: t.m.id, targetType: 'group' }, orderBy: { id: 'asc' } })).map(
        (a) => a.action,
      );
      expect(actions).toEqual(['group.create', 'group.update', 'group.delete']);
      const [deleted] = await auditRows(t.m.id, 'group.delete');
      expect(deleted).toMatchObject({ before: { group: { name: 'shed' }, members: expect.arrayContaining(ids.slice(0, 2)) }, after: null });
      // The client sees the deletion in its own audit log, newest first.
      const feed = await client(api.base, t.m.apiKey).get('/manufacturer/v1/audit?limit=2');
      expect(feed.body.entries.map((e: { action: string }) => e.action)).toEqual(['group.delete', 'group.update']);
    });
  });
});
