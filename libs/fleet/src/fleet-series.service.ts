import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@idlemint/core';
import { SERIES_MAX_POINTS, type FleetSeriesQuery, type SeriesMetric } from '@idlemint/protocol';
import { FleetErrors } from './fleet.errors.js';
import { FleetRollupRepository, ROLLUP_SETTLE_MS, type RollupColumn } from './fleet-rollup.repository.js';
import type { ManufacturerPrincipal } from './tenants.service.js';

const MS = { hour: 3_600_000, day: 86_400_000 } as const;
const DEFAULT_SPAN = { hour: 24, day: 30 } as const;

const METRICS: Record<SeriesMetric, { column: RollupColumn; unit: 'count' | 'minor' }> = {
  heartbeats: { column: 'heartbeats', unit: 'count' },
  units_verified: { column: 'unitsVerified', unit: 'count' },
  results_agreed: { column: 'resultsAgreed', unit: 'count' },
  rewards_manufacturer: { column: 'rewardsManufacturer', unit: 'minor' },
  rewards_owners: { column: 'rewardsOwners', unit: 'minor' },
};

const floorTo = (d: Date, ms: number) => new Date(Math.floor(d.getTime() / ms) * ms);

/**
 * A fleet's metrics over time, from the hourly rollup (FleetHourlyRollup) that the worker keeps
 * with `rollUp`: a chart never scans raw assignments or postings.
 */
@Injectable()
export class FleetSeriesService {
  constructor(
    private readonly rollups: FleetRollupRepository,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** One incremental rollup pass up to `now` less the settle time; returns how far it read. */
  rollUp(now = new Date()) {
    return this.rollups.rollUp(new Date(now.getTime() - ROLLUP_SETTLE_MS));
  }

  /**
   * Every bucket of [from, to) in UTC, zero where nothing happened: counts as numbers, money as
   * decimal strings of minor units of `currency`. `through` says how far the rollup has read.
   */
  async series(p: ManufacturerPrincipal, q: FleetSeriesQuery, now = new Date()) {
    const size = MS[q.bucket];
    const to = q.to ?? new Date(floorTo(now, size).getTime() + size);
    const from = floorTo(q.from ?? new Date(to.getTime() - DEFAULT_SPAN[q.bucket] * size), size);
    const buckets = Math.ceil((to.getTime() - from.getTime()) / size);
    if (buckets > SERIES_MAX_POINTS) throw FleetErrors.seriesTooLong(SERIES_MAX_POINTS);
    const { column, unit } = METRICS[q.metric];
    const [rows, through] = await Promise.all([this.rollups.sums(p.manufacturerId, column, q.bucket, from, to), this.rollups.through()]);
    const byTime = new Map(rows.map((r) => [r.bucket.getTime(), r.value]));
    const points = Array.from({ length: buckets }, (_, i) => {
      const t = from.getTime() + i * size;
      const v = byTime.get(t) ?? '0';
      return { t: new Date(t).toISOString(), value: unit === 'count' ? Number(v) : v };
    });
    return {
      metric: q.metric,
      bucket: q.bucket,
      unit,
      ...(unit === 'minor' ? { currency: this.config.CURRENCY } : {}),
      from: from.toISOString(),
      to: to.toISOString(),
      through: through?.toISOString() ?? null,
      points,
    };
  }
}
