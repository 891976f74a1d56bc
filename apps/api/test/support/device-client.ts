import { createHash, randomBytes } from 'node:crypto';
import { ed25519Sign, type Ed25519KeyPair } from '@idlemint/crypto';

/**
 * A device on the wire, written from the protocol page (device-v1.md, "Signed requests") rather than
 * from libs/protocol, so the gateway is checked against the contract and not against itself. It
 * signs the exact bytes it sends; every part can be tampered with after signing.
 */

export interface Reply<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  /** Parsed JSON, or null for an empty body (204). */
  body: T;
  text: string;
}

export interface SendOptions {
  /** Raw body bytes to sign and send instead of JSON.stringify(body). */
  raw?: string | Buffer;
  timestamp?: number;
  nonce?: string;
  /** Sign with this key (the x-device-key header still names `headerKey` or the client's key). */
  signer?: Ed25519KeyPair;
  headerKey?: string;
  /** Send to this path and query instead of the signed one. */
  sendPath?: string;
  /** Send these bytes instead of the signed ones. */
  sendRaw?: string | Buffer;
  contentType?: string | null;
  /** Last word on the headers (delete or change any). */
  tamper?: (headers: Record<string, string>) => void;
}

const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const toBuffer = (b: string | Buffer): Buffer => (typeof b === 'string' ? Buffer.from(b, 'utf8') : b);

export const newNonce = (): string => randomBytes(12).toString('base64url');

/** The request signing string, straight from the protocol page. */
export function deviceSigningString(method: string, pathAndQuery: string, timestamp: string, nonce: string, body: Buffer): string {
  return ['IDLEMINT-DEVICE-V1', method.toUpperCase(), pathAndQuery, timestamp, nonce, sha256Hex(body)].join('\n');
}

/** The four signed headers for `body` (empty body = no bytes). */
export function signedHeaders(
  key: Ed25519KeyPair,
  method: string,
  pathAndQuery: string,
  body: Buffer,
  timestamp = Date.now(),
  nonce = newNonce(),
): Record<string, string> {
  const ts = String(timestamp);
  return {
    'x-device-key': key.publicKey,
    'x-device-timestamp': ts,
    'x-device-nonce': nonce,
    'x-device-signature': ed25519Sign(key.secretKey, deviceSigningString(method, pathAndQuery, ts, nonce, body)),
  };
}

/** The result signature a device sends with its verdicts. */
export function resultSignature(key: Ed25519KeyPair, unitId: string, verdicts: string): string {
  return ed25519Sign(key.secretKey, ['IDLEMINT-RESULT-V1', unitId, verdicts].join('\n'));
}

/** Sends one request as given and reads the answer. */
export async function sendRaw(base: string, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Reply> {
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: (text === '' ? null : JSON.parse(text)) as Record<string, unknown> };
}

let households = 0;
/** A documentation-range address of its own for each test device (RFC 5737 / 198.18.0.0/15). */
const nextHousehold = (): string => {
  households++;
  return `198.18.${Math.floor(households / 250) % 250}.${(households % 250) + 1}`;
};

export class DeviceClient {
  /**
   * `origin`: the household the device connects from, told to the api by X-Forwarded-For (the test
   * api trusts its loopback proxy); each client gets one of its own unless given.
   */
  constructor(
    readonly base: string,
    readonly key: Ed25519KeyPair,
    readonly origin: string = nextHousehold(),
  ) {}

  get publicKey(): string {
    return this.key.publicKey;
  }

  async send<T = Record<string, unknown>>(method: 'GET' | 'POST', path: string, body?: unknown, opts: SendOptions = {}): Promise<Reply<T>> {
    const signed =
      opts.raw !== undefined ? toBuffer(opts.raw) : body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body), 'utf8');
    const sent = opts.sendRaw !== undefined ? toBuffer(opts.sendRaw) : signed;
    const headers = signedHeaders(opts.signer ?? this.key, method, path, signed, opts.timestamp, opts.nonce);
    headers['x-device-key'] = opts.headerKey ?? this.key.publicKey;
    const hasBody = sent.length > 0 || opts.raw !== undefined || body !== undefined;
    if (hasBody && opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/json';
    headers['x-forwarded-for'] = this.origin;
    opts.tamper?.(headers);
    return (await sendRaw(this.base, method, opts.sendPath ?? path, headers, hasBody ? sent : undefined)) as Reply<T>;
  }

  post<T = Record<string, unknown>>(path: string, body?: unknown, opts?: SendOptions): Promise<Reply<T>> {
    return this.send<T>('POST', path, body, opts);
  }

  get<T = Record<string, unknown>>(path: string, opts?: SendOptions): Promise<Reply<T>> {
    return this.send<T>('GET', path, undefined, opts);
  }
}
