import { Injectable } from '@nestjs/common';
import { PrismaService } from '@idlemint/core';

export interface WorkStats {
  claimed: number;
  done: number;
  verified: number;
  rejected: number;
  canaryStrikes: number;
  pending: number;
  expired: number;
}

export interface TelemetryHour {
  hour: Date;
  heartbeats: number;
  idle: number;
  tempAvg: number | null;
  tempMin: number | null;
  tempMax: number | null;
  powerAvg: number | null;
  powerMin: number | null;
  powerMax: number | null;
  loadAvg: number | null;
  loadMin: number | null;
  loadMax: number | null;
}

export interface FleetCountRow {
  status: string;
  modelId: string;
  model: string;
  firmware: string | null;
  devices: number;
  online: number;
}

const TELEMETRY_COLUMNS = `
  SUM("heartbeats")::int AS "heartbeats", SUM("idle")::int AS "idle",
  SUM("tempSum") / NULLIF(SUM("tempCount"), 0) AS "tempAvg", MIN("tempMin") AS "tempMin", MAX("tempMax") AS "tempMax",
  SUM("powerSum") / NULLIF(SUM("powerCount"), 0) AS "powerAvg", MIN("powerMin") AS "powerMin", MAX("powerMax") AS "powerMax",
  SUM("loadSum") / NULLIF(SUM("loadCount"), 0) AS "loadAvg", MIN("loadMin") AS "loadMin", MAX("loadMax") AS "loadMax"`;

/**
 * Read model of a fleet for the manufacturer API: counts, telemetry rollups, and what its devices
 * did and earned. It reads the work (Assignment, WorkUnit) and ledger (Posting, LedgerAccount,
 * JournalEntry) tables but never writes them; those libs own the writes.
 */
@Injectable()
export class FleetInsightsRepository {
  constructor(private readonly db: PrismaService) {}

  async workStats(deviceId: string): Promise<WorkStats> {
    const rows = await this.db.$queryRaw<WorkStats[]>`
      SELECT COUNT(*)::int AS "claimed",
             (COUNT(*) FILTER (WHERE "status" = 'submitted'))::int AS "done",
             (COUNT(*) FILTER (WHERE "outcome" = 'agreed'))::int AS "verified",
             (COUNT(*) FILTER (WHERE "outcome" = 'disagreed'))::int AS "rejected",
             (COUNT(*) FILTER (WHERE "outcome" = 'canary_failed'))::int AS "canaryStrikes",
             (COUNT(*) FILTER (WHERE "status" = 'submitted' AND "outcome" IS NULL))::int AS "pending",
             (COUNT(*) FILTER (WHERE "status" = 'expired'))::int AS "expired"
        FROM "Assignment" WHERE "deviceId" = ${deviceId}`;
    return rows[0]!;
  }

  deviceTelemetry(deviceId: string, since: Date): Promise<TelemetryHour[]> {
    return this.db.$queryRawUnsafe<TelemetryHour[]>(
      `SELECT "hour", ${TELEMETRY_COLUMNS} FROM "TelemetryRollup" WHERE "deviceId" = $1 AND "hour" >= $2::timestamp GROUP BY "hour" ORDER BY "hour"`,
      deviceId,
      since,
    );
  }

  fleetTelemetry(manufacturerId: string, since: Date): Promise<TelemetryHour[]> {
    return this.db.$queryRawUnsafe<TelemetryHour[]>(
      `SELECT "hour", ${TELEMETRY_COLUMNS} FROM "TelemetryRollup" WHERE "manufacturerId" = $1 AND "hour" >= $2::timestamp GROUP BY "hour" ORDER BY "hour"`,
      manufacturerId,
      since,
    );
  }

  fleetCounts(manufacturerId: string, onlineSince: Date): Promise<FleetCountRow[]> {
    return this.db.$queryRaw<FleetCountRow[]>`
      SELECT d."status"::text AS "status", d."modelId", m."name" AS "model", d."firmware", COUNT(*)::int AS "devices",
             (COUNT(*) FILTER (WHERE d."lastSeenAt" >= ${onlineSince}::timestamp))::int AS "online"
        FROM "Device" d JOIN "DeviceModel" m ON m."id" = d."modelId"
       WHERE d."manufacturerId" = ${manufacturerId}
       GROUP BY 1, 2, 3, 4`;
  }

  /** Units verified with an agreeing device of this manufacturer, per hour the unit was decided. */
  verifiedPerHour(manufacturerId: string, since: Date): Promise<{ hour: Date; units: number; results: number }[]> {
    return this.db.$queryRaw`
      SELECT date_trunc('hour', u."decidedAt") AS "hour", COUNT(DISTINCT a."unitId")::int AS "units", COUNT(*)::int AS "results"
        FROM "Assignment" a
        JOIN "WorkUnit" u ON u."id" = a."unitId"
        JOIN "Device" d ON d."id" = a."deviceId"
       WHERE d."manufacturerId" = ${manufacturerId} AND a."outcome" = 'agreed' AND u."decidedAt" >= ${since}::timestamp
       GROUP BY 1 ORDER BY 1`;
  }

  /**
   * Reward credits per hour to this manufacturer's account (`manufacturer:<id>`) and to its
   * devices' accounts (`device:<id>`, the owners' shares), as decimal strings of minor units.
   */
  earningsPerHour(manufacturerId: string, since: Date): Promise<{ hour: Date; manufacturer: string; devices: string }[]> {
    const own = `manufacturer:${manufacturerId}`;
    return this.db.$queryRaw`
      SELECT date_trunc('hour', p."createdAt") AS "hour",
             COALESCE(SUM(p."amount") FILTER (WHERE a."code" = ${own}), 0)::text AS "manufacturer",
             COALESCE(SUM(p."amount") FILTER (WHERE a."code" <> ${own}), 0)::text AS "devices"
        FROM "Posting" p
        JOIN "LedgerAccount" a ON a."id" = p."accountId"
        JOIN "JournalEntry" e ON e."id" = p."entryId"
       WHERE p."createdAt" >= ${since}::timestamp AND p."amount" > 0 AND e."kind" = 'reward'
         AND (a."code" = ${own} OR a."code" IN (SELECT 'device:' || dv."id" FROM "Device" dv WHERE dv."manufacturerId" = ${manufacturerId}))
       GROUP BY 1 ORDER BY 1`;
  }
}
