import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '@idlemint/audit';
import { CONFIG, PLATFORM_KEY_SEED, PlatformKeys, PrismaService, SecretBox, newId, type Config } from '@idlemint/core';
import { ed25519FromSeed, ed25519Generate } from '@idlemint/crypto';
import { NODE_PLATFORM_KEYS_PATH, NodeClient, NodeRequestError, type NodeKeyAnnouncement, type NodeKeysAnswer } from '@idlemint/protocol';
import { NodesErrors } from './nodes.errors.js';

type KeyRow = Awaited<ReturnType<PrismaService['platformKey']['findFirstOrThrow']>>;
interface NodeRow {
  id: string;
  name: string;
  url: string;
}

export interface PlatformKeyView {
  id: string | null;
  publicKey: string;
  status: 'pending' | 'current' | 'retired';
  /** "config": PLATFORM_SIGNING_KEY (its seed never leaves config); "generated": made by a rotation. */
  source: 'config' | 'generated';
  activeFrom: Date | null;
  retiresAt: Date | null;
  createdAt: Date | null;
}

export interface RotationResult {
  current: PlatformKeyView;
  retired: PlatformKeyView;
  /** Per active node: the new key announced (always, or the rotation fails), and the old key's retirement sent. */
  nodes: { node: string; retirementSent: boolean; error?: string }[];
}

/** Advisory lock id of platform key rotations (one at a time across every api process). */
const ROTATION_LOCK = 7_310_022;
/** Retired keys a sync tells a node about (newest first). */
const RETIREMENTS_SENT = 32;

/**
 * Rotates the platform's node signing key with an overlap window:
 * 1. the next key is stored as `pending` and announced to every active node, signed by the current
 *    key (each node then accepts both); any node failing stops here, nothing is switched;
 * 2. the next key becomes `current` (PlatformKeys hands it to every NodeClient within its cache
 *    time) and the old one `retired` with retiresAt = now + overlap;
 * 3. every active node is told, signed by the new key, that the old one retires at retiresAt.
 * A node that misses step 3 keeps accepting the old key until the next sync; `syncNode` (run when
 * a node is enabled) brings any node up to date, signing with the newest key it still accepts.
 */
@Injectable()
export class PlatformKeyRotation {
  private readonly log = new Logger(PlatformKeyRotation.name);

  constructor(
    private readonly db: PrismaService,
    private readonly keys: PlatformKeys,
    private readonly audit: AuditService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.box = SecretBox.fromConfig(config);
  }

  /** Generated seeds are stored sealed (envelope encryption, DATA_ENCRYPTION_KEY). */
  private readonly box: SecretBox;

  async list(): Promise<PlatformKeyView[]> {
    const rows = await this.db.platformKey.findMany({ orderBy: { createdAt: 'desc' } });
    if (rows.length > 0) return rows.map(view);
    return [
      {
        id: null,
        publicKey: ed25519FromSeed(this.config.PLATFORM_SIGNING_KEY).publicKey,
        status: 'current',
        source: 'config',
        activeFrom: null,
        retiresAt: null,
        createdAt: null,
      },
    ];
  }

  async rotate(overlapS: number): Promise<RotationResult> {
    return this.withLock(async () => {
      const current = await this.currentRow();
      const next =
        (await this.db.platformKey.findFirst({ where: { status: 'pending' }, orderBy: { createdAt: 'desc' } })) ??
        (await this.createPending());
      const nodes = await this.activeNodes();
      const announcement: NodeKeyAnnouncement = { publicKey: next.publicKey, validFrom: new Date().toISOString(), retire: [] };
      const results = await Promise.allSettled(nodes.map((n) => this.announce(n, this.seedOf(current), announcement)));
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ node: nodes[i]!.name, error: message(r.reason) }] : []));
      if (failed.length > 0) throw NodesErrors.announceFailed(next.publicKey, failed);

      const now = new Date();
      const retiresAt = new Date(now.getTime() + overlapS * 1000);
      const [retired, made] = await this.db.$transaction(async (tx) => {
        const old = await tx.platformKey.update({ where: { id: current.id }, data: { status: 'retired', retiresAt } });
        const fresh = await tx.platformKey.update({ where: { id: next.id }, data: { status: 'current', activeFrom: now } });
        await this.audit.record(tx, {
          manufacturerId: null,
          actor: { kind: 'operator' },
          action: 'platform_key.rotate',
          targetType: 'platform_key',
          targetIds: [fresh.id, old.id],
          before: { current: old.publicKey },
          after: { current: fresh.publicKey, retiring: old.publicKey, retiresAt: retiresAt.toISOString(), overlapS },
        });
        return [old, fresh] as const;
      });
      this.keys.invalidate();
      this.log.log(`platform key rotated to ${made.publicKey}; ${retired.publicKey} retires at ${retiresAt.toISOString()}`);

      const synced = await Promise.allSettled(nodes.map((n) => this.syncNode(n)));
      return {
        current: view(made),
        retired: view(retired),
        nodes: synced.map((r, i) =>
          r.status === 'fulfilled'
            ? { node: nodes[i]!.name, retirementSent: true }
            : { node: nodes[i]!.name, retirementSent: false, error: message(r.reason) },
        ),
      };
    });
  }

  /**
   * Brings one node up to date: every retired key still within its overlap (oldest first), then
   * the current key with every retirement, so the node accepts exactly what the platform's
   * processes may sign with now. Signed by the current key or, for a node that missed rotations,
   * by the newest older key it still accepts. Nothing to do before the first rotation.
   */
  async syncNode(node: NodeRow): Promise<void> {
    const rows = await this.db.platformKey.findMany({ where: { status: { in: ['current', 'retired'] } }, orderBy: { createdAt: 'desc' } });
    const current = rows.find((r) => r.status === 'current');
    if (!current) return;
    const retired = rows.filter((r) => r.status === 'retired' && r.retiresAt).slice(0, RETIREMENTS_SENT);
    const now = Date.now();
    const since = (k: KeyRow) => (k.activeFrom ?? k.createdAt).toISOString();
    const messages: NodeKeyAnnouncement[] = [
      ...retired
        .filter((r) => r.retiresAt!.getTime() > now)
        .reverse()
        .map((r) => ({ publicKey: r.publicKey, validFrom: since(r), retire: [] })),
      {
        publicKey: current.publicKey,
        validFrom: since(current),
        retire: retired.map((r) => ({ publicKey: r.publicKey, at: r.retiresAt!.toISOString() })),
      },
    ];
    let signer: KeyRow | undefined;
    let last: unknown;
    for (const candidate of [current, ...retired]) {
      try {
        await this.announce(node, this.seedOf(candidate), messages[0]!);
        signer = candidate;
        break;
      } catch (e) {
        last = e;
        // Only "this key is not accepted here" is worth trying an older key for.
        if (!(e instanceof NodeRequestError && e.status === 401)) break;
      }
    }
    if (!signer) throw NodesErrors.syncFailed(node.name, message(last));
    try {
      for (const m of messages.slice(1)) await this.announce(node, this.seedOf(signer), m);
    } catch (e) {
      throw NodesErrors.syncFailed(node.name, message(e));
    }
  }

  private announce(node: NodeRow, seed: string, body: NodeKeyAnnouncement): Promise<NodeKeysAnswer> {
    return new NodeClient(node.url, seed).request<NodeKeysAnswer>('POST', NODE_PLATFORM_KEYS_PATH, body);
  }

  private activeNodes(): Promise<NodeRow[]> {
    return this.db.trustedNode.findMany({
      where: { status: 'active' },
      select: { id: true, name: true, url: true },
      orderBy: { createdAt: 'asc' },
    });
  }

  /** The current key's row; before the first rotation, a row for PLATFORM_SIGNING_KEY (seed kept in config). */
  private async currentRow(): Promise<KeyRow> {
    const row = await this.db.platformKey.findFirst({ where: { status: 'current' }, orderBy: { activeFrom: 'desc' } });
    if (row) return row;
    const publicKey = ed25519FromSeed(this.config.PLATFORM_SIGNING_KEY).publicKey;
    return this.db.platformKey.upsert({
      where: { publicKey },
      create: { id: newId(), publicKey, seed: null, status: 'current', activeFrom: new Date() },
      update: {},
    });
  }

  private createPending(): Promise<KeyRow> {
    const pair = ed25519Generate();
    return this.db.platformKey.create({
      data: { id: newId(), publicKey: pair.publicKey, seed: this.box.seal(PLATFORM_KEY_SEED, pair.secretKey), status: 'pending' },
    });
  }

  private seedOf(row: KeyRow): string {
    return row.seed === null ? this.config.PLATFORM_SIGNING_KEY : this.box.open(PLATFORM_KEY_SEED, row.seed);
  }

  /** Runs `fn` while holding the rotation lock (a transaction holds it; `fn` writes on its own). */
  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.$transaction(
      async (tx) => {
        const [row] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${ROTATION_LOCK}::bigint) AS locked`;
        if (!row?.locked) throw NodesErrors.rotationInProgress();
        return fn();
      },
      { maxWait: 10_000, timeout: 300_000 },
    );
  }
}

function view(r: KeyRow): PlatformKeyView {
  return {
    id: r.id,
    publicKey: r.publicKey,
    status: r.status,
    source: r.seed === null ? 'config' : 'generated',
    activeFrom: r.activeFrom,
    retiresAt: r.retiresAt,
    createdAt: r.createdAt,
  };
}

const message = (e: unknown): string =>
  e instanceof NodeRequestError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
