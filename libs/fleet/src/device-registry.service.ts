import { Injectable } from '@nestjs/common';
import { AuditService } from '@idlemint/audit';
import { Prisma, PrismaService, type Tx } from '@idlemint/core';
import type { DeviceFilter, DeviceListQuery, DevicePatch, PolicyOverride, WorkPolicy } from '@idlemint/protocol';
import { decodeKeyset, encodeKeyset, filterSql, keysetValue, pageSegments, REPUTATION_SQL, type ResolvedFilter } from './device-query.js';
import { DevicesService, ONLINE_WITHIN_MS } from './devices.service.js';
import { FleetErrors } from './fleet.errors.js';
import { mergePolicy, readOverride } from './policy.js';
import { actorOf, assertAdmin, type ManufacturerPrincipal } from './tenants.service.js';

/** A device row as the manufacturer API shows it (list and detail). */
export interface DeviceRow {
  id: string;
  manufacturerId: string;
  modelId: string;
  model: string;
  attestationKeyId: string;
  serial: string;
  publicKey: string;
  status: string;
  claimCode: string;
  ownerId: string | null;
  firmware: string | null;
  telemetry: Prisma.JsonValue;
  lastSeenAt: Date | null;
  strikes: number;
  validResults: number;
  reputation: number;
  certIssuedAt: Date;
  enrolledAt: Date;
  timezone: string;
  groupId: string | null;
  tags: string[] | null;
  policy: Prisma.JsonValue;
  consecutiveValid: number;
  quarantineCount: number;
  quarantinedAt: Date | null;
  dailyQuota: number;
}

/** `claimCode` is null for viewer keys: the code makes its holder the device's paid owner. */
export type DeviceView = Omit<DeviceRow, 'tags' | 'claimCode'> & {
  tags: string[];
  claimCode: string | null;
  claimed: boolean;
  online: boolean;
};

const SELECT = Prisma.sql`
  SELECT d."id", d."manufacturerId", d."modelId", m."name" AS "model", d."attestationKeyId", d."serial", d."publicKey",
         d."status"::text AS "status", d."claimCode", d."ownerId", d."firmware", d."telemetry", d."lastSeenAt", d."strikes",
         d."validResults", ${REPUTATION_SQL} AS "reputation", d."certIssuedAt", d."enrolledAt", d."timezone", d."groupId",
         d."tags", d."policy", d."consecutiveValid", d."quarantineCount", d."quarantinedAt", d."dailyQuota"
    FROM "Device" d JOIN "DeviceModel" m ON m."id" = d."modelId"`;

export function deviceView(r: DeviceRow, now = Date.now(), role: ManufacturerPrincipal['role'] = 'admin'): DeviceView {
  return {
    ...r,
    claimCode: role === 'admin' ? r.claimCode : null,
    tags: r.tags ?? [],
    reputation: Math.round(r.reputation * 1000) / 1000,
    claimed: r.ownerId !== null,
    online: r.lastSeenAt !== null && now - r.lastSeenAt.getTime() <= ONLINE_WITHIN_MS,
  };
}

/**
 * The manufacturer's device registry: the filtered, sorted, keyset-paginated list; one device with
 * its policy layers; edits of one device; quarantine release. Every query is scoped to the tenant:
 * another tenant's device id is not found.
 */
@Injectable()
export class DeviceRegistryService {
  constructor(
    private readonly db: PrismaService,
    private readonly devices: DevicesService,
    private readonly audit: AuditService,
  ) {}

  /** Model names of this tenant to ids (a name of nobody's or another tenant's matches nothing). */
  async resolveFilter(db: Tx | PrismaService, manufacturerId: string, f: DeviceFilter): Promise<ResolvedFilter> {
    if (!f.model) return f;
    const models = await db.deviceModel.findMany({ where: { manufacturerId, name: { in: f.model } }, select: { id: true } });
    return { ...f, modelIds: models.map((m) => m.id) };
  }

  whereOf(manufacturerId: string, f: ResolvedFilter, now = new Date()): Prisma.Sql {
    return filterSql(manufacturerId, f, now, ONLINE_WITHIN_MS);
  }

  async list(p: ManufacturerPrincipal, q: DeviceListQuery) {
    const after = q.cursor === undefined ? undefined : decodeKeyset(q.cursor, q.sort, q.order);
    const now = new Date();
    const where = this.whereOf(p.manufacturerId, await this.resolveFilter(this.db, p.manufacturerId, q.filter), now);
    const rows: DeviceRow[] = [];
    for (const seg of pageSegments(q.sort, q.order, after)) {
      const want = q.limit + 1 - rows.length;
      if (want <= 0) break;
      rows.push(...(await this.db.$queryRaw<DeviceRow[]>`${SELECT} WHERE ${where} AND ${seg.where} ORDER BY ${seg.orderBy} LIMIT ${want}`));
    }
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      devices: page.map((r) => deviceView(r, now.getTime(), p.role)),
      nextCursor:
        rows.length > q.limit && last
          ? encodeKeyset({ sort: q.sort, order: q.order, value: keysetValue(q.sort, last), id: last.id })
          : null,
    };
  }

  async row(db: Tx | PrismaService, manufacturerId: string, id: string, lock = false): Promise<DeviceRow> {
    const rows = await db.$queryRaw<DeviceRow[]>`
      ${SELECT} WHERE d."id" = ${id} AND d."manufacturerId" = ${manufacturerId} ${lock ? Prisma.sql`FOR UPDATE OF d` : Prisma.empty}`;
    if (!rows[0]) throw FleetErrors.notFound('device');
    return rows[0];
  }

  /** One device with its group and the work policy layers it merges. */
  async get(p: ManufacturerPrincipal, id: string) {
    const r = await this.row(this.db, p.manufacturerId, id);
    const [model, group] = await Promise.all([
      this.db.deviceModel.findUniqueOrThrow({ where: { id: r.modelId }, select: { batchSize: true, policy: true } }),
      r.groupId ? this.db.deviceGroup.findUnique({ where: { id: r.groupId }, select: { id: true, name: true, policy: true } }) : null,
    ]);
    const layers = { model: readOverride(model.policy), group: readOverride(group?.policy), device: readOverride(r.policy) };
    const effectivePolicy: WorkPolicy = mergePolicy(model.batchSize, layers);
    return {
      device: deviceView(r, Date.now(), p.role),
      group: group ? { id: group.id, name: group.name } : null,
      effectivePolicy,
      policyLayers: layers,
    };
  }

  /** Time zone, group, tags (replaced) and policy override (null clears) of one device. */
  async patch(p: ManufacturerPrincipal, id: string, body: DevicePatch): Promise<DeviceView> {
    assertAdmin(p);
    const r = await this.db.$transaction(async (tx) => {
      const before = await this.row(tx, p.manufacturerId, id, true);
      if (body.groupId) await this.assertGroup(tx, p.manufacturerId, body.groupId);
      const data: Prisma.DeviceUncheckedUpdateInput = {};
      if (body.timezone !== undefined) data.timezone = body.timezone;
      if (body.groupId !== undefined) data.groupId = body.groupId;
      if (body.tags !== undefined) data.tags = [...new Set(body.tags)];
      if (body.policy !== undefined) data.policy = body.policy === null ? Prisma.DbNull : (body.policy as Prisma.InputJsonValue);
      await tx.device.update({ where: { id }, data });
      const after = await this.row(tx, p.manufacturerId, id);
      const fields = Object.keys(body) as (keyof DevicePatch)[];
      await this.audit.record(tx, {
        manufacturerId: p.manufacturerId,
        actor: actorOf(p),
        action: 'device.update',
        targetType: 'device',
        targetIds: [id],
        before: pick(before, fields),
        after: pick(after, fields),
      });
      return after;
    });
    this.devices.forget(r.publicKey);
    return deviceView(r);
  }

  /** Quarantined → active, strikes back to 0 (409 DEVICE.NOT_QUARANTINED otherwise). */
  async release(p: ManufacturerPrincipal, id: string): Promise<DeviceView> {
    assertAdmin(p);
    const r = await this.db.$transaction(async (tx) => {
      const before = await this.row(tx, p.manufacturerId, id, true);
      if (before.status !== 'quarantined') throw FleetErrors.notQuarantined();
      await tx.device.update({ where: { id }, data: { status: 'active', strikes: 0 } });
      const after = await this.row(tx, p.manufacturerId, id);
      await this.audit.record(tx, {
        manufacturerId: p.manufacturerId,
        actor: actorOf(p),
        action: 'device.release',
        targetType: 'device',
        targetIds: [id],
        before: { status: before.status, strikes: before.strikes },
        after: { status: after.status, strikes: after.strikes },
      });
      return after;
    });
    this.devices.forget(r.publicKey);
    return deviceView(r);
  }

  /** The group is this tenant's; held (FOR SHARE) so a concurrent delete waits for this transaction. */
  async assertGroup(tx: Tx, manufacturerId: string, groupId: string): Promise<void> {
    const g = await tx.$queryRaw<{ id: string }[]>`
      SELECT "id" FROM "DeviceGroup" WHERE "id" = ${groupId} AND "manufacturerId" = ${manufacturerId} FOR SHARE`;
    if (!g[0]) throw FleetErrors.notFound('group');
  }
}

function pick(r: DeviceRow, fields: (keyof DevicePatch)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = f === 'tags' ? (r.tags ?? []) : (r[f] as string | PolicyOverride | null);
  return out;
}
