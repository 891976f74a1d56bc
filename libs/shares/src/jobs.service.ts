import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PlatformKeys } from '@idlemint/core';
import { stratumPrevHash, u32Hex } from '@idlemint/crypto';
import { NodeClient, powTemplateSchema } from '@idlemint/protocol';
import type { JobForCheck } from './share-check.js';
import { SharesRepository, type StoredJob } from './shares.repository.js';

/** A job as miners get it (Stratum mining.notify fields) and as the platform checks shares against it. */
export interface HashJobView extends JobForCheck {
  height: number;
  /** Display order, for the tip comparison. */
  prevHashDisplay: string;
  bits: string;
  createdAt: Date;
}

/** A new job for the same tip at least this often (fresh time and transactions). */
const JOB_REFRESH_MS = 60_000;
/** How long a process trusts its view of the current job before asking the database again. */
const CURRENT_TTL_MS = 250;

/**
 * Jobs cut from the first active node's template. The worker refreshes them; every api and
 * gateway process reads the newest from Postgres (a short cache), so any number of them agree.
 */
@Injectable()
export class HashJobsService {
  private current: { job: HashJobView | null; at: number } = { job: null, at: 0 };
  private readonly byId = new Map<string, HashJobView>();

  constructor(
    private readonly repo: SharesRepository,
    private readonly keys: PlatformKeys,
  ) {}

  async currentJob(): Promise<HashJobView | null> {
    if (Date.now() - this.current.at < CURRENT_TTL_MS) return this.current.job;
    const row = await this.repo.latestJob();
    const job = row ? this.remember(row) : null;
    this.current = { job, at: Date.now() };
    return job;
  }

  async job(id: string): Promise<HashJobView | null> {
    const known = this.byId.get(id);
    if (known) return known;
    if (!/^[0-9a-f]{8}$/.test(id)) return null;
    const row = await this.repo.jobById(id);
    return row ? this.remember(row) : null;
  }

  /** Fetches the template and stores a new job when the tip moved (or the job aged); returns the current one. */
  async refresh(): Promise<{ job: HashJobView | null; created: boolean }> {
    const [node] = await this.repo.activeNodes();
    if (!node) return { job: await this.currentJob(), created: false };
    const template = powTemplateSchema.parse(
      await new NodeClient(node.url, await this.keys.currentSeed()).request('GET', '/v1/pow/template'),
    );
    const latest = await this.repo.latestJob();
    if (latest && latest.prevHash === template.prevHash && Date.now() - latest.createdAt.getTime() < JOB_REFRESH_MS) {
      return { job: this.remember(latest), created: false };
    }
    const row = await this.repo.insertJob({
      id: randomBytes(4).toString('hex'),
      nodeId: node.id,
      height: template.height,
      prevHash: template.prevHash,
      version: template.version,
      bits: template.bits,
      target: template.target,
      time: template.time,
      coinb1: template.coinb1,
      coinb2: template.coinb2,
      merkleBranch: template.merkleBranch,
      txids: template.txids,
    });
    this.current = { job: null, at: 0 };
    return { job: this.remember(row), created: true };
  }

  private remember(row: StoredJob): HashJobView {
    const known = this.byId.get(row.id);
    if (known) return known;
    const job: HashJobView = {
      id: row.id,
      height: row.height,
      prevHash: stratumPrevHash(row.prevHash),
      prevHashDisplay: row.prevHash,
      coinb1: row.coinb1,
      coinb2: row.coinb2,
      merkleBranch: row.merkleBranch as string[],
      version: u32Hex(row.version),
      nbits: row.bits,
      bits: row.bits,
      ntime: u32Hex(row.time),
      time: row.time,
      networkTarget: BigInt('0x' + row.target),
      txids: row.txids as string[],
      createdAt: row.createdAt,
    };
    if (this.byId.size > 1_000) this.byId.clear();
    this.byId.set(row.id, job);
    return job;
  }
}
