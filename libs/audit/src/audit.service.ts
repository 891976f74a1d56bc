import { Injectable } from '@nestjs/common';
import { DomainError, newId, type Tx } from '@idlemint/core';
import { decodeCursor, encodeCursor, ULID_RE } from '@idlemint/protocol';
import { AuditRepository, type AuditRow } from './audit.repository.js';

/** Who made a change: the operator (admin key) or a manufacturer API key. */
export type Actor = { kind: 'operator' } | { kind: 'key'; keyId: string };

export interface AuditEntry {
  /** The tenant the change concerns; null for platform objects (trusted nodes). */
  manufacturerId: string | null;
  actor: Actor;
  /** `<object>.<verb>`, e.g. `device.bulk.revoke`, `api_key.rotate`. */
  action: string;
  targetType: string;
  targetIds: string[];
  before?: unknown;
  after?: unknown;
}

export interface AuditView {
  id: string;
  at: string;
  manufacturerId: string | null;
  actor: string;
  action: string;
  targetType: string;
  targetIds: string[];
  before: unknown;
  after: unknown;
}

export const actorName = (a: Actor): string => (a.kind === 'operator' ? 'operator' : `key:${a.keyId}`);

/** Dates as ISO strings, bigints as decimal strings: what JSONB can hold. */
function toJson(v: unknown): unknown {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))) as unknown;
}

/**
 * The audit log: every mutating call of the manufacturer and operator APIs writes one row, in the
 * same transaction as the change, so a change without its row (or a row without its change)
 * cannot commit. Read newest first with an opaque cursor.
 */
@Injectable()
export class AuditService {
  constructor(private readonly repo: AuditRepository) {}

  async record(tx: Tx, e: AuditEntry): Promise<string> {
    const id = newId();
    await this.repo.insert(tx, {
      id,
      manufacturerId: e.manufacturerId,
      actor: actorName(e.actor),
      action: e.action,
      targetType: e.targetType,
      targetIds: e.targetIds,
      before: toJson(e.before) as AuditRow['before'],
      after: toJson(e.after) as AuditRow['after'],
    });
    return id;
  }

  /** One page, newest first. `manufacturerId` undefined reads every tenant's rows (operator). */
  async list(q: { manufacturerId?: string; action?: string; targetId?: string; cursor?: string; limit: number }) {
    const after =
      q.cursor === undefined ? undefined : decodeCursor(q.cursor, (c) => (typeof c.i === 'string' && ULID_RE.test(c.i) ? c.i : null));
    if (after === null) throw new DomainError('REQUEST.INVALID_CURSOR', 'bad_request', 'cursor is not one this API gave out');
    const rows = await this.repo.page({
      ...(q.manufacturerId !== undefined ? { manufacturerId: q.manufacturerId } : {}),
      ...(q.action !== undefined ? { action: q.action } : {}),
      ...(q.targetId !== undefined ? { targetId: q.targetId } : {}),
      ...(after !== undefined ? { beforeId: after } : {}),
      take: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      entries: page.map(view),
      nextCursor: rows.length > q.limit && last ? encodeCursor({ i: last.id }) : null,
    };
  }
}

function view(r: AuditRow): AuditView {
  return {
    id: r.id,
    at: r.createdAt.toISOString(),
    manufacturerId: r.manufacturerId,
    actor: r.actor,
    action: r.action,
    targetType: r.targetType,
    targetIds: r.targetIds,
    before: r.before,
    after: r.after,
  };
}
