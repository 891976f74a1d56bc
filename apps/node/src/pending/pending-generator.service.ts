import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { makeItem, SenderPool } from '@idlemint/crypto';
import { newId } from '@idlemint/core';
import { makeTransferMessage, NODE_SCHEMES } from '@idlemint/protocol';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { NODE_CONFIG, type NodeConfig } from '../config.js';
import { PendingRepository, type NewPendingTx } from './pending.repository.js';

/** Items signed between two yields to the event loop (BIP-340/ECDSA signing runs ~1k/s). */
const CHUNK = 16;
const TICK_MS = 1_000;
/** Re-count unverified transactions every this many ticks; in between, count what we insert. */
const RECOUNT_EVERY = 10;

/**
 * Makes the node's pending transactions: signed transfers, the three schemes in turn, a share made
 * invalid on purpose (the truth is stored with each). A seed batch at start, then PENDING_RATE per
 * second while fewer than PENDING_CAP are unverified.
 */
@Injectable()
export class PendingGeneratorService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('PendingGenerator');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private made = 0;
  private unverified = 0;
  private ticks = 0;
  /** The chain's accounts: each signs many transfers (a key generation per item made seeding slow). */
  private readonly senders = new SenderPool();

  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    private readonly pending: PendingRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.unverified = await this.pending.countUnverified();
    const seed = Math.min(this.config.PENDING_SEED, this.config.PENDING_CAP) - this.unverified;
    if (seed > 0) {
      await this.generate(seed);
      this.logger.log(`seeded ${seed} pending transactions`);
    }
    if (this.config.PENDING_RATE > 0) this.schedule();
  }

  /** Stops, and waits for a tick in flight, before the database goes (NodePrismaService disconnects at shutdown). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Makes and stores `n` transactions; returns how many were stored. */
  async generate(n: number): Promise<number> {
    let stored = 0;
    while (stored < n && !this.stopped) {
      const batch: NewPendingTx[] = [];
      const size = Math.min(n - stored, 1_000);
      for (let i = 0; i < size; i++) {
        batch.push(this.makeOne());
        if (i % CHUNK === CHUNK - 1) await yieldToLoop();
      }
      stored += await this.pending.insertMany(batch);
    }
    this.unverified += stored;
    return stored;
  }

  private makeOne(): NewPendingTx {
    const scheme = NODE_SCHEMES[this.made++ % NODE_SCHEMES.length];
    const valid = Math.random() >= this.config.INVALID_SHARE;
    // The message is the transfer's 32-byte digest (bytes: makeItem reads a string as UTF-8).
    const item = makeItem(scheme, Buffer.from(makeTransferMessage(), 'hex'), valid, this.senders);
    return { txId: newId(), scheme, publicKey: item.publicKey, message: item.message, signature: item.signature, valid };
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((e: unknown) => this.logger.error(`pending generation failed: ${(e as Error).message}`))
        .finally(() => this.schedule());
    }, TICK_MS);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.ticks++ % RECOUNT_EVERY === 0 || this.unverified >= this.config.PENDING_CAP) {
      this.unverified = await this.pending.countUnverified();
    }
    const room = this.config.PENDING_CAP - this.unverified;
    if (room > 0) await this.generate(Math.min(room, this.config.PENDING_RATE));
  }
}
