import { Injectable } from '@nestjs/common';
import { AuditService } from '@idlemint/audit';
import { Prisma, PrismaService, isUniqueViolation, newId, type DeviceGroupModel, type Tx } from '@idlemint/core';
import type { GroupPatch, PolicyOverride } from '@idlemint/protocol';
import { DevicesService } from './devices.service.js';
import { FleetErrors } from './fleet.errors.js';
import { actorOf, assertAdmin, type ManufacturerPrincipal } from './tenants.service.js';

export interface GroupView {
  id: string;
  name: string;
  policy: Prisma.JsonValue;
  createdAt: Date;
  devices: number;
}

const asJson = (p: PolicyOverride | null | undefined) => (p === null || p === undefined ? Prisma.DbNull : (p as Prisma.InputJsonValue));

/**
 * Device groups of a manufacturer: a name and a work policy override its member devices inherit.
 * Membership is the device's groupId (set per device or in bulk). Deleting a group leaves its
 * devices in no group, in the same transaction.
 */
@Injectable()
export class GroupsService {
  constructor(
    private readonly db: PrismaService,
    private readonly devices: DevicesService,
    private readonly audit: AuditService,
  ) {}

  async list(p: ManufacturerPrincipal): Promise<GroupView[]> {
    const [groups, counts] = await Promise.all([
      this.db.deviceGroup.findMany({ where: { manufacturerId: p.manufacturerId }, orderBy: { name: 'asc' } }),
      this.db.device.groupBy({
        by: ['groupId'],
        where: { manufacturerId: p.manufacturerId, groupId: { not: null } },
        _count: { _all: true },
      }),
    ]);
    const n = new Map(counts.map((c) => [c.groupId, c._count._all]));
    return groups.map((g) => view(g, n.get(g.id) ?? 0));
  }

  async get(p: ManufacturerPrincipal, id: string): Promise<GroupView> {
    const g = await this.find(this.db, p.manufacturerId, id);
    return view(g, await this.db.device.count({ where: { manufacturerId: p.manufacturerId, groupId: id } }));
  }

  async create(p: ManufacturerPrincipal, input: { name: string; policy?: PolicyOverride | null | undefined }): Promise<GroupView> {
    assertAdmin(p);
    try {
      const g = await this.db.$transaction(async (tx) => {
        const g = await tx.deviceGroup.create({
          data: { id: newId(), manufacturerId: p.manufacturerId, name: input.name, policy: asJson(input.policy) },
        });
        await this.audit.record(tx, { ...this.entry(p, 'group.create', g.id), before: null, after: g });
        return g;
      });
      return view(g, 0);
    } catch (e) {
      if (isUniqueViolation(e)) throw FleetErrors.nameTaken('group');
      throw e;
    }
  }

  async update(p: ManufacturerPrincipal, id: string, patch: GroupPatch): Promise<GroupView> {
    assertAdmin(p);
    try {
      const g = await this.db.$transaction(async (tx) => {
        const before = await this.find(tx, p.manufacturerId, id, true);
        const after = await tx.deviceGroup.update({
          where: { id },
          data: {
            ...(patch.name !== undefined ? { name: patch.name } : {}),
            ...(patch.policy !== undefined ? { policy: asJson(patch.policy) } : {}),
          },
        });
        await this.audit.record(tx, { ...this.entry(p, 'group.update', id), before, after });
        return after;
      });
      // Member devices' merged policy changed: this process drops its cached view; others within 5 s.
      if (patch.policy !== undefined) this.devices.forgetAll();
      return view(g, await this.db.device.count({ where: { manufacturerId: p.manufacturerId, groupId: id } }));
    } catch (e) {
      if (isUniqueViolation(e)) throw FleetErrors.nameTaken('group');
      throw e;
    }
  }

  async remove(p: ManufacturerPrincipal, id: string): Promise<{ id: string; devicesUngrouped: number }> {
    assertAdmin(p);
    const members = await this.db.$transaction(async (tx) => {
      const before = await this.find(tx, p.manufacturerId, id, true);
      const rows = await tx.$queryRaw<{ id: string }[]>`
        UPDATE "Device" SET "groupId" = NULL WHERE "manufacturerId" = ${p.manufacturerId} AND "groupId" = ${id} RETURNING "id"`;
      await tx.deviceGroup.delete({ where: { id } });
      await this.audit.record(tx, {
        ...this.entry(p, 'group.delete', id),
        targetIds: [id, ...rows.map((r) => r.id)],
        before: { group: before, members: rows.map((r) => r.id) },
        after: null,
      });
      return rows.length;
    });
    if (members > 0) this.devices.forgetAll();
    return { id, devicesUngrouped: members };
  }

  private async find(db: Tx | PrismaService, manufacturerId: string, id: string, lock = false): Promise<DeviceGroupModel> {
    if (lock) await db.$queryRaw`SELECT 1 FROM "DeviceGroup" WHERE "id" = ${id} AND "manufacturerId" = ${manufacturerId} FOR UPDATE`;
    const g = await db.deviceGroup.findFirst({ where: { id, manufacturerId } });
    if (!g) throw FleetErrors.notFound('group');
    return g;
  }

  private entry(p: ManufacturerPrincipal, action: string, id: string) {
    return { manufacturerId: p.manufacturerId, actor: actorOf(p), action, targetType: 'group', targetIds: [id] };
  }
}

function view(g: DeviceGroupModel, devices: number): GroupView {
  return { id: g.id, name: g.name, policy: g.policy, createdAt: g.createdAt, devices };
}
