import { Injectable } from '@nestjs/common';
import { NodePrismaService, type NodeTx } from '../db/node-prisma.service.js';

export interface AcceptedKey {
  publicKey: string;
  source: 'config' | 'announced';
  validFrom: Date;
  validUntil: Date | null;
}

/** The only file that touches PlatformKey. */
@Injectable()
export class PlatformKeysRepository {
  constructor(private readonly db: NodePrismaService) {}

  /** Adds the configured key once; a later restart never resets a retirement set since. */
  async ensureConfigKey(publicKey: string): Promise<void> {
    await this.db.$executeRaw`
      INSERT INTO "PlatformKey" ("publicKey", "source", "validFrom") VALUES (${publicKey}, 'config', to_timestamp(0))
      ON CONFLICT ("publicKey") DO NOTHING`;
  }

  async all(): Promise<AcceptedKey[]> {
    const rows = await this.db.platformKey.findMany({ orderBy: { validFrom: 'asc' } });
    return rows.map((r) => ({
      publicKey: r.publicKey,
      source: r.source === 'config' ? 'config' : 'announced',
      validFrom: r.validFrom,
      validUntil: r.validUntil,
    }));
  }

  /** Runs `fn` with every key row locked, so two announcements apply one after the other. */
  transaction<T>(fn: (tx: NodeTx) => Promise<T>): Promise<T> {
    return this.db.$transaction(async (tx) => {
      await tx.$executeRaw`LOCK TABLE "PlatformKey" IN SHARE ROW EXCLUSIVE MODE`;
      return fn(tx);
    });
  }

  find(tx: NodeTx, publicKey: string) {
    return tx.platformKey.findUnique({ where: { publicKey } });
  }

  async add(tx: NodeTx, publicKey: string, validFrom: Date): Promise<void> {
    await tx.platformKey.create({ data: { publicKey, source: 'announced', validFrom } });
  }

  /** Shortens a key's validity to `until` (never lengthens it); unknown keys are ignored. */
  async retire(tx: NodeTx, publicKey: string, until: Date): Promise<void> {
    const key = await tx.platformKey.findUnique({ where: { publicKey } });
    if (!key || (key.validUntil && key.validUntil.getTime() <= until.getTime())) return;
    await tx.platformKey.update({ where: { publicKey }, data: { validUntil: until } });
  }
}
