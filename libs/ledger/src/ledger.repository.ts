import { Injectable } from '@nestjs/common';
import { PrismaService, newId, type Tx } from '@idlemint/core';
import { kindOf } from './accounts.js';

export interface PostingInput {
  account: string;
  amount: bigint;
  memo: string;
}

/** The only code that touches the ledger tables. */
@Injectable()
export class LedgerRepository {
  /** Ids of accounts known committed. Never one a still-open transaction created: it may roll back. */
  private readonly accountIds = new Map<string, string>();
  /** Accounts created by a transaction not known to have committed, per transaction. */
  private readonly createdIn = new WeakMap<Tx, Map<string, string>>();

  constructor(private readonly db: PrismaService) {}

  async accountId(tx: Tx, code: string): Promise<string> {
    const cached = this.accountIds.get(code) ?? this.createdIn.get(tx)?.get(code);
    if (cached) return cached;
    // Read first, insert only when missing: an upsert's DO UPDATE would lock an existing account's
    // row, and two verdicts crediting the same accounts in another order deadlocked on those locks.
    const existing = await tx.$queryRaw<{ id: string }[]>`SELECT "id" FROM "LedgerAccount" WHERE "code" = ${code}`;
    let id = existing[0]?.id;
    let created = false;
    if (id === undefined) {
      const inserted = await tx.$queryRaw<{ id: string }[]>`
        INSERT INTO "LedgerAccount" ("id", "code", "kind") VALUES (${newId()}, ${code}, ${kindOf(code)})
        ON CONFLICT ("code") DO NOTHING RETURNING "id"`;
      created = inserted.length > 0;
      // Not ours: another transaction created it meanwhile and committed (ON CONFLICT waited for it).
      id = inserted[0]?.id ?? (await tx.$queryRaw<{ id: string }[]>`SELECT "id" FROM "LedgerAccount" WHERE "code" = ${code}`)[0]!.id;
    }
    if (created) {
      let mine = this.createdIn.get(tx);
      if (!mine) this.createdIn.set(tx, (mine = new Map<string, string>()));
      mine.set(code, id);
    } else {
      this.accountIds.set(code, id);
    }
    return id;
  }

  /** Appends an entry and its postings; false when an entry with this key already exists. */
  async appendTransaction(
    tx: Tx,
    entry: { idempotencyKey: string; kind: string; memo: string; unitId?: string },
    postings: PostingInput[],
  ): Promise<boolean> {
    const id = newId();
    const inserted = await tx.$queryRaw<{ id: string }[]>`
      INSERT INTO "JournalEntry" ("id", "idempotencyKey", "kind", "memo", "unitId")
      VALUES (${id}, ${entry.idempotencyKey}, ${entry.kind}, ${entry.memo}, ${entry.unitId ?? null})
      ON CONFLICT ("idempotencyKey") DO NOTHING RETURNING "id"`;
    if (inserted.length === 0) return false;
    // Accounts resolved in code order: two entries creating the same new accounts wait for each
    // other in one order, never in a circle.
    const accounts = new Map<string, string>();
    for (const code of [...new Set(postings.map((p) => p.account))].sort()) accounts.set(code, await this.accountId(tx, code));
    const data = [];
    for (const p of postings) {
      data.push({
        id: newId(),
        entryId: id,
        accountId: accounts.get(p.account)!,
        amount: p.amount.toString(),
        idempotencyKey: `${entry.idempotencyKey}/${p.account}`,
        memo: p.memo,
      });
    }
    await tx.posting.createMany({ data });
    return true;
  }

  async balanceOf(code: string, since?: Date, sign?: 'credits' | 'debits'): Promise<bigint> {
    const rows = await this.db.$queryRaw<{ total: string | null }[]>`
      SELECT SUM(p."amount")::text AS total FROM "Posting" p JOIN "LedgerAccount" a ON a."id" = p."accountId"
       WHERE a."code" = ${code}
         AND (${since ?? null}::timestamp IS NULL OR p."createdAt" >= ${since ?? null}::timestamp)
         AND (${sign ?? null}::text IS NULL OR (${sign ?? null} = 'credits' AND p."amount" > 0) OR (${sign ?? null} = 'debits' AND p."amount" < 0))`;
    return BigInt(rows[0]?.total ?? '0');
  }

  /** Balances of many accounts at once (missing accounts are zero). */
  async balancesOf(tx: Tx, codes: string[]): Promise<Map<string, bigint>> {
    const rows = await tx.$queryRaw<{ code: string; total: string }[]>`
      SELECT a."code", COALESCE(SUM(p."amount"), 0)::text AS total
        FROM "LedgerAccount" a LEFT JOIN "Posting" p ON p."accountId" = a."id"
       WHERE a."code" = ANY(${codes}) GROUP BY a."code"`;
    return new Map(rows.map((r) => [r.code, BigInt(r.total)]));
  }

  /** The accounts an entry debited (code prefix stripped) and by how much. */
  async entryDebits(tx: Tx, idempotencyKey: string, prefix: string): Promise<Map<string, bigint>> {
    const rows = await tx.$queryRaw<{ code: string; amount: string }[]>`
      SELECT a."code", (-p."amount")::text AS amount FROM "Posting" p
        JOIN "JournalEntry" e ON e."id" = p."entryId" JOIN "LedgerAccount" a ON a."id" = p."accountId"
       WHERE e."idempotencyKey" = ${idempotencyKey} AND p."amount" < 0 AND a."code" LIKE ${prefix + '%'}`;
    return new Map(rows.map((r) => [r.code.slice(prefix.length), BigInt(r.amount)]));
  }

  async linesOf(codes: string[], limit: number) {
    return this.db.$queryRaw<{ code: string; amount: string; memo: string; entryMemo: string; kind: string; createdAt: Date }[]>`
      SELECT a."code", p."amount"::text AS amount, p."memo", e."memo" AS "entryMemo", e."kind", p."createdAt"
        FROM "Posting" p JOIN "LedgerAccount" a ON a."id" = p."accountId" JOIN "JournalEntry" e ON e."id" = p."entryId"
       WHERE a."code" = ANY(${codes}) ORDER BY p."createdAt" DESC LIMIT ${limit}`;
  }

  async totalsByAccount(): Promise<Map<string, bigint>> {
    const rows = await this.db.$queryRaw<{ code: string; total: string }[]>`
      SELECT a."code", COALESCE(SUM(p."amount"), 0)::text AS total
        FROM "LedgerAccount" a LEFT JOIN "Posting" p ON p."accountId" = a."id" GROUP BY a."code"`;
    return new Map(rows.map((r) => [r.code, BigInt(r.total)]));
  }
}
