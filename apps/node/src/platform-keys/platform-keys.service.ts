import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DomainError } from '@idlemint/core';
import { NODE_CLOCK_SKEW_MS, NODE_KEY_ERRORS, type NodeKeyAnnouncement, type NodeKeysAnswer } from '@idlemint/protocol';
import { NODE_CONFIG, type NodeConfig } from '../config.js';
import { PlatformKeysRepository, type AcceptedKey } from './platform-keys.repository.js';

/** How often a signature no known key verifies may trigger a reload from the database. */
const RELOAD_AT_MOST_EVERY_MS = 1_000;

/**
 * The platform keys this node accepts: the configured one, plus every key announced by a key the
 * node accepted at the time, each until its validity ends. Kept in memory; reloaded after an
 * announcement and, at most once a second, when no key in memory verifies a request (another
 * process of the node may have learned a key).
 */
@Injectable()
export class PlatformKeysService implements OnModuleInit {
  private keys: AcceptedKey[] = [];
  private loadedAt = 0;

  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    private readonly repo: PlatformKeysRepository,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.repo.ensureConfigKey(this.config.PLATFORM_PUBLIC_KEY);
    await this.reload();
  }

  private async reload(): Promise<void> {
    this.keys = await this.repo.all();
    this.loadedAt = Date.now();
  }

  /** Keys valid at `now` (the new key from its validFrom, less the allowed clock skew). */
  valid(now: number = Date.now()): string[] {
    return this.keys
      .filter((k) => k.validFrom.getTime() - NODE_CLOCK_SKEW_MS <= now && (k.validUntil === null || now < k.validUntil.getTime()))
      .map((k) => k.publicKey);
  }

  /** The first valid key for which `verifies` holds, reloading once when none does; else null. */
  async findSigner(verifies: (publicKey: string) => boolean): Promise<string | null> {
    const hit = this.valid().find(verifies);
    if (hit !== undefined) return hit;
    if (Date.now() - this.loadedAt < RELOAD_AT_MOST_EVERY_MS) return null;
    await this.reload();
    return this.valid().find(verifies) ?? null;
  }

  /** Applies an announcement (any key valid right now may make one; the guard checked that). */
  async announce(a: NodeKeyAnnouncement): Promise<NodeKeysAnswer> {
    if (a.retire.some((r) => r.publicKey === a.publicKey)) {
      throw new DomainError(NODE_KEY_ERRORS.announcementInvalid, 'unprocessable', 'an announcement cannot retire the key it announces');
    }
    await this.repo.transaction(async (tx) => {
      const known = await this.repo.find(tx, a.publicKey);
      if (known?.validUntil && known.validUntil.getTime() <= Date.now()) {
        throw new DomainError(NODE_KEY_ERRORS.keyRetired, 'conflict', 'the announced key was retired before', { publicKey: a.publicKey });
      }
      if (!known) await this.repo.add(tx, a.publicKey, new Date(a.validFrom));
      for (const r of a.retire) await this.repo.retire(tx, r.publicKey, new Date(r.at));
    });
    await this.reload();
    return this.view();
  }

  view(): NodeKeysAnswer {
    return {
      keys: this.keys.map((k) => ({
        publicKey: k.publicKey,
        source: k.source,
        validFrom: k.validFrom.toISOString(),
        validUntil: k.validUntil?.toISOString() ?? null,
      })),
    };
  }
}
