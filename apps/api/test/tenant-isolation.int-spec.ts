import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AlertsEvaluator } from '@idlemint/alerts';
import { newId, PrismaService, repoRoot } from '@idlemint/core';
import { ed25519Generate } from '@idlemint/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../../../test/support/scratch.js';
import { claimDevice, createManufacturer, createModel, OPERATOR_KEY, startApi, type RunningApi } from './support/api.js';
import { http, insertDevice, type Reply } from './support/ops.js';

/**
 * Tenant isolation, walked over every route of openapi.json: a second manufacturer's admin key
 * (and a second owner's token) is sent at every route with the first tenant's ids. It fails when a
 * route answers with the first tenant's data (a 2xx whose body names any of its ids, serials, keys,
 * names or secrets the caller did not send itself), when an id route answers anything but 404, when
 * any of the first tenant's rows changed, when an operator route admits a manufacturer key, or when
 * a route of openapi.json is missing from ROUTES below: a new route must be classified here.
 */

/** Which of the first tenant's objects a path `{id}` stands for. */
type IdKind = 'device' | 'group' | 'alertRule' | 'alertDelivery' | 'attestationKey' | 'model' | 'apiKey';

interface Victim {
  manufacturerId: string;
  device: string;
  quarantined: string;
  group: string;
  alertRule: string;
  alert: string;
  alertDelivery: string;
  attestationKey: string;
  model: string;
  apiKey: string;
  auditIds: string[];
  ownerId: string;
  /** Every string of the first tenant another tenant must never be shown. */
  secrets: string[];
}

type Route =
  /** Manufacturer API: called with the other tenant's admin key and the victim's ids. */
  | { kind: 'tenant'; id?: IdKind; query?: (v: Victim) => string; body?: (v: Victim) => unknown }
  /** Operator API: must refuse every manufacturer key. */
  | { kind: 'operator'; id?: (v: Victim, o: Others) => string; body?: unknown }
  /** Owner endpoints: called with the other owner's token. */
  | { kind: 'owner'; body?: (v: Victim) => unknown }
  /** Device protocol: signed by a device; a manufacturer key gets nothing. */
  | { kind: 'device' }
  | { kind: 'public' };

interface Others {
  nodeId: string;
}

const tenant = (id?: IdKind, o: Omit<Extract<Route, { kind: 'tenant' }>, 'kind' | 'id'> = {}): Route => ({
  kind: 'tenant',
  ...(id ? { id } : {}),
  ...o,
});
const operator = (o: Omit<Extract<Route, { kind: 'operator' }>, 'kind'> = {}): Route => ({ kind: 'operator', ...o });
const rule = { name: 'intruder-rule', kind: 'canary_strike', params: {}, webhookUrl: 'http://127.0.0.1:9/intruder' };

const ROUTES: Record<string, Route> = {
  'GET /health': { kind: 'public' },
  'GET /health/live': { kind: 'public' },
  'GET /health/ready': { kind: 'public' },
  'GET /metrics': operator(),

  'GET /device/v1/earnings': { kind: 'device' },
  'POST /device/v1/enroll': { kind: 'device' },
  'POST /device/v1/heartbeat': { kind: 'device' },
  'POST /device/v1/work/claim': { kind: 'device' },
  'POST /device/v1/work/{assignmentId}/result': { kind: 'device' },
  'POST /device/v1/hash-share/credential': { kind: 'device' },
  'POST /device/v1/hash-share/job': { kind: 'device' },
  'POST /device/v1/hash-share/shares': { kind: 'device' },

  'GET /owner/v1/earnings': { kind: 'owner' },
  'PUT /owner/v1/payout-address': { kind: 'owner', body: () => ({ address: 'intruder-address' }) },
  'POST /owner/v1/claim': { kind: 'owner', body: (v) => ({ claimCode: v.secrets.find((s) => s.startsWith('CLAIM:'))!.slice(6) }) },

  'GET /manufacturer/v1/alert-rules': tenant(),
  'POST /manufacturer/v1/alert-rules': tenant(undefined, { body: () => rule }),
  'GET /manufacturer/v1/alert-rules/{id}': tenant('alertRule'),
  'PATCH /manufacturer/v1/alert-rules/{id}': tenant('alertRule', {
    body: () => ({ enabled: false, webhookUrl: 'http://127.0.0.1:9/stolen' }),
  }),
  'DELETE /manufacturer/v1/alert-rules/{id}': tenant('alertRule'),
  'GET /manufacturer/v1/alerts': tenant(undefined, { query: (v) => `?ruleId=${v.alertRule}` }),
  'GET /manufacturer/v1/alert-deliveries': tenant(undefined, { query: (v) => `?ruleId=${v.alertRule}` }),
  'GET /manufacturer/v1/alert-deliveries/{id}': tenant('alertDelivery'),

  'GET /manufacturer/v1/api-keys': tenant(),
  'POST /manufacturer/v1/api-keys': tenant(undefined, { body: () => ({ role: 'viewer', name: 'intruder' }) }),
  'POST /manufacturer/v1/api-keys/{id}/rotate': tenant('apiKey'),
  'POST /manufacturer/v1/api-keys/{id}/revoke': tenant('apiKey'),
  'DELETE /manufacturer/v1/api-keys/{id}': tenant('apiKey'),

  'GET /manufacturer/v1/attestation-keys': tenant(),
  'POST /manufacturer/v1/attestation-keys': tenant(undefined, { body: () => ({ publicKey: ed25519Generate().publicKey }) }),
  'POST /manufacturer/v1/attestation-keys/{id}/revoke': tenant('attestationKey'),
  'DELETE /manufacturer/v1/attestation-keys/{id}': tenant('attestationKey'),

  'GET /manufacturer/v1/models': tenant(),
  'POST /manufacturer/v1/models': tenant(undefined, {
    body: () => ({ name: `intruder-${randomBytes(3).toString('hex')}`, deviceClass: 'intruder', batchSize: 4 }),
  }),
  'PATCH /manufacturer/v1/models/{id}': tenant('model', { body: () => ({ policy: { idleOnly: false } }) }),

  'GET /manufacturer/v1/devices': tenant(undefined, { query: (v) => `?group=${v.group}` }),
  'POST /manufacturer/v1/devices/bulk': tenant(undefined, { body: (v) => ({ action: 'revoke', ids: [v.device, v.quarantined] }) }),
  'GET /manufacturer/v1/devices/{id}': tenant('device'),
  'PATCH /manufacturer/v1/devices/{id}': tenant('device', { body: () => ({ tags: ['stolen'] }) }),
  'POST /manufacturer/v1/devices/{id}/release': tenant('device'),

  'GET /manufacturer/v1/groups': tenant(),
  'POST /manufacturer/v1/groups': tenant(undefined, { body: () => ({ name: `intruder-${randomBytes(3).toString('hex')}` }) }),
  'GET /manufacturer/v1/groups/{id}': tenant('group'),
  'PATCH /manufacturer/v1/groups/{id}': tenant('group', { body: () => ({ name: 'stolen' }) }),
  'DELETE /manufacturer/v1/groups/{id}': tenant('group'),

  'GET /manufacturer/v1/fleet/summary': tenant(),
  'GET /manufacturer/v1/fleet/series': tenant(undefined, { query: () => '?metric=rewards_owners&bucket=day' }),
  'GET /manufacturer/v1/audit': tenant(undefined, { query: (v) => `?targetId=${v.device}` }),

  'GET /operator/v1/audit': operator(),
  'GET /operator/v1/devices/{id}': operator({ id: (v) => v.device }),
  'GET /operator/v1/manufacturers': operator(),
  'POST /operator/v1/manufacturers': operator({ body: { name: 'intruder-co' } }),
  'POST /operator/v1/manufacturers/{id}/suspend': operator({ id: (v) => v.manufacturerId }),
  'POST /operator/v1/manufacturers/{id}/resume': operator({ id: (v) => v.manufacturerId }),
  'GET /operator/v1/nodes': operator(),
  'POST /operator/v1/nodes': operator({ body: { name: 'intruder-node', url: 'http://127.0.0.1:9' } }),
  'POST /operator/v1/nodes/{id}/disable': operator({ id: (_v, o) => o.nodeId }),
  'POST /operator/v1/nodes/{id}/enable': operator({ id: (_v, o) => o.nodeId }),
  'GET /operator/v1/platform-keys': operator(),
  'POST /operator/v1/platform-keys/rotate': operator({ body: { overlapS: 60 } }),
  'GET /operator/v1/queues': operator(),
  'GET /operator/v1/payouts': operator(),
  'POST /operator/v1/payouts/{id}/resolve': operator({ id: () => newId(), body: { outcome: 'paid' } }),
  'GET /operator/v1/reconciliation': operator(),
  'GET /operator/v1/relay/undelivered': operator(),
  'POST /operator/v1/relay/redrive': operator(),
  'POST /operator/v1/nodes/{id}/relay/redrive': operator({ id: (_v, o) => o.nodeId }),
};

const OPENAPI = JSON.parse(readFileSync(join(repoRoot(), 'openapi.json'), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
const OPERATIONS = Object.entries(OPENAPI.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));

describe('tenant isolation over every route of openapi.json', () => {
  let drop: () => Promise<void>;
  let api: RunningApi;
  let db: PrismaService;
  let victim: Victim;
  let others: Others;
  let intruderKey: string;
  let intruderOwner: string;
  let victimKey: string;

  beforeAll(async () => {
    let url: string;
    ({ url, drop } = await scratchDatabase('isolation'));
    api = await startApi(url, { MANUFACTURER_RATE_PER_MIN: '1000000', OWNER_RATE_PER_MIN: '1000000', ALLOW_PRIVATE_WEBHOOKS: 'true' });
    db = api.app.get(PrismaService);
    const tag = randomBytes(4).toString('hex');

    // The victim: a full tenant with one of everything.
    const a = await createManufacturer(api.base);
    victimKey = a.apiKey;
    const model = await createModel(api.base, a.apiKey, { name: `victim-model-${tag}` });
    const viewer = await http(api.base, 'POST', '/manufacturer/v1/api-keys', {
      key: a.apiKey,
      body: { role: 'viewer', name: `victim-viewer-${tag}` },
    });
    expect(viewer.status).toBe(201);
    const group = await http(api.base, 'POST', '/manufacturer/v1/groups', { key: a.apiKey, body: { name: `victim-group-${tag}` } });
    expect(group.status).toBe(201);
    const device = await insertDevice(db, { manufacturerId: a.id, modelId: model.id }, { lastSeenAt: new Date(Date.now() - 3_600_000) });
    const quarantined = await insertDevice(db, { manufacturerId: a.id, modelId: model.id }, { status: 'quarantined' });
    const spare = await insertDevice(db, { manufacturerId: a.id, modelId: model.id });
    expect(
      (
        await http(api.base, 'PATCH', `/manufacturer/v1/devices/${device.id}`, {
          key: a.apiKey,
          body: { groupId: group.body.id, tags: ['victim'] },
        })
      ).status,
    ).toBe(200);
    const owner = await claimDevice(api.base, device.claimCode);
    await http(api.base, 'PUT', '/owner/v1/payout-address', { owner: owner.ownerToken!, body: { address: `victim-address-${tag}` } });
    const alertRule = await http(api.base, 'POST', '/manufacturer/v1/alert-rules', {
      key: a.apiKey,
      body: {
        name: `victim-rule-${tag}`,
        kind: 'device_offline',
        params: { offlineMinutes: 5 },
        webhookUrl: `http://127.0.0.1:9/victim-${tag}`,
      },
    });
    expect(alertRule.status).toBe(201);
    expect(await api.app.get(AlertsEvaluator).evaluateRule(alertRule.body.id)).toEqual({ fired: 1, resolved: 0 });
    const alert = await db.alert.findFirstOrThrow({ where: { ruleId: alertRule.body.id } });
    const delivery = await db.alertDelivery.findFirstOrThrow({ where: { ruleId: alertRule.body.id } });
    const attestation = await db.attestationKey.findFirstOrThrow({ where: { manufacturerId: a.id } });
    const audit = await http<{ entries: { id: string }[] }>(api.base, 'GET', '/manufacturer/v1/audit?limit=500', { key: a.apiKey });
    expect(audit.body.entries.length).toBeGreaterThan(3);
    const devices = await db.device.findMany({ where: { manufacturerId: a.id } });
    victim = {
      manufacturerId: a.id,
      device: device.id,
      quarantined: quarantined.id,
      group: group.body.id,
      alertRule: alertRule.body.id,
      alert: alert.id,
      alertDelivery: delivery.id,
      attestationKey: attestation.id,
      model: model.id,
      apiKey: viewer.body.id,
      auditIds: audit.body.entries.map((e) => e.id),
      ownerId: owner.ownerId,
      secrets: [
        a.apiKey,
        viewer.body.secret as string,
        alertRule.body.secret as string,
        owner.ownerToken!,
        `victim-${tag}`,
        `victim-model-${tag}`,
        `victim-viewer-${tag}`,
        `victim-group-${tag}`,
        `victim-rule-${tag}`,
        `victim-address-${tag}`,
        attestation.publicKey,
        ...devices.flatMap((d) => [d.serial, d.publicKey]),
        `CLAIM:${device.claimCode}`,
        spare.claimCode,
      ],
    };

    // The intruder: another tenant with its own model and device, and another owner.
    const b = await createManufacturer(api.base);
    intruderKey = b.apiKey;
    const bModel = await createModel(api.base, b.apiKey);
    const bDevice = await insertDevice(db, { manufacturerId: b.id, modelId: bModel.id });
    intruderOwner = (await claimDevice(api.base, bDevice.claimCode)).ownerToken!;
    const node = await http(api.base, 'POST', '/operator/v1/nodes', {
      operator: true,
      body: { name: `node-${tag}`, url: 'http://127.0.0.1:9' },
    });
    others = { nodeId: node.body.id };
  });

  afterAll(async () => {
    await api?.close();
    await drop?.();
  });

  const victimIds = () => [
    victim.manufacturerId,
    victim.device,
    victim.quarantined,
    victim.group,
    victim.alertRule,
    victim.alert,
    victim.alertDelivery,
    victim.attestationKey,
    victim.model,
    victim.apiKey,
    victim.ownerId,
    ...victim.auditIds,
  ];

  /** Every row of the victim's: the tables with a manufacturerId column, its Manufacturer row, its owner. */
  async function fingerprint(): Promise<string> {
    const tables = await db.$queryRaw<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.columns
       WHERE table_schema = 'public' AND column_name = 'manufacturerId' ORDER BY table_name`;
    expect(tables.length).toBeGreaterThan(5);
    const parts: unknown[] = [];
    for (const { table_name: t } of tables) {
      parts.push(t, await db.$queryRawUnsafe(`SELECT * FROM "${t}" WHERE "manufacturerId" = $1 ORDER BY 1`, victim.manufacturerId));
    }
    parts.push(await db.$queryRaw`SELECT * FROM "Manufacturer" WHERE "id" = ${victim.manufacturerId}`);
    parts.push(await db.$queryRaw`SELECT * FROM "Owner" WHERE "id" = ${victim.ownerId}`);
    const text = JSON.stringify(parts, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    return createHash('sha256').update(text).digest('hex');
  }

  /** Victim strings in a 2xx answer that the request itself did not carry. */
  function leaks(r: Reply, sent: string): string[] {
    if (r.status < 200 || r.status >= 300) return [];
    const strings = [...victimIds(), ...victim.secrets.map((s) => s.replace(/^CLAIM:/, ''))];
    return strings.filter((s) => r.text.includes(s) && !sent.includes(s));
  }

  function pathOf(op: string, route: Route): { method: string; path: string } {
    const [method, template] = op.split(' ') as [string, string];
    let path = template;
    if (route.kind === 'tenant' && route.id) path = path.replace('{id}', victim[route.id]);
    if (route.kind === 'operator' && route.id) path = path.replace('{id}', route.id(victim, others));
    if (route.kind === 'tenant' && route.query) path += route.query(victim);
    return { method, path };
  }

  it('classifies every route of openapi.json, and only those', () => {
    const missing = OPERATIONS.filter((op) => !(op in ROUTES));
    const stale = Object.keys(ROUTES).filter((op) => !OPERATIONS.includes(op));
    expect(
      { missing, stale },
      'classify new routes in ROUTES (tenant with id kind, operator, owner, device, public); drop removed ones',
    ).toEqual({
      missing: [],
      stale: [],
    });
    expect(OPERATIONS.length).toBeGreaterThan(40);
  });

  it('another tenant’s key and another owner’s token get none of the victim’s data and change none of it', async () => {
    const before = await fingerprint();
    const problems: string[] = [];
    for (const op of OPERATIONS) {
      const route = ROUTES[op];
      if (!route) continue;
      const { method, path } = pathOf(op, route);
      const call = async (auth: { key?: string; owner?: string }, body?: unknown) => {
        const r = await http(api.base, method, path, { ...auth, ...(body !== undefined ? { body } : {}) });
        const sent = `${path} ${JSON.stringify(body ?? null)}`;
        for (const l of leaks(r, sent)) problems.push(`${op}: ${r.status} answer names the victim's ${l}`);
        if (r.status >= 500) problems.push(`${op}: ${r.status}`);
        return r;
      };
      switch (route.kind) {
        case 'tenant': {
          const r = await call({ key: intruderKey }, route.body?.(victim) ?? (method === 'GET' || method === 'DELETE' ? undefined : {}));
          if (route.id && r.status !== 404) problems.push(`${op}: answered ${r.status} to another tenant's ${route.id} id (expected 404)`);
          break;
        }
        case 'operator': {
          for (const key of [intruderKey, victimKey]) {
            const r = await call({ key }, route.body);
            if (r.status !== 401 && r.status !== 403) problems.push(`${op}: admitted a manufacturer key (${r.status})`);
          }
          break;
        }
        case 'owner': {
          const r = await call({ owner: intruderOwner }, route.body?.(victim));
          if (op === 'POST /owner/v1/claim' && r.status < 300) problems.push(`${op}: claimed the victim's claimed device (${r.status})`);
          const k = await call({ key: intruderKey }, route.body?.(victim));
          if (op !== 'POST /owner/v1/claim' && k.status !== 401)
            problems.push(`${op}: admitted a manufacturer key without an owner token (${k.status})`);
          break;
        }
        case 'device': {
          const r = await call({ key: intruderKey }, method === 'GET' ? undefined : {});
          if (r.status !== 401) problems.push(`${op}: admitted a manufacturer key (${r.status})`);
          break;
        }
        case 'public':
          await call({});
          break;
      }
    }
    // The dashboard is the operator's too.
    const board = await fetch(`${api.base}/admin/queues/api/queues`, { headers: { 'x-api-key': intruderKey } });
    if (board.status !== 401) problems.push(`/admin/queues: admitted a manufacturer key (${board.status})`);

    expect(problems).toEqual([]);
    expect(await fingerprint(), 'none of the victim’s rows changed').toBe(before);
  });

  it('the walk used real ids: the victim itself reads each of them', async () => {
    const reads: [string, string][] = [];
    for (const op of OPERATIONS) {
      const route = ROUTES[op];
      if (!route || route.kind !== 'tenant' || !op.startsWith('GET ')) continue;
      const { path } = pathOf(op, route);
      const r = await http(api.base, 'GET', path, { key: victimKey });
      reads.push([op, String(r.status)]);
      expect(r.status, `${op} as the victim`).toBe(200);
      if (route.id) expect(r.text).toContain(victim[route.id]);
      if (route.query) expect(r.text.length).toBeGreaterThan(20);
    }
    expect(reads.length).toBeGreaterThan(10);
    // Ids only reachable by query or by operator routes are real too.
    const alerts = await http<{ alerts: { id: string }[] }>(api.base, 'GET', `/manufacturer/v1/alerts?ruleId=${victim.alertRule}`, {
      key: victimKey,
    });
    expect(alerts.body.alerts.map((x) => x.id)).toEqual([victim.alert]);
    const grouped = await http(api.base, 'GET', `/manufacturer/v1/devices?group=${victim.group}`, { key: victimKey });
    expect(grouped.text).toContain(victim.device);
    const board = await fetch(`${api.base}/admin/queues/api/queues`, { headers: { 'x-operator-key': OPERATOR_KEY } });
    expect(board.status).toBe(200);
  });
});
