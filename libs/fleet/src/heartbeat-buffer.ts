import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, type Config } from '@idlemint/core';
import { FleetRepository, type HeartbeatTelemetry, type RollupDelta } from './fleet.repository.js';

const HOUR_MS = 3_600_000;
/** A flush starts early once this many devices wait (one multi-row statement each). */
const MAX_BATCH = 1_000;

export interface PendingHeartbeat {
  deviceId: string;
  firmware: string;
  telemetry: HeartbeatTelemetry;
  at: Date;
}

const stat = (d: RollupDelta, k: 'temp' | 'power' | 'load', v: number | undefined) => {
  if (v === undefined) return;
  d[`${k}Count`]++;
  d[`${k}Sum`] += v;
  d[`${k}Min`] = d[`${k}Min`] === null ? v : Math.min(d[`${k}Min`]!, v);
  d[`${k}Max`] = d[`${k}Max`] === null ? v : Math.max(d[`${k}Max`]!, v);
};

/**
 * Heartbeat telemetry, coalesced. It is not money: a heartbeat is answered once it is in this
 * process's buffer, and every `HEARTBEAT_FLUSH_MS` the buffer goes to PostgreSQL in two multi-row
 * statements (the latest state per device, the hourly rollups summed per device and hour) instead
 * of one statement per heartbeat. A crash loses at most that window of telemetry; shutdown flushes.
 * With `HEARTBEAT_FLUSH_MS=0` each heartbeat is written before it is answered (tests).
 */
@Injectable()
export class HeartbeatBuffer implements OnApplicationShutdown {
  private readonly log = new Logger(HeartbeatBuffer.name);
  private latest = new Map<string, PendingHeartbeat>();
  private rollups = new Map<string, RollupDelta>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly repo: FleetRepository,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async add(h: PendingHeartbeat): Promise<void> {
    this.merge(h);
    if (this.config.HEARTBEAT_FLUSH_MS === 0) return this.flush();
    if (this.latest.size >= MAX_BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.config.HEARTBEAT_FLUSH_MS);
  }

  private merge(h: PendingHeartbeat): void {
    const prev = this.latest.get(h.deviceId);
    if (!prev || prev.at <= h.at) this.latest.set(h.deviceId, h);
    const hour = new Date(Math.floor(h.at.getTime() / HOUR_MS) * HOUR_MS);
    const key = `${h.deviceId}:${hour.getTime()}`;
    let d = this.rollups.get(key);
    if (!d) {
      d = {
        deviceId: h.deviceId,
        hour,
        heartbeats: 0,
        idle: 0,
        tempCount: 0,
        tempSum: 0,
        tempMin: null,
        tempMax: null,
        powerCount: 0,
        powerSum: 0,
        powerMin: null,
        powerMax: null,
        loadCount: 0,
        loadSum: 0,
        loadMin: null,
        loadMax: null,
      };
      this.rollups.set(key, d);
    }
    d.heartbeats++;
    if (h.telemetry.idle) d.idle++;
    stat(d, 'temp', h.telemetry.tempC);
    stat(d, 'power', h.telemetry.powerW);
    stat(d, 'load', h.telemetry.loadPct);
  }

  /** Writes what is buffered; flushes run one after another so rollup sums never race themselves. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const latest = [...this.latest.values()];
    const rollups = [...this.rollups.values()];
    this.latest = new Map();
    this.rollups = new Map();
    const run = this.flushing.then(async () => {
      if (latest.length === 0) return;
      try {
        await this.repo.recordHeartbeats(latest, rollups);
      } catch (e) {
        this.log.warn(`heartbeat flush of ${latest.length} devices failed: ${(e as Error).message}`);
        if (this.config.HEARTBEAT_FLUSH_MS === 0) throw e;
      }
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush().catch(() => undefined);
  }
}
