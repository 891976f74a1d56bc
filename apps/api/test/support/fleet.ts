/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers of the API under test, read loosely and checked by the assertions. */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { newId, PrismaService, type Prisma } from '@idlemint/core';
import { ed25519Generate, makeItem, type Ed25519KeyPair } from '@idlemint/crypto';
import { WorkQueues } from '@idlemint/work';
import { scratchDatabase } from '../../../../test/support/scratch.js';
import { createManufacturer, createModel, OPERATOR_KEY, startApi, unique, type RunningApi, type TestManufacturer } from './api.js';
import { makeCertificate } from './certificates.js';
import { DeviceClient } from './device-client.js';

/** These tests page through lists hundreds of times a minute with one key: lift the per-key budget. */
export const NO_RATE_LIMIT = { MANUFACTURER_RATE_PER_MIN: '1000000' };

/** Helpers of the fleet management tests: plain JSON calls, error checks, seeded and enrolled devices. */

export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface CallOptions {
  key?: string;
  operator?: boolean;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function call<T = any>(base: string, method: string, path: string, o: CallOptions = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.key !== undefined) headers['x-api-key'] = o.key;
  if (o.operator) headers['x-operator-key'] = OPERATOR_KEY;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text === '' ? null : JSON.parse(text)) as T };
}

/** A client bound to one API key. */
export function client(base: string, key: string) {
  return {
    get: <T = any>(path: string) => call<T>(base, 'GET', path, { key }),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      call<T>(base, 'POST', path, { key, body: body ?? {}, ...(headers ? { headers } : {}) }),
    patch: <T = any>(path: string, body: unknown) => call<T>(base, 'PATCH', path, { key, body }),
    del: <T = any>(path: string) => call<T>(base, 'DELETE', path, { key }),
  };
}
export type Client = ReturnType<typeof client>;

/** Status and stable code, in exactly the `{ error: { code, message, details? } }` shape. */
export function expectError(r: { status: number; body: any }, status: number, code: string): void {
  expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status, code });
  expect(Object.keys(r.body as object)).toEqual(['error']);
}

/** GET every page of `path` (which has no cursor yet), following nextCursor. */
export async function allPages(c: Client, path: string, key = 'devices'): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await c.get(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    out.push(...(r.body[key] as any[]));
    cursor = r.body.nextCursor as string | null;
    if (!cursor) return out;
  }
  throw new Error('too many pages');
}

export interface SeedFleet {
  manufacturerId: string;
  attestationKeyId: string;
  modelId: string;
}

/** The ids of a manufacturer made through the API (its first attestation key, a model by id). */
export async function fleetOf(db: PrismaService, m: TestManufacturer, modelId: string): Promise<SeedFleet> {
  const key = await db.attestationKey.findUniqueOrThrow({ where: { publicKey: m.attestation.publicKey } });
  return { manufacturerId: m.id, attestationKeyId: key.id, modelId };
}

/** `n` device rows written straight into the database (no gateway), each shaped by `shape(i)`. */
export async function seedDevices(
  db: PrismaService,
  f: SeedFleet,
  n: number,
  shape: (i: number) => Partial<Prisma.DeviceUncheckedCreateInput> = () => ({}),
): Promise<string[]> {
  const data = Array.from({ length: n }, (_, i) => ({
    id: newId(),
    manufacturerId: f.manufacturerId,
    modelId: f.modelId,
    attestationKeyId: f.attestationKeyId,
    serial: unique('SN'),
    publicKey: randomBytes(32).toString('hex'),
    claimCode: randomBytes(6).toString('hex').toUpperCase(),
    certIssuedAt: new Date('2026-11-01T00:00:00Z'),
    ...shape(i),
  }));
  await db.device.createMany({ data });
  return data.map((d) => d.id);
}

export interface Enrolled {
  device: DeviceClient;
  deviceId: string;
  claimCode: string;
}

/** A device enrolled through the real gateway with a certificate of `m`'s attestation key. */
export async function enroll(
  base: string,
  m: { attestation: Ed25519KeyPair },
  model: { name: string },
  attestation: Ed25519KeyPair = m.attestation,
): Promise<Enrolled> {
  const device = new DeviceClient(base, ed25519Generate());
  const certificate = makeCertificate(attestation, device.publicKey, { serial: unique('SN'), model: model.name });
  const r = await device.post('/device/v1/enroll', { certificate });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return { device, deviceId: r.body.deviceId as string, claimCode: r.body.claimCode as string };
}

/** A manufacturer with one model, made through the operator and manufacturer APIs. */
export async function newTenant(base: string, model: { batchSize?: number; deviceClass?: string } = {}) {
  const m = await createManufacturer(base);
  const mm = await createModel(base, m.apiKey, model);
  return { m, model: mm, api: client(base, m.apiKey) };
}

/** A work unit in Postgres and its replica jobs queued for the class (what ingest and the outbox do). */
export async function queueUnit(a: RunningApi, db: PrismaService, deviceClass: string, opts: { items?: number; replicas?: number } = {}) {
  const n = opts.items ?? 4;
  const replicas = opts.replicas ?? 1;
  const id = newId();
  await db.workUnit.create({
    data: {
      id,
      kind: 'tx-verify',
      deviceClass,
      quorum: 2,
      maxReplicas: replicas + 1,
      replicasIssued: replicas,
      items: Array.from({ length: n }, (_, i) => makeItem('ed25519', `tx ${i} ${id}`, true)) as unknown as Prisma.InputJsonValue,
      reward: '1000',
    },
  });
  const queues = a.app.get(WorkQueues);
  for (let replica = 1; replica <= replicas; replica++) await queues.addReplica(deviceClass, { unitId: id, replica });
  return id;
}

export const HEARTBEAT = '/device/v1/heartbeat';
export const CLAIM = '/device/v1/work/claim';
export const heartbeat = (d: DeviceClient, over: Record<string, unknown> = {}) =>
  d.post(HEARTBEAT, { idle: true, firmware: '1.0.0', uptimeS: 60, ...over });

/** Waits until `cond` holds, polling; returns how long it took (fails after `ms`). */
export async function within(ms: number, cond: () => Promise<boolean>, everyMs = 100): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export { unique };

/**
 * The api on a scratch database of its own, without the per-key rate limit (paging hits it), and
 * more api processes on the same database on demand (another gateway with its own device cache).
 */
export interface FleetApi {
  api: RunningApi;
  db: PrismaService;
  another(): Promise<RunningApi>;
  close(): Promise<void>;
}

export async function startFleetApi(label: string): Promise<FleetApi> {
  const { url, drop } = await scratchDatabase(label);
  const api = await startApi(url, NO_RATE_LIMIT);
  const extra: RunningApi[] = [];
  return {
    api,
    db: api.app.get(PrismaService),
    another: async () => {
      const a = await startApi(url, NO_RATE_LIMIT);
      extra.push(a);
      return a;
    },
    close: async () => {
      for (const a of [...extra, api]) await a.close().catch(() => undefined);
      await drop();
    },
  };
}
