import { Injectable } from '@nestjs/common';
import { PrismaService } from '@idlemint/core';

/** The rollup's name in RollupWatermark. */
const WATERMARK = 'fleet-hourly';
/**
 * Rows are counted once they are this old: a transaction stamps its rows when it starts and
 * commits a little later, so reading right up to `now` could pass over a row not yet committed.
 */
export const ROLLUP_SETTLE_MS = 30_000;

/** A pass that catches up after a long pause may take a while; it holds no lock others wait on but the watermark's. */
const ROLLUP_TX = { maxWait: 10_000, timeout: 120_000 };

export type RollupColumn = 'heartbeats' | 'unitsVerified' | 'resultsAgreed' | 'rewardsManufacturer' | 'rewardsOwners';
export interface RollupBucket {
  bucket: Date;
  value: string;
}

/**
 * The only writer of FleetHourlyRollup and RollupWatermark. It reads the work (WorkUnit,
 * Assignment), ledger (Posting, JournalEntry, LedgerAccount) and telemetry tables, never writes them.
 */
@Injectable()
export class FleetRollupRepository {
  constructor(private readonly db: PrismaService) {}

  /**
   * One incremental pass, in one transaction under the watermark's row lock (so N workers never
   * count a row twice): adds the units verified and reward credits stamped after the watermark
   * and up to `upTo`, recomputes the heartbeats of every hour from the watermark's hour on (a
   * TelemetryRollup row grows in place), then moves the watermark to `upTo`.
   */
  rollUp(upTo: Date): Promise<{ from: Date; through: Date }> {
    return this.db.$transaction(async (tx) => {
      await tx.$executeRaw`INSERT INTO "RollupWatermark" ("name", "through") VALUES (${WATERMARK}, 'epoch'::timestamp) ON CONFLICT DO NOTHING`;
      const [w] = await tx.$queryRaw<{ through: Date }[]>`SELECT "through" FROM "RollupWatermark" WHERE "name" = ${WATERMARK} FOR UPDATE`;
      const from = w!.through;
      if (upTo <= from) return { from, through: from };
      await tx.$executeRaw`
        INSERT INTO "FleetHourlyRollup" ("manufacturerId", "hour", "unitsVerified", "resultsAgreed")
        SELECT d."manufacturerId", date_trunc('hour', u."decidedAt"), COUNT(DISTINCT a."unitId")::int, COUNT(*)::int
          FROM "WorkUnit" u
          JOIN "Assignment" a ON a."unitId" = u."id" AND a."outcome" = 'agreed'
          JOIN "Device" d ON d."id" = a."deviceId"
         WHERE u."status" = 'verified' AND u."decidedAt" > ${from}::timestamp AND u."decidedAt" <= ${upTo}::timestamp
         GROUP BY 1, 2
        ON CONFLICT ("manufacturerId", "hour") DO UPDATE
          SET "unitsVerified" = "FleetHourlyRollup"."unitsVerified" + EXCLUDED."unitsVerified",
              "resultsAgreed" = "FleetHourlyRollup"."resultsAgreed" + EXCLUDED."resultsAgreed"`;
      await tx.$executeRaw`
        INSERT INTO "FleetHourlyRollup" ("manufacturerId", "hour", "rewardsManufacturer", "rewardsOwners")
        SELECT r."manufacturerId", r."hour", r."manufacturer", r."owners" FROM (
          SELECT COALESCE(dv."manufacturerId", substring(a."code" from 14)) AS "manufacturerId",
                 date_trunc('hour', p."createdAt") AS "hour",
                 COALESCE(SUM(p."amount") FILTER (WHERE a."code" LIKE 'manufacturer:%'), 0) AS "manufacturer",
                 COALESCE(SUM(p."amount") FILTER (WHERE a."code" LIKE 'device:%'), 0) AS "owners"
            FROM "Posting" p
            JOIN "JournalEntry" e ON e."id" = p."entryId" AND e."kind" = 'reward'
            JOIN "LedgerAccount" a ON a."id" = p."accountId"
            LEFT JOIN "Device" dv ON a."code" LIKE 'device:%' AND dv."id" = substring(a."code" from 8)
           WHERE p."createdAt" > ${from}::timestamp AND p."createdAt" <= ${upTo}::timestamp AND p."amount" > 0
             AND (a."code" LIKE 'manufacturer:%' OR a."code" LIKE 'device:%')
           GROUP BY 1, 2) r
         WHERE r."manufacturerId" IS NOT NULL
        ON CONFLICT ("manufacturerId", "hour") DO UPDATE
          SET "rewardsManufacturer" = "FleetHourlyRollup"."rewardsManufacturer" + EXCLUDED."rewardsManufacturer",
              "rewardsOwners" = "FleetHourlyRollup"."rewardsOwners" + EXCLUDED."rewardsOwners"`;
      await tx.$executeRaw`
        INSERT INTO "FleetHourlyRollup" ("manufacturerId", "hour", "heartbeats")
        SELECT "manufacturerId", "hour", SUM("heartbeats")::int FROM "TelemetryRollup"
         WHERE "hour" >= date_trunc('hour', ${from}::timestamp)
         GROUP BY 1, 2
        ON CONFLICT ("manufacturerId", "hour") DO UPDATE SET "heartbeats" = EXCLUDED."heartbeats"`;
      await tx.$executeRaw`UPDATE "RollupWatermark" SET "through" = ${upTo}::timestamp WHERE "name" = ${WATERMARK}`;
      return { from, through: upTo };
    }, ROLLUP_TX);
  }

  /** Where the rollup has read up to (null before its first pass). */
  async through(): Promise<Date | null> {
    const rows = await this.db.$queryRaw<{ through: Date }[]>`SELECT "through" FROM "RollupWatermark" WHERE "name" = ${WATERMARK}`;
    return rows[0]?.through ?? null;
  }

  /** One column of a manufacturer's rollup summed per `unit` bucket, over [from, to); buckets without rows left out. */
  sums(manufacturerId: string, column: RollupColumn, unit: 'hour' | 'day', from: Date, to: Date): Promise<RollupBucket[]> {
    return this.db.$queryRawUnsafe<RollupBucket[]>(
      `SELECT date_trunc('${unit === 'day' ? 'day' : 'hour'}', "hour") AS "bucket", SUM("${COLUMNS[column]}")::text AS "value"
         FROM "FleetHourlyRollup"
        WHERE "manufacturerId" = $1 AND "hour" >= $2::timestamp AND "hour" < $3::timestamp
        GROUP BY 1 ORDER BY 1`,
      manufacturerId,
      from,
      to,
    );
  }
}

/** Column names by key: the only strings interpolated into `sums`' SQL. */
const COLUMNS: Record<RollupColumn, string> = {
  heartbeats: 'heartbeats',
  unitsVerified: 'unitsVerified',
  resultsAgreed: 'resultsAgreed',
  rewardsManufacturer: 'rewardsManufacturer',
  rewardsOwners: 'rewardsOwners',
};
