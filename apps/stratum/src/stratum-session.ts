import type { Socket } from 'node:net';
import { VERSION_ROLLING_MASK, u32Hex } from '@idlemint/crypto';
import {
  SHARE_CODES,
  startVardiff,
  suggestedDifficulty,
  vardiffTick,
  type AuthorizedMiner,
  type HashJobView,
  type ShareCode,
  type SubmitOutcome,
  type VardiffPolicy,
  type VardiffState,
} from '@idlemint/shares';

/** Stratum v1's customary error codes (slush's protocol description, kept by every pool since). */
export const STRATUM_ERRORS = {
  other: 20,
  stale: 21,
  duplicate: 22,
  lowDifficulty: 23,
  unauthorized: 24,
  notSubscribed: 25,
} as const;

const CODE_OF: Record<ShareCode, [number, string]> = {
  [SHARE_CODES.stale]: [STRATUM_ERRORS.stale, 'Job not found (=stale)'],
  [SHARE_CODES.duplicate]: [STRATUM_ERRORS.duplicate, 'Duplicate share'],
  [SHARE_CODES.lowDifficulty]: [STRATUM_ERRORS.lowDifficulty, 'Low difficulty share'],
  [SHARE_CODES.malformed]: [STRATUM_ERRORS.other, 'Malformed share'],
};

/** What a session needs from the gateway: the shared services, behind a narrow face. */
export interface SessionHost {
  readonly limits: { maxLine: number; maxPerMinute: number; authTimeoutMs: number };
  readonly vardiff: VardiffPolicy;
  nextExtranonce1(): Promise<string>;
  authorize(user: string, password: string): Promise<AuthorizedMiner | null>;
  currentJob(): Promise<HashJobView | null>;
  submit(
    miner: { deviceId: string; extranonce1: string },
    input: { jobId: string; extranonce2: string; ntime: string; nonce: string; versionBits?: string },
    difficulties: number[],
  ): Promise<SubmitOutcome>;
  saveDifficulty(deviceId: string, difficulty: number): void;
  onAccepted(outcome: SubmitOutcome, deviceId: string): void;
  onRejected(code: number): void;
  closed(session: StratumSession): void;
}

type Id = string | number | null;
interface Request {
  id: Id;
  method: string;
  params: unknown[];
}

/** A previous difficulty stays acceptable this long after a retarget (work already in flight). */
const DIFF_GRACE_MS = 30_000;

/**
 * One miner connection: line-delimited JSON-RPC as Stratum v1 miners speak it (cgminer, BFGMiner,
 * NerdMiner, Bitaxe's ESP-Miner). Lines over the limit, floods and connections that do not
 * authorize in time are dropped. Requests are handled one at a time, in order.
 */
export class StratumSession {
  extranonce1: string | null = null;
  miner: AuthorizedMiner | null = null;
  private buffer = '';
  private queue: Promise<void> = Promise.resolve();
  private windowStart = Date.now();
  private messages = 0;
  private versionMask = 0;
  private vardiff: VardiffState | null = null;
  private previous: { difficulty: number; until: number } | null = null;
  private sentJob: string | null = null;
  private sentTip: string | null = null;
  private lastSent: number | null = null;
  private readonly authTimer: NodeJS.Timeout;
  private closedAlready = false;

  constructor(
    private readonly socket: Socket,
    private readonly host: SessionHost,
  ) {
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.close());
    socket.on('error', () => this.close());
    this.authTimer = setTimeout(() => {
      if (!this.miner) this.drop('no authorization in time');
    }, host.limits.authTimeoutMs);
  }

  get difficulty(): number | null {
    return this.vardiff?.difficulty ?? null;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line.length > this.host.limits.maxLine) return this.drop('line too long');
      if (line.length === 0) continue;
      if (!this.count()) return this.drop('flood');
      this.queue = this.queue.then(() => this.handleLine(line)).catch(() => this.drop('internal error'));
    }
    if (this.buffer.length > this.host.limits.maxLine) this.drop('line too long');
  }

  private count(): boolean {
    const now = Date.now();
    if (now - this.windowStart >= 60_000) {
      this.windowStart = now;
      this.messages = 0;
    }
    return ++this.messages <= this.host.limits.maxPerMinute;
  }

  private async handleLine(line: string): Promise<void> {
    if (this.closedAlready) return;
    let req: Request;
    try {
      const raw = JSON.parse(line) as { id?: Id; method?: unknown; params?: unknown };
      if (typeof raw !== 'object' || raw === null || typeof raw.method !== 'string') throw new Error('not a request');
      req = { id: raw.id ?? null, method: raw.method, params: Array.isArray(raw.params) ? raw.params : [] };
    } catch {
      return this.drop('not JSON-RPC');
    }
    switch (req.method) {
      case 'mining.subscribe':
        return this.subscribe(req);
      case 'mining.authorize':
        return this.authorize(req);
      case 'mining.configure':
        return this.configure(req);
      case 'mining.suggest_difficulty':
        return this.suggest(req);
      case 'mining.extranonce.subscribe':
        return this.reply(req.id, true);
      case 'mining.submit':
        return this.submit(req);
      default:
        return this.error(req.id, STRATUM_ERRORS.other, 'Unknown method');
    }
  }

  private async subscribe(req: Request): Promise<void> {
    this.extranonce1 ??= await this.host.nextExtranonce1();
    const sub = `${this.extranonce1}01`;
    this.reply(req.id, [
      [
        ['mining.set_difficulty', sub],
        ['mining.notify', sub],
      ],
      this.extranonce1,
      4,
    ]);
  }

  private async authorize(req: Request): Promise<void> {
    const [user, password] = req.params;
    const miner = typeof user === 'string' && typeof password === 'string' ? await this.host.authorize(user, password) : null;
    if (!miner) return this.error(req.id, STRATUM_ERRORS.unauthorized, 'Unauthorized worker');
    this.miner = miner;
    clearTimeout(this.authTimer);
    this.vardiff ??= startVardiff(miner.difficulty, Date.now());
    this.reply(req.id, true);
    this.lastSent = this.vardiff.difficulty;
    this.send({ id: null, method: 'mining.set_difficulty', params: [this.vardiff.difficulty] });
    await this.pushJob(true);
  }

  /** BIP 310: version rolling within BIP 320's bits; other extensions are declined. */
  private configure(req: Request): void {
    const [extensions, params] = req.params as [unknown, Record<string, unknown> | undefined];
    const result: Record<string, unknown> = {};
    for (const ext of Array.isArray(extensions) ? extensions : []) {
      if (ext === 'version-rolling') {
        const asked = params?.['version-rolling.mask'];
        const mask = typeof asked === 'string' && /^[0-9a-fA-F]{1,8}$/.test(asked) ? parseInt(asked, 16) : VERSION_ROLLING_MASK;
        this.versionMask = (mask & VERSION_ROLLING_MASK) >>> 0;
        result['version-rolling'] = this.versionMask !== 0;
        result['version-rolling.mask'] = u32Hex(this.versionMask);
      } else if (typeof ext === 'string') {
        result[ext] = false;
      }
    }
    this.reply(req.id, result);
  }

  private suggest(req: Request): void {
    const d = suggestedDifficulty(Number(req.params[0]), this.host.vardiff);
    if (d === null) return this.error(req.id, STRATUM_ERRORS.other, 'Invalid difficulty');
    this.reply(req.id, true);
    if (!this.vardiff) this.vardiff = startVardiff(d, Date.now());
    else this.changeDifficulty(d);
  }

  private async submit(req: Request): Promise<void> {
    if (!this.extranonce1) return this.reject(req.id, STRATUM_ERRORS.notSubscribed, 'Not subscribed');
    if (!this.miner || !this.vardiff) return this.reject(req.id, STRATUM_ERRORS.unauthorized, 'Unauthorized worker');
    const [, jobId, extranonce2, ntime, nonce, versionBits] = req.params;
    const strings = [jobId, extranonce2, ntime, nonce].every((v) => typeof v === 'string');
    if (!strings || (versionBits !== undefined && typeof versionBits !== 'string')) {
      return this.reject(req.id, STRATUM_ERRORS.other, 'Malformed share');
    }
    if (versionBits !== undefined && (parseInt(versionBits as string, 16) & ~this.versionMask) !== 0) {
      return this.reject(req.id, STRATUM_ERRORS.other, 'Version bits outside the negotiated mask');
    }
    const difficulties = [this.vardiff.difficulty];
    if (this.previous && this.previous.until > Date.now()) difficulties.push(this.previous.difficulty);
    const outcome = await this.host.submit(
      { deviceId: this.miner.deviceId, extranonce1: this.extranonce1 },
      {
        jobId: jobId as string,
        extranonce2: (extranonce2 as string).toLowerCase(),
        ntime: (ntime as string).toLowerCase(),
        nonce: (nonce as string).toLowerCase(),
        ...(versionBits !== undefined ? { versionBits: (versionBits as string).toLowerCase() } : {}),
      },
      difficulties,
    );
    if (!outcome.accepted) {
      const [code, message] = CODE_OF[outcome.code];
      return this.reject(req.id, code, message);
    }
    this.reply(req.id, true);
    this.host.onAccepted(outcome, this.miner.deviceId);
    const next = vardiffTick(this.vardiff, this.host.vardiff, Date.now(), true);
    if (next !== null) this.applyDifficulty(next);
  }

  /** Called by the gateway's timer: eases a device that finds nothing at its difficulty. */
  tick(now: number): void {
    if (!this.vardiff || !this.miner) return;
    const next = vardiffTick(this.vardiff, this.host.vardiff, now, false);
    if (next !== null) this.applyDifficulty(next);
  }

  private changeDifficulty(d: number): void {
    if (!this.vardiff || d === this.vardiff.difficulty) return;
    this.vardiff.difficulty = d;
    this.applyDifficulty(d);
  }

  /** Tells the miner its new difficulty; the one it had stays acceptable for a grace period. */
  private applyDifficulty(d: number): void {
    if (!this.miner) return; // sent at authorization
    if (this.lastSent !== null && this.lastSent !== d) this.previous = { difficulty: this.lastSent, until: Date.now() + DIFF_GRACE_MS };
    this.lastSent = d;
    this.send({ id: null, method: 'mining.set_difficulty', params: [d] });
    this.host.saveDifficulty(this.miner.deviceId, d);
  }

  /** Sends the current job when it differs from the last one sent; `clean` when the tip moved. */
  async pushJob(force = false): Promise<void> {
    if (!this.miner || this.closedAlready) return;
    const job = await this.host.currentJob();
    if (!job || (!force && job.id === this.sentJob)) return;
    const clean = force || this.sentTip !== job.prevHash;
    this.sentJob = job.id;
    this.sentTip = job.prevHash;
    this.send({
      id: null,
      method: 'mining.notify',
      params: [job.id, job.prevHash, job.coinb1, job.coinb2, job.merkleBranch, job.version, job.nbits, job.ntime, clean],
    });
  }

  private reply(id: Id, result: unknown): void {
    this.send({ id, result, error: null });
  }

  private error(id: Id, code: number, message: string): void {
    this.send({ id, result: null, error: [code, message, null] });
  }

  private reject(id: Id, code: number, message: string): void {
    this.host.onRejected(code);
    this.error(id, code, message);
  }

  private send(msg: unknown): void {
    if (this.closedAlready || this.socket.destroyed) return;
    this.socket.write(JSON.stringify(msg) + '\n');
  }

  /** Ends the connection (revoked device, abuse). */
  drop(_reason: string): void {
    this.socket.destroy();
    this.close();
  }

  private close(): void {
    if (this.closedAlready) return;
    this.closedAlready = true;
    clearTimeout(this.authTimer);
    this.host.closed(this);
  }
}
