import { Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { CONFIG, PrismaService, isUniqueViolation, newId, newSecret, type Config } from '@idlemint/core';
import { TtlCache } from './device-cache.js';
import { FleetErrors } from './fleet.errors.js';

export type ApiRole = 'admin' | 'viewer';
export interface ManufacturerPrincipal {
  manufacturerId: string;
  keyId: string;
  role: ApiRole;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Manufacturers, their API keys, attestation keys and device models; trusted nodes. */
@Injectable()
export class TenantsService {
  private readonly keyCache = new TtlCache<ManufacturerPrincipal | null>(5_000);
  private readonly operatorKey: Buffer;

  constructor(
    private readonly db: PrismaService,
    @Inject(CONFIG) config: Config,
  ) {
    this.operatorKey = Buffer.from(sha256(config.OPERATOR_KEY));
  }

  assertOperator(presented: string | undefined): void {
    if (!presented || !timingSafeEqual(Buffer.from(sha256(presented)), this.operatorKey)) {
      throw FleetErrors.operatorKeyInvalid();
    }
  }

  async authenticateApiKey(presented: string | undefined): Promise<ManufacturerPrincipal> {
    if (!presented || presented.length > 200) throw FleetErrors.apiKeyInvalid();
    const hash = sha256(presented);
    let principal = this.keyCache.get(hash);
    if (principal === undefined) {
      const key = await this.db.apiKey.findUnique({ where: { secretHash: hash } });
      const m = key && !key.revokedAt ? await this.db.manufacturer.findUnique({ where: { id: key.manufacturerId } }) : null;
      principal = key && m?.status === 'active' ? { manufacturerId: key.manufacturerId, keyId: key.id, role: key.role as ApiRole } : null;
      this.keyCache.set(hash, principal);
    }
    if (!principal) throw FleetErrors.apiKeyInvalid();
    return principal;
  }

  /** Creates a manufacturer and its first admin API key; the secret is returned once. */
  async createManufacturer(name: string) {
    const id = newId();
    const secret = newSecret('imk');
    try {
      const manufacturer = await this.db.$transaction(async (tx) => {
        const m = await tx.manufacturer.create({ data: { id, name } });
        await tx.apiKey.create({ data: { id: newId(), manufacturerId: id, role: 'admin', secretHash: sha256(secret) } });
        return m;
      });
      return { manufacturer, apiKey: secret };
    } catch (e) {
      if (isUniqueViolation(e)) throw FleetErrors.nameTaken('manufacturer');
      throw e;
    }
  }

  async addAttestationKey(p: ManufacturerPrincipal, publicKey: string) {
    this.assertAdmin(p);
    try {
      return await this.db.attestationKey.create({ data: { id: newId(), manufacturerId: p.manufacturerId, publicKey } });
    } catch (e) {
      if (isUniqueViolation(e)) throw FleetErrors.attestationKeyTaken();
      throw e;
    }
  }

  async addModel(p: ManufacturerPrincipal, input: { name: string; deviceClass: string; batchSize: number }) {
    this.assertAdmin(p);
    try {
      return await this.db.deviceModel.create({ data: { id: newId(), manufacturerId: p.manufacturerId, ...input } });
    } catch (e) {
      if (isUniqueViolation(e)) throw FleetErrors.nameTaken('model');
      throw e;
    }
  }

  async listDevices(p: ManufacturerPrincipal, limit: number) {
    return this.db.device.findMany({ where: { manufacturerId: p.manufacturerId }, orderBy: { id: 'asc' }, take: limit });
  }

  /** A device of this manufacturer; another tenant's id answers as not found. */
  async device(p: ManufacturerPrincipal, id: string) {
    const d = await this.db.device.findFirst({ where: { id, manufacturerId: p.manufacturerId } });
    if (!d) throw FleetErrors.notFound('device');
    return d;
  }

  async addNode(input: { name: string; url: string }) {
    try {
      return await this.db.trustedNode.create({ data: { id: newId(), ...input } });
    } catch (e) {
      if (isUniqueViolation(e)) throw FleetErrors.nameTaken('node');
      throw e;
    }
  }

  listNodes() {
    return this.db.trustedNode.findMany({ orderBy: { createdAt: 'asc' } });
  }

  private assertAdmin(p: ManufacturerPrincipal): void {
    if (p.role !== 'admin') throw FleetErrors.forbiddenRole();
  }
}
