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

const HOUR_MS = 3_600_000;

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
   * The latest state on the device row and this hour's rollup, in one statement: the rollup row is
   * the device's own (device, hour), so heartbeats of a large fleet never queue on one hot row.
   */
  async recordHeartbeat(deviceId: string, firmware: string, t: HeartbeatTelemetry, at = new Date()): Promise<void> {
    const hour = new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
    const temp = t.tempC ?? null;
    const power = t.powerW ?? null;
    const load = t.loadPct ?? null;
    await this.db.$executeRaw`
      WITH d AS (
        UPDATE "Device" SET "lastSeenAt" = ${at}::timestamp, "firmware" = ${firmware}, "telemetry" = ${JSON.stringify(t)}::jsonb
         WHERE "id" = ${deviceId} RETURNING "id", "manufacturerId"
      )
      INSERT INTO "TelemetryRollup" AS r ("deviceId", "hour", "manufacturerId", "heartbeats", "idle",
             "tempCount", "tempSum", "tempMin", "tempMax", "powerCount", "powerSum", "powerMin", "powerMax",
             "loadCount", "loadSum", "loadMin", "loadMax")
      SELECT d."id", ${hour}::timestamp, d."manufacturerId", 1, ${t.idle ? 1 : 0},
             ${temp === null ? 0 : 1}, COALESCE(${temp}::float8, 0), ${temp}::float8, ${temp}::float8,
             ${power === null ? 0 : 1}, COALESCE(${power}::float8, 0), ${power}::float8, ${power}::float8,
             ${load === null ? 0 : 1}, COALESCE(${load}::float8, 0), ${load}::float8, ${load}::float8
        FROM d
      ON CONFLICT ("deviceId", "hour") DO UPDATE SET
             "heartbeats" = r."heartbeats" + 1,
             "idle" = r."idle" + EXCLUDED."idle",
             "tempCount" = r."tempCount" + EXCLUDED."tempCount", "tempSum" = r."tempSum" + EXCLUDED."tempSum",
             "tempMin" = LEAST(r."tempMin", EXCLUDED."tempMin"), "tempMax" = GREATEST(r."tempMax", EXCLUDED."tempMax"),
             "powerCount" = r."powerCount" + EXCLUDED."powerCount", "powerSum" = r."powerSum" + EXCLUDED."powerSum",
             "powerMin" = LEAST(r."powerMin", EXCLUDED."powerMin"), "powerMax" = GREATEST(r."powerMax", EXCLUDED."powerMax"),
             "loadCount" = r."loadCount" + EXCLUDED."loadCount", "loadSum" = r."loadSum" + EXCLUDED."loadSum",
             "loadMin" = LEAST(r."loadMin", EXCLUDED."loadMin"), "loadMax" = GREATEST(r."loadMax", EXCLUDED."loadMax")`;
  }
}
