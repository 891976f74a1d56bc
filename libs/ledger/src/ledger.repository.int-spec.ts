import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaService, type Tx } from '@idlemint/core';
import { scratchDatabase, testConfig } from '../../../test/support/scratch.js';
import { LedgerRepository } from './ledger.repository.js';

/**
 * Two verdicts crediting the same accounts at once, each resolving them from a cold cache (a new
 * process, or accounts that are new): neither may wait for the other in a circle. The old upsert
 * (`ON CONFLICT DO UPDATE`) locked every account row it resolved, so A holding M and wanting O
 * while B held O and wanted M was a deadlock, and the device got a 500.
 */
describe('ledger accounts under concurrent entries', () => {
  let scratch: { url: string; drop: () => Promise<void> };
  let db: PrismaService;

  beforeAll(async () => {
    scratch = await scratchDatabase('ledger_repo');
    db = new PrismaService(testConfig(scratch.url));
    await db.$connect();
  });

  afterAll(async () => {
    await db?.$disconnect();
    await scratch?.drop();
  });

  /** Runs `first` in transaction A and `second` in B, the steps interleaved A1, B1, then A2 and B2 together. */
  async function interleaved(steps: {
    a: [(tx: Tx) => Promise<unknown>, (tx: Tx) => Promise<unknown>];
    b: [(tx: Tx) => Promise<unknown>, (tx: Tx) => Promise<unknown>];
  }) {
    let aFirstDone!: () => void;
    let bFirstDone!: () => void;
    const aFirst = new Promise<void>((r) => (aFirstDone = r));
    const bFirst = new Promise<void>((r) => (bFirstDone = r));
    const run = (side: 'a' | 'b') =>
      db.$transaction(
        async (tx) => {
          if (side === 'b') await aFirst;
          await steps[side][0](tx);
          (side === 'a' ? aFirstDone : bFirstDone)();
          if (side === 'a') await bFirst;
          await steps[side][1](tx);
        },
        { maxWait: 10_000, timeout: 30_000 },
      );
    return Promise.allSettled([run('a'), run('b')]);
  }

  it('existing accounts are resolved without locking them: crossed orders both commit', async () => {
    const setup = new LedgerRepository(db);
    await db.$transaction(async (tx) => {
      await setup.accountId(tx, 'manufacturer:m1');
      await setup.accountId(tx, 'operator:revenue');
    });
    // Two processes with cold caches, as after a restart.
    const a = new LedgerRepository(db);
    const b = new LedgerRepository(db);
    const results = await interleaved({
      a: [(tx) => a.accountId(tx, 'manufacturer:m1'), (tx) => a.accountId(tx, 'operator:revenue')],
      b: [(tx) => b.accountId(tx, 'operator:revenue'), (tx) => b.accountId(tx, 'manufacturer:m1')],
    });
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);
  });

  it('an entry resolves its new accounts in code order, so two entries creating the same accounts never deadlock', async () => {
    const a = new LedgerRepository(db);
    const b = new LedgerRepository(db);
    const postings = (first: string, second: string) => [
      { account: first, amount: 5n, memo: 'credit' },
      { account: second, amount: -5n, memo: 'debit' },
    ];
    const results = await interleaved({
      // A creates x first and stops; B's entry names y first but resolves x first too, and waits for A.
      a: [
        (tx) => a.accountId(tx, 'owner:x'),
        (tx) => a.appendTransaction(tx, { idempotencyKey: 'e-a', kind: 'credit', memo: 'a' }, postings('owner:y', 'owner:x')),
      ],
      b: [
        () => Promise.resolve(),
        (tx) => b.appendTransaction(tx, { idempotencyKey: 'e-b', kind: 'credit', memo: 'b' }, postings('owner:y', 'owner:x')),
      ],
    });
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);
    const counts = await db.$queryRaw<
      { n: number }[]
    >`SELECT COUNT(*)::int AS n FROM "LedgerAccount" WHERE "code" IN ('owner:x', 'owner:y')`;
    expect(counts[0]!.n).toBe(2);
  });
});
