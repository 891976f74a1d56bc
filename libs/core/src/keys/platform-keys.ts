import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import { PrismaService } from '../db/prisma.service.js';
import { SecretBox, type SecretPurpose } from '../secrets/secret-box.js';

/** Rotated seeds are stored sealed with this purpose (SecretBox). */
export const PLATFORM_KEY_SEED: SecretPurpose = 'platform-key-seed';

/** How long a process keeps using the key it last read (a rotation's overlap must be longer). */
export const PLATFORM_KEY_CACHE_MS = 2_000;

/**
 * The seed the platform signs trusted-node requests with: the newest `current` PlatformKey row
 * after a rotation, else the configured PLATFORM_SIGNING_KEY. Every NodeClient of the platform is
 * built with `await keys.currentSeed()`, so a rotation made by the api reaches every worker
 * within PLATFORM_KEY_CACHE_MS; the old key stays valid at the nodes for the rotation's overlap.
 */
@Injectable()
export class PlatformKeys {
  private cached?: { seed: string; until: number };
  private readonly box: SecretBox;

  constructor(
    private readonly db: PrismaService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.box = SecretBox.fromConfig(config);
  }

  async currentSeed(): Promise<string> {
    const now = Date.now();
    if (this.cached && this.cached.until > now) return this.cached.seed;
    const key = await this.db.platformKey.findFirst({
      where: { status: 'current' },
      orderBy: [{ activeFrom: 'desc' }, { createdAt: 'desc' }],
      select: { seed: true },
    });
    const seed = key?.seed ? this.box.open(PLATFORM_KEY_SEED, key.seed) : this.config.PLATFORM_SIGNING_KEY;
    this.cached = { seed, until: now + PLATFORM_KEY_CACHE_MS };
    return seed;
  }

  /** Forget the cached key (after this process rotated it). */
  invalidate(): void {
    this.cached = undefined;
  }
}
