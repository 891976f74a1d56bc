import { createHash } from 'node:crypto';
import { Prisma, newId, type Tx } from '@idlemint/core';
import { IDEMPOTENCY_KEY_RE } from '@idlemint/protocol';
import { FleetErrors } from './fleet.errors.js';

/** JSON with object keys sorted at every level: the same request always hashes the same. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return x;
    return Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

export const requestHash = (scope: string, body: unknown): string =>
  createHash('sha256')
    .update(`${scope}\n${canonicalJson(body)}`)
    .digest('hex');

export function checkIdempotencyKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_RE.test(key)) throw FleetErrors.idempotencyKeyInvalid();
  return key;
}

export type Claimed = { claimed: true; id: string } | { claimed: false; status: number; response: unknown };

/**
 * Takes `key` for this request inside the caller's transaction. The first request inserts the
 * record and goes on; a request with the same key waits (unique index) while the first one's
 * transaction is open, then finds its committed record: the stored answer when the body hash is
 * the same, 409 BULK.IDEMPOTENCY_KEY_REUSED when not. A first request that fails rolls its record
 * back with everything else, so a retry runs again.
 */
export async function claimIdempotencyKey(tx: Tx, manufacturerId: string, key: string, hash: string): Promise<Claimed> {
  const id = newId();
  const inserted = await tx.$queryRaw<{ id: string }[]>`
    INSERT INTO "IdempotencyRecord" ("id", "manufacturerId", "key", "requestHash", "status", "response")
    VALUES (${id}, ${manufacturerId}, ${key}, ${hash}, 0, 'null'::jsonb)
    ON CONFLICT ("manufacturerId", "key") DO NOTHING RETURNING "id"`;
  if (inserted[0]) return { claimed: true, id };
  const existing = await tx.idempotencyRecord.findUniqueOrThrow({ where: { manufacturerId_key: { manufacturerId, key } } });
  if (existing.requestHash !== hash) throw FleetErrors.idempotencyKeyReused();
  return { claimed: false, status: existing.status, response: existing.response };
}

export async function storeIdempotentAnswer(tx: Tx, id: string, status: number, response: unknown): Promise<void> {
  await tx.idempotencyRecord.update({ where: { id }, data: { status, response: response as Prisma.InputJsonValue } });
}
