import { Injectable } from '@nestjs/common';
import { AuditService } from '@idlemint/audit';
import { Prisma, PrismaService } from '@idlemint/core';
import type { PolicyOverride } from '@idlemint/protocol';
import { DevicesService } from './devices.service.js';
import { FleetErrors } from './fleet.errors.js';
import { actorOf, assertAdmin, type ManufacturerPrincipal } from './tenants.service.js';

/**
 * A manufacturer's device models (with their work policy) and attestation keys. Revoking an
 * attestation key revokes every device enrolled under it, in one transaction with its audit row.
 */
@Injectable()
export class CatalogService {
  constructor(
    private readonly db: PrismaService,
    private readonly devices: DevicesService,
    private readonly audit: AuditService,
  ) {}

  listModels(p: ManufacturerPrincipal) {
    return this.db.deviceModel.findMany({ where: { manufacturerId: p.manufacturerId }, orderBy: { name: 'asc' } });
  }

  /** Sets (or clears, with null) the model's work policy override. */
  async setModelPolicy(p: ManufacturerPrincipal, id: string, policy: PolicyOverride | null) {
    assertAdmin(p);
    const model = await this.db.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<{ id: string }[]>`
        SELECT "id" FROM "DeviceModel" WHERE "id" = ${id} AND "manufacturerId" = ${p.manufacturerId} FOR UPDATE`;
      if (!locked[0]) throw FleetErrors.notFound('model');
      const before = await tx.deviceModel.findUniqueOrThrow({ where: { id } });
      const after = await tx.deviceModel.update({
        where: { id },
        data: { policy: policy === null ? Prisma.DbNull : (policy as Prisma.InputJsonValue) },
      });
      await this.audit.record(tx, {
        manufacturerId: p.manufacturerId,
        actor: actorOf(p),
        action: 'model.update',
        targetType: 'model',
        targetIds: [id],
        before: { policy: before.policy },
        after: { policy: after.policy },
      });
      return after;
    });
    this.devices.forgetAll();
    return model;
  }

  listAttestationKeys(p: ManufacturerPrincipal) {
    return this.db.attestationKey.findMany({ where: { manufacturerId: p.manufacturerId }, orderBy: { createdAt: 'asc' } });
  }

  /**
   * Revokes the key (no new enrollments under it) and every device enrolled under it, atomically.
   * Revoking a revoked key again changes nothing and answers the same.
   */
  async revokeAttestationKey(p: ManufacturerPrincipal, id: string) {
    assertAdmin(p);
    const { key, revoked } = await this.db.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<{ revokedAt: Date | null }[]>`
          SELECT "revokedAt" FROM "AttestationKey" WHERE "id" = ${id} AND "manufacturerId" = ${p.manufacturerId} FOR UPDATE`;
        if (!rows[0]) throw FleetErrors.notFound('attestation_key');
        const before = await tx.attestationKey.findUniqueOrThrow({ where: { id } });
        const key = before.revokedAt ? before : await tx.attestationKey.update({ where: { id }, data: { revokedAt: new Date() } });
        const revoked = await tx.$queryRaw<{ id: string; publicKey: string; before: string }[]>`
          UPDATE "Device" d SET "status" = 'revoked'
            FROM (SELECT "id", "status" FROM "Device"
                   WHERE "attestationKeyId" = ${id} AND "manufacturerId" = ${p.manufacturerId} AND "status" <> 'revoked' FOR UPDATE) old
           WHERE d."id" = old."id"
          RETURNING d."id", d."publicKey", old."status"::text AS "before"`;
        if (!before.revokedAt || revoked.length > 0) {
          await this.audit.record(tx, {
            manufacturerId: p.manufacturerId,
            actor: actorOf(p),
            action: 'attestation_key.revoke',
            targetType: 'attestation_key',
            targetIds: [id, ...revoked.map((d) => d.id)],
            before: { attestationKey: before, devices: Object.fromEntries(revoked.map((d) => [d.id, { status: d.before }])) },
            after: { attestationKey: key, devices: { status: 'revoked', count: revoked.length } },
          });
        }
        return { key, revoked };
      },
      { timeout: 60_000, maxWait: 10_000 },
    );
    for (const d of revoked) this.devices.forget(d.publicKey);
    return { attestationKey: key, devicesRevoked: revoked.length };
  }
}
