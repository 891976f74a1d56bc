import { Injectable } from '@nestjs/common';
import { AuditService } from '@idlemint/audit';
import { PrismaService, newId, newSecret, type ApiKeyModel, type Tx } from '@idlemint/core';
import type { ApiRoleName } from '@idlemint/protocol';
import { FleetErrors } from './fleet.errors.js';
import { TenantsService, actorOf, assertAdmin, sha256, type ManufacturerPrincipal } from './tenants.service.js';

export interface ApiKeyView {
  id: string;
  name: string | null;
  role: string;
  createdAt: Date;
  revokedAt: Date | null;
}

const view = (k: ApiKeyModel): ApiKeyView => ({ id: k.id, name: k.name, role: k.role, createdAt: k.createdAt, revokedAt: k.revokedAt });

/**
 * A manufacturer's API keys: created with a role (admin or viewer), listed without secrets,
 * rotated (a new secret with the same role and name; the old key is revoked at once) and revoked.
 * Only the SHA-256 of a secret is stored; the secret is in the create or rotate answer, once.
 * Key changes of one tenant are serialised on its manufacturer row, so two concurrent revocations
 * cannot remove the last admin key between them.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly db: PrismaService,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
  ) {}

  async list(p: ManufacturerPrincipal): Promise<ApiKeyView[]> {
    const keys = await this.db.apiKey.findMany({ where: { manufacturerId: p.manufacturerId }, orderBy: { id: 'asc' } });
    return keys.map(view);
  }

  async create(p: ManufacturerPrincipal, input: { role: ApiRoleName; name?: string | undefined }) {
    assertAdmin(p);
    const secret = newSecret('imk');
    const key = await this.db.$transaction(async (tx) => {
      await this.lockTenant(tx, p.manufacturerId);
      const k = await tx.apiKey.create({
        data: { id: newId(), manufacturerId: p.manufacturerId, role: input.role, name: input.name ?? null, secretHash: sha256(secret) },
      });
      await this.audit.record(tx, {
        manufacturerId: p.manufacturerId,
        actor: actorOf(p),
        action: 'api_key.create',
        targetType: 'api_key',
        targetIds: [k.id],
        before: null,
        after: view(k),
      });
      return k;
    });
    return { apiKey: view(key), secret };
  }

  /** A new secret for the key's role and name; the old key stops working (within the 5 s cache). */
  async rotate(p: ManufacturerPrincipal, id: string) {
    assertAdmin(p);
    const secret = newSecret('imk');
    const { old, fresh } = await this.db.$transaction(async (tx) => {
      await this.lockTenant(tx, p.manufacturerId);
      const old = await this.activeKey(tx, p, id);
      const revoked = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
      const fresh = await tx.apiKey.create({
        data: { id: newId(), manufacturerId: p.manufacturerId, role: old.role, name: old.name, secretHash: sha256(secret) },
      });
      await this.audit.record(tx, {
        manufacturerId: p.manufacturerId,
        actor: actorOf(p),
        action: 'api_key.rotate',
        targetType: 'api_key',
        targetIds: [old.id, fresh.id],
        before: { [old.id]: view(old) },
        after: { [old.id]: view(revoked), [fresh.id]: view(fresh) },
      });
      return { old, fresh };
    });
    this.tenants.forgetKey(old.secretHash);
    return { apiKey: view(fresh), secret, rotatedFrom: old.id };
  }

  async revoke(p: ManufacturerPrincipal, id: string): Promise<ApiKeyView> {
    assertAdmin(p);
    const { old, revoked } = await this.db.$transaction(async (tx) => {
      await this.lockTenant(tx, p.manufacturerId);
      const old = await this.activeKey(tx, p, id);
      if (old.role === 'admin') {
        const admins = await tx.apiKey.count({ where: { manufacturerId: p.manufacturerId, role: 'admin', revokedAt: null } });
        if (admins <= 1) throw FleetErrors.lastAdminKey();
      }
      const revoked = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
      await this.audit.record(tx, {
        manufacturerId: p.manufacturerId,
        actor: actorOf(p),
        action: 'api_key.revoke',
        targetType: 'api_key',
        targetIds: [id],
        before: view(old),
        after: view(revoked),
      });
      return { old, revoked };
    });
    this.tenants.forgetKey(old.secretHash);
    return view(revoked);
  }

  private async activeKey(tx: Tx, p: ManufacturerPrincipal, id: string): Promise<ApiKeyModel> {
    const key = await tx.apiKey.findFirst({ where: { id, manufacturerId: p.manufacturerId } });
    if (!key) throw FleetErrors.notFound('api_key');
    if (key.revokedAt) throw FleetErrors.apiKeyRevoked();
    return key;
  }

  private async lockTenant(tx: Tx, manufacturerId: string): Promise<void> {
    await tx.$queryRaw`SELECT 1 FROM "Manufacturer" WHERE "id" = ${manufacturerId} FOR UPDATE`;
  }
}
