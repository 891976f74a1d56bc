import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DomainError } from '@idlemint/core';
import { SharesService } from './shares.service.js';
import { SharesRepository } from './shares.repository.js';

export interface StratumCredential {
  /** What a miner puts as its Stratum user (worker name): the device id. */
  username: string;
  password: string;
}

export interface AuthorizedMiner {
  deviceId: string;
  extranonce1: string;
  difficulty: number;
  /** The credential's issue time: a re-issue or a revocation ends connections made with it. */
  issuedAt: number;
}

const hash = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();

/**
 * Stratum credentials: issued to an enrolled device (through the signed device protocol, or by its
 * manufacturer for a batch), stored as a hash, revocable. Issuing again replaces the old one.
 */
@Injectable()
export class StratumCredentialsService {
  constructor(
    private readonly repo: SharesRepository,
    private readonly shares: SharesService,
  ) {}

  async issue(deviceId: string): Promise<StratumCredential> {
    await this.shares.miner(deviceId);
    const password = randomBytes(24).toString('base64url');
    await this.repo.setCredential(deviceId, hash(password).toString('hex'), new Date());
    return { username: deviceId, password };
  }

  async revoke(deviceId: string): Promise<void> {
    if (!(await this.repo.revokeCredential(deviceId))) {
      throw new DomainError('SHARE.CREDENTIAL_NOT_FOUND', 'not_found', 'this device has no live Stratum credential');
    }
  }

  /** The miner a username/password stands for, or null (unknown, wrong, revoked, or device not active). */
  async authorize(username: string, password: string): Promise<AuthorizedMiner | null> {
    if (typeof username !== 'string' || typeof password !== 'string' || username.length > 64 || password.length > 128) return null;
    const deviceId = username.split('.')[0]!;
    const miner = await this.repo.miner(deviceId);
    if (!miner?.credentialHash || miner.credentialRevokedAt || !miner.credentialIssuedAt) return null;
    const expected = Buffer.from(miner.credentialHash, 'hex');
    if (!timingSafeEqual(expected, hash(password))) return null;
    const device = (await this.repo.devices([deviceId])).get(deviceId);
    if (device?.status !== 'active') return null;
    return { deviceId, extranonce1: miner.extranonce1, difficulty: miner.difficulty, issuedAt: miner.credentialIssuedAt.getTime() };
  }

  /** Of the given authorizations, those that no longer hold (device not active, credential revoked or replaced). */
  async lapsed(held: { deviceId: string; issuedAt: number }[]): Promise<Set<string>> {
    const ids = [...new Set(held.map((h) => h.deviceId))];
    const [devices, miners] = await Promise.all([this.repo.devices(ids), this.repo.miners(ids)]);
    const out = new Set<string>();
    for (const h of held) {
      const m = miners.get(h.deviceId);
      const live =
        devices.get(h.deviceId)?.status === 'active' && m && !m.credentialRevokedAt && m.credentialIssuedAt?.getTime() === h.issuedAt;
      if (!live) out.add(h.deviceId);
    }
    return out;
  }
}
