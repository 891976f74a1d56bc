import { Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuditService, type Actor } from '@idlemint/audit';
import { CONFIG, PrismaService, isUniqueViolation, newId, newSecret, type Config } from '@idlemint/core';
import { ed25519VerifyHex } from '@idlemint/crypto';
import { attestationKeyProofString, type ApiRoleName } from '@idlemint/protocol';
import { TtlCache } from './device-cache.js';
import { FleetErrors } from './fleet.errors.js';

export type ApiRole = ApiRoleName;
export interface ManufacturerPrincipal {
  manufacturerId: string;
  keyId: string;
  role: ApiRole;
}

/** How long a process trusts its cached view of an API key (revocation reaches it within this). */
export const API_KEY_CACHE_MS = 5_000;
export const OPERATOR: Actor = { kind: 'operator' };

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
export const actorOf = (p: ManufacturerPrincipal): Actor => ({ kind: 'key', keyId: p.keyId });

export function assertAdmin(p: ManufacturerPrincipal): void {
  if (p.role !== 'admin') throw FleetErrors.forbiddenRole();
}

/** Manufacturers, authentication of their API keys, attestation keys and device models; trusted nodes. */
@Injectable()
export class TenantsService {
  private readonly keyCache = new TtlCache<ManufacturerPrincipal | null>(API_KEY_CACHE_MS);
  private readonly operatorKey: Buffer;

  constructor(
    private readonly db: PrismaService,
    private readonly audit: AuditService,
    @Inject(CONFIG) config: Config,
  ) {
    this.operatorKey = Buffer.from(sha256(config.OPERATOR_KEY));
  }

  assertOperator(presented: string | undefined): void {
    if (!presented || !timingSafeEqual(Buffer.from(sha256(presented)), this.operatorKey)) {
      throw FleetErrors.operatorKeyInvalid();
    }
  }

  /** The key's tenant and role, from a short cache; revoked keys and suspended tenants are refused. */
  async authenticateApiKey(presented: string | undefined): Promise<ManufacturerPrincipal> {
    if (!presented || presented.length > 200) throw FleetErrors.apiKeyInvalid();
    const hash = sha256(presented);
    let principal = this.keyCache.get(hash);
    if (principal === undefined) {
      const key = await this.db.apiKey.findUnique({ where: { secretHash: hash } });
      const m = key && !key.revokedAt ? await this.db.manufacturer.findUnique({ where: { id: key.manufacturerId } }) : null;
      const role = key?.role === 'admin' || key?.role === 'viewer' ? key.role : null;
      principal = key && role && m?.status === 'active' ? { manufacturerId: key.manufacturerId, keyId: key.id, role } : null;
      this.keyCache.set(hash, principal);
    }
    if (!principal) throw FleetErrors.apiKeyInvalid();
    return principal;
  }

  /** Drops this process's cached view of one key (by its secret's hash), or of all keys. */
  forgetKey(secretHash?: string): void {
    if (secretHash === undefined) this.keyCache.clear();
    else this.keyCache.delete(secretHash);
  }

  /** Creates a manufacturer and its first admin API key; the secret is returned once. */
  async createManufacturer(name: string) {
    const id = newId();
    const secret = newSecret('imk');
    try {
      const manufacturer = await this.db.$transaction(async (tx) => {
        const m = await tx.manufacturer.create({ data: { id, name } });
        const keyId = newId();
        await tx.apiKey.create({ data: { id: keyId, manufacturerId: id, role: 'admin', name: 'initial', secretHash: sha256(secret) } });
        await this.audit.record(tx, {
          manufacturerId: id,
          actor: OPERATOR,
          action: 'manufacturer.create',
          targetType: 'manufacturer',
          targetIds: [id, keyId],
          before: null,
          after: { manufacturer: m, apiKey: { id: keyId, role: 'admin', name: 'initial' } },
        });
        return m;
      });
      return { manufacturer, apiKey: secret };
    } catch (e) {
      if (isUniqueViolation(e)) throw FleetErrors.nameTaken('manufacturer');
      throw e;
    }
  }

  /**
   * Registers an attestation key once its holder proved it holds the private half: `proof` is the
   * key's signature over attestationKeyProofString(this manufacturer, key) (422 otherwise), so no
   * tenant can register, and then enroll the devices of, another maker's factory key.
   */
  async addAttestationKey(p: ManufacturerPrincipal, publicKey: string, proof: string) {
    assertAdmin(p);
    const challenge = attestationKeyProofString(p.manufacturerId, publicKey);
    if (!ed25519VerifyHex(publicKey, challenge, proof)) {
      throw FleetErrors.attestationProofInvalid({ manufacturerId: p.manufacturerId, challenge });
    }
    try {
      return await this.db.$transaction(async (tx) => {
        const key = await tx.attestationKey.create({ data: { id: newId(), manufacturerId: p.manufacturerId, publicKey } });
        await this.audit.record(tx, {
          manufacturerId: p.manufacturerId,
          actor: actorOf(p),
          action: 'attestation_key.create',
          targetType: 'attestation_key',
          targetIds: [key.id],
          before: null,
          after: key,
        });
        return key;
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw FleetErrors.attestationKeyTaken();
      throw e;
    }
  }

  async addModel(p: ManufacturerPrincipal, input: { name: string; deviceClass: string; batchSize: number }) {
    assertAdmin(p);
    try {
      return await this.db.$transaction(async (tx) => {
        const model = await tx.deviceModel.create({ data: { id: newId(), manufacturerId: p.manufacturerId, ...input } });
        await this.audit.record(tx, {
          manufacturerId: p.manufacturerId,
          actor: actorOf(p),
          action: 'model.create',
          targetType: 'model',
          targetIds: [model.id],
          before: null,
          after: model,
        });
        return model;
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw FleetErrors.nameTaken('model');
      throw e;
    }
  }

  async addNode(input: { name: string; url: string }) {
    try {
      return await this.db.$transaction(async (tx) => {
        const node = await tx.trustedNode.create({ data: { id: newId(), ...input } });
        await this.audit.record(tx, {
          manufacturerId: null,
          actor: OPERATOR,
          action: 'node.create',
          targetType: 'node',
          targetIds: [node.id],
          before: null,
          after: node,
        });
        return node;
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw FleetErrors.nameTaken('node');
      throw e;
    }
  }

  listNodes() {
    return this.db.trustedNode.findMany({ orderBy: { createdAt: 'asc' } });
  }
}
