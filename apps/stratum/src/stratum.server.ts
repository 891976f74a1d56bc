import { createServer, type Server } from 'node:net';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CONFIG, REDIS, type Config } from '@idlemint/core';
import { HashJobsService, SharesService, StratumCredentialsService, type SubmitOutcome } from '@idlemint/shares';
import { StratumSession, type SessionHost } from './stratum-session.js';

const JOB_POLL_MS = 250;
const VARDIFF_TICK_MS = 5_000;

export interface StratumStats {
  connections: number;
  accepted: number;
  rejected: number;
  blocks: number;
}

/**
 * The Stratum v1 gateway: a TCP server whose sessions share the hash-share services. It holds no
 * state another process needs (extranonce1 comes from one Redis counter, jobs and shares from
 * Postgres), so any number of gateways can run side by side. It pushes a new job to every
 * authorized session when the current one changes, and drops sessions whose device or credential
 * no longer holds.
 */
@Injectable()
export class StratumServer implements OnApplicationBootstrap, OnApplicationShutdown, SessionHost {
  private readonly log = new Logger('stratum');
  private server?: Server;
  private readonly sessions = new Set<StratumSession>();
  private timers: NodeJS.Timeout[] = [];
  private lastJob: string | null = null;
  readonly stats: StratumStats = { connections: 0, accepted: 0, rejected: 0, blocks: 0 };
  readonly limits: SessionHost['limits'];

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly shares: SharesService,
    private readonly jobs: HashJobsService,
    private readonly creds: StratumCredentialsService,
  ) {
    this.limits = {
      maxLine: config.STRATUM_MAX_LINE,
      maxPerMinute: config.STRATUM_MAX_MSG_PER_MIN,
      authTimeoutMs: config.STRATUM_AUTH_TIMEOUT_MS,
    };
  }

  get vardiff() {
    return this.shares.vardiff;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.server = createServer((socket) => {
      const session = new StratumSession(socket, this);
      this.sessions.add(session);
      this.stats.connections = this.sessions.size;
    });
    this.server.maxConnections = 100_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.config.STRATUM_PORT, this.config.STRATUM_HOST, () => resolve());
    });
    this.every(JOB_POLL_MS, () => this.broadcastJob());
    this.every(this.config.STRATUM_RECHECK_MS, () => this.recheck());
    this.every(VARDIFF_TICK_MS, () => {
      const now = Date.now();
      for (const s of this.sessions) s.tick(now);
      return Promise.resolve();
    });
  }

  port(): number {
    const addr = this.server?.address();
    return typeof addr === 'object' && addr ? addr.port : this.config.STRATUM_PORT;
  }

  async onApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sessions) s.drop('shutdown');
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private every(ms: number, fn: () => Promise<void>): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      fn()
        .catch((e: Error) => this.log.warn(e.message))
        .finally(() => (busy = false));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  private async broadcastJob(): Promise<void> {
    const job = await this.jobs.currentJob();
    if (!job || job.id === this.lastJob) return;
    this.lastJob = job.id;
    await Promise.all([...this.sessions].map((s) => s.pushJob()));
  }

  /** Drops sessions whose device was suspended or revoked, or whose credential was revoked or replaced. */
  private async recheck(): Promise<void> {
    const held = [...this.sessions].filter((s) => s.miner).map((s) => ({ deviceId: s.miner!.deviceId, issuedAt: s.miner!.issuedAt }));
    if (held.length === 0) return;
    const lapsed = await this.creds.lapsed(held);
    for (const s of this.sessions) if (s.miner && lapsed.has(s.miner.deviceId)) s.drop('authorization lapsed');
  }

  // SessionHost

  async nextExtranonce1(): Promise<string> {
    const n = await this.redis.incr(`${this.config.REDIS_KEY_PREFIX}stratum:extranonce1`);
    // Top bit set: device-protocol miners draw theirs with it clear (SharesService.miner).
    return ((0x80000000 | (n & 0x7fffffff)) >>> 0).toString(16).padStart(8, '0');
  }

  authorize(user: string, password: string) {
    return this.creds.authorize(user, password);
  }

  currentJob() {
    return this.jobs.currentJob();
  }

  submit(...args: Parameters<SharesService['submit']>) {
    return this.shares.submit(...args);
  }

  saveDifficulty(deviceId: string, difficulty: number): void {
    this.shares.setDifficulty(deviceId, difficulty).catch((e: Error) => this.log.warn(e.message));
  }

  onAccepted(outcome: SubmitOutcome): void {
    this.stats.accepted += 1;
    if (outcome.accepted && outcome.block) this.stats.blocks += 1;
  }

  onRejected(): void {
    this.stats.rejected += 1;
  }

  closed(session: StratumSession): void {
    this.sessions.delete(session);
    this.stats.connections = this.sessions.size;
  }
}
