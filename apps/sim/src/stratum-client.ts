import { connect, type Socket } from 'node:net';
import { difficultyToTarget, searchNonce, u32Hex, VERSION_ROLLING_MASK, type StratumJob } from '@idlemint/crypto';

/** A mining.notify as received. */
export interface NotifiedJob extends StratumJob {
  jobId: string;
  clean: boolean;
}

export interface StratumReply {
  id: number | string | null;
  result: unknown;
  error: [number, string, unknown] | null;
}

/** A share as the client found it (what it submits, and the hash it proved). */
export interface FoundShare {
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  versionBits: string;
  hash: bigint;
}

/**
 * A Stratum v1 miner in software, writing its requests byte for byte the way ESP-Miner (Bitaxe)
 * and cgminer do: `mining.configure` for version rolling, `mining.subscribe` with a user agent,
 * `mining.authorize`, `mining.suggest_difficulty`, then `mining.submit` with the rolled version
 * bits as a sixth parameter. The simulator's Stratum devices and the tests use it.
 */
export class StratumClient {
  readonly lines: string[] = [];
  readonly notifications: { method: string; params: unknown[] }[] = [];
  extranonce1 = '';
  extranonce2Size = 4;
  difficulty = 1;
  job: NotifiedJob | null = null;
  versionMask = 0;
  closed = false;
  private socket!: Socket;
  private buffer = '';
  private nextId = 1;
  private en2 = 0;
  private readonly waiting = new Map<number, (r: StratumReply) => void>();
  private readonly watchers = new Set<() => void>();

  static async connect(port: number, host = '127.0.0.1'): Promise<StratumClient> {
    const c = new StratumClient();
    await new Promise<void>((resolve, reject) => {
      c.socket = connect({ port, host }, resolve);
      c.socket.once('error', reject);
    });
    c.socket.setEncoding('utf8');
    c.socket.on('data', (d: string) => c.onData(d));
    c.socket.on('close', () => {
      c.closed = true;
      c.wake();
    });
    c.socket.on('error', () => undefined);
    return c;
  }

  /** Writes raw bytes (hostile tests: oversize lines, floods, garbage). */
  writeRaw(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  /** Sends one request line formatted as `format(id)` returns it, and waits for its reply. */
  async request(format: (id: number) => string): Promise<StratumReply> {
    const id = this.nextId++;
    const reply = new Promise<StratumReply>((resolve, reject) => {
      this.waiting.set(id, resolve);
      const check = () => {
        if (this.closed && this.waiting.has(id)) {
          this.waiting.delete(id);
          this.watchers.delete(check);
          reject(new Error('connection closed'));
        }
      };
      this.watchers.add(check);
    });
    this.writeRaw(format(id) + '\n');
    return reply;
  }

  /** ESP-Miner's handshake: configure, subscribe, authorize, suggest_difficulty. */
  async handshake(
    user: string,
    password: string,
    suggest?: number,
  ): Promise<{ configure: StratumReply; subscribe: StratumReply; authorize: StratumReply }> {
    const configure = await this.request(
      (id) => `{"id": ${id}, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "ffffffff"}]}`,
    );
    const mask = (configure.result as Record<string, unknown> | null)?.['version-rolling.mask'];
    this.versionMask = typeof mask === 'string' ? parseInt(mask, 16) & VERSION_ROLLING_MASK : 0;
    const subscribe = await this.request((id) => `{"id": ${id}, "method": "mining.subscribe", "params": ["bitaxe/BM1366/v2.4.0"]}`);
    if (Array.isArray(subscribe.result)) {
      this.extranonce1 = subscribe.result[1] as string;
      this.extranonce2Size = subscribe.result[2] as number;
    }
    const authorize = await this.request((id) => `{"id": ${id}, "method": "mining.authorize", "params": ["${user}", "${password}"]}`);
    if (suggest !== undefined) await this.request((id) => `{"id": ${id}, "method": "mining.suggest_difficulty", "params": [${suggest}]}`);
    return { configure, subscribe, authorize };
  }

  /** Mines one share of the current job at the current difficulty (CPU), rolling version bits. */
  mineShare(): FoundShare {
    const job = this.job;
    if (!job) throw new Error('no job yet');
    const target = difficultyToTarget(this.difficulty);
    for (;;) {
      const n = this.en2++;
      const extranonce2 = u32Hex(n).slice(8 - this.extranonce2Size * 2);
      const versionBits = u32Hex(((n << 13) & this.versionMask) >>> 0);
      const found = searchNonce(
        job,
        { extranonce1: this.extranonce1, extranonce2, ntime: job.ntime, versionBits, versionMask: this.versionMask },
        target,
        0,
        1 << 20,
      );
      if (found) return { jobId: job.jobId, extranonce2, ntime: job.ntime, nonce: found.nonce, versionBits, hash: found.hash };
    }
  }

  /** ESP-Miner's submit line: user, job, extranonce2, ntime, nonce, version bits. */
  submit(user: string, s: Omit<FoundShare, 'hash'>): Promise<StratumReply> {
    return this.request(
      (id) =>
        `{"id": ${id}, "method": "mining.submit", "params": ["${user}", "${s.jobId}", "${s.extranonce2}", "${s.ntime}", "${s.nonce}", "${s.versionBits}"]}`,
    );
  }

  /** Resolves when `ok()` holds (checked on every line received), or rejects after `ms`. */
  async until(ok: () => boolean, ms = 60_000): Promise<void> {
    if (ok()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.watchers.delete(check);
        reject(new Error('condition not reached'));
      }, ms);
      const check = () => {
        if (ok()) {
          clearTimeout(timer);
          this.watchers.delete(check);
          resolve();
        }
      };
      this.watchers.add(check);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      this.lines.push(line);
      const msg = JSON.parse(line) as {
        id: number | null;
        method?: string;
        params?: unknown[];
        result?: unknown;
        error?: StratumReply['error'];
      };
      if (msg.method) {
        this.notifications.push({ method: msg.method, params: msg.params ?? [] });
        if (msg.method === 'mining.set_difficulty') this.difficulty = Number(msg.params![0]);
        if (msg.method === 'mining.notify') {
          const p = msg.params as [string, string, string, string, string[], string, string, string, boolean];
          this.job = {
            jobId: p[0],
            prevHash: p[1],
            coinb1: p[2],
            coinb2: p[3],
            merkleBranch: p[4],
            version: p[5],
            nbits: p[6],
            ntime: p[7],
            clean: p[8],
          };
        }
      } else if (typeof msg.id === 'number') {
        this.waiting.get(msg.id)?.({ id: msg.id, result: msg.result ?? null, error: msg.error ?? null });
        this.waiting.delete(msg.id);
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.watchers]) w();
  }
}
