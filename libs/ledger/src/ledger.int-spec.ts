import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../../../test/support/scratch.js';

/**
 * The ledger's invariants hold in the database itself (triggers and unique keys from
 * prisma/migrations: 20261125090000_init, 20261125100000_seal_ledger), whatever code writes to it. Raw SQL on purpose: these
 * tests go around the repository to prove the database, not the code, refuses.
 */

let db: { url: string; drop: () => Promise<void> } | undefined;
let pool: pg.Pool | undefined;
let cash: string;
let revenue: string;

const id = (): string => randomUUID();

interface PgError extends Error {
  code?: string;
  constraint?: string;
}

/** Runs `fn` in a transaction of its own and commits. */
async function commit(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
  const c = await pool!.connect();
  try {
    await c.query('BEGIN');
    try {
      await fn(c);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    c.release();
  }
}

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<PgError> {
  try {
    await p;
  } catch (e) {
    return e as PgError;
  }
  throw new Error('expected the database to refuse, but it accepted');
}

const insertEntry = (c: pg.ClientBase, entryId: string, key = `entry-${entryId}`) =>
  c.query(`INSERT INTO "JournalEntry" ("id", "idempotencyKey", "kind", "memo") VALUES ($1, $2, 'test', 'test')`, [entryId, key]);

const insertPosting = (c: pg.ClientBase, entryId: string, accountId: string, amount: string, key = `posting-${id()}`) =>
  c.query(`INSERT INTO "Posting" ("id", "entryId", "accountId", "amount", "idempotencyKey", "memo") VALUES ($1, $2, $3, $4, $5, 'test')`, [
    id(),
    entryId,
    accountId,
    amount,
    key,
  ]);

/** A committed, balanced entry: `amount` moves from cash to revenue. */
async function balancedEntry(amount = '5'): Promise<{ entryId: string; postingKeys: string[] }> {
  const entryId = id();
  const postingKeys = [`posting-${id()}`, `posting-${id()}`];
  await commit(async (c) => {
    await insertEntry(c, entryId);
    await insertPosting(c, entryId, cash, `-${amount}`, postingKeys[0]);
    await insertPosting(c, entryId, revenue, amount, postingKeys[1]);
  });
  return { entryId, postingKeys };
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await pool!.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) q`, params);
  return Number(rows[0]!.n);
}

const entryCount = (entryId: string) => count(`SELECT 1 FROM "JournalEntry" WHERE "id" = $1`, [entryId]);
const postingCount = (entryId: string) => count(`SELECT 1 FROM "Posting" WHERE "entryId" = $1`, [entryId]);

beforeAll(async () => {
  db = await scratchDatabase('ledger');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  cash = id();
  revenue = id();
  await pool.query(`INSERT INTO "LedgerAccount" ("id", "code", "kind") VALUES ($1, $2, 'asset'), ($3, $4, 'revenue')`, [
    cash,
    `cash-${cash}`,
    revenue,
    `revenue-${revenue}`,
  ]);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('the ledger tables', () => {
  it('accept a balanced entry', async () => {
    const { entryId } = await balancedEntry('42');

    const { rows } = await pool!.query<{ amount: string }>(
      `SELECT "amount"::text AS amount FROM "Posting" WHERE "entryId" = $1 ORDER BY "amount"`,
      [entryId],
    );
    expect(rows.map((r) => r.amount)).toEqual(['-42', '42']);
    expect(await entryCount(entryId)).toBe(1);
  });

  it('accept a balanced entry over several postings and large amounts', async () => {
    const entryId = id();
    await commit(async (c) => {
      await insertEntry(c, entryId);
      await insertPosting(c, entryId, cash, '-1000000000000000000000000000000');
      await insertPosting(c, entryId, revenue, '999999999999999999999999999999');
      await insertPosting(c, entryId, revenue, '1');
    });
    expect(await postingCount(entryId)).toBe(3);
  });

  it('refuse an unbalanced entry at COMMIT, and keep none of it', async () => {
    const entryId = id();
    const c = await pool!.connect();
    try {
      await c.query('BEGIN');
      await insertEntry(c, entryId);
      // Each INSERT is accepted: the check is deferred until every posting is in.
      await insertPosting(c, entryId, cash, '-5');
      await insertPosting(c, entryId, revenue, '4');

      const e = await failure(c.query('COMMIT'));

      expect(e.code).toBe('23514'); // check_violation
      expect(e.message).toBe(`LEDGER.UNBALANCED: entry ${entryId} has 2 postings summing to -1`);
    } finally {
      await c.query('ROLLBACK').catch(() => undefined);
      c.release();
    }
    expect(await entryCount(entryId)).toBe(0);
    expect(await postingCount(entryId)).toBe(0);
  });

  it('refuse an entry with a single posting, even of zero', async () => {
    const entryId = id();

    const e = await failure(
      commit(async (c) => {
        await insertEntry(c, entryId);
        await insertPosting(c, entryId, cash, '0');
      }),
    );

    expect(e.code).toBe('23514');
    expect(e.message).toMatch(new RegExp(`^LEDGER.UNBALANCED: entry ${entryId} has 1 postings`));
    expect(await entryCount(entryId)).toBe(0);
  });

  it('refuse any posting added to an entry after its transaction committed, balanced or not', async () => {
    const { entryId } = await balancedEntry('7');

    const unbalanced = await failure(commit((c) => insertPosting(c, entryId, revenue, '1').then(() => undefined)));
    const balanced = await failure(
      commit(async (c) => {
        await insertPosting(c, entryId, cash, '-1');
        await insertPosting(c, entryId, revenue, '1');
      }),
    );

    for (const e of [unbalanced, balanced]) {
      expect(e.code).toBe('42501');
      expect(e.message).toBe(`LEDGER.ENTRY_SEALED: entry ${entryId} was committed or does not exist`);
    }
    expect(await postingCount(entryId)).toBe(2);
  });

  it('refuse an entry with no postings at all', async () => {
    const entryId = id();

    const e = await failure(commit((c) => insertEntry(c, entryId).then(() => undefined)));

    expect(e.code).toBe('23514');
    expect(e.message).toBe(`LEDGER.UNBALANCED: entry ${entryId} has 0 postings`);
    expect(await entryCount(entryId)).toBe(0);
  });

  it('refuse TRUNCATE of the ledger tables', async () => {
    await balancedEntry('2');
    for (const table of ['Posting', 'JournalEntry']) {
      const e = await failure(pool!.query(`TRUNCATE "${table}" CASCADE`));
      expect(e.message).toBe(`LEDGER.APPEND_ONLY: TRUNCATE on ${table} is not allowed`);
    }
    expect(await count(`SELECT 1 FROM "Posting"`, [])).toBeGreaterThan(0);
  });

  it('refuse a posting whose idempotency key is taken', async () => {
    const { postingKeys } = await balancedEntry();
    const entryId = id();

    const e = await failure(
      commit(async (c) => {
        await insertEntry(c, entryId);
        await insertPosting(c, entryId, cash, '-5');
        await insertPosting(c, entryId, revenue, '5', postingKeys[1]);
      }),
    );

    expect(e.code).toBe('23505'); // unique_violation
    expect(e.constraint).toBe('Posting_idempotencyKey_key');
    expect(await entryCount(entryId)).toBe(0);
    expect(await count(`SELECT 1 FROM "Posting" WHERE "idempotencyKey" = $1`, [postingKeys[1]])).toBe(1);
  });

  it('refuse an entry whose idempotency key is taken', async () => {
    const first = id();
    const key = `entry-key-${id()}`;
    await commit(async (c) => {
      await insertEntry(c, first, key);
      await insertPosting(c, first, cash, '-3');
      await insertPosting(c, first, revenue, '3');
    });
    const second = id();

    const e = await failure(commit((c) => insertEntry(c, second, key).then(() => undefined)));

    expect(e.code).toBe('23505');
    expect(e.constraint).toBe('JournalEntry_idempotencyKey_key');
    expect(await count(`SELECT 1 FROM "JournalEntry" WHERE "idempotencyKey" = $1`, [key])).toBe(1);
    expect(await entryCount(second)).toBe(0);
  });

  it('refuse a posting for an account or entry that does not exist', async () => {
    const entryId = id();
    const orphan = id();

    const badAccount = await failure(
      commit(async (c) => {
        await insertEntry(c, entryId);
        await insertPosting(c, entryId, id(), '-1');
        await insertPosting(c, entryId, revenue, '1');
      }),
    );
    const badEntry = await failure(
      commit(async (c) => {
        await insertPosting(c, orphan, cash, '-1');
        await insertPosting(c, orphan, revenue, '1');
      }),
    );

    expect(badAccount.code).toBe('23503'); // foreign_key_violation
    expect(badAccount.constraint).toBe('Posting_accountId_fkey');
    expect(badEntry.code).toBe('42501');
    expect(badEntry.message).toBe(`LEDGER.ENTRY_SEALED: entry ${orphan} was committed or does not exist`);
    expect(await entryCount(entryId)).toBe(0);
  });

  describe('are append-only', () => {
    const refusals = [
      { table: 'Posting', op: 'UPDATE', sql: `UPDATE "Posting" SET "amount" = 0, "memo" = 'changed' WHERE "entryId" = $1` },
      { table: 'Posting', op: 'DELETE', sql: `DELETE FROM "Posting" WHERE "entryId" = $1` },
      { table: 'JournalEntry', op: 'UPDATE', sql: `UPDATE "JournalEntry" SET "memo" = 'changed' WHERE "id" = $1` },
      { table: 'JournalEntry', op: 'DELETE', sql: `DELETE FROM "JournalEntry" WHERE "id" = $1` },
    ];

    it.each(refusals)('$op on $table is refused and changes nothing', async ({ table, op, sql }) => {
      const { entryId } = await balancedEntry('9');
      const snapshot = async (): Promise<Record<string, string>[]> => {
        const { rows } = await pool!.query<Record<string, string>>(
          `SELECT e."memo" AS entry_memo, p."id", p."amount"::text AS amount, p."memo"
             FROM "JournalEntry" e JOIN "Posting" p ON p."entryId" = e."id"
            WHERE e."id" = $1 ORDER BY p."id"`,
          [entryId],
        );
        return rows;
      };
      const before = await snapshot();
      expect(before).toHaveLength(2);

      const e = await failure(pool!.query(sql, [entryId]));

      expect(e.code).toBe('42501'); // insufficient_privilege
      expect(e.message).toBe(`LEDGER.APPEND_ONLY: ${op} on ${table} is not allowed`);
      expect(await snapshot()).toEqual(before);
    });
  });
});
