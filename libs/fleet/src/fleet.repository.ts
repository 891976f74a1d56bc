import { Injectable } from '@nestjs/common';
import { PrismaService, type Prisma } from '@idlemint/core';
import type { WorkPolicy } from '@idlemint/protocol';
import { FleetErrors } from './fleet.errors.js';
import { mergePolicy, readOverride } from './policy.js';

/** What the gateway needs to know about a device on every request (cached, see DevicesService). */
export interface DeviceContext {
  id: string;
  publicKey: string;
  status: 'active' | 'suspended' | 'quarantined' | 'revoked';
  manufacturerId: string;
  /** False once the operator suspended the manufacturer: its devices get no work. */
  manufacturerActive: boolean;
  ownerId: string | null;
  model: { id: string; name: string; deviceClass: string; batchSize: number };
  claimCode: string;
  timezone: string;
  /** The merged work policy (device > group > model > default). */
  policy: WorkPolicy;
  /** From the latest heartbeat. */
  live: { idle: boolean | null; powerW: number | null };
}

/** One (device, hour) rollup's increments from a batch of heartbeats. */
export interface RollupDelta {
  deviceId: string;
  hour: Date;
  heartbeats: number;
  idle: number;
  tempCount: number;
  tempSum: number;
  tempMin: number | null;
  tempMax: number | null;
  powerCount: number;
  powerSum: number;
  powerMin: number | null;
  powerMax: number | null;
  loadCount: number;
  loadSum: number;
  loadMin: number | null;
  loadMax: number | null;
}

export interface HeartbeatTelemetry {
  idle: boolean;
  uptimeS: number;
  tempC?: number;
  powerW?: number;
  loadPct?: number;
}

interface ContextRow {
  id: string;
  publicKey: string;
  status: DeviceContext['status'];
  manufacturerId: string;
  manufacturerActive: boolean;
  ownerId: string | null;
  claimCode: string;
  timezone: string;
  telemetry: Prisma.JsonValue;
  devicePolicy: Prisma.JsonValue;
  groupPolicy: Prisma.JsonValue;
  modelPolicy: Prisma.JsonValue;
  modelId: string;
  modelName: string;
  deviceClass: string;
  batchSize: number;
}

/** The latest idle flag and power draw a heartbeat stored. */
export function liveOf(telemetry: unknown): DeviceContext['live'] {
  const t = (typeof telemetry === 'object' && telemetry !== null ? telemetry : {}) as Record<string, unknown>;
  return {
    idle: typeof t.idle === 'boolean' ? t.idle : null,
    powerW: typeof t.powerW === 'number' ? t.powerW : null,
  };
}

/** The only place that reads and writes the device tables on the device request path. */
@Injectable()
export class FleetRepository {
  constructor(private readonly db: PrismaService) {}

  /** Device, model, group and manufacturer in one round trip. */
  async deviceContextByKey(publicKey: string): Promise<DeviceContext | null> {
    const rows = await this.db.$queryRaw<ContextRow[]>`
      SELECT d."id", d."publicKey", d."status"::text AS "status", d."manufacturerId", (mf."status" = 'active') AS "manufacturerActive",
             d."ownerId", d."claimCode", d."timezone", d."telemetry", d."policy" AS "devicePolicy", g."policy" AS "groupPolicy",
             m."policy" AS "modelPolicy", m."id" AS "modelId", m."name" AS "modelName", m."deviceClass", m."batchSize"
        FROM "Device" d
        JOIN "DeviceModel" m ON m."id" = d."modelId"
        JOIN "Manufacturer" mf ON mf."id" = d."manufacturerId"
        LEFT JOIN "DeviceGroup" g ON g."id" = d."groupId"
       WHERE d."publicKey" = ${publicKey}`;
    const r = rows[0];
    if (!r) return null;
    return {
      id: r.id,
      publicKey: r.publicKey,
      status: r.status,
      manufacturerId: r.manufacturerId,
      manufacturerActive: r.manufacturerActive,
      ownerId: r.ownerId,
      claimCode: r.claimCode,
      timezone: r.timezone,
      model: { id: r.modelId, name: r.modelName, deviceClass: r.deviceClass, batchSize: r.batchSize },
      policy: mergePolicy(r.batchSize, {
        model: readOverride(r.modelPolicy),
        group: readOverride(r.groupPolicy),
        device: readOverride(r.devicePolicy),
      }),
      live: liveOf(r.telemetry),
    };
  }

  attestationKey(publicKey: string) {
    return this.db.attestationKey.findUnique({ where: { publicKey } });
  }

  /** Model names are unique per manufacturer: the name is looked up under the attestation key's maker. */
  modelByName(manufacturerId: string, name: string) {
    return this.db.deviceModel.findUnique({ where: { manufacturerId_name: { manufacturerId, name } } });
  }

  /** Whether any manufacturer has a model of this name (tells a mismatched key from an unknown model). */
  async modelNameExists(name: string): Promise<boolean> {
    return (await this.db.deviceModel.count({ where: { name } })) > 0;
  }

  manufacturer(id: string) {
    return this.db.manufacturer.findUnique({ where: { id } });
  }

  /** Serials are unique per manufacturer, so no tenant can squat another maker's serials. */
  deviceBySerial(manufacturerId: string, serial: string) {
    return this.db.device.findUnique({ where: { manufacturerId_serial: { manufacturerId, serial } } });
  }

  /**
   * Creates the device while holding its attestation key (FOR SHARE): a revocation of the key
   * either waits for this enrollment (and then revokes the new device too) or wins, and then the
   * enrollment is refused. Either way no active device is left under a revoked key.
   */
  createDevice(data: Prisma.DeviceUncheckedCreateInput & { attestationKeyId: string }) {
    return this.db.$transaction(async (tx) => {
      const key = await tx.$queryRaw<{ id: string }[]>`
        SELECT "id" FROM "AttestationKey" WHERE "id" = ${data.attestationKeyId} AND "revokedAt" IS NULL FOR SHARE`;
      if (!key[0]) throw FleetErrors.attestationKeyRevoked();
      return tx.device.create({ data });
    });
  }

  /**
   * A batch of coalesced heartbeats (HeartbeatBuffer): the latest state of each device and the sums
   * of each (device, hour) rollup, in one transaction of two multi-row statements. Device rows are
   * locked in id order first, the order verdicts lock them in, so a flush and a verdict never deadlock.
   */
  async recordHeartbeats(
    latest: { deviceId: string; firmware: string; telemetry: HeartbeatTelemetry; at: Date }[],
    rollups: RollupDelta[],
  ) {
    const ids = latest.map((h) => h.deviceId).sort();
    const byId = new Map(latest.map((h) => [h.deviceId, h]));
    const rows = ids.map((id) => byId.get(id)!);
    const r = [...rollups].sort((a, b) =>
      a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.hour.getTime() - b.hour.getTime(),
    );
    const col = <K extends keyof RollupDelta>(k: K) => r.map((x) => x[k]);
    await this.db.$transaction([
      this.db.$queryRaw`SELECT 1 FROM "Device" WHERE "id" = ANY(${ids}::text[]) ORDER BY "id" FOR NO KEY UPDATE`,
      this.db.$executeRaw`
        UPDATE "Device" d SET "lastSeenAt" = v.at AT TIME ZONE 'UTC', "firmware" = v.firmware, "telemetry" = v.telemetry
          FROM unnest(${ids}::text[], ${rows.map((h) => h.at.toISOString())}::timestamptz[], ${rows.map((h) => h.firmware)}::text[],
                      ${rows.map((h) => JSON.stringify(h.telemetry))}::jsonb[]) AS v(id, at, firmware, telemetry)
         WHERE d."id" = v.id`,
      this.db.$executeRaw`
        INSERT INTO "TelemetryRollup" AS r ("deviceId", "hour", "manufacturerId", "heartbeats", "idle",
               "tempCount", "tempSum", "tempMin", "tempMax", "powerCount", "powerSum", "powerMin", "powerMax",
               "loadCount", "loadSum", "loadMin", "loadMax")
        SELECT v.* FROM (
          SELECT u.device_id, u.hour AT TIME ZONE 'UTC', d."manufacturerId", u.hb, u.idle, u.tc, u.ts, u.tmin, u.tmax,
                 u.pc, u.ps, u.pmin, u.pmax, u.lc, u.ls, u.lmin, u.lmax
            FROM unnest(${col('deviceId')}::text[], ${r.map((x) => x.hour.toISOString())}::timestamptz[], ${col('heartbeats')}::int[],
                        ${col('idle')}::int[], ${col('tempCount')}::int[], ${col('tempSum')}::float8[], ${col('tempMin')}::float8[],
                        ${col('tempMax')}::float8[], ${col('powerCount')}::int[], ${col('powerSum')}::float8[], ${col('powerMin')}::float8[],
                        ${col('powerMax')}::float8[], ${col('loadCount')}::int[], ${col('loadSum')}::float8[], ${col('loadMin')}::float8[],
                        ${col('loadMax')}::float8[])
                 AS u(device_id, hour, hb, idle, tc, ts, tmin, tmax, pc, ps, pmin, pmax, lc, ls, lmin, lmax)
            JOIN "Device" d ON d."id" = u.device_id) v
        ON CONFLICT ("deviceId", "hour") DO UPDATE SET
               "heartbeats" = r."heartbeats" + EXCLUDED."heartbeats",
               "idle" = r."idle" + EXCLUDED."idle",
               "tempCount" = r."tempCount" + EXCLUDED."tempCount", "tempSum" = r."tempSum" + EXCLUDED."tempSum",
               "tempMin" = LEAST(r."tempMin", EXCLUDED."tempMin"), "tempMax" = GREATEST(r."tempMax", EXCLUDED."tempMax"),
               "powerCount" = r."powerCount" + EXCLUDED."powerCount", "powerSum" = r."powerSum" + EXCLUDED."powerSum",
               "powerMin" = LEAST(r."powerMin", EXCLUDED."powerMin"), "powerMax" = GREATEST(r."powerMax", EXCLUDED."powerMax"),
               "loadCount" = r."loadCount" + EXCLUDED."loadCount", "loadSum" = r."loadSum" + EXCLUDED."loadSum",
               "loadMin" = LEAST(r."loadMin", EXCLUDED."loadMin"), "loadMax" = GREATEST(r."loadMax", EXCLUDED."loadMax")`,
    ]);
  }
}
