import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { newId, type PrismaService } from '@idlemint/core';
import { OPERATOR_KEY } from './api.js';

/** Helpers of the operator, alerts and isolation tests: JSON calls, polling, a webhook receiver, rows. */

// Answers are read field by field in the tests; `any` keeps that short (each test types what it maps).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function http<T = any>(
  base: string,
  method: string,
  path: string,
  o: { key?: string; operator?: boolean; owner?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.key !== undefined) headers['x-api-key'] = o.key;
  if (o.operator) headers['x-operator-key'] = OPERATOR_KEY;
  if (o.owner !== undefined) headers.authorization = `Bearer ${o.owner}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: res.status, body: body as T, headers: res.headers, text };
}

/** Status and stable code, in exactly the `{ error: { code, message, details? } }` shape. */
export function expectCode(r: { status: number; body: unknown }, status: number, code: string): void {
  expect({ status: r.status, code: (r.body as { error?: { code?: string } } | null)?.error?.code }).toEqual({ status, code });
  expect(Object.keys(r.body as object)).toEqual(['error']);
}

/** Polls `fn` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Answers `status` to the next `n` requests on `path` (then 200). */
  failNext(path: string, n: number, status?: number): void;
  close(): Promise<void>;
}

/** A real webhook receiver on 127.0.0.1:0 that records every request. */
export async function startReceiver(): Promise<Receiver> {
  const failures = new Map<string, { left: number; status: number }>();
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const f = failures.get(path);
      const status = f && f.left > 0 ? f.status : 200;
      if (f && f.left > 0) f.left--;
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    failNext: (path, n, status = 500) => failures.set(path, { left: n, status }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An enrolled device row of a manufacturer (no gateway round trip). */
export async function insertDevice(
  db: PrismaService,
  m: { manufacturerId: string; modelId: string },
  o: { lastSeenAt?: Date | null; status?: 'active' | 'suspended' | 'quarantined' | 'revoked'; ownerId?: string | null } = {},
): Promise<{ id: string; serial: string; publicKey: string; claimCode: string }> {
  const attestation = await db.attestationKey.findFirst({ where: { manufacturerId: m.manufacturerId } });
  const attestationKeyId = attestation?.id ?? newId();
  if (!attestation) {
    await db.attestationKey.create({
      data: { id: attestationKeyId, manufacturerId: m.manufacturerId, publicKey: randomBytes(32).toString('hex') },
    });
  }
  const row = {
    id: newId(),
    serial: `SN-${randomBytes(5).toString('hex')}`,
    publicKey: randomBytes(32).toString('hex'),
    claimCode: randomBytes(6).toString('hex').toUpperCase(),
  };
  await db.device.create({
    data: {
      ...row,
      manufacturerId: m.manufacturerId,
      modelId: m.modelId,
      attestationKeyId,
      certIssuedAt: new Date(),
      enrolledAt: new Date(Date.now() - 3_600_000),
      lastSeenAt: o.lastSeenAt === undefined ? new Date() : o.lastSeenAt,
      status: o.status ?? 'active',
      ownerId: o.ownerId ?? null,
    },
  });
  return row;
}
