import pg from 'pg';
import { verifyItem, type TxItem } from '@idlemint/crypto';
import type { ItemCheck } from './behaviour.js';

/**
 * The *oracle* a benchmark's fleet answers from, so its devices spend no CPU on item checks: the
 * truth the reference nodes stored with each pending transaction, read once from their databases
 * (keyed by signature, unique per item). An item the nodes did not make (a canary the platform
 * planted) is checked for real, once: canaries come from a stock and recur.
 */
export async function nodeOracle(nodeDatabaseUrls: string[]): Promise<{ check: ItemCheck; known: number }> {
  const truth = new Map<string, boolean>();
  for (const url of nodeDatabaseUrls) {
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const rows = await db.query<{ signature: string; valid: boolean }>(`SELECT "signature", "valid" FROM "PendingTx"`);
      for (const r of rows.rows) truth.set(r.signature, r.valid);
    } finally {
      await db.end();
    }
  }
  const known = truth.size;
  const check = (item: TxItem): boolean => {
    let v = truth.get(item.signature);
    if (v === undefined) {
      v = verifyItem(item);
      truth.set(item.signature, v);
    }
    return v;
  };
  return { check, known };
}
