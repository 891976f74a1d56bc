/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call --
   JSON answers of the API under test, read loosely and checked by the assertions. */
import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId, PrismaService } from '@idlemint/core';
import { LedgerService } from '@idlemint/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, type RunningApi } from './support/api.js';
import {
  allPages,
  call,
  client,
  enroll,
  expectError,
  fleetOf,
  heartbeat,
  newTenant,
  seedDevices,
  unique,
  type Client,
  type SeedFleet,
  startFleetApi,
  type FleetApi,
} from './support/fleet.js';

/**
 * The manufacturer's device registry over real HTTP on a scratch database: filters, sorts and
 * keyset pagination (also while devices are being added), device detail (live status, work,
 * earnings), telemetry rollups and the fleet summary, tenant scoping, the viewer role, bad input.
 */

const DAY = 86_400_000;
const STATUSES = ['active', 'suspended', 'quarantined', 'revoked'] as const;
const FIRMWARES = ['1.0.0', '1.1.0', '2.0.0', null] as const;
const TAGS = ['eu', 'us', 'beta', 'pilot'];

interface Seeded {
  id: string;
  serial: string;
  status: string;
  modelId: string;
  firmware: string | null;
  groupId: string | null;
  tags: string[];
  lastSeenAt: Date | null;
  reputation: number;
  ownerId: string | null;
  enrolledAt: Date;
}

describe('manufacturer device registry', () => {
  let platform: FleetApi;
  let api: RunningApi;
  let db: PrismaService;

  beforeAll(async () => {
    platform = await startFleetApi('fleet');
    ({ api, db } = platform);
  });

  afterAll(() => platform?.close());

  describe('list: filters and sorts against the same data filtered in memory', () => {
    let c: Client;
    let fleet: SeedFleet;
    let models: { id: string; name: string }[];
    let groups: string[];
    const rows: Seeded[] = [];
    const now = Date.now();

    beforeAll(async () => {
      const t = await newTenant(api.base);
      c = t.api;
      const second = await createModel(api.base, t.m.apiKey);
      models = [t.model, second];
      fleet = await fleetOf(db, t.m, t.model.id);
      groups = [];
      for (const name of ['north', 'south']) groups.push((await c.post('/manufacturer/v1/groups', { name })).body.id as string);
      // 160 devices; enrolledAt in runs of 4 equal instants, so ids break ties.
      const n = 160;
      const enrolledBase = now - 30 * DAY;
      const shape = (i: number) => ({
        status: STATUSES[i % 4]!,
        modelId: models[i % 3 === 0 ? 1 : 0]!.id,
        firmware: FIRMWARES[i % 4 === 3 ? 3 : (i * 7) % 3]!,
        groupId: i % 5 === 0 ? null : groups[i % 2]!,
        tags: TAGS.filter((_, k) => ((i >> k) & 1) === 1),
        lastSeenAt: i % 6 === 0 ? null : new Date(i % 6 === 1 ? now - 10_000 : now - (i % 37) * 3_600_000 - 200_000),
        reputation: (i % 11) / 10,
        ownerId: i % 3 === 1 ? newId() : null,
        enrolledAt: new Date(enrolledBase + Math.floor(i / 4) * 60_000),
      });
      const ids = await seedDevices(db, fleet, n, shape);
      const stored = await db.device.findMany({ where: { id: { in: ids } } });
      for (const d of stored) {
        rows.push({
          id: d.id,
          serial: d.serial,
          status: d.status,
          modelId: d.modelId,
          firmware: d.firmware,
          groupId: d.groupId,
          tags: d.tags,
          lastSeenAt: d.lastSeenAt,
          reputation: d.reputation,
          ownerId: d.ownerId,
          enrolledAt: d.enrolledAt,
        });
      }
    });

    const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
    function expected(
      pred: (r: Seeded) => boolean,
      sort: 'enrolledAt' | 'lastSeenAt' | 'serial' = 'enrolledAt',
      order: 'asc' | 'desc' = 'desc',
    ) {
      const sign = order === 'asc' ? 1 : -1;
      const key = (r: Seeded): number | string | null =>
        sort === 'serial' ? r.serial : sort === 'enrolledAt' ? r.enrolledAt.getTime() : (r.lastSeenAt?.getTime() ?? null);
      return rows
        .filter(pred)
        .sort((a, b) => {
          const ka = key(a);
          const kb = key(b);
          if (ka === null || kb === null) {
            if (ka !== kb) return ka === null ? 1 : -1; // never seen: last in either order
            return sign * cmp(a.id, b.id);
          }
          return sign * (cmp(ka, kb) || cmp(a.id, b.id));
        })
        .map((r) => r.id);
    }

    const q = (params: Record<string, string>) => `/manufacturer/v1/devices?${new URLSearchParams(params).toString()}`;

    it('every filter alone and combined, through every page, matches the in-memory answer exactly', async () => {
      const online = now - 120_000;
      const cases: [Record<string, string>, (r: Seeded) => boolean][] = [
        [{}, () => true],
        [{ status: 'active' }, (r) => r.status === 'active'],
        [{ status: 'suspended,quarantined' }, (r) => r.status === 'suspended' || r.status === 'quarantined'],
        [{ model: models[1]!.name }, (r) => r.modelId === models[1]!.id],
        [{ status: 'active', model: models[0]!.name }, (r) => r.status === 'active' && r.modelId === models[0]!.id],
        [{ firmware: '2.0.0' }, (r) => r.firmware === '2.0.0'],
        [{ group: groups[0]! }, (r) => r.groupId === groups[0]],
        [{ group: 'none' }, (r) => r.groupId === null],
        [{ group: `${groups[1]},none` }, (r) => r.groupId === groups[1] || r.groupId === null],
        [{ tag: 'beta' }, (r) => r.tags.includes('beta')],
        [{ tag: 'eu,pilot' }, (r) => r.tags.includes('eu') && r.tags.includes('pilot')],
        [
          { lastSeenAfter: new Date(now - 5 * 3_600_000).toISOString() },
          (r) => r.lastSeenAt !== null && r.lastSeenAt.getTime() >= now - 5 * 3_600_000,
        ],
        [
          { lastSeenAfter: new Date(now - 20 * 3_600_000).toISOString(), lastSeenBefore: new Date(now - 10 * 3_600_000).toISOString() },
          (r) => r.lastSeenAt !== null && r.lastSeenAt.getTime() >= now - 20 * 3_600_000 && r.lastSeenAt.getTime() < now - 10 * 3_600_000,
        ],
        [{ reputationMin: '0.3', reputationMax: '0.6' }, (r) => r.reputation >= 0.3 && r.reputation <= 0.6],
        [{ claimed: 'true' }, (r) => r.ownerId !== null],
        [{ claimed: 'false', status: 'active' }, (r) => r.ownerId === null && r.status === 'active'],
        [{ online: 'true' }, (r) => r.lastSeenAt !== null && r.lastSeenAt.getTime() >= online],
        [{ online: 'false' }, (r) => r.lastSeenAt === null || r.lastSeenAt.getTime() < online],
        [{ model: 'no-such-model' }, () => false],
      ];
      for (const [params, pred] of cases) {
        const got = await allPages(c, q({ ...params, limit: '7' }));
        expect(
          got.map((d) => d.id),
          JSON.stringify(params),
        ).toEqual(expected(pred));
      }
    });

    it('sorts by enrolledAt, lastSeenAt (never seen last) and serial, both ways, across pages', async () => {
      for (const sort of ['enrolledAt', 'lastSeenAt', 'serial'] as const) {
        for (const order of ['asc', 'desc'] as const) {
          for (const limit of ['1', '9', '500']) {
            const got = await allPages(c, q({ sort, order, limit }));
            expect(
              got.map((d) => d.id),
              `${sort} ${order} ${limit}`,
            ).toEqual(expected(() => true, sort, order));
          }
        }
      }
      const filtered = await allPages(c, q({ sort: 'lastSeenAt', order: 'asc', tag: 'us', limit: '4' }));
      expect(filtered.map((d) => d.id)).toEqual(expected((r) => r.tags.includes('us'), 'lastSeenAt', 'asc'));
    });

    it('shows each device with the fields the simulator and tests read, the claim code included', async () => {
      const r = await c.get(q({ limit: '1', sort: 'serial', order: 'asc' }));
      expect(r.status).toBe(200);
      const d = r.body.devices[0];
      const row = await db.device.findUniqueOrThrow({ where: { id: d.id } });
      expect(d).toMatchObject({
        id: row.id,
        manufacturerId: row.manufacturerId,
        modelId: row.modelId,
        attestationKeyId: row.attestationKeyId,
        serial: row.serial,
        publicKey: row.publicKey,
        status: row.status,
        claimCode: row.claimCode,
        ownerId: row.ownerId,
        firmware: row.firmware,
        strikes: row.strikes,
        validResults: row.validResults,
        enrolledAt: row.enrolledAt.toISOString(),
        timezone: 'UTC',
        tags: row.tags,
        groupId: row.groupId,
        claimed: row.ownerId !== null,
      });
      expect(typeof d.online).toBe('boolean');
      expect(r.body.nextCursor).toEqual(expect.any(String));
    });

    it('400 for a bad query: unknown parameter, bad values, a made-up cursor or one of another sort', async () => {
      const bad: Record<string, string>[] = [
        { nope: '1' },
        { status: 'sleeping' },
        { limit: '0' },
        { limit: '501' },
        { sort: 'owner' },
        { order: 'up' },
        { lastSeenAfter: 'yesterday' },
        { lastSeenAfter: '0000-01-01T00:00:00Z' },
        { reputationMin: '2' },
        { claimed: 'yes' },
        { tag: 'has space' },
        { group: 'not-an-id' },
      ];
      for (const params of bad) expectError(await c.get(q(params)), 400, 'REQUEST.INVALID_QUERY');
      const page = await c.get(q({ limit: '2', sort: 'serial' }));
      const cursor = page.body.nextCursor as string;
      for (const made of ['garbage!', 'e30', Buffer.from('{"s":"serial","o":"desc","v":1,"i":"x"}').toString('base64url')]) {
        expectError(await c.get(q({ sort: 'serial', cursor: made })), 400, 'REQUEST.INVALID_CURSOR');
      }
      expectError(await c.get(q({ sort: 'enrolledAt', cursor })), 400, 'REQUEST.INVALID_CURSOR');
      // Cursors made up to look right: a time the database cannot hold, a time in another form.
      const forged = (v: string) =>
        Buffer.from(JSON.stringify({ s: 'enrolledAt', o: 'desc', v, i: '01JD6Z3K8Q0000000000000000' })).toString('base64url');
      for (const v of ['-271821-04-20T00:00:00.000Z', '0000-01-01T00:00:00.000Z', '1', '2026-11-25']) {
        expectError(await c.get(q({ cursor: forged(v) })), 400, 'REQUEST.INVALID_CURSOR');
      }
      expect((await c.get(q({ cursor: forged('2026-11-25T00:00:00.000Z') }))).status).toBe(200);
      expectError(await c.get(q({ sort: 'serial', order: 'asc', cursor })), 400, 'REQUEST.INVALID_CURSOR');
    });
  });

  describe('pagination while devices are added', () => {
    for (const [sort, order] of [
      ['enrolledAt', 'desc'],
      ['enrolledAt', 'asc'],
      ['serial', 'asc'],
      ['lastSeenAt', 'desc'],
    ] as const) {
      it(`sort ${sort} ${order}: no device twice, none of those already there skipped`, async () => {
        const t = await newTenant(api.base);
        const fleet = await fleetOf(db, t.m, t.model.id);
        const base = Date.now() - 10 * DAY;
        // Pairs of equal keys so ties are broken by id; a third never seen (lastSeenAt null).
        const before = await seedDevices(db, fleet, 240, (i) => ({
          enrolledAt: new Date(base + Math.floor(i / 2) * 1000),
          lastSeenAt: i % 3 === 0 ? null : new Date(base + Math.floor(i / 2) * 1000),
        }));
        let inserting = true;
        let added = 0;
        const writer = (async () => {
          // New devices before, among and after the existing keys, until the reader is done.
          for (let k = 0; inserting && k < 200; k++) {
            await seedDevices(db, fleet, 3, (i) => {
              const at = new Date(base + ((k * 37 + i * 53) % 130) * 1000 + (i === 2 ? 20 * DAY : 0));
              return { enrolledAt: at, lastSeenAt: k % 2 ? at : null, serial: unique(i === 0 ? 'AA' : 'zz') };
            });
            added += 3;
            await sleep(2);
          }
        })();
        const seen: string[] = [];
        let cursor: string | null = null;
        const c = client(api.base, t.m.apiKey);
        do {
          const params = new URLSearchParams({ sort, order, limit: '10', ...(cursor ? { cursor } : {}) });
          const r = await c.get(`/manufacturer/v1/devices?${params.toString()}`);
          expect(r.status).toBe(200);
          seen.push(...(r.body.devices as { id: string }[]).map((d) => d.id));
          cursor = r.body.nextCursor as string | null;
          await sleep(3);
        } while (cursor);
        inserting = false;
        await writer;
        expect(added).toBeGreaterThan(0);
        expect(new Set(seen).size).toBe(seen.length);
        const got = new Set(seen);
        expect(before.filter((id) => !got.has(id))).toEqual([]);
      });
    }
  });

  describe('device detail, telemetry and the fleet summary', () => {
    it('live status, latest telemetry, work stats, earnings, hourly telemetry', async () => {
      const t = await newTenant(api.base);
      const e = await enroll(api.base, t.m, t.model);
      await awayFromHourEdge();
      expect((await heartbeat(e.device, { firmware: '3.1.0', metrics: { tempC: 40, powerW: 3, loadPct: 10 } })).status).toBe(200);
      expect((await heartbeat(e.device, { firmware: '3.1.1', idle: false, metrics: { tempC: 44, loadPct: 30 } })).status).toBe(200);

      // Its work: two units agreed, one disagreed, one canary failed, one still leased.
      const outcomes = ['agreed', 'agreed', 'disagreed', 'canary_failed', null] as const;
      for (const outcome of outcomes) await seedAssignment(db, e.deviceId, outcome);
      // Its earnings: two rewards credited through the ledger.
      const ledger = api.app.get(LedgerService);
      for (let i = 0; i < 2; i++) await postReward(db, ledger, newId(), e.deviceId, t.m.id, 700n, 200n, 100n);

      const r = await t.api.get(`/manufacturer/v1/devices/${e.deviceId}`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        id: e.deviceId,
        claimCode: e.claimCode,
        firmware: '3.1.1',
        online: true,
        live: { online: true, firmware: '3.1.1', telemetry: { idle: false, uptimeS: 60, tempC: 44, loadPct: 30 } },
        work: { claimed: 5, done: 4, verified: 2, rejected: 1, canaryStrikes: 1, pending: 0, expired: 0 },
        earnings: { currency: api.config.CURRENCY, credited: '1400', pending: '0', paid: '0', balance: '1400', last24h: '1400' },
        effectivePolicy: { idleOnly: true, hours: { from: 0, to: 24 }, powerBudgetW: null, maxItems: t.model.batchSize },
        policyLayers: { model: null, group: null, device: null },
        group: null,
      });
      expect(r.body.telemetryHistory).toEqual([
        {
          hour: currentHour().toISOString(),
          heartbeats: 2,
          idle: 1,
          temp: { avg: 42, min: 40, max: 44 },
          power: { avg: 3, min: 3, max: 3 },
          load: { avg: 20, min: 10, max: 30 },
        },
      ]);
      // Offline once its last heartbeat is older than twice the interval.
      await db.device.update({ where: { id: e.deviceId }, data: { lastSeenAt: new Date(Date.now() - 121_000) } });
      expect((await t.api.get(`/manufacturer/v1/devices/${e.deviceId}`)).body).toMatchObject({ online: false, live: { online: false } });
    });

    it('heartbeats roll up per device and hour, one row each, with counts, sums, min and max', async () => {
      const t = await newTenant(api.base);
      const a = await enroll(api.base, t.m, t.model);
      const b = await enroll(api.base, t.m, t.model);
      await awayFromHourEdge();
      const temps = [30, 35.5, null, 20];
      for (const [i, tempC] of temps.entries()) {
        const metrics = tempC === null ? { powerW: 7 } : { tempC, powerW: 2 + i };
        expect((await heartbeat(a.device, { idle: i !== 1, metrics })).status).toBe(200);
      }
      expect((await heartbeat(b.device, { firmware: '9.0.0' })).status).toBe(200);
      const rollups = await db.telemetryRollup.findMany({ where: { manufacturerId: t.m.id }, orderBy: { heartbeats: 'desc' } });
      expect(rollups).toHaveLength(2);
      expect(rollups[0]).toEqual({
        deviceId: a.deviceId,
        hour: currentHour(),
        manufacturerId: t.m.id,
        heartbeats: 4,
        idle: 3,
        tempCount: 3,
        tempSum: 85.5,
        tempMin: 20,
        tempMax: 35.5,
        powerCount: 4,
        powerSum: 2 + 3 + 7 + 5,
        powerMin: 2,
        powerMax: 7,
        loadCount: 0,
        loadSum: 0,
        loadMin: null,
        loadMax: null,
      });
      expect(rollups[1]).toMatchObject({ deviceId: b.deviceId, heartbeats: 1, idle: 1, tempCount: 0, tempMin: null, powerCount: 0 });
      // The device row keeps only the latest state.
      const row = await db.device.findUniqueOrThrow({ where: { id: a.deviceId } });
      expect(row.telemetry).toEqual({ idle: true, uptimeS: 60, tempC: 20, powerW: 5 });
    });

    it('summary: devices by status, model and firmware, online, and per hour verified units, earnings and telemetry', async () => {
      const t = await newTenant(api.base);
      const other = await createModel(api.base, t.m.apiKey);
      const fleet = await fleetOf(db, t.m, t.model.id);
      const seen = new Date(Date.now() - 30_000);
      await seedDevices(db, fleet, 5, (i) => ({
        status: i < 3 ? 'active' : 'suspended',
        firmware: '1.0',
        lastSeenAt: i < 2 ? seen : null,
      }));
      await seedDevices(db, { ...fleet, modelId: other.id }, 3, (i) => ({ status: i === 0 ? 'revoked' : 'active', firmware: '2.0' }));
      const e = await enroll(api.base, t.m, t.model); // no firmware until it heartbeats
      await awayFromHourEdge();
      expect((await heartbeat(e.device, { firmware: '1.0', metrics: { tempC: 50, powerW: 4, loadPct: 80 } })).status).toBe(200);

      // Verified: two units decided this hour (one with two of our devices agreeing), one 3 h ago.
      const now = Date.now();
      const [d1, d2] = await seedDevices(db, fleet, 2, () => ({ firmware: '1.0' }));
      const u1 = await seedAssignment(db, d1!, 'agreed', new Date(now - 60_000));
      await seedAssignment(db, d2!, 'agreed', new Date(now - 60_000), u1);
      await seedAssignment(db, d1!, 'agreed', new Date(now - 30_000));
      await seedAssignment(db, d1!, 'agreed', new Date(now - 3 * 3_600_000));
      await seedAssignment(db, d2!, 'disagreed', new Date(now - 30_000));
      // Earnings this hour: owners' shares to our devices and our manufacturer share; another
      // manufacturer's credits do not count.
      const ledger = api.app.get(LedgerService);
      await postReward(db, ledger, u1, d1!, t.m.id, 700n, 200n, 100n);
      await postReward(db, ledger, u1, d2!, t.m.id, 700n, 200n, 100n);
      const stranger = await newTenant(api.base);
      const sf = await fleetOf(db, stranger.m, stranger.model.id);
      const [sd] = await seedDevices(db, sf, 1);
      await postReward(db, ledger, newId(), sd!, stranger.m.id, 700n, 200n, 100n);

      const r = await t.api.get('/manufacturer/v1/fleet/summary');
      expect(r.status).toBe(200);
      const s = r.body;
      expect(s.devices).toEqual({
        total: 11,
        online: 3,
        byStatus: { active: 8, suspended: 2, quarantined: 0, revoked: 1 },
        byModel: [
          { modelId: t.model.id, model: t.model.name, devices: 8, online: 3 },
          { modelId: other.id, model: other.name, devices: 3, online: 0 },
        ],
        byFirmware: [
          { firmware: '1.0', devices: 8, online: 3 },
          { firmware: '2.0', devices: 3, online: 0 },
        ],
      });
      expect(s.hourly).toHaveLength(24);
      const hours = (s.hourly as { hour: string }[]).map((h) => Date.parse(h.hour));
      expect(hours.at(-1)).toBe(currentHour().getTime());
      expect(hours.every((h, i) => i === 0 || h - hours[i - 1]! === 3_600_000)).toBe(true);
      const byHour = new Map((s.hourly as any[]).map((h) => [Date.parse(h.hour), h]));
      const hourOf = (t: number) => Math.floor(t / 3_600_000) * 3_600_000;
      const thisHour = byHour.get(hourOf(now - 30_000));
      const unitsAt = (t: number) => byHour.get(hourOf(t))?.verifiedUnits;
      // If the test straddles an hour edge the two "this hour" units may land in two buckets.
      expect(unitsAt(now - 60_000) + (hourOf(now - 60_000) === hourOf(now - 30_000) ? 0 : unitsAt(now - 30_000))).toBe(2);
      expect(unitsAt(now - 3 * 3_600_000)).toBe(1);
      expect((s.hourly as any[]).reduce((n, h) => n + h.verifiedUnits, 0)).toBe(3);
      expect((s.hourly as any[]).reduce((n, h) => n + h.verifiedResults, 0)).toBe(4);
      const current = byHour.get(currentHour().getTime());
      expect(current.earnings).toEqual({ manufacturer: '400', devices: '1400' });
      expect(current.telemetry).toEqual({
        heartbeats: 1,
        idle: 1,
        temp: { avg: 50, min: 50, max: 50 },
        power: { avg: 4, min: 4, max: 4 },
        load: { avg: 80, min: 80, max: 80 },
      });
      expect(thisHour).toBeDefined();
      const earlier = (s.hourly as any[]).filter((h) => Date.parse(h.hour) !== currentHour().getTime());
      expect(earlier.every((h) => h.earnings.manufacturer === '0' && h.earnings.devices === '0' && h.telemetry.heartbeats === 0)).toBe(
        true,
      );
    });
  });

  describe('tenant scoping and roles', () => {
    it("another tenant's ids answer 404 on every route, and nothing of theirs changes", async () => {
      const mine = await newTenant(api.base);
      const theirs = await newTenant(api.base);
      const theirFleet = await fleetOf(db, theirs.m, theirs.model.id);
      const [device] = await seedDevices(db, theirFleet, 1, () => ({ status: 'quarantined' }));
      const group = (await theirs.api.post('/manufacturer/v1/groups', { name: 'theirs' })).body.id as string;
      const key = (await theirs.api.post('/manufacturer/v1/api-keys', { role: 'viewer' })).body.id as string;
      const attestation = theirFleet.attestationKeyId;
      const model = theirs.model.id;
      const snapshot = async () => ({
        device: await db.device.findUniqueOrThrow({ where: { id: device! } }),
        group: await db.deviceGroup.findUniqueOrThrow({ where: { id: group } }),
        key: await db.apiKey.findUniqueOrThrow({ where: { id: key } }),
        attestation: await db.attestationKey.findUniqueOrThrow({ where: { id: attestation } }),
        model: await db.deviceModel.findUniqueOrThrow({ where: { id: model } }),
        audit: await db.auditLog.count({ where: { manufacturerId: theirs.m.id } }),
      });
      const before = await snapshot();
      const c = mine.api;
      const cases: [Promise<any>, string][] = [
        [c.get(`/manufacturer/v1/devices/${device}`), 'DEVICE.NOT_FOUND'],
        [c.patch(`/manufacturer/v1/devices/${device}`, { tags: ['x'] }), 'DEVICE.NOT_FOUND'],
        [c.post(`/manufacturer/v1/devices/${device}/release`), 'DEVICE.NOT_FOUND'],
        [c.post('/manufacturer/v1/devices/bulk', { action: 'revoke', ids: [device] }), 'DEVICE.NOT_FOUND'],
        [c.get(`/manufacturer/v1/groups/${group}`), 'GROUP.NOT_FOUND'],
        [c.patch(`/manufacturer/v1/groups/${group}`, { name: 'mine-now' }), 'GROUP.NOT_FOUND'],
        [c.del(`/manufacturer/v1/groups/${group}`), 'GROUP.NOT_FOUND'],
        [c.post('/manufacturer/v1/devices/bulk', { action: 'set-group', groupId: group, filter: {} }), 'GROUP.NOT_FOUND'],
        [
          c.patch(`/manufacturer/v1/devices/${(await seedDevices(db, await fleetOf(db, mine.m, mine.model.id), 1))[0]}`, {
            groupId: group,
          }),
          'GROUP.NOT_FOUND',
        ],
        [c.post(`/manufacturer/v1/api-keys/${key}/rotate`), 'API_KEY.NOT_FOUND'],
        [c.post(`/manufacturer/v1/api-keys/${key}/revoke`), 'API_KEY.NOT_FOUND'],
        [c.del(`/manufacturer/v1/api-keys/${key}`), 'API_KEY.NOT_FOUND'],
        [c.post(`/manufacturer/v1/attestation-keys/${attestation}/revoke`), 'ATTESTATION_KEY.NOT_FOUND'],
        [c.del(`/manufacturer/v1/attestation-keys/${attestation}`), 'ATTESTATION_KEY.NOT_FOUND'],
        [c.patch(`/manufacturer/v1/models/${model}`, { policy: { maxItems: 1 } }), 'MODEL.NOT_FOUND'],
        // Malformed ids are simply not found.
        [c.get('/manufacturer/v1/devices/not-an-id'), 'DEVICE.NOT_FOUND'],
        [c.get('/manufacturer/v1/groups/x'), 'GROUP.NOT_FOUND'],
      ];
      for (const [reply, code] of cases) expectError(await reply, 404, code);
      expect(await snapshot()).toEqual(before);
      // Lists and filters never show another tenant's rows.
      expect((await allPages(c, `/manufacturer/v1/devices?group=${group}`)).length).toBe(0);
      expect((await allPages(c, '/manufacturer/v1/devices')).map((d) => d.id)).not.toContain(device);
      expect((await c.get('/manufacturer/v1/groups')).body.groups).toEqual([]);
      expect((await c.get('/manufacturer/v1/api-keys')).body.apiKeys.map((k: { id: string }) => k.id)).not.toContain(key);
      expect((await c.get('/manufacturer/v1/attestation-keys')).body.attestationKeys.map((k: { id: string }) => k.id)).not.toContain(
        attestation,
      );
      expect((await c.get('/manufacturer/v1/models')).body.models.map((m: { id: string }) => m.id)).not.toContain(model);
      const audit = await allPages(c, '/manufacturer/v1/audit', 'entries');
      expect(audit.length).toBeGreaterThan(0);
      expect(audit.every((a) => a.manufacturerId === mine.m.id)).toBe(true);
      expect((await c.get(`/manufacturer/v1/audit?targetId=${device}`)).body.entries).toEqual([]);
    });

    it('a viewer key reads everything and changes nothing (403 AUTH.ROLE_FORBIDDEN)', async () => {
      const t = await newTenant(api.base);
      const viewer = (await t.api.post('/manufacturer/v1/api-keys', { role: 'viewer', name: 'dashboard' })).body.secret as string;
      const v = client(api.base, viewer);
      const fleet = await fleetOf(db, t.m, t.model.id);
      const [device] = await seedDevices(db, fleet, 1, () => ({ status: 'quarantined' }));
      const group = (await t.api.post('/manufacturer/v1/groups', { name: 'g' })).body.id as string;
      const keyId = (await t.api.get('/manufacturer/v1/api-keys')).body.apiKeys[0].id as string;
      for (const path of [
        '/manufacturer/v1/devices',
        `/manufacturer/v1/devices/${device}`,
        '/manufacturer/v1/groups',
        `/manufacturer/v1/groups/${group}`,
        '/manufacturer/v1/models',
        '/manufacturer/v1/api-keys',
        '/manufacturer/v1/attestation-keys',
        '/manufacturer/v1/fleet/summary',
        '/manufacturer/v1/audit',
      ]) {
        expect((await v.get(path)).status, path).toBe(200);
      }
      const auditBefore = await db.auditLog.count({ where: { manufacturerId: t.m.id } });
      const deviceBefore = await db.device.findUniqueOrThrow({ where: { id: device! } });
      const mutations: Promise<any>[] = [
        v.post('/manufacturer/v1/devices/bulk', { action: 'suspend', filter: {} }, { 'idempotency-key': 'viewer-1' }),
        v.patch(`/manufacturer/v1/devices/${device}`, { tags: ['x'] }),
        v.post(`/manufacturer/v1/devices/${device}/release`),
        v.post('/manufacturer/v1/groups', { name: 'nope' }),
        v.patch(`/manufacturer/v1/groups/${group}`, { name: 'nope' }),
        v.del(`/manufacturer/v1/groups/${group}`),
        v.post('/manufacturer/v1/api-keys', { role: 'admin' }),
        v.post(`/manufacturer/v1/api-keys/${keyId}/rotate`),
        v.post(`/manufacturer/v1/api-keys/${keyId}/revoke`),
        v.del(`/manufacturer/v1/api-keys/${keyId}`),
        v.post('/manufacturer/v1/attestation-keys', { publicKey: 'ab'.repeat(32) }),
        v.post(`/manufacturer/v1/attestation-keys/${fleet.attestationKeyId}/revoke`),
        v.del(`/manufacturer/v1/attestation-keys/${fleet.attestationKeyId}`),
        v.post('/manufacturer/v1/models', { name: unique('m'), deviceClass: 'x', batchSize: 2 }),
        v.patch(`/manufacturer/v1/models/${t.model.id}`, { policy: null }),
        // Refused before its (bad) body is even looked at.
        v.post('/manufacturer/v1/groups', { name: 'x', extra: 1 }),
      ];
      for (const reply of mutations) expectError(await reply, 403, 'AUTH.ROLE_FORBIDDEN');
      expect(await db.auditLog.count({ where: { manufacturerId: t.m.id } })).toBe(auditBefore);
      expect(await db.device.findUniqueOrThrow({ where: { id: device! } })).toEqual(deviceBefore);
      expect(await db.deviceGroup.count({ where: { manufacturerId: t.m.id } })).toBe(1);
      expect(await db.apiKey.count({ where: { manufacturerId: t.m.id, revokedAt: null } })).toBe(2);
    });

    it('401 without a key or with a wrong one, on every manufacturer route', async () => {
      for (const key of [undefined, 'imk_wrong', 'x'.repeat(300)]) {
        for (const [method, path] of [
          ['GET', '/manufacturer/v1/devices'],
          ['POST', '/manufacturer/v1/devices/bulk'],
          ['GET', '/manufacturer/v1/fleet/summary'],
          ['POST', '/manufacturer/v1/groups'],
          ['GET', '/manufacturer/v1/audit'],
        ]) {
          expectError(
            await call(api.base, method!, path!, { ...(key ? { key } : {}), body: method === 'POST' ? {} : undefined }),
            401,
            'AUTH.API_KEY_INVALID',
          );
        }
      }
    });

    it('400 REQUEST.INVALID_BODY for unknown fields or bad values, and nothing changes', async () => {
      const t = await newTenant(api.base);
      const [device] = await seedDevices(db, await fleetOf(db, t.m, t.model.id), 1);
      const before = await db.device.findUniqueOrThrow({ where: { id: device! } });
      const audit = await db.auditLog.count({ where: { manufacturerId: t.m.id } });
      const bad: [string, string, unknown][] = [
        ['PATCH', `/manufacturer/v1/devices/${device}`, { tags: ['ok'], status: 'active' }],
        ['PATCH', `/manufacturer/v1/devices/${device}`, { timezone: 'Mars/Olympus' }],
        ['PATCH', `/manufacturer/v1/devices/${device}`, { policy: { maxItems: 2, priority: 1 } }],
        ['PATCH', `/manufacturer/v1/devices/${device}`, { policy: { hours: { from: 5, to: 5 } } }],
        ['PATCH', `/manufacturer/v1/devices/${device}`, {}],
        ['POST', '/manufacturer/v1/devices/bulk', { action: 'suspend' }],
        ['POST', '/manufacturer/v1/devices/bulk', { action: 'suspend', ids: [device], filter: {} }],
        ['POST', '/manufacturer/v1/devices/bulk', { action: 'explode', ids: [device] }],
        ['POST', '/manufacturer/v1/devices/bulk', { action: 'suspend', filter: { status: ['active'], colour: 'red' } }],
        ['POST', '/manufacturer/v1/devices/bulk', { action: 'tag', ids: [device] }],
        ['POST', '/manufacturer/v1/devices/bulk', { action: 'revoke', filter: { lastSeenBefore: '0000-01-01T00:00:00Z' } }],
        ['POST', '/manufacturer/v1/devices/bulk', { action: 'revoke', filter: { lastSeenBefore: 12 } }],
        ['POST', '/manufacturer/v1/devices/bulk', { action: 'suspend', ids: [device], force: true }],
        ['POST', '/manufacturer/v1/groups', { name: 'g', members: [device] }],
        ['POST', '/manufacturer/v1/api-keys', { role: 'owner' }],
        ['PATCH', `/manufacturer/v1/models/${t.model.id}`, { policy: { idleOnly: 'yes' } }],
      ];
      for (const [method, path, body] of bad) {
        expectError(await call(api.base, method, path, { key: t.m.apiKey, body }), 400, 'REQUEST.INVALID_BODY');
      }
      expectError(
        await t.api.post('/manufacturer/v1/devices/bulk', { action: 'suspend', ids: [device] }, { 'idempotency-key': 'has space' }),
        400,
        'REQUEST.INVALID_IDEMPOTENCY_KEY',
      );
      expect(await db.device.findUniqueOrThrow({ where: { id: device! } })).toEqual(before);
      expect(await db.auditLog.count({ where: { manufacturerId: t.m.id } })).toBe(audit);
      expect(await db.deviceGroup.count({ where: { manufacturerId: t.m.id } })).toBe(0);
    });
  });
});

// ---------------------------------------------------------------------------------------------

function currentHour(): Date {
  return new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
}

/** Heartbeats of one test must land in one hour: do not start within 3 s of an hour's end. */
async function awayFromHourEdge(): Promise<void> {
  const left = 3_600_000 - (Date.now() % 3_600_000);
  if (left < 3_000) await sleep(left + 100);
}

/** An assignment of `deviceId` with an outcome (null: still leased) on a unit decided at `decidedAt`. */
async function seedAssignment(
  db: PrismaService,
  deviceId: string,
  outcome: 'agreed' | 'disagreed' | 'canary_failed' | null,
  decidedAt: Date = new Date(),
  unitId?: string,
): Promise<string> {
  const id = unitId ?? newId();
  if (!unitId) {
    await db.workUnit.create({
      data: {
        id,
        kind: 'tx-verify',
        deviceClass: 'test',
        status: outcome === null ? 'open' : 'verified',
        quorum: 2,
        maxReplicas: 3,
        replicasIssued: 2,
        items: [],
        reward: '1000',
        decidedAt: outcome === null ? null : decidedAt,
      },
    });
  }
  await db.assignment.create({
    data: {
      id: newId(),
      unitId: id,
      deviceId,
      replica: 1,
      jobId: `job-${newId()}`,
      lockToken: 'token',
      deadline: new Date(Date.now() + 30_000),
      status: outcome === null ? 'leased' : 'submitted',
      outcome,
      ...(outcome === null ? {} : { verdicts: '1', submittedAt: new Date() }),
    },
  });
  return id;
}

/** A reward entry as verification posts it: pool debited, owner, manufacturer and operator shares credited. */
async function postReward(
  db: PrismaService,
  ledger: LedgerService,
  unitId: string,
  deviceId: string,
  manufacturerId: string,
  owner: bigint,
  maker: bigint,
  operator: bigint,
): Promise<void> {
  const total = owner + maker + operator;
  await db.$transaction((tx) =>
    ledger.post(tx, { idempotencyKey: `test-credit:${unitId}:${deviceId}`, kind: 'reward', memo: 'test reward', unitId }, [
      { account: 'rewards:pool', amount: -total, memo: 'issued' },
      { account: `device:${deviceId}`, amount: owner, memo: 'owner share' },
      { account: `manufacturer:${manufacturerId}`, amount: maker, memo: 'manufacturer share' },
      { account: 'operator', amount: operator, memo: 'operator share' },
    ]),
  );
}
