import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrismaService } from '@idlemint/core';
import { ed25519Generate } from '@idlemint/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, type RunningApi } from './support/api.js';
import { makeCertificate } from './support/certificates.js';
import { DeviceClient } from './support/device-client.js';
import { CLAIM, enroll, heartbeat, newTenant, queueUnit, type Client, startFleetApi, type FleetApi } from './support/fleet.js';

/**
 * Work policy per model, group and device, merged device > group > model > default; served on
 * enroll and heartbeat; honoured by claim (204 outside the local hours, when the last heartbeat
 * said busy or above the power budget, or when a unit is larger than maxItems), all from the
 * gateway's cached view of the device.
 */

type Assignment = { assignment: { unitId: string; items: unknown[] } };

describe('work policy', () => {
  let platform: FleetApi;
  let api: RunningApi;
  let db: PrismaService;

  beforeAll(async () => {
    platform = await startFleetApi('fleet_policy');
    ({ api, db } = platform);
  });

  afterAll(() => platform?.close());

  /** Hours [from, to) that include the current UTC hour with a margin, and ones that exclude it. */
  function windows(offsetH = 0) {
    const h = (new Date().getUTCHours() + offsetH + 24) % 24;
    return { inside: { from: (h + 23) % 24, to: (h + 2) % 24 || 24 }, outside: { from: (h + 3) % 24, to: (h + 5) % 24 || 24 } };
  }

  /** Claims until a replica comes (one given back is delayed ~250 ms). */
  async function claimWork(device: DeviceClient, tries = 10) {
    for (let i = 0; ; i++) {
      const r = await device.post<Assignment>(CLAIM, {});
      if (r.status !== 204 || i >= tries) return r;
      await sleep(100);
    }
  }

  /** Units carry 4 real items; the work lib plants up to 3 canaries more per assignment: 8 fits. */
  async function setup(batchSize = 8) {
    const t = await newTenant(api.base, { batchSize });
    const e = await enroll(api.base, t.m, t.model);
    return { ...t, ...e };
  }

  const devicePath = (id: string) => `/manufacturer/v1/devices/${id}`;
  const setDevicePolicy = (c: Client, id: string, policy: unknown) => c.patch(devicePath(id), { policy });

  it('device > group > model > default, field by field, on enroll, heartbeat and the device detail', async () => {
    const t = await setup(8);
    const model = await t.api.patch(`/manufacturer/v1/models/${t.model.id}`, {
      policy: { idleOnly: false, hours: { from: 6, to: 22 }, powerBudgetW: 10, maxItems: 6 },
    });
    expect(model.status).toBe(200);
    // Devices of the model get it on their next heartbeat.
    expect((await heartbeat(t.device)).body.policy).toEqual({ idleOnly: false, hours: { from: 6, to: 22 }, powerBudgetW: 10, maxItems: 6 });

    const group = await t.api.post('/manufacturer/v1/groups', { name: 'night', policy: { hours: { from: 22, to: 6 }, maxItems: 4 } });
    expect((await t.api.patch(devicePath(t.deviceId), { groupId: group.body.id })).status).toBe(200);
    expect((await heartbeat(t.device)).body.policy).toEqual({ idleOnly: false, hours: { from: 22, to: 6 }, powerBudgetW: 10, maxItems: 4 });

    expect((await setDevicePolicy(t.api, t.deviceId, { maxItems: 2, powerBudgetW: null })).status).toBe(200);
    const merged = { idleOnly: false, hours: { from: 22, to: 6 }, powerBudgetW: null, maxItems: 2 };
    expect((await heartbeat(t.device)).body.policy).toEqual(merged);
    const detail = (await t.api.get(devicePath(t.deviceId))).body;
    expect(detail.effectivePolicy).toEqual(merged);
    expect(detail.policyLayers).toEqual({
      model: { idleOnly: false, hours: { from: 6, to: 22 }, powerBudgetW: 10, maxItems: 6 },
      group: { hours: { from: 22, to: 6 }, maxItems: 4 },
      device: { maxItems: 2, powerBudgetW: null },
    });

    // Clearing the device's layer falls back to the group's; leaving the group to the model's.
    await setDevicePolicy(t.api, t.deviceId, null);
    expect((await heartbeat(t.device)).body.policy).toMatchObject({ maxItems: 4, powerBudgetW: 10 });
    await t.api.patch(devicePath(t.deviceId), { groupId: null });
    expect((await heartbeat(t.device)).body.policy).toEqual({ idleOnly: false, hours: { from: 6, to: 22 }, powerBudgetW: 10, maxItems: 6 });
    await t.api.patch(`/manufacturer/v1/models/${t.model.id}`, { policy: null });
    expect((await heartbeat(t.device)).body.policy).toEqual({
      idleOnly: true,
      hours: { from: 0, to: 24 },
      powerBudgetW: null,
      maxItems: 8,
    });
  });

  it('a device enrolling under a model with a policy gets it in the enroll answer', async () => {
    const t = await newTenant(api.base, { batchSize: 8 });
    await t.api.patch(`/manufacturer/v1/models/${t.model.id}`, { policy: { maxItems: 5, idleOnly: false } });
    const device = new DeviceClient(api.base, ed25519Generate());
    const r = await device.post('/device/v1/enroll', {
      certificate: makeCertificate(t.m.attestation, device.publicKey, { serial: `SN-${Date.now()}`, model: t.model.name }),
    });
    expect(r.status).toBe(201);
    expect(r.body.policy).toEqual({ idleOnly: false, hours: { from: 0, to: 24 }, powerBudgetW: null, maxItems: 5 });
  });

  it('claim answers 204 outside the local hours, and gives work inside them', async () => {
    const t = await setup();
    const unit = await queueUnit(api, db, t.model.deviceClass);
    await setDevicePolicy(t.api, t.deviceId, { hours: windows().outside });
    expect((await t.device.post(CLAIM, {})).status).toBe(204);
    expect(await db.assignment.count({ where: { unitId: unit } })).toBe(0);
    await setDevicePolicy(t.api, t.deviceId, { hours: windows().inside });
    const r = await claimWork(t.device);
    expect(r.status).toBe(200);
    expect(r.body.assignment.unitId).toBe(unit);
  });

  it('hours are read in the device time zone', async () => {
    const t = await setup();
    const unit = await queueUnit(api, db, t.model.deviceClass);
    // Kathmandu is UTC+05:45: a window around the UTC hour is outside there, and the reverse.
    await t.api.patch(devicePath(t.deviceId), { timezone: 'Asia/Kathmandu', policy: { hours: windows().inside } });
    expect((await t.device.post(CLAIM, {})).status).toBe(204);
    const nepal = Number(
      new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Kathmandu', hour: 'numeric', hourCycle: 'h23' }).format(new Date()),
    );
    const h = new Date().getUTCHours();
    await setDevicePolicy(t.api, t.deviceId, { hours: windows(nepal - h).inside });
    const r = await claimWork(t.device);
    expect(r.status).toBe(200);
    expect(r.body.assignment.unitId).toBe(unit);
  });

  it('idleOnly: no work after a heartbeat that said busy, work after one that said idle', async () => {
    const t = await setup();
    const unit = await queueUnit(api, db, t.model.deviceClass);
    expect((await heartbeat(t.device, { idle: false })).status).toBe(200);
    expect((await t.device.post(CLAIM, {})).status).toBe(204);
    // Not idleOnly: busy does not matter.
    await setDevicePolicy(t.api, t.deviceId, { idleOnly: false });
    await heartbeat(t.device, { idle: false });
    const r = await claimWork(t.device);
    expect(r.status).toBe(200);
    expect(r.body.assignment.unitId).toBe(unit);

    const u2 = await queueUnit(api, db, t.model.deviceClass);
    await setDevicePolicy(t.api, t.deviceId, null);
    await heartbeat(t.device, { idle: false });
    expect((await t.device.post(CLAIM, {})).status).toBe(204);
    await heartbeat(t.device, { idle: true });
    const r2 = await claimWork(t.device);
    expect(r2.status).toBe(200);
    expect(r2.body.assignment.unitId).toBe(u2);
  });

  it('power budget: no work while the last heartbeat drew more than the budget', async () => {
    const t = await setup();
    const unit = await queueUnit(api, db, t.model.deviceClass);
    const group = await t.api.post('/manufacturer/v1/groups', { name: 'solar', policy: { powerBudgetW: 5 } });
    await t.api.patch(devicePath(t.deviceId), { groupId: group.body.id });
    await heartbeat(t.device, { metrics: { powerW: 8 } });
    expect((await t.device.post(CLAIM, {})).status).toBe(204);
    await heartbeat(t.device, { metrics: { powerW: 4.5 } });
    const r = await claimWork(t.device);
    expect(r.status).toBe(200);
    expect(r.body.assignment.unitId).toBe(unit);
  });

  it('maxItems caps the claim: a unit larger than the policy allows is left for others', async () => {
    const t = await setup(8);
    const other = await enroll(api.base, t.m, t.model);
    const unit = await queueUnit(api, db, t.model.deviceClass, { items: 4 });
    // 4 real items and the canaries planted for a new device: more than 4 in all.
    await setDevicePolicy(t.api, t.deviceId, { maxItems: 4 });
    // The device's own maxItems may only lower it further, never raise it.
    expect((await t.device.post(CLAIM, { maxItems: 64 })).status).toBe(204);
    expect(await db.assignment.count({ where: { unitId: unit } })).toBe(0);
    const r = await claimWork(other.device);
    expect(r.status).toBe(200);
    expect(r.body.assignment.unitId).toBe(unit);
    expect(r.body.assignment.items.length).toBeGreaterThan(4);
    expect(r.body.assignment.items.length).toBeLessThanOrEqual(8);
  });

  it('a model policy reaches its devices without touching them', async () => {
    const t = await setup();
    const second = await createModel(api.base, t.m.apiKey);
    await queueUnit(api, db, t.model.deviceClass);
    await t.api.patch(`/manufacturer/v1/models/${t.model.id}`, { policy: { hours: windows().outside } });
    expect((await t.device.post(CLAIM, {})).status).toBe(204);
    // Another model's policy does not apply to it.
    await t.api.patch(`/manufacturer/v1/models/${second.id}`, { policy: { hours: windows().inside } });
    expect((await t.device.post(CLAIM, {})).status).toBe(204);
    await t.api.patch(`/manufacturer/v1/models/${t.model.id}`, { policy: null });
    expect((await claimWork(t.device)).status).toBe(200);
  });
});
