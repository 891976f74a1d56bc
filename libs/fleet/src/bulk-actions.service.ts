import { Injectable } from '@nestjs/common';
import { AuditService } from '@idlemint/audit';
import { Prisma, PrismaService, type Tx } from '@idlemint/core';
import { BULK_MAX_DEVICES, type BulkAction } from '@idlemint/protocol';
import { DeviceRegistryService } from './device-registry.service.js';
import { DevicesService } from './devices.service.js';
import { FleetErrors } from './fleet.errors.js';
import { canonicalJson, checkIdempotencyKey, claimIdempotencyKey, requestHash, storeIdempotentAnswer } from './idempotency.js';
import { actorOf, assertAdmin, type ManufacturerPrincipal } from './tenants.service.js';

export interface BulkResult {
  action: BulkAction['action'];
  /** Devices the ids or the filter selected. */
  matched: number;
  /** Devices the action changed. */
  changed: number;
  /** Selected but already as asked (or not in a state the action applies to). */
  skipped: number;
  auditId: string;
}

interface Selected {
  id: string;
  publicKey: string;
  status: string;
  tags: string[] | null;
  groupId: string | null;
  policy: Prisma.JsonValue;
}

type Change = { ids: string[]; set: Prisma.Sql; before: Record<string, unknown>; after: unknown };

const TX = { timeout: 120_000, maxWait: 10_000 };
const SCOPE = 'POST /manufacturer/v1/devices/bulk';
/** The answer in one field order, first time and replayed alike (JSONB does not keep key order). */
const answer = (r: BulkResult): BulkResult => ({
  action: r.action,
  matched: r.matched,
  changed: r.changed,
  skipped: r.skipped,
  auditId: r.auditId,
});
const byId = <T>(rows: Selected[], f: (r: Selected) => T) => Object.fromEntries(rows.map((r) => [r.id, f(r)]));

/**
 * Bulk device actions by a list of ids or a filter (the list's language): suspend, resume, revoke,
 * tag, untag, set group, set policy. One transaction locks the selected rows (in id order), changes
 * them, writes one audit row and, under an Idempotency-Key, the answer to replay. Revocation is
 * permanent; this process forgets the changed devices at once, every gateway within 5 s.
 */
@Injectable()
export class BulkActionsService {
  constructor(
    private readonly db: PrismaService,
    private readonly registry: DeviceRegistryService,
    private readonly devices: DevicesService,
    private readonly audit: AuditService,
  ) {}

  async run(
    p: ManufacturerPrincipal,
    idempotencyKey: string | undefined,
    body: BulkAction,
  ): Promise<{ result: BulkResult; replayed: boolean }> {
    assertAdmin(p);
    const key = checkIdempotencyKey(idempotencyKey);
    const hash = requestHash(SCOPE, body);
    const out = await this.db.$transaction(async (tx) => {
      let recordId: string | undefined;
      if (key !== undefined) {
        const claim = await claimIdempotencyKey(tx, p.manufacturerId, key, hash);
        if (!claim.claimed) return { result: answer(claim.response as BulkResult), replayed: true, forget: [] as string[] };
        recordId = claim.id;
      }
      const { result, forget } = await this.apply(tx, p, body);
      if (recordId !== undefined) await storeIdempotentAnswer(tx, recordId, 200, result);
      return { result, replayed: false, forget };
    }, TX);
    for (const k of out.forget) this.devices.forget(k);
    return { result: out.result, replayed: out.replayed };
  }

  private async apply(tx: Tx, p: ManufacturerPrincipal, body: BulkAction): Promise<{ result: BulkResult; forget: string[] }> {
    const m = p.manufacturerId;
    const where = body.ids
      ? Prisma.sql`d."manufacturerId" = ${m} AND d."id" = ANY(${body.ids}::text[])`
      : this.registry.whereOf(m, await this.registry.resolveFilter(tx, m, body.filter ?? {}));
    if (body.action === 'set-group' && body.groupId !== null) await this.registry.assertGroup(tx, m, body.groupId);

    const rows = await tx.$queryRaw<Selected[]>`
      SELECT d."id", d."publicKey", d."status"::text AS "status", d."tags", d."groupId", d."policy"
        FROM "Device" d WHERE ${where} ORDER BY d."id" LIMIT ${BULK_MAX_DEVICES + 1} FOR UPDATE`;
    if (rows.length > BULK_MAX_DEVICES) throw FleetErrors.bulkTooMany(BULK_MAX_DEVICES);
    if (body.ids) {
      const found = new Set(rows.map((r) => r.id));
      const missing = [...new Set(body.ids)].filter((id) => !found.has(id));
      if (missing.length > 0) throw FleetErrors.notFound('device', { missing: missing.slice(0, 20), count: missing.length });
    }

    const change = this.plan(body, rows);
    if (change.ids.length > 0) await tx.$executeRaw`UPDATE "Device" d SET ${change.set} WHERE d."id" = ANY(${change.ids}::text[])`;
    const auditId = await this.audit.record(tx, {
      manufacturerId: m,
      actor: actorOf(p),
      action: `device.bulk.${body.action}`,
      targetType: 'device',
      targetIds: change.ids,
      before: change.before,
      after: { ...(change.after as object), request: body },
    });
    const result: BulkResult = {
      action: body.action,
      matched: rows.length,
      changed: change.ids.length,
      skipped: rows.length - change.ids.length,
      auditId,
    };
    const changed = new Set(change.ids);
    const forget = body.action === 'tag' || body.action === 'untag' ? [] : rows.filter((r) => changed.has(r.id)).map((r) => r.publicKey);
    return { result, forget };
  }

  /** Which rows change, the SET clause, and the audit's before and after. */
  private plan(body: BulkAction, rows: Selected[]): Change {
    const status = (from: (s: string) => boolean, to: string): Change => {
      const hit = rows.filter((r) => from(r.status));
      return {
        ids: hit.map((r) => r.id),
        set: Prisma.sql`"status" = ${to}::"DeviceStatus"`,
        before: { status: byId(hit, (r) => r.status) },
        after: { status: to },
      };
    };
    switch (body.action) {
      case 'suspend':
        return status((s) => s === 'active', 'suspended');
      case 'resume': {
        const revoked = rows.filter((r) => r.status === 'revoked');
        if (revoked.length > 0)
          throw FleetErrors.revokedIsPermanent({ revoked: revoked.length, ids: revoked.slice(0, 20).map((r) => r.id) });
        return status((s) => s === 'suspended', 'active');
      }
      case 'revoke':
        return status((s) => s !== 'revoked', 'revoked');
      case 'tag': {
        const add = [...new Set(body.tags)];
        const hit = rows.filter((r) => add.some((t) => !(r.tags ?? []).includes(t)));
        return {
          ids: hit.map((r) => r.id),
          set: Prisma.sql`"tags" = COALESCE(d."tags", '{}') || ARRAY(SELECT x FROM unnest(${add}::text[]) WITH ORDINALITY AS u(x, n)
                                                                    WHERE x <> ALL(COALESCE(d."tags", '{}')) ORDER BY n)`,
          before: { tags: byId(hit, (r) => r.tags ?? []) },
          after: { tags: byId(hit, (r) => [...(r.tags ?? []), ...add.filter((t) => !(r.tags ?? []).includes(t))]) },
        };
      }
      case 'untag': {
        const drop = [...new Set(body.tags)];
        const hit = rows.filter((r) => (r.tags ?? []).some((t) => drop.includes(t)));
        return {
          ids: hit.map((r) => r.id),
          set: Prisma.sql`"tags" = ARRAY(SELECT x FROM unnest(d."tags") WITH ORDINALITY AS u(x, n) WHERE x <> ALL(${drop}::text[]) ORDER BY n)`,
          before: { tags: byId(hit, (r) => r.tags ?? []) },
          after: { tags: byId(hit, (r) => (r.tags ?? []).filter((t) => !drop.includes(t))) },
        };
      }
      case 'set-group': {
        const hit = rows.filter((r) => r.groupId !== body.groupId);
        return {
          ids: hit.map((r) => r.id),
          set: Prisma.sql`"groupId" = ${body.groupId}`,
          before: { groupId: byId(hit, (r) => r.groupId) },
          after: { groupId: body.groupId },
        };
      }
      case 'set-policy': {
        const target = body.policy === null ? null : canonicalJson(body.policy);
        const hit = rows.filter((r) => (r.policy === null ? null : canonicalJson(r.policy)) !== target);
        return {
          ids: hit.map((r) => r.id),
          set: target === null ? Prisma.sql`"policy" = NULL` : Prisma.sql`"policy" = ${target}::jsonb`,
          before: { policy: byId(hit, (r) => r.policy) },
          after: { policy: body.policy },
        };
      }
    }
  }
}
