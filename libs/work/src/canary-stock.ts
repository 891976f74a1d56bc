import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { CONFIG, PrismaService, newId, type Config } from '@idlemint/core';
import type { TxItem } from '@idlemint/crypto';
import { makeCanary, type Canary } from './canaries.js';

const BATCH = 250;

/**
 * Canaries for claims, without signing anything on the device request path: the worker keeps a
 * stock in Postgres (`replenish`), and each API process takes batches of it (`take`), every
 * canary used at most `CANARY_MAX_USES` times across the fleet. The first canary of an
 * assignment is always invalid, so "all valid" without checking never passes.
 */
@Injectable()
export class CanaryStock {
  private readonly log = new Logger(CanaryStock.name);
  private readonly local: Record<'valid' | 'invalid', Canary[]> = { valid: [], invalid: [] };
  private refilling?: Promise<void>;

  constructor(
    private readonly db: PrismaService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async take(count: number): Promise<Canary[]> {
    if (count === 0) return [];
    if (this.local.invalid.length < count || this.local.valid.length < count) await this.refill();
    return Array.from({ length: count }, (_, i) => {
      const valid = i === 0 ? false : randomInt(2) === 1;
      // An empty stock (a fresh platform) falls back to making one here: slower, still correct.
      return this.local[valid ? 'valid' : 'invalid'].pop() ?? makeCanary(valid);
    });
  }

  private refill(): Promise<void> {
    this.refilling ??= (async () => {
      try {
        for (const valid of [true, false]) {
          const rows = await this.db.$queryRaw<{ item: TxItem }[]>`
            UPDATE "Canary" SET "uses" = "uses" + 1 WHERE "id" IN (
              SELECT "id" FROM "Canary" WHERE "valid" = ${valid} AND "uses" < ${this.config.CANARY_MAX_USES}
               ORDER BY "uses", "id" LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
            RETURNING "item"`;
          this.local[valid ? 'valid' : 'invalid'].push(...rows.map((r) => ({ item: r.item, valid })));
        }
      } catch (e) {
        this.log.warn(`canary stock: ${(e as Error).message}`);
      } finally {
        this.refilling = undefined;
      }
    })();
    return this.refilling;
  }

  /** Worker side: tops the stock up to `CANARY_STOCK` unused-enough canaries of each answer. */
  async replenish(maxNew = 100): Promise<number> {
    let made = 0;
    for (const valid of [false, true]) {
      const have = await this.db.canary.count({ where: { valid, uses: { lt: this.config.CANARY_MAX_USES } } });
      const want = Math.min(maxNew / 2, Math.max(0, this.config.CANARY_STOCK / 2 - have));
      const data = [];
      for (let i = 0; i < want; i++) {
        const c = makeCanary(valid);
        data.push({ id: newId(), scheme: c.item.scheme, item: c.item as object, valid });
        // BIP-340 signing is slow in JavaScript: let the event loop breathe between items.
        if (i % 20 === 19) await new Promise((r) => setImmediate(r));
      }
      if (data.length > 0) await this.db.canary.createMany({ data });
      made += data.length;
    }
    // Spent canaries are of no further use; keep the table small.
    await this.db.canary.deleteMany({ where: { uses: { gte: this.config.CANARY_MAX_USES } } });
    return made;
  }
}
