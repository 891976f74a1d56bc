import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule, DbModule, newId, PrismaService } from '@idlemint/core';
import type { ManufacturerPrincipal } from '@idlemint/fleet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropRedisKeys, redisPatterns, scratchDatabase, testConfig } from '../../../test/support/scratch.js';
import { AlertRulesService } from './alert-rules.service.js';
import { AlertsEvaluator } from './alerts-evaluator.service.js';
import { AlertsModule } from './alerts.module.js';

/**
 * Rule evaluation against a scratch database: each kind fires once per episode (not on every
 * tick), resolves once when its condition clears, counts only its own tenant's fleet, and every
 * event becomes a delivery row announced through the outbox in the same transaction.
 */

const MIN = 60_000;

describe('alert evaluation', () => {
  let drop: () => Promise<void>;
  let module: TestingModule;
  let db: PrismaService;
  let rules: AlertRulesService;
  let evaluator: AlertsEvaluator;
  let config: ReturnType<typeof testConfig>;

  beforeAll(async () => {
    const scratch = await scratchDatabase('alerts');
    drop = scratch.drop;
    config = testConfig(scratch.url, { ALLOW_PRIVATE_WEBHOOKS: 'true' });
    module = await Test.createTestingModule({ imports: [ConfigModule.forRoot(config), DbModule, AlertsModule] }).compile();
    await module.init();
    db = module.get(PrismaService);
    rules = module.get(AlertRulesService);
    evaluator = module.get(AlertsEvaluator);
  });

  afterAll(async () => {
    await module?.close();
    await drop?.();
    if (config) await dropRedisKeys(redisPatterns(config));
  });

  async function tenant(): Promise<ManufacturerPrincipal & { modelId: string; attestationKeyId: string }> {
    const manufacturerId = newId();
    await db.manufacturer.create({ data: { id: manufacturerId, name: `m-${randomBytes(4).toString('hex')}` } });
    const modelId = newId();
    await db.deviceModel.create({
      data: { id: modelId, manufacturerId, name: `model-${randomBytes(4).toString('hex')}`, deviceClass: 'fridge', batchSize: 4 },
    });
    const attestationKeyId = newId();
    await db.attestationKey.create({ data: { id: attestationKeyId, manufacturerId, publicKey: randomBytes(32).toString('hex') } });
    return { manufacturerId, keyId: newId(), role: 'admin', modelId, attestationKeyId };
  }

  async function device(
    t: Awaited<ReturnType<typeof tenant>>,
    lastSeenAt: Date | null,
    status: 'active' | 'suspended' = 'active',
  ): Promise<string> {
    const id = newId();
    await db.device.create({
      data: {
        id,
        manufacturerId: t.manufacturerId,
        modelId: t.modelId,
        attestationKeyId: t.attestationKeyId,
        serial: `SN-${randomBytes(5).toString('hex')}`,
        publicKey: randomBytes(32).toString('hex'),
        claimCode: randomBytes(6).toString('hex').toUpperCase(),
        certIssuedAt: new Date(),
        enrolledAt: new Date(Date.now() - 60 * MIN),
        lastSeenAt,
        status,
      },
    });
    return id;
  }

  async function result(deviceId: string, outcome: 'agreed' | 'disagreed' | 'canary_failed', submittedAt: Date): Promise<void> {
    await db.assignment.create({
      data: {
        id: newId(),
        unitId: newId(),
        deviceId,
        replica: 0,
        jobId: 'j',
        lockToken: 't',
        deadline: submittedAt,
        status: 'submitted',
        outcome,
        submittedAt,
      },
    });
  }

  const deliveries = (ruleId: string) => db.alertDelivery.findMany({ where: { ruleId }, orderBy: { id: 'asc' } });
  const outbox = (deliveryId: string) => db.outboxMessage.findUnique({ where: { key: `alert.delivery:${deliveryId}` } });

  it('device_offline: one alert per offline device, fired once, resolved when it is seen again', async () => {
    const t = await tenant();
    const other = await tenant();
    const gone = await device(t, new Date(Date.now() - 30 * MIN));
    const neverSeen = await device(t, null); // enrolled an hour ago, never heartbeated
    await device(t, new Date()); // online
    await device(t, new Date(Date.now() - 30 * MIN), 'suspended'); // not active: not watched
    await device(other, new Date(Date.now() - 30 * MIN)); // another tenant's
    const rule = await rules.create(t, {
      name: 'offline',
      kind: 'device_offline',
      params: { offlineMinutes: 10 },
      webhookUrl: 'http://127.0.0.1:9/hook',
      enabled: true,
    });

    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 2, resolved: 0 });
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 0, resolved: 0 });
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 0, resolved: 0 });

    const firing = await db.alert.findMany({ where: { ruleId: rule.id, status: 'firing' } });
    expect(firing.map((a) => a.subject).sort()).toEqual([gone, neverSeen].sort());
    let ds = await deliveries(rule.id);
    expect(ds.map((d) => d.event)).toEqual(['alert.fired', 'alert.fired']);
    for (const d of ds) {
      expect(await outbox(d.id)).toMatchObject({ topic: 'alert.delivery', payload: { deliveryId: d.id } });
      const body = JSON.parse(d.body) as {
        id: string;
        manufacturerId: string;
        rule: { kind: string };
        alert: { subject: string; status: string };
      };
      expect(body).toMatchObject({
        id: d.id,
        manufacturerId: t.manufacturerId,
        rule: { kind: 'device_offline' },
        alert: { status: 'firing' },
      });
    }

    await db.device.update({ where: { id: gone }, data: { lastSeenAt: new Date() } });
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 0, resolved: 1 });
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 0, resolved: 0 });
    ds = await deliveries(rule.id);
    expect(ds.map((d) => d.event)).toEqual(['alert.fired', 'alert.fired', 'alert.resolved']);
    const resolved = JSON.parse(ds[2]!.body) as { alert: { subject: string; status: string; resolvedAt: string | null } };
    expect(resolved.alert).toMatchObject({ subject: gone, status: 'resolved' });
    expect(resolved.alert.resolvedAt).not.toBeNull();

    // Offline again: a new episode, announced again.
    await db.device.update({ where: { id: gone }, data: { lastSeenAt: new Date(Date.now() - 30 * MIN) } });
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 1, resolved: 0 });
    expect(await db.alert.count({ where: { ruleId: rule.id, subject: gone } })).toBe(2);
  });

  it('reject_rate: fires above the threshold once enough results were decided, resolves below it', async () => {
    const t = await tenant();
    const d = await device(t, new Date());
    const other = await tenant();
    const od = await device(other, new Date());
    const rule = await rules.create(t, {
      name: 'rejects',
      kind: 'reject_rate',
      params: { thresholdPct: 25, windowMinutes: 60, minResults: 4 },
      webhookUrl: 'http://127.0.0.1:9/hook',
      enabled: true,
    });
    const now = new Date();
    await result(d, 'disagreed', now);
    await result(d, 'canary_failed', now);
    await result(d, 'agreed', now);
    for (let i = 0; i < 10; i++) await result(od, 'disagreed', now); // another tenant's rejects never count
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 0, resolved: 0 }); // 3 < minResults

    await result(d, 'agreed', now); // 2 of 4 rejected = 50 %
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 1, resolved: 0 });
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 0, resolved: 0 });
    const alert = await db.alert.findFirstOrThrow({ where: { ruleId: rule.id } });
    expect(alert).toMatchObject({ subject: 'fleet', status: 'firing', details: { rejected: 2, decided: 4, ratePct: 50 } });

    for (let i = 0; i < 6; i++) await result(d, 'agreed', now); // 2 of 10 = 20 %
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 0, resolved: 1 });
    expect((await deliveries(rule.id)).map((x) => x.event)).toEqual(['alert.fired', 'alert.resolved']);
  });

  it('canary_strike: a device failing a canary since the last evaluation fires; a quiet evaluation resolves', async () => {
    const t = await tenant();
    const d = await device(t, new Date());
    const clean = await device(t, new Date());
    const rule = await rules.create(t, {
      name: 'canary',
      kind: 'canary_strike',
      params: {},
      webhookUrl: 'http://127.0.0.1:9/hook',
      enabled: true,
    });
    await result(clean, 'agreed', new Date());
    const strikeAt = new Date(Date.now() + 1_000);
    await result(d, 'canary_failed', strikeAt);

    const later = new Date(strikeAt.getTime() + 10_000);
    expect(await evaluator.evaluateRule(rule.id, later)).toEqual({ fired: 1, resolved: 0 });
    const alert = await db.alert.findFirstOrThrow({ where: { ruleId: rule.id } });
    expect(alert).toMatchObject({ subject: d, details: { deviceId: d, strikes: 1 } });
    // The strike was counted once: the next evaluation sees nothing new and resolves.
    expect(await evaluator.evaluateRule(rule.id, new Date(later.getTime() + 30_000))).toEqual({ fired: 0, resolved: 1 });
    expect(await evaluator.evaluateRule(rule.id, new Date(later.getTime() + 60_000))).toEqual({ fired: 0, resolved: 0 });
  });

  it('online_share: fires when too few active devices were seen lately, resolves when enough are back', async () => {
    const t = await tenant();
    await device(t, new Date());
    const b = await device(t, new Date(Date.now() - 30 * MIN));
    await device(t, new Date(Date.now() - 30 * MIN));
    await device(t, new Date(Date.now() - 30 * MIN), 'suspended'); // not counted
    const rule = await rules.create(t, {
      name: 'share',
      kind: 'online_share',
      params: { thresholdPct: 50, onlineWithinMinutes: 5 },
      webhookUrl: 'http://127.0.0.1:9/hook',
      enabled: true,
    });
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 1, resolved: 0 });
    expect(await db.alert.findFirstOrThrow({ where: { ruleId: rule.id } })).toMatchObject({ details: { online: 1, active: 3 } });
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 0, resolved: 0 });
    await db.device.update({ where: { id: b }, data: { lastSeenAt: new Date() } });
    expect(await evaluator.evaluateRule(rule.id)).toEqual({ fired: 0, resolved: 1 });
  });

  it('disabling a rule resolves its open alerts with a webhook; deleting one closes them silently', async () => {
    const t = await tenant();
    await device(t, new Date(Date.now() - 30 * MIN));
    const one = await rules.create(t, {
      name: 'one',
      kind: 'device_offline',
      params: { offlineMinutes: 1 },
      webhookUrl: 'http://127.0.0.1:9/a',
      enabled: true,
    });
    const two = await rules.create(t, {
      name: 'two',
      kind: 'device_offline',
      params: { offlineMinutes: 1 },
      webhookUrl: 'http://127.0.0.1:9/b',
      enabled: true,
    });
    await evaluator.evaluateRule(one.id);
    await evaluator.evaluateRule(two.id);

    await rules.update(t, one.id, { enabled: false });
    expect(await evaluator.evaluateRule(one.id)).toBeNull(); // disabled rules are not evaluated
    expect((await deliveries(one.id)).map((d) => d.event)).toEqual(['alert.fired', 'alert.resolved']);
    expect(JSON.parse((await deliveries(one.id))[1]!.body)).toMatchObject({ alert: { details: { resolvedBecause: 'rule_disabled' } } });

    await rules.remove(t, two.id);
    expect(await db.alertRule.findUnique({ where: { id: two.id } })).toBeNull();
    expect(await db.alert.findMany({ where: { ruleId: two.id } })).toMatchObject([{ status: 'resolved', openKey: null }]);
    expect((await deliveries(two.id)).map((d) => [d.event, d.status])).toEqual([['alert.fired', 'dead']]);
  });

  it('evaluates all enabled rules of active manufacturers, skipping suspended ones', async () => {
    const t = await tenant();
    await device(t, new Date(Date.now() - 30 * MIN));
    const rule = await rules.create(t, {
      name: 'all',
      kind: 'device_offline',
      params: { offlineMinutes: 1 },
      webhookUrl: 'http://127.0.0.1:9/a',
      enabled: true,
    });
    await db.manufacturer.update({ where: { id: t.manufacturerId }, data: { status: 'suspended' } });
    await evaluator.evaluateAll();
    expect(await db.alert.count({ where: { ruleId: rule.id } })).toBe(0);
    await db.manufacturer.update({ where: { id: t.manufacturerId }, data: { status: 'active' } });
    const summary = await evaluator.evaluateAll();
    expect(summary.rules).toBeGreaterThanOrEqual(1);
    expect(await db.alert.count({ where: { ruleId: rule.id } })).toBe(1);
  });
});
