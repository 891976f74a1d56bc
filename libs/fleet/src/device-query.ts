import { Prisma } from '@idlemint/core';
import { decodeCursor, encodeCursor, ULID_RE, type DeviceFilter, type DeviceSort } from '@idlemint/protocol';
import { FleetErrors } from './fleet.errors.js';

/**
 * The device filter language as SQL (one WHERE for the list and the bulk actions) and keyset
 * pagination on (sort key, id) with an opaque cursor. Every fragment is parameterised.
 */

/** Reputation in 0..1, kept on the device by the reputation engine (libs/verification). */
export const REPUTATION_SQL = Prisma.sql`d."reputation"`;

/** A filter with its model names already resolved to this tenant's model ids. */
export interface ResolvedFilter extends DeviceFilter {
  modelIds?: string[];
}

export function filterSql(manufacturerId: string, f: ResolvedFilter, now: Date, onlineWithinMs: number): Prisma.Sql {
  const where: Prisma.Sql[] = [Prisma.sql`d."manufacturerId" = ${manufacturerId}`];
  if (f.status) where.push(Prisma.sql`d."status" = ANY(${f.status}::"DeviceStatus"[])`);
  if (f.modelIds) where.push(Prisma.sql`d."modelId" = ANY(${f.modelIds}::text[])`);
  if (f.firmware) where.push(Prisma.sql`d."firmware" = ANY(${f.firmware}::text[])`);
  if (f.group) {
    const ids = f.group.filter((g) => g !== 'none');
    const none = f.group.includes('none');
    const inGroups = Prisma.sql`d."groupId" = ANY(${ids}::text[])`;
    where.push(none ? (ids.length ? Prisma.sql`(${inGroups} OR d."groupId" IS NULL)` : Prisma.sql`d."groupId" IS NULL`) : inGroups);
  }
  if (f.tag) where.push(Prisma.sql`d."tags" @> ${f.tag}::text[]`);
  if (f.lastSeenBefore) where.push(Prisma.sql`d."lastSeenAt" < ${f.lastSeenBefore}::timestamp`);
  if (f.lastSeenAfter) where.push(Prisma.sql`d."lastSeenAt" >= ${f.lastSeenAfter}::timestamp`);
  if (f.reputationMin !== undefined) where.push(Prisma.sql`${REPUTATION_SQL} >= ${f.reputationMin}`);
  if (f.reputationMax !== undefined) where.push(Prisma.sql`${REPUTATION_SQL} <= ${f.reputationMax}`);
  if (f.claimed !== undefined) where.push(f.claimed ? Prisma.sql`d."ownerId" IS NOT NULL` : Prisma.sql`d."ownerId" IS NULL`);
  if (f.online !== undefined) {
    const since = new Date(now.getTime() - onlineWithinMs);
    where.push(
      f.online
        ? Prisma.sql`d."lastSeenAt" >= ${since}::timestamp`
        : Prisma.sql`(d."lastSeenAt" IS NULL OR d."lastSeenAt" < ${since}::timestamp)`,
    );
  }
  return Prisma.join(where, ' AND ');
}

// ---------------------------------------------------------------------------------------------
// Keyset pagination

export interface Keyset {
  sort: DeviceSort;
  order: 'asc' | 'desc';
  /** The last row's sort value (ISO time or serial); null for a device never seen (lastSeenAt). */
  value: string | null;
  id: string;
}

const COLUMN: Record<DeviceSort, Prisma.Sql> = {
  enrolledAt: Prisma.sql`d."enrolledAt"`,
  lastSeenAt: Prisma.sql`d."lastSeenAt"`,
  serial: Prisma.sql`d."serial"`,
};
const isTime = (s: DeviceSort) => s !== 'serial';
/** A time as this API writes it into a cursor (Date.toISOString). */
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeKeyset(k: Keyset): string {
  return encodeCursor({ s: k.sort, o: k.order, v: k.value, i: k.id });
}

/** The cursor's position; 400 REQUEST.INVALID_CURSOR for anything else or another sort. */
export function decodeKeyset(cursor: string, sort: DeviceSort, order: 'asc' | 'desc'): Keyset {
  const k = decodeCursor(cursor, (c): Keyset | null => {
    if (c.s !== sort || c.o !== order || typeof c.i !== 'string' || !ULID_RE.test(c.i)) return null;
    const v = c.v;
    if (v === null) return sort === 'lastSeenAt' ? { sort, order, value: null, id: c.i } : null;
    if (typeof v !== 'string' || v.length > 64) return null;
    if (isTime(sort) && !(ISO_MS.test(v) && v >= '1970' && !Number.isNaN(Date.parse(v)))) return null;
    return { sort, order, value: v, id: c.i };
  });
  if (!k) throw FleetErrors.invalidCursor();
  return k;
}

/** The value a row's cursor carries for `sort`. */
export function keysetValue(sort: DeviceSort, row: { enrolledAt: Date; lastSeenAt: Date | null; serial: string }): string | null {
  switch (sort) {
    case 'enrolledAt':
      return row.enrolledAt.toISOString();
    case 'lastSeenAt':
      return row.lastSeenAt ? row.lastSeenAt.toISOString() : null;
    case 'serial':
      return row.serial;
  }
}

/**
 * The page's segments in order. Devices never seen (lastSeenAt null) come after all others in
 * either direction: a first segment over the seen devices, then one over the unseen ones by id.
 * Each segment is one index range scan: (manufacturerId, sort key, id).
 */
export function pageSegments(
  sort: DeviceSort,
  order: 'asc' | 'desc',
  after: Keyset | undefined,
): { where: Prisma.Sql; orderBy: Prisma.Sql }[] {
  const dir = order === 'asc' ? Prisma.sql`ASC` : Prisma.sql`DESC`;
  const cmp = order === 'asc' ? Prisma.sql`>` : Prisma.sql`<`;
  const col = COLUMN[sort];
  const value = (v: string) => (isTime(sort) ? Prisma.sql`${new Date(v)}::timestamp` : Prisma.sql`${v}`);
  const byKey = { orderBy: Prisma.sql`${col} ${dir}, d."id" ${dir}` };
  const byId = { orderBy: Prisma.sql`d."id" ${dir}` };
  if (sort !== 'lastSeenAt') {
    return [{ ...byKey, where: after ? Prisma.sql`(${col}, d."id") ${cmp} (${value(after.value!)}, ${after.id})` : Prisma.sql`TRUE` }];
  }
  const unseen = (afterId?: string) => ({
    ...byId,
    where: afterId ? Prisma.sql`${col} IS NULL AND d."id" ${cmp} ${afterId}` : Prisma.sql`${col} IS NULL`,
  });
  if (after && after.value === null) return [unseen(after.id)];
  const seen = after ? Prisma.sql`(${col}, d."id") ${cmp} (${value(after.value!)}, ${after.id})` : Prisma.sql`${col} IS NOT NULL`;
  return [{ ...byKey, where: seen }, unseen()];
}
