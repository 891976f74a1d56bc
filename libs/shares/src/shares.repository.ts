import { Injectable } from '@nestjs/common';
import { PrismaService, type Tx } from '@idlemint/core';

export interface StoredJob {
  id: string;
  nodeId: string;
  height: number;
  prevHash: string;
  version: number;
  bits: string;
  target: string;
  time: number;
  coinb1: string;
  coinb2: string;
  merkleBranch: unknown;
  txids: unknown;
  createdAt: Date;
}

export interface MinerRow {
  deviceId: string;
  extranonce1: string;
  difficulty: number;
  credentialHash: string | null;
  credentialIssuedAt: Date | null;
  credentialRevokedAt: Date | null;
}

export interface DeviceStanding {
  id: string;
  status: string;
  manufacturerId: string;
  ownerId: string | null;
}

/**
 * The only file that writes the hash-share tables (HashJob, HashMiner, HashShare, BlockCandidate,
 * BlockDelivery). It reads Device, TrustedNode and the owner rank the way verification does, and
 * writes none of them.
 */
@Injectable()
export class SharesRepository {
  constructor(private readonly db: PrismaService) {}

  latestJob(): Promise<StoredJob | null> {
    return this.db.hashJob.findFirst({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
  }

  jobById(id: string): Promise<StoredJob | null> {
    return this.db.hashJob.findUnique({ where: { id } });
  }

  async insertJob(job: Omit<StoredJob, 'createdAt'>): Promise<StoredJob> {
    return this.db.hashJob.create({ data: { ...job, merkleBranch: job.merkleBranch as string[], txids: job.txids as string[] } });
  }

  miner(deviceId: string): Promise<MinerRow | null> {
    return this.db.hashMiner.findUnique({ where: { deviceId } });
  }

  /** Creates the miner row; false when `extranonce1` is taken (the caller draws another). */
  async createMiner(deviceId: string, extranonce1: string, difficulty: number): Promise<boolean> {
    const n = await this.db.$executeRaw`
      INSERT INTO "HashMiner" ("deviceId", "extranonce1", "difficulty") VALUES (${deviceId}, ${extranonce1}, ${difficulty})
      ON CONFLICT DO NOTHING`;
    return n === 1;
  }

  async setDifficulty(deviceId: string, difficulty: number): Promise<void> {
    await this.db.hashMiner.update({ where: { deviceId }, data: { difficulty } });
  }

  async setCredential(deviceId: string, hash: string, issuedAt: Date): Promise<void> {
    await this.db.hashMiner.update({
      where: { deviceId },
      data: { credentialHash: hash, credentialIssuedAt: issuedAt, credentialRevokedAt: null },
    });
  }

  async revokeCredential(deviceId: string): Promise<boolean> {
    const n = await this.db.hashMiner.updateMany({
      where: { deviceId, credentialRevokedAt: null },
      data: { credentialRevokedAt: new Date() },
    });
    return n.count === 1;
  }

  async devices(ids: string[]): Promise<Map<string, DeviceStanding>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.device.findMany({
      where: { id: { in: ids } },
      select: { id: true, status: true, manufacturerId: true, ownerId: true },
    });
    return new Map(rows.map((r) => [r.id, r]));
  }

  /** Connected devices' miners, to see whose credential changed since they authorized. */
  async miners(ids: string[]): Promise<Map<string, MinerRow>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.hashMiner.findMany({ where: { deviceId: { in: ids } } });
    return new Map(rows.map((r) => [r.deviceId, r]));
  }

  /** Stores an accepted share; false when its header was seen before (a duplicate). */
  async insertShare(
    tx: Tx | PrismaService,
    s: { id: string; deviceId: string; jobId: string; hash: string; difficulty: number; block: boolean },
  ): Promise<boolean> {
    const n = await tx.$executeRaw`
      INSERT INTO "HashShare" ("id", "deviceId", "jobId", "hash", "difficulty", "block")
      VALUES (${s.id}, ${s.deviceId}, ${s.jobId}, ${s.hash}, ${s.difficulty}, ${s.block})
      ON CONFLICT ("hash") DO NOTHING`;
    return n === 1;
  }

  async insertCandidate(
    tx: Tx,
    c: { id: string; deviceId: string; jobId: string; hash: string; header: string; coinbase: string; txids: string[] },
  ): Promise<void> {
    await tx.blockCandidate.create({ data: c });
  }

  candidate(id: string) {
    return this.db.blockCandidate.findUnique({ where: { id } });
  }

  /** Locks up to `limit` uncredited shares for the caller's transaction (other workers skip them). */
  uncredited(tx: Tx, limit: number): Promise<{ id: string; deviceId: string; difficulty: number }[]> {
    return tx.$queryRaw`
      SELECT "id", "deviceId", "difficulty" FROM "HashShare" WHERE "batchId" IS NULL
       ORDER BY "createdAt" LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
  }

  async markCredited(tx: Tx, ids: string[], batchId: string): Promise<void> {
    await tx.hashShare.updateMany({ where: { id: { in: ids }, batchId: null }, data: { batchId } });
  }

  /** Locks the devices' miner rows and returns their credit remainders. */
  async lockRemainders(tx: Tx, deviceIds: string[]): Promise<Map<string, bigint>> {
    const rows = await tx.$queryRaw<{ deviceId: string; creditRemainder: bigint }[]>`
      SELECT "deviceId", "creditRemainder" FROM "HashMiner" WHERE "deviceId" = ANY(${deviceIds}) ORDER BY "deviceId" FOR UPDATE`;
    return new Map(rows.map((r) => [r.deviceId, BigInt(r.creditRemainder)]));
  }

  async setRemainder(tx: Tx, deviceId: string, remainder: bigint): Promise<void> {
    await tx.hashMiner.update({ where: { deviceId }, data: { creditRemainder: remainder } });
  }

  /** Devices as the ledger's per-owner rule needs them (rank among the owner's devices by enrolment). */
  rewardedDevices(tx: Tx, ids: string[]): Promise<{ id: string; manufacturerId: string; ownerRank: number }[]> {
    return tx.$queryRaw`
      SELECT d."id", d."manufacturerId",
             CASE WHEN d."ownerId" IS NULL THEN 1 ELSE
               (SELECT count(*)::int FROM "Device" x
                 WHERE x."ownerId" = d."ownerId" AND (x."enrolledAt", x."id") <= (d."enrolledAt", d."id")) END AS "ownerRank"
        FROM "Device" d WHERE d."id" = ANY(${ids})`;
  }

  activeNodes(): Promise<{ id: string; name: string; url: string }[]> {
    return this.db.trustedNode.findMany({
      where: { status: 'active' },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, name: true, url: true },
    });
  }

  node(id: string) {
    return this.db.trustedNode.findUnique({ where: { id } });
  }

  async delivery(candidateId: string, nodeId: string) {
    return this.db.blockDelivery.upsert({
      where: { candidateId_nodeId: { candidateId, nodeId } },
      create: { candidateId, nodeId, attempts: 1 },
      update: { attempts: { increment: 1 }, updatedAt: new Date() },
    });
  }

  async deliveryDone(
    candidateId: string,
    nodeId: string,
    status: 'appended' | 'refused',
    height: number | null,
    error: string | null,
  ): Promise<void> {
    await this.db.blockDelivery.update({
      where: { candidateId_nodeId: { candidateId, nodeId } },
      data: { status, height, lastError: error?.slice(0, 500) ?? null, updatedAt: new Date() },
    });
  }

  async deliveryFailed(candidateId: string, nodeId: string, error: string): Promise<void> {
    await this.db.blockDelivery.update({
      where: { candidateId_nodeId: { candidateId, nodeId } },
      data: { lastError: error.slice(0, 500) },
    });
  }

  async counts(): Promise<{ shares: number; blocks: number; uncredited: number; appended: number }> {
    const [shares, blocks, uncredited, appended] = await Promise.all([
      this.db.hashShare.count(),
      this.db.blockCandidate.count(),
      this.db.hashShare.count({ where: { batchId: null } }),
      this.db.blockDelivery.count({ where: { status: 'appended' } }),
    ]);
    return { shares, blocks, uncredited, appended };
  }
}
