import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigModule, DbModule, PrismaService, RedisModule } from '@idlemint/core';
import { dropRedisKeys, redisPatterns, scratchDatabase, testConfig } from '../../../test/support/scratch.js';
import { createDevice, createFleet, createOwner } from '../../../test/support/work.js';
import { FleetModule } from './fleet.module.js';
import { HeartbeatBuffer } from './heartbeat-buffer.js';

/**
 * Coalesced heartbeats: nothing is written until the buffer flushes, then the device row holds the
 * latest state and each (device, hour) rollup the sums of every heartbeat, across flushes.
 */
describe('HeartbeatBuffer', () => {
  let mod: TestingModule;
  let db: PrismaService;
  let buffer: HeartbeatBuffer;
  let drop: () => Promise<void>;
  let patterns: string[];

  beforeAll(async () => {
    const scratch = await scratchDatabase('heartbeats');
    drop = scratch.drop;
    // A flush interval far beyond the test: only explicit flushes write.
    const config = testConfig(scratch.url, { HEARTBEAT_FLUSH_MS: '600000' });
    patterns = redisPatterns(config);
    mod = await Test.createTestingModule({ imports: [ConfigModule.forRoot(config), DbModule, RedisModule, FleetModule] }).compile();
    await mod.init();
    db = mod.get(PrismaService);
    buffer = mod.get(HeartbeatBuffer);
  });

  afterAll(async () => {
    await mod?.close();
    await dropRedisKeys(patterns);
    await drop?.();
  });

  it('writes the latest state per device and summed rollups per hour, in one flush, adding up across flushes', async () => {
    const fleet = await createFleet(db);
    const a = await createDevice(db, fleet, await createOwner(db));
    const b = await createDevice(db, fleet, null);
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const at = (s: number) => new Date(hour.getTime() + s * 1000);
    await buffer.add({ deviceId: a.id, firmware: '1.0', telemetry: { idle: true, uptimeS: 1, tempC: 30, powerW: 2 }, at: at(1) });
    await buffer.add({ deviceId: a.id, firmware: '1.1', telemetry: { idle: false, uptimeS: 2, tempC: 40 }, at: at(2) });
    await buffer.add({ deviceId: b.id, firmware: '9.0', telemetry: { idle: true, uptimeS: 5 }, at: at(3) });
    expect(await db.telemetryRollup.count({ where: { manufacturerId: fleet.manufacturerId } })).toBe(0);
    expect((await db.device.findUniqueOrThrow({ where: { id: a.id } })).lastSeenAt).toBeNull();

    await buffer.flush();
    const rowA = await db.device.findUniqueOrThrow({ where: { id: a.id } });
    expect(rowA).toMatchObject({ firmware: '1.1', telemetry: { idle: false, uptimeS: 2, tempC: 40 }, lastSeenAt: at(2) });
    expect(await db.telemetryRollup.findUnique({ where: { deviceId_hour: { deviceId: a.id, hour } } })).toMatchObject({
      heartbeats: 2,
      idle: 1,
      tempCount: 2,
      tempSum: 70,
      tempMin: 30,
      tempMax: 40,
      powerCount: 1,
      powerSum: 2,
      loadCount: 0,
      loadMin: null,
    });

    await buffer.add({ deviceId: a.id, firmware: '1.1', telemetry: { idle: true, uptimeS: 3, tempC: 20, loadPct: 50 }, at: at(4) });
    await buffer.flush();
    expect(await db.telemetryRollup.findUnique({ where: { deviceId_hour: { deviceId: a.id, hour } } })).toMatchObject({
      heartbeats: 3,
      idle: 2,
      tempCount: 3,
      tempSum: 90,
      tempMin: 20,
      tempMax: 40,
      loadCount: 1,
      loadMax: 50,
    });
    expect(await db.telemetryRollup.findUnique({ where: { deviceId_hour: { deviceId: b.id, hour } } })).toMatchObject({
      heartbeats: 1,
      idle: 1,
    });
  });
});
