import 'reflect-metadata';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import type { INestApplicationContext } from '@nestjs/common';
import { verifyWebhook } from '@idlemint/alerts';
import { PrismaService, type Config } from '@idlemint/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropRedisKeys, redisPatterns, scratchDatabase, testConfig } from '../../../test/support/scratch.js';
import { createWorker } from '../../worker/src/main.js';
import { createManufacturer, createModel, startApi, type RunningApi, type TestManufacturer } from './support/api.js';
import { expectCode, http, insertDevice, startReceiver, waitFor, type Receiver } from './support/ops.js';

/**
 * Alerts end to end: the api stores rules, the worker (its real processors and schedulers on
 * BullMQ) evaluates them every 300 ms and delivers signed webhooks to a real HTTP receiver on
 * 127.0.0.1, retrying with backoff; the tenant reads the delivery log.
 */

interface Delivery {
  id: string;
  event: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
}

const OFFLINE = () => new Date(Date.now() - 30 * 60_000);
const WORKER_ENV = {
  ALERTS_EVERY_MS: '300',
  ALERT_BACKOFF_MS: '100',
  ALERT_DELIVERY_ATTEMPTS: '4',
  OUTBOX_POLL_MS: '50',
  INGEST_EVERY_MS: '600000',
  PAYOUT_EVERY_MS: '600000',
};

describe('alerts', () => {
  let drop: () => Promise<void>;
  let url: string;
  let api: RunningApi;
  let db: PrismaService;
  let receiver: Receiver;
  const workers: { app: INestApplicationContext; config: Config }[] = [];

  async function startWorker(overrides: Record<string, string>): Promise<INestApplicationContext> {
    const config = testConfig(url, { ...WORKER_ENV, ...overrides });
    const app = await createWorker(config);
    workers.push({ app, config });
    return app;
  }

  async function tenant(): Promise<TestManufacturer & { modelId: string }> {
    const m = await createManufacturer(api.base);
    const model = await createModel(api.base, m.apiKey);
    return { ...m, modelId: model.id };
  }

  const rule = (m: TestManufacturer, body: Record<string, unknown>) =>
    http(api.base, 'POST', '/manufacturer/v1/alert-rules', { key: m.apiKey, body });
  const hits = (path: string) => receiver.received.filter((r) => r.path === path);

  beforeAll(async () => {
    ({ url, drop } = await scratchDatabase('alerts_api'));
    receiver = await startReceiver();
    api = await startApi(url, { ALLOW_PRIVATE_WEBHOOKS: 'true' });
    db = api.app.get(PrismaService);
  });

  afterAll(async () => {
    for (const w of workers) {
      await w.app.close().catch(() => undefined);
      await dropRedisKeys(redisPatterns(w.config));
    }
    await api?.close();
    await receiver?.close();
    await drop?.();
  });

  it('fires once per episode with a verifiable signature, and resolves once when the device is back', async () => {
    await startWorker({ ALLOW_PRIVATE_WEBHOOKS: 'true' });
    const m = await tenant();
    const device = await insertDevice(db, { manufacturerId: m.id, modelId: m.modelId }, { lastSeenAt: OFFLINE() });
    const secret = 'whsec_test_0123456789abcdef';
    const created = await rule(m, {
      name: 'offline',
      kind: 'device_offline',
      params: { offlineMinutes: 5 },
      webhookUrl: `${receiver.url}/ok`,
      secret,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'device_offline', secret, secretHint: '…cdef', enabled: true });

    const [fired] = await waitFor('the fired webhook', () => Promise.resolve(hits('/ok').length >= 1 ? hits('/ok') : null));
    const ts = fired!.headers['x-idlemint-timestamp'] as string;
    const sig = fired!.headers['x-idlemint-signature'] as string;
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhook(secret, ts, fired!.body, sig)).toBe(true);
    expect(verifyWebhook('another-secret-0123456789', ts, fired!.body, sig)).toBe(false);
    expect(verifyWebhook(secret, ts, fired!.body.replace('firing', 'resolved'), sig)).toBe(false);
    expect(fired!.headers['content-type']).toBe('application/json');
    expect(fired!.headers['x-idlemint-event']).toBe('alert.fired');
    const body = JSON.parse(fired!.body) as {
      id: string;
      event: string;
      rule: { id: string };
      alert: { subject: string; status: string; details: { serial: string } };
    };
    expect(body).toMatchObject({
      event: 'alert.fired',
      rule: { id: created.body.id },
      alert: { subject: device.id, status: 'firing', details: { serial: device.serial } },
    });
    expect(fired!.headers['x-idlemint-delivery']).toBe(body.id);

    // Ten more evaluations while the device stays offline: no second message.
    const evaluatedAt = (await db.alertRule.findUniqueOrThrow({ where: { id: created.body.id } })).evaluatedAt!;
    await waitFor('more evaluations', async () => {
      const r = await db.alertRule.findUniqueOrThrow({ where: { id: created.body.id } });
      return r.evaluatedAt!.getTime() - evaluatedAt.getTime() >= 3_000;
    });
    expect(hits('/ok')).toHaveLength(1);

    await db.device.update({ where: { id: device.id }, data: { lastSeenAt: new Date() } });
    await waitFor('the resolved webhook', () => Promise.resolve(hits('/ok').length >= 2));
    const resolved = hits('/ok')[1]!;
    expect(
      verifyWebhook(
        secret,
        resolved.headers['x-idlemint-timestamp'] as string,
        resolved.body,
        resolved.headers['x-idlemint-signature'] as string,
      ),
    ).toBe(true);
    expect(JSON.parse(resolved.body)).toMatchObject({ event: 'alert.resolved', alert: { subject: device.id, status: 'resolved' } });

    const alerts = await http(api.base, 'GET', '/manufacturer/v1/alerts', { key: m.apiKey });
    expect(alerts.status).toBe(200);
    expect(alerts.body.alerts).toMatchObject([{ subject: device.id, status: 'resolved', ruleId: created.body.id }]);
    const log = await http<{ deliveries: Delivery[] }>(api.base, 'GET', `/manufacturer/v1/alert-deliveries?ruleId=${created.body.id}`, {
      key: m.apiKey,
    });
    expect(log.body.deliveries.map((d) => [d.event, d.status, d.attempts, d.lastStatusCode])).toEqual([
      ['alert.resolved', 'delivered', 1, 200],
      ['alert.fired', 'delivered', 1, 200],
    ]);
  });

  it('retries a failing receiver with backoff: two 500s, then delivered on the third attempt', async () => {
    const m = await tenant();
    await insertDevice(db, { manufacturerId: m.id, modelId: m.modelId }, { lastSeenAt: OFFLINE() });
    receiver.failNext('/flaky', 2, 500);
    const created = await rule(m, {
      name: 'flaky',
      kind: 'device_offline',
      params: { offlineMinutes: 5 },
      webhookUrl: `${receiver.url}/flaky`,
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);

    const delivery = await waitFor('the delivery to succeed', async () => {
      const r = await http<{ deliveries: Delivery[] }>(api.base, 'GET', '/manufacturer/v1/alert-deliveries', { key: m.apiKey });
      const d = r.body.deliveries[0];
      return d?.status === 'delivered' ? d : null;
    });
    expect(delivery).toMatchObject({ event: 'alert.fired', attempts: 3, lastStatusCode: 200, lastError: null });
    const detail = await http<{ attempts: { attempt: number; statusCode: number; error: string | null }[] }>(
      api.base,
      'GET',
      `/manufacturer/v1/alert-deliveries/${delivery.id}`,
      { key: m.apiKey },
    );
    expect(detail.status).toBe(200);
    expect(detail.body.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    expect(detail.body.attempts[0].error).toBe('receiver answered HTTP 500');
    const got = hits('/flaky');
    expect(got.map((g) => g.status)).toEqual([500, 500, 200]);
    expect(new Set(got.map((g) => g.body)).size).toBe(1); // the same bytes every time
    for (const g of got)
      expect(
        verifyWebhook(
          created.body.secret,
          g.headers['x-idlemint-timestamp'] as string,
          g.body,
          g.headers['x-idlemint-signature'] as string,
        ),
      ).toBe(true);

    // Another tenant sees none of it.
    const other = await tenant();
    expectCode(
      await http(api.base, 'GET', `/manufacturer/v1/alert-deliveries/${delivery.id}`, { key: other.apiKey }),
      404,
      'ALERT_DELIVERY.NOT_FOUND',
    );
    expect((await http(api.base, 'GET', '/manufacturer/v1/alert-deliveries', { key: other.apiKey })).body.deliveries).toEqual([]);
  });

  it('gives up after the last attempt and marks the delivery dead', async () => {
    const m = await tenant();
    await insertDevice(db, { manufacturerId: m.id, modelId: m.modelId }, { lastSeenAt: OFFLINE() });
    receiver.failNext('/down', 100, 503);
    await rule(m, { name: 'down', kind: 'device_offline', params: { offlineMinutes: 5 }, webhookUrl: `${receiver.url}/down` });
    const dead = await waitFor('the delivery to die', async () => {
      const r = await http<{ deliveries: Delivery[] }>(api.base, 'GET', '/manufacturer/v1/alert-deliveries?status=dead', { key: m.apiKey });
      return r.body.deliveries[0] ?? null;
    });
    expect(dead).toMatchObject({ attempts: 4, lastStatusCode: 503, status: 'dead' });
    expect(hits('/down')).toHaveLength(4);
  });

  it('refuses private, loopback and link-local webhook URLs when ALLOW_PRIVATE_WEBHOOKS is off, and changes nothing', async () => {
    const strict = await startApi(url, { ALLOW_PRIVATE_WEBHOOKS: 'false' });
    try {
      const m = await createManufacturer(strict.base);
      for (const target of [
        `${receiver.url}/ok`,
        'http://localhost:8080/hook',
        'http://sub.localhost/hook',
        'http://[::1]:8080/hook',
        'http://[::ffff:127.0.0.1]/hook',
        'http://169.254.169.254/latest/meta-data',
        'http://10.0.0.8/hook',
        'http://192.168.1.10/hook',
        'http://0x7f000001/hook',
        'http://0.0.0.0:3000/hook',
        `http://${hostname()}:${receiver.port}/ok`,
      ]) {
        const r = await http(strict.base, 'POST', '/manufacturer/v1/alert-rules', {
          key: m.apiKey,
          body: { name: 'nope', kind: 'canary_strike', params: {}, webhookUrl: target },
        });
        if (target.includes(hostname()) && (await isPublicHost(hostname()))) continue;
        expectCode(r, 400, 'ALERT.WEBHOOK_URL_FORBIDDEN');
      }
      expectCode(
        await http(strict.base, 'POST', '/manufacturer/v1/alert-rules', {
          key: m.apiKey,
          body: { name: 'ftp', kind: 'canary_strike', params: {}, webhookUrl: 'ftp://example.com/x' },
        }),
        400,
        'REQUEST.INVALID_BODY',
      );
      expect(await db.alertRule.count({ where: { manufacturerId: m.id } })).toBe(0);
      const ok = await http(strict.base, 'POST', '/manufacturer/v1/alert-rules', {
        key: m.apiKey,
        body: { name: 'public', kind: 'canary_strike', params: {}, webhookUrl: 'https://hooks.example.com/idlemint' },
      });
      expect(ok.status).toBe(201);
      // A rule updated to a forbidden URL keeps its old one.
      expectCode(
        await http(strict.base, 'PATCH', `/manufacturer/v1/alert-rules/${ok.body.id}`, {
          key: m.apiKey,
          body: { webhookUrl: 'http://127.0.0.1:1/x' },
        }),
        400,
        'ALERT.WEBHOOK_URL_FORBIDDEN',
      );
      expect((await db.alertRule.findUniqueOrThrow({ where: { id: ok.body.id } })).webhookUrl).toBe('https://hooks.example.com/idlemint');
    } finally {
      await strict.close();
    }
  });

  it('checks the resolved addresses again at delivery time: a name resolving to loopback is never called', async () => {
    const name = hostname();
    if (await isPublicHost(name)) return; // this machine's name must resolve to a private address for this case
    // The permissive worker stops; a strict one takes over the outbox and the alerts queue.
    for (const w of workers.splice(0)) {
      await w.app.close();
      await dropRedisKeys(redisPatterns(w.config));
    }
    await startWorker({ ALLOW_PRIVATE_WEBHOOKS: 'false' });
    const m = await tenant();
    await insertDevice(db, { manufacturerId: m.id, modelId: m.modelId }, { lastSeenAt: OFFLINE() });
    // Saved through the permissive api (as if DNS answered differently when it was saved).
    const created = await rule(m, {
      name: 'rebind',
      kind: 'device_offline',
      params: { offlineMinutes: 5 },
      webhookUrl: `http://${name}:${receiver.port}/rebind`,
    });
    expect(created.status).toBe(201);
    const dead = await waitFor('the forbidden delivery to die', async () => {
      const r = await http<{ deliveries: Delivery[] }>(api.base, 'GET', '/manufacturer/v1/alert-deliveries?status=dead', { key: m.apiKey });
      return r.body.deliveries[0] ?? null;
    });
    expect(dead.attempts).toBe(1); // permanent: no retries
    expect(dead.lastError).toMatch(/resolves to 127\.\d+\.\d+\.\d+, which is not public/);
    expect(hits('/rebind')).toHaveLength(0);
  });
});

async function isPublicHost(name: string): Promise<boolean> {
  const { isPublicAddress } = await import('@idlemint/alerts');
  const addresses = await lookup(name, { all: true }).catch(() => []);
  return addresses.length > 0 && addresses.every((a) => isPublicAddress(a.address));
}
