import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId, PrismaService, type Prisma } from '@idlemint/core';
import {
  ed25519FromSeed,
  ed25519Generate,
  ed25519Sign,
  makeItem,
  sha256Hex,
  verifyItem,
  type Ed25519KeyPair,
  type TxItem,
} from '@idlemint/crypto';
import { DEVICE_CACHE_MS } from '@idlemint/fleet';
import { RewardsService } from '@idlemint/ledger';
import { certificateSigningString, resultSigningString, signDeviceRequest } from '@idlemint/protocol';
import { WorkQueues } from '@idlemint/work';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDatabase } from '../../../test/support/scratch.js';
import { claimDevice, createManufacturer, createModel, startApi, unique, type RunningApi, type TestManufacturer } from './support/api.js';
import { makeCertificate, certificateString, type Certificate } from './support/certificates.js';
import { DeviceClient, newNonce, resultSignature, sendRaw, signedHeaders, type Reply } from './support/device-client.js';

/**
 * The device gateway against docs/protocol/device-v1.md, over real HTTP on a scratch database and
 * its own Redis prefixes. Every request is signed over the exact bytes sent (support/device-client).
 */

const ENROLL = '/device/v1/enroll';
const HEARTBEAT = '/device/v1/heartbeat';
const CLAIM = '/device/v1/work/claim';
const EARNINGS = '/device/v1/earnings';
const resultPath = (assignmentId: string) => `/device/v1/work/${assignmentId}/result`;

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CLAIM_CODE = /^[A-Z0-9]{8,16}$/;
const HEARTBEAT_BODY = { idle: true, firmware: '1.4.2', uptimeS: 3600, metrics: { tempC: 41.5, powerW: 3.2, loadPct: 12 } };

/** Vectors of the protocol page, copied verbatim. */
const V = {
  deviceSeed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  devicePublic: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  attestationSeed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
  attestationPublic: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
  certSignature:
    'ef1eb115ee06bdfe8015ae61f168fbb8ea5d58315759586b7804eb1b8078d245eefb7bb4bf9927fdc15af46af00335e720861764ae2dbf602a935a0feb2f8704',
  bodySha256: 'bcbf494bbab67017014da6916c5d51ab9292f52a8816a38e76121a7cc85e5b32',
  timestamp: 1795996800000,
  nonce: 'n-0001-a7f3c2',
  requestSignature:
    'f431f640e93aa9a3d8b2760ce55adfce55eb6ac705fbde1acae2c1d5eb1f3986fc4e52cf86cb2334d002a436fddcc47675a20bcd6e47ae5cbab0facad465090f',
  unitId: '01JD6Z3K8Q0000000000000000',
  resultSignature:
    'bf072ef7a21b824e733924a7f6e04cec70f366d70e5580b1fb94ba3c5ed11bb771116f7ef7c6d79039e4684006e12fb1e5f3f70ef9bd96ec644d880f7d10580c',
};

type Body = Record<string, unknown>;
type ErrorReply = { error: { code: string; message: string; details?: Record<string, unknown> } };

/** Status, stable code, and exactly `{ error: { code, message, details? } }`. */
function expectError(r: Reply, status: number, code: string): void {
  const body = r.body as unknown as ErrorReply;
  expect({ status: r.status, code: body?.error?.code }).toEqual({ status, code });
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error.message).toBe('string');
  for (const k of Object.keys(body.error)) expect(['code', 'message', 'details']).toContain(k);
  if ('details' in body.error) expect(typeof body.error.details).toBe('object');
}

describe('device gateway, protocol v1', () => {
  let drop: () => Promise<void>;
  let url: string;
  let api: RunningApi;
  const extraApis: RunningApi[] = [];
  let db: PrismaService;
  let mfr: TestManufacturer;
  let model: { id: string; name: string; deviceClass: string; batchSize: number };

  beforeAll(async () => {
    ({ url, drop } = await scratchDatabase('gateway'));
    api = await startApi(url);
    db = api.app.get(PrismaService);
    mfr = await createManufacturer(api.base);
    model = await createModel(api.base, mfr.apiKey, { batchSize: 4 });
  });

  afterAll(async () => {
    for (const a of [...extraApis, api]) await a?.close().catch(() => undefined);
    await drop?.();
  });

  /** Another API process on the same database, with its own config and Redis prefixes. */
  async function startExtra(overrides: Record<string, string>): Promise<RunningApi> {
    const a = await startApi(url, overrides);
    extraApis.push(a);
    return a;
  }

  function newDevice(base = api.base, key: Ed25519KeyPair = ed25519Generate()): DeviceClient {
    return new DeviceClient(base, key);
  }

  function certFor(device: DeviceClient, fields: { serial?: string; model?: string; attestation?: Ed25519KeyPair } = {}): Certificate {
    return makeCertificate(fields.attestation ?? mfr.attestation, device.publicKey, {
      serial: fields.serial ?? unique('SN'),
      model: fields.model ?? model.name,
    });
  }

  /** An enrolled device of `m` (default: the shared model). */
  async function enrolled(
    m: { name: string } = model,
    maker: TestManufacturer = mfr,
  ): Promise<{ device: DeviceClient; deviceId: string; claimCode: string }> {
    const device = newDevice();
    const r = await device.post(ENROLL, { certificate: certFor(device, { model: m.name, attestation: maker.attestation }) });
    expect(r.status).toBe(201);
    return { device, deviceId: r.body.deviceId as string, claimCode: r.body.claimCode as string };
  }

  const deviceRow = (publicKey: string) => db.device.findUnique({ where: { publicKey } });

  /**
   * A work unit in Postgres and its replica jobs in the class's queue (what ingest + the outbox do).
   * Its items are the real ones only: canaries are planted per assignment at claim time, so a claim
   * needs a model batch size of at least `items` + the canaries of the device's standing.
   */
  async function queueUnit(a: RunningApi, deviceClass: string, opts: { items?: number; quorum?: number; replicas?: number } = {}) {
    const n = opts.items ?? 4;
    const replicas = opts.replicas ?? 2;
    const items = Array.from({ length: n }, (_, i) => makeItem('ed25519', `tx ${i} ${newId()}`, i % 3 !== 1));
    const id = newId();
    await db.workUnit.create({
      data: {
        id,
        kind: 'tx-verify',
        deviceClass,
        quorum: opts.quorum ?? replicas,
        maxReplicas: replicas + 1,
        replicasIssued: replicas,
        items: items as unknown as Prisma.InputJsonValue,
        reward: '1000',
      },
    });
    const queues = a.app.get(WorkQueues);
    for (let replica = 1; replica <= replicas; replica++) await queues.addReplica(deviceClass, { unitId: id, replica });
    return { id, items, verdicts: honest(items) };
  }

  type Assignment = { assignmentId: string; unitId: string; kind: string; deadline: string; items: TxItem[] };
  type Planted = { index: number; valid: boolean }[];

  /** What an honest device answers: every item it was sent checked, canaries included. */
  const honest = (items: TxItem[]): string => items.map((it) => (verifyItem(it) ? '1' : '0')).join('');

  /** Where the platform planted this assignment's canaries (recorded in Postgres, never told the device). */
  async function plantedIn(assignmentId: string): Promise<Planted> {
    return (await db.assignment.findUniqueOrThrow({ where: { id: assignmentId } })).canaries as Planted;
  }

  /** The items a device was sent, with its canaries taken out. */
  const withoutCanaries = (items: TxItem[], planted: Planted): TxItem[] => items.filter((_, i) => !planted.some((c) => c.index === i));

  /** Waits until every replica given back to the class's queue is due again (its short give-back delay is over). */
  async function untilDue(deviceClass: string): Promise<void> {
    const queue = api.app.get(WorkQueues).queue(deviceClass);
    const due = async () => (await queue.getDelayed()).every((j) => j.timestamp + (j.opts.delay ?? 0) <= Date.now());
    for (const until = Date.now() + 30_000; !(await due()); await sleep(50)) {
      if (Date.now() > until) throw new Error(`replicas of ${deviceClass} given back are still not due`);
    }
  }

  /** Claims until a replica comes (a replica given back is delayed ~250 ms), or `tries` run out. */
  async function claimUntilWork(device: DeviceClient, tries = 10): Promise<Reply<{ assignment: Assignment }>> {
    for (let i = 0; ; i++) {
      const r = await device.post<{ assignment: Assignment }>(CLAIM, {});
      if (r.status !== 204 || i >= tries) return r;
      await sleep(100);
    }
  }

  describe('vectors', () => {
    it('reproduces every vector of the protocol page and enrolls with the exact vector request', async () => {
      const device = ed25519FromSeed(V.deviceSeed);
      const attestation = ed25519FromSeed(V.attestationSeed);
      expect(device.publicKey).toBe(V.devicePublic);
      expect(attestation.publicKey).toBe(V.attestationPublic);

      const cert = makeCertificate(attestation, device.publicKey, {
        serial: 'ACME-FR-000123',
        model: 'acme-fridge-x1',
        issuedAt: '2026-11-01T00:00:00Z',
      });
      expect(cert.signature).toBe(V.certSignature);
      expect(certificateSigningString(cert)).toBe(certificateString(cert));

      const body =
        '{"certificate":{"v":1,"serial":"ACME-FR-000123","model":"acme-fridge-x1",' +
        `"devicePublicKey":"${V.devicePublic}","attestationKey":"${V.attestationPublic}",` +
        `"issuedAt":"2026-11-01T00:00:00Z","signature":"${V.certSignature}"}}`;
      expect(JSON.stringify({ certificate: cert })).toBe(body);
      expect(sha256Hex(body)).toBe(V.bodySha256);

      const headers = signedHeaders(device, 'POST', ENROLL, Buffer.from(body), V.timestamp, V.nonce);
      expect(headers['x-device-signature']).toBe(V.requestSignature);
      expect(signDeviceRequest(device, 'POST', ENROLL, body, V.timestamp, V.nonce)).toEqual(headers);

      expect(resultSignature(device, V.unitId, '1011')).toBe(V.resultSignature);
      expect(ed25519Sign(device.secretKey, resultSigningString(V.unitId, '1011'))).toBe(V.resultSignature);

      // The fixed timestamp must be inside the gateway's window: widen it for this app only.
      const skew = Math.max(30 * 86_400_000, Math.abs(Date.now() - V.timestamp) + 86_400_000);
      const vapi = await startExtra({ DEVICE_CLOCK_SKEW_MS: String(skew) });
      const acme = await createManufacturer(vapi.base, attestation);
      await createModel(vapi.base, acme.apiKey, { name: 'acme-fridge-x1', batchSize: 8 });

      const exact = {
        'content-type': 'application/json',
        'x-device-key': V.devicePublic,
        'x-device-timestamp': String(V.timestamp),
        'x-device-nonce': V.nonce,
        'x-device-signature': V.requestSignature,
      };
      const r = await sendRaw(vapi.base, 'POST', ENROLL, exact, Buffer.from(body, 'utf8'));
      expect(r.status).toBe(201);
      expect(r.body).toEqual({
        deviceId: expect.stringMatching(ULID),
        status: 'active',
        manufacturerId: acme.id,
        model: 'acme-fridge-x1',
        claimCode: expect.stringMatching(CLAIM_CODE),
        policy: expect.objectContaining({ idleOnly: expect.any(Boolean), hours: expect.any(Object), maxItems: 8 }),
      });
      const row = await deviceRow(V.devicePublic);
      expect(row).toMatchObject({
        id: r.body.deviceId,
        serial: 'ACME-FR-000123',
        status: 'active',
        manufacturerId: acme.id,
        claimCode: r.body.claimCode,
        certIssuedAt: new Date('2026-11-01T00:00:00Z'),
      });

      // The very same bytes again: the nonce is spent.
      expectError(await sendRaw(vapi.base, 'POST', ENROLL, exact, Buffer.from(body, 'utf8')), 401, 'DEVICE.NONCE_REUSED');
    });
  });

  describe('enroll', () => {
    it('201 the first time, 200 with the same body after, one device row', async () => {
      const device = newDevice();
      const cert = certFor(device);
      const first = await device.post(ENROLL, { certificate: cert });
      expect(first.status).toBe(201);
      expect(first.body).toEqual({
        deviceId: expect.stringMatching(ULID),
        status: 'active',
        manufacturerId: mfr.id,
        model: model.name,
        claimCode: expect.stringMatching(CLAIM_CODE),
        policy: expect.objectContaining({ maxItems: model.batchSize }),
      });
      const again = await device.post(ENROLL, { certificate: cert });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      const rows = await db.device.findMany({ where: { publicKey: device.publicKey } });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        id: first.body.deviceId,
        serial: cert.serial,
        modelId: model.id,
        manufacturerId: mfr.id,
        status: 'active',
      });
    });

    it('401 DEVICE.KEY_MISMATCH when signed by another key than the certificate names', async () => {
      const named = newDevice();
      const other = newDevice();
      const r = await other.post(ENROLL, { certificate: certFor(named) });
      expectError(r, 401, 'DEVICE.KEY_MISMATCH');
      expect(await deviceRow(named.publicKey)).toBeNull();
      expect(await deviceRow(other.publicKey)).toBeNull();
    });

    it('403 for a bad certificate signature, unknown or revoked attestation key, key of another manufacturer, unknown model', async () => {
      const cases: [string, (d: DeviceClient) => Certificate | Promise<Certificate>][] = [
        [
          'CERT.SIGNATURE_INVALID',
          (d) => {
            const c = certFor(d);
            return { ...c, signature: (c.signature[0] === '0' ? '1' : '0') + c.signature.slice(1) };
          },
        ],
        ['CERT.SIGNATURE_INVALID', (d) => ({ ...certFor(d), serial: unique('SN') })], // field changed after signing
        ['CERT.ATTESTATION_KEY_UNKNOWN', (d) => certFor(d, { attestation: ed25519Generate() })],
        [
          'CERT.ATTESTATION_KEY_MISMATCH',
          async (d) => certFor(d, { attestation: (await createManufacturer(api.base)).attestation }), // signs for mfr's model
        ],
        ['CERT.MODEL_UNKNOWN', (d) => certFor(d, { model: unique('no-such-model') })],
        [
          'CERT.ATTESTATION_KEY_REVOKED',
          async (d) => {
            const m = await createManufacturer(api.base);
            const mm = await createModel(api.base, m.apiKey);
            await db.attestationKey.update({ where: { publicKey: m.attestation.publicKey }, data: { revokedAt: new Date() } });
            return certFor(d, { attestation: m.attestation, model: mm.name });
          },
        ],
      ];
      for (const [code, make] of cases) {
        const device = newDevice();
        const r = await device.post(ENROLL, { certificate: await make(device) });
        expectError(r, 403, code);
        expect(await deviceRow(device.publicKey)).toBeNull();
      }
    });

    it('409 DEVICE.SERIAL_TAKEN when the serial is bound to another key', async () => {
      const first = newDevice();
      const serial = unique('SN');
      expect((await first.post(ENROLL, { certificate: certFor(first, { serial }) })).status).toBe(201);
      const second = newDevice();
      expectError(await second.post(ENROLL, { certificate: certFor(second, { serial }) }), 409, 'DEVICE.SERIAL_TAKEN');
      expect(await deviceRow(second.publicKey)).toBeNull();
      expect((await db.device.findMany({ where: { serial } })).map((d) => d.publicKey)).toEqual([first.publicKey]);
    });

    it('concurrent enrolls of one key make one device and all answer it', async () => {
      const device = newDevice();
      const cert = certFor(device);
      const replies = await Promise.all([1, 2, 3, 4].map(() => device.post(ENROLL, { certificate: cert })));
      expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
      expect(new Set(replies.map((r) => r.body.deviceId)).size).toBe(1);
      expect(await db.device.count({ where: { publicKey: device.publicKey } })).toBe(1);
      expect((await device.post(HEARTBEAT, HEARTBEAT_BODY)).status).toBe(200);
    });
  });

  describe('signed requests', () => {
    it('accepts a timestamp inside the window and refuses stale and future ones with 401', async () => {
      const { device } = await enrolled();
      expect((await device.post(HEARTBEAT, HEARTBEAT_BODY, { timestamp: Date.now() - 50_000 })).status).toBe(200);
      expect((await device.post(HEARTBEAT, HEARTBEAT_BODY, { timestamp: Date.now() + 50_000 })).status).toBe(200);
      expectError(await device.post(HEARTBEAT, HEARTBEAT_BODY, { timestamp: Date.now() - 61_000 }), 401, 'DEVICE.TIMESTAMP_OUT_OF_WINDOW');
      expectError(await device.post(HEARTBEAT, HEARTBEAT_BODY, { timestamp: Date.now() + 61_000 }), 401, 'DEVICE.TIMESTAMP_OUT_OF_WINDOW');
    });

    it('401 DEVICE.NONCE_REUSED for a nonce this device already used; another device may use it', async () => {
      const { device } = await enrolled();
      const { device: other } = await enrolled();
      const nonce = newNonce();
      expect((await device.post(HEARTBEAT, HEARTBEAT_BODY, { nonce })).status).toBe(200);
      expectError(await device.post(HEARTBEAT, HEARTBEAT_BODY, { nonce }), 401, 'DEVICE.NONCE_REUSED');
      expectError(await device.get(EARNINGS, { nonce }), 401, 'DEVICE.NONCE_REUSED');
      expect((await other.post(HEARTBEAT, HEARTBEAT_BODY, { nonce })).status).toBe(200);
    });

    it('401 DEVICE.SIGNATURE_INVALID for a wrong signature, and bytes, path or query changed after signing', async () => {
      const { device } = await enrolled();
      const before = await deviceRow(device.publicKey);
      expectError(await device.post(HEARTBEAT, HEARTBEAT_BODY, { signer: ed25519Generate() }), 401, 'DEVICE.SIGNATURE_INVALID');
      expectError(
        await device.post(HEARTBEAT, HEARTBEAT_BODY, { sendRaw: JSON.stringify({ ...HEARTBEAT_BODY, firmware: '6.6.6' }) }),
        401,
        'DEVICE.SIGNATURE_INVALID',
      );
      expectError(
        await device.post(HEARTBEAT, HEARTBEAT_BODY, { sendRaw: JSON.stringify(HEARTBEAT_BODY) + ' ' }),
        401,
        'DEVICE.SIGNATURE_INVALID',
      );
      expectError(await device.post(HEARTBEAT, {}, { sendPath: CLAIM }), 401, 'DEVICE.SIGNATURE_INVALID');
      expectError(await device.get(`${EARNINGS}?page=1`, { sendPath: `${EARNINGS}?page=2` }), 401, 'DEVICE.SIGNATURE_INVALID');
      expectError(await device.get(`${EARNINGS}?page=1`, { sendPath: EARNINGS }), 401, 'DEVICE.SIGNATURE_INVALID');
      expectError(
        await device.get(EARNINGS, { tamper: (h) => (h['x-device-signature'] = '00'.repeat(64)) }),
        401,
        'DEVICE.SIGNATURE_INVALID',
      );
      expectError(
        await device.get(EARNINGS, { tamper: (h) => (h['x-device-timestamp'] = String(Number(h['x-device-timestamp']) + 1)) }),
        401,
        'DEVICE.SIGNATURE_INVALID',
      );
      // Path and query exactly as signed are fine.
      expect((await device.get(`${EARNINGS}?page=1`)).status).toBe(200);
      const after = await deviceRow(device.publicKey);
      expect({ firmware: after?.firmware, lastSeenAt: after?.lastSeenAt }).toEqual({
        firmware: before?.firmware,
        lastSeenAt: before?.lastSeenAt,
      });
    });

    it('401 for each missing or malformed header', async () => {
      const { device } = await enrolled();
      const cases: [string, (h: Record<string, string>) => void][] = [
        ['DEVICE.KEY_INVALID', (h) => delete h['x-device-key']],
        ['DEVICE.TIMESTAMP_INVALID', (h) => delete h['x-device-timestamp']],
        ['DEVICE.NONCE_INVALID', (h) => delete h['x-device-nonce']],
        ['DEVICE.SIGNATURE_INVALID', (h) => delete h['x-device-signature']],
        ['DEVICE.KEY_INVALID', (h) => (h['x-device-key'] = h['x-device-key']!.toUpperCase())],
        ['DEVICE.NONCE_INVALID', (h) => (h['x-device-nonce'] = 'short')],
        ['DEVICE.NONCE_INVALID', (h) => (h['x-device-nonce'] = 'has space in it')],
        ['DEVICE.TIMESTAMP_INVALID', (h) => (h['x-device-timestamp'] = new Date().toISOString())],
      ];
      for (const [code, tamper] of cases) expectError(await device.post(HEARTBEAT, HEARTBEAT_BODY, { tamper }), 401, code);
      expectError(await sendRaw(api.base, 'GET', EARNINGS, {}), 401, 'DEVICE.KEY_INVALID');
    });

    it('401 DEVICE.NOT_ENROLLED for a key that is not enrolled, on everything but enroll', async () => {
      const stranger = newDevice();
      expectError(await stranger.post(HEARTBEAT, HEARTBEAT_BODY), 401, 'DEVICE.NOT_ENROLLED');
      expectError(await stranger.post(CLAIM, {}), 401, 'DEVICE.NOT_ENROLLED');
      expectError(await stranger.get(EARNINGS), 401, 'DEVICE.NOT_ENROLLED');
      expectError(await stranger.post(resultPath(newId()), { verdicts: '1', resultSignature: '00' }), 401, 'DEVICE.NOT_ENROLLED');
      expect(await deviceRow(stranger.publicKey)).toBeNull();
    });

    it('403 DEVICE.REVOKED everywhere, enroll included, for a revoked device; within the cache time on a gateway that knew it', async () => {
      const { device } = await enrolled();
      const cert = certFor(device);
      expect((await device.post(CLAIM, {})).status).toBe(204); // this gateway now caches the device as active
      await db.device.update({ where: { publicKey: device.publicKey }, data: { status: 'revoked' } });
      // Another gateway process, which never saw the device, refuses it at once.
      const other = new DeviceClient((await startExtra({})).base, device.key);
      expectError(await other.post(HEARTBEAT, HEARTBEAT_BODY), 403, 'DEVICE.REVOKED');
      expectError(await other.post(CLAIM, {}), 403, 'DEVICE.REVOKED');
      expectError(await other.get(EARNINGS), 403, 'DEVICE.REVOKED');
      expectError(await other.post(resultPath(newId()), { verdicts: '1', resultSignature: '00' }), 403, 'DEVICE.REVOKED');
      expectError(await other.post(ENROLL, { certificate: cert }), 403, 'DEVICE.REVOKED');
      // The gateway that cached it refuses it once its cache entry ran out.
      await sleep(DEVICE_CACHE_MS + 100);
      expectError(await device.post(HEARTBEAT, HEARTBEAT_BODY), 403, 'DEVICE.REVOKED');
      expectError(await device.post(ENROLL, { certificate: cert }), 403, 'DEVICE.REVOKED');
      expect(await deviceRow(device.publicKey)).toMatchObject({ status: 'revoked', lastSeenAt: null, firmware: null });
    });

    it('a suspended device may heartbeat but gets no work (claim 204) while work waits for others', async () => {
      const m = await createModel(api.base, mfr.apiKey);
      const gw = await startExtra({}); // a gateway with no cached view of the devices
      const device = new DeviceClient(gw.base, (await enrolled(m)).device.key);
      const active = new DeviceClient(gw.base, (await enrolled(m)).device.key);
      await db.device.update({ where: { publicKey: device.publicKey }, data: { status: 'suspended' } });
      // One real item: with the canaries of a new device it fits the model's batch size of 4.
      const unit = await queueUnit(gw, m.deviceClass, { items: 1, replicas: 1 });
      expect((await device.post(HEARTBEAT, HEARTBEAT_BODY)).status).toBe(200);
      const r = await device.post(CLAIM, {});
      expect(r.status).toBe(204);
      expect(r.text).toBe('');
      expect(await db.assignment.count({ where: { unitId: unit.id } })).toBe(0);
      expect(await db.workUnit.findUnique({ where: { id: unit.id } })).toMatchObject({ quorum: 1, replicasIssued: 1 });
      const w = await active.post<{ assignment: Assignment }>(CLAIM, {});
      expect(w.status).toBe(200);
      expect(w.body.assignment.unitId).toBe(unit.id);
    });
  });

  describe('bodies', () => {
    it('400 REQUEST.INVALID_JSON for a body that is not JSON, and nothing changes', async () => {
      const { device } = await enrolled();
      for (const raw of ['{"idle": true,', 'not json at all', '\u00ff\u00fe', '']) {
        expectError(await device.post(HEARTBEAT, undefined, { raw }), 400, 'REQUEST.INVALID_JSON');
      }
      expect(await deviceRow(device.publicKey)).toMatchObject({ lastSeenAt: null, firmware: null, telemetry: null });
    });

    it('400 REQUEST.INVALID_BODY for unknown fields or wrong types, and nothing changes', async () => {
      const { device } = await enrolled();
      const bad: unknown[] = [
        { ...HEARTBEAT_BODY, extra: 1 },
        { ...HEARTBEAT_BODY, metrics: { ...HEARTBEAT_BODY.metrics, fanRpm: 1200 } },
        { ...HEARTBEAT_BODY, idle: 'yes' },
        { idle: true },
        [HEARTBEAT_BODY],
      ];
      for (const body of bad) expectError(await device.post(HEARTBEAT, body), 400, 'REQUEST.INVALID_BODY');
      expectError(await device.post(CLAIM, { kinds: ['tx-verify'], maxItems: 32, priority: 'high' }), 400, 'REQUEST.INVALID_BODY');
      const certificate = { ...certFor(device), ownerId: 'me' };
      expectError(await device.post(ENROLL, { certificate }), 400, 'REQUEST.INVALID_BODY');
      expect(await deviceRow(device.publicKey)).toMatchObject({ lastSeenAt: null, firmware: null, telemetry: null, ownerId: null });
    });

    it('takes a body of exactly 64 KiB and refuses a byte more with 413, changing nothing', async () => {
      const { device } = await enrolled();
      const json = JSON.stringify({ ...HEARTBEAT_BODY, firmware: '9.9.9' });
      const tooBig = json + ' '.repeat(64 * 1024 + 1 - json.length);
      expect(Buffer.byteLength(tooBig)).toBe(65_537);
      expectError(await device.post(HEARTBEAT, undefined, { raw: tooBig }), 413, 'REQUEST.TOO_LARGE');
      expect(await deviceRow(device.publicKey)).toMatchObject({ lastSeenAt: null, firmware: null });
      const atLimit = tooBig.slice(0, -1);
      expect((await device.post(HEARTBEAT, undefined, { raw: atLimit })).status).toBe(200);
      expect((await deviceRow(device.publicKey))?.firmware).toBe('9.9.9');
    });

    it('takes application/json with a charset parameter', async () => {
      const { device } = await enrolled();
      expect((await device.post(HEARTBEAT, HEARTBEAT_BODY, { contentType: 'application/json; charset=utf-8' })).status).toBe(200);
    });

    it('an unknown device route answers 404 in the error shape', async () => {
      const { device } = await enrolled();
      expectError(await device.post('/device/v1/nope', {}), 404, 'HTTP.NOT_FOUND');
    });
  });

  describe('heartbeat, claim, earnings', () => {
    it('heartbeat answers the policy and stores firmware, telemetry and lastSeenAt', async () => {
      const { device } = await enrolled();
      const t0 = Date.now();
      const r = await device.post(HEARTBEAT, HEARTBEAT_BODY);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        policy: expect.objectContaining({ idleOnly: expect.any(Boolean), hours: expect.any(Object), maxItems: model.batchSize }),
        nextHeartbeatS: 60,
      });
      expect(Object.keys(r.body.policy as Body).sort()).toEqual(['hours', 'idleOnly', 'maxItems', 'powerBudgetW']);
      const row = await deviceRow(device.publicKey);
      expect(row?.firmware).toBe('1.4.2');
      expect(row?.lastSeenAt?.getTime()).toBeGreaterThanOrEqual(t0 - 1_000);
      expect(row?.lastSeenAt?.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
      expect(row?.telemetry).toEqual({ idle: true, uptimeS: 3600, tempC: 41.5, powerW: 3.2, loadPct: 12 });
      // metrics are optional
      expect((await device.post(HEARTBEAT, { idle: false, firmware: '1.4.3', uptimeS: 0 })).status).toBe(200);
      expect((await deviceRow(device.publicKey))?.firmware).toBe('1.4.3');
    });

    it('claim answers 204 with no body when there is no work, with or without a body', async () => {
      const m = await createModel(api.base, mfr.apiKey);
      const { device } = await enrolled(m);
      for (const body of [{}, { kinds: ['tx-verify'], maxItems: 32 }, undefined]) {
        const r = await device.post(CLAIM, body);
        expect({ status: r.status, text: r.text }).toEqual({ status: 204, text: '' });
      }
    });

    it('earnings of a new device are zero strings in the platform currency', async () => {
      const { device } = await enrolled();
      const r = await device.get(EARNINGS);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ currency: api.config.CURRENCY, pending: '0', credited: '0', paid: '0', last24h: '0' });
    });
  });

  describe('work', () => {
    it('claim, owner exclusion, and every result rule', async () => {
      const canaries = api.config.CANARIES_UNTRUSTED; // none of these devices is trusted yet
      expect(canaries).toBeGreaterThan(0);
      const m = await createModel(api.base, mfr.apiKey, { batchSize: 4 + canaries });
      const a = await enrolled(m);
      const b = await enrolled(m);
      const c = await enrolled(m);
      const owner = await claimDevice(api.base, a.claimCode);
      await claimDevice(api.base, b.claimCode, owner.ownerToken);
      const unit = await queueUnit(api, m.deviceClass, { items: 4, quorum: 2, replicas: 2 });

      const t0 = Date.now();
      const ra = await a.device.post<{ assignment: Assignment }>(CLAIM, { kinds: ['tx-verify'], maxItems: 32 });
      expect(ra.status).toBe(200);
      const asg = ra.body.assignment;
      expect(asg).toEqual({
        assignmentId: expect.stringMatching(ULID),
        unitId: unit.id,
        kind: 'tx-verify',
        deadline: expect.any(String),
        items: expect.any(Array),
      });
      // The unit's items in order with this assignment's canaries spliced in: no more than the model's batch size.
      const plantedA = await plantedIn(asg.assignmentId);
      expect(asg.items).toHaveLength(unit.items.length + canaries);
      expect(plantedA).toHaveLength(canaries);
      expect(withoutCanaries(asg.items, plantedA)).toEqual(unit.items);
      for (const c of plantedA) expect(verifyItem(asg.items[c.index]!), `canary at ${c.index}`).toBe(c.valid);
      expect(plantedA.some((c) => !c.valid)).toBe(true); // the first canary is always invalid
      const deadline = Date.parse(asg.deadline);
      expect(deadline).toBeGreaterThanOrEqual(t0 + api.config.LEASE_MS - 1_000);
      expect(deadline).toBeLessThanOrEqual(Date.now() + api.config.LEASE_MS + 1_000);
      expect(await db.assignment.findUnique({ where: { id: asg.assignmentId } })).toMatchObject({
        deviceId: a.deviceId,
        ownerId: owner.ownerId,
        status: 'leased',
      });

      // c cannot take the unit's items and its canaries in fewer items than that: the replica stays queued.
      expect((await c.device.post(CLAIM, { maxItems: unit.items.length + canaries - 1 })).status).toBe(204);
      expect(await db.assignment.count({ where: { deviceId: c.deviceId } })).toBe(0);
      await untilDue(m.deviceClass); // the replica was given back with a short delay: let it be due again
      // b has the same owner as a: no replica of this unit for it; c, unowned, gets the other one.
      expect((await b.device.post(CLAIM, {})).status).toBe(204);
      expect(await db.assignment.count({ where: { deviceId: b.deviceId } })).toBe(0);
      const rc = await claimUntilWork(c.device);
      expect(rc.status).toBe(200);
      expect(rc.body.assignment.unitId).toBe(unit.id);
      expect(withoutCanaries(rc.body.assignment.items, await plantedIn(rc.body.assignment.assignmentId))).toEqual(unit.items);
      expect((await b.device.post(CLAIM, {})).status).toBe(204);

      const path = resultPath(asg.assignmentId);
      // What a signs: its verdicts over every item it was sent, canaries included.
      const verdictsA = honest(asg.items);
      const good = { verdicts: verdictsA, resultSignature: resultSignature(a.device.key, unit.id, verdictsA) };

      expectError(
        await c.device.post(path, { verdicts: verdictsA, resultSignature: resultSignature(c.device.key, unit.id, verdictsA) }),
        409,
        'WORK.NOT_YOUR_ASSIGNMENT',
      );
      // Too short, too long, the unit's own verdicts without the canaries', not 0/1, empty.
      const notBinary = 'x' + verdictsA.slice(1);
      for (const verdicts of [verdictsA.slice(1), verdictsA + '1', unit.verdicts, notBinary, '']) {
        expectError(
          await a.device.post(path, { verdicts, resultSignature: resultSignature(a.device.key, unit.id, verdicts) }),
          422,
          'WORK.VERDICTS_INVALID',
        );
      }
      expectError(
        await a.device.post(path, { verdicts: verdictsA, resultSignature: resultSignature(c.device.key, unit.id, verdictsA) }),
        422,
        'WORK.RESULT_SIGNATURE_INVALID',
      );
      expectError(
        await a.device.post(path, { verdicts: verdictsA, resultSignature: resultSignature(a.device.key, newId(), verdictsA) }),
        422,
        'WORK.RESULT_SIGNATURE_INVALID',
      );
      // Signed over the unit's verdicts rather than over what it sends.
      expectError(
        await a.device.post(path, { verdicts: verdictsA, resultSignature: resultSignature(a.device.key, unit.id, unit.verdicts) }),
        422,
        'WORK.RESULT_SIGNATURE_INVALID',
      );
      expectError(await a.device.post(path, { verdicts: verdictsA, resultSignature: 'zz' }), 422, 'WORK.RESULT_SIGNATURE_INVALID');
      expectError(
        await a.device.post(path, { verdicts: verdictsA, extra: true, resultSignature: good.resultSignature }),
        400,
        'REQUEST.INVALID_BODY',
      );
      expect(await db.assignment.findUnique({ where: { id: asg.assignmentId } })).toMatchObject({
        status: 'leased',
        verdicts: null,
        realVerdicts: null,
        resultSignature: null,
      });

      const first = await a.device.post(path, good);
      expect(first.status).toBe(202);
      expect(first.body).toEqual({ status: 'pending' });
      const again = await a.device.post(path, good);
      expect({ status: again.status, body: again.body }).toEqual({ status: 202, body: first.body });
      // Stored as signed, and the verdicts on the unit's own items with the canaries taken out.
      expect(await db.assignment.findUnique({ where: { id: asg.assignmentId } })).toMatchObject({
        status: 'submitted',
        verdicts: verdictsA,
        realVerdicts: unit.verdicts,
        resultSignature: good.resultSignature,
        outcome: null,
      });

      const other = verdictsA.replace(/^./, (ch) => (ch === '1' ? '0' : '1'));
      expectError(
        await a.device.post(path, { verdicts: other, resultSignature: resultSignature(a.device.key, unit.id, other) }),
        409,
        'WORK.ALREADY_ANSWERED',
      );

      // c agrees on the unit's items (over its own canaries): quorum of two, the unit is verified and
      // each agreeing device credited once, immature until the maturity window has passed.
      const verdictsC = honest(rc.body.assignment.items);
      const rcResult = await c.device.post(resultPath(rc.body.assignment.assignmentId), {
        verdicts: verdictsC,
        resultSignature: resultSignature(c.device.key, unit.id, verdictsC),
      });
      expect({ status: rcResult.status, body: rcResult.body }).toEqual({ status: 202, body: { status: 'verified' } });
      const repeat = await a.device.post(path, good);
      expect({ status: repeat.status, body: repeat.body }).toEqual({ status: 202, body: { status: 'verified' } });
      expect(await db.workUnit.findUnique({ where: { id: unit.id } })).toMatchObject({ status: 'verified', verdicts: unit.verdicts });
      expect(await db.assignment.count({ where: { unitId: unit.id, outcome: 'agreed' } })).toBe(2);
      expect(await db.journalEntry.count({ where: { unitId: unit.id } })).toBe(2);
      const rewards = await db.reward.findMany({ where: { unitId: unit.id }, orderBy: { deviceId: 'asc' } });
      expect(rewards.map((r) => ({ deviceId: r.deviceId, amount: r.amount.toFixed(0), status: r.status }))).toEqual(
        [a.deviceId, c.deviceId].sort().map((deviceId) => ({ deviceId, amount: api.config.UNIT_REWARD.toString(), status: 'immature' })),
      );
      const ownerShare = (api.config.UNIT_REWARD * BigInt(api.config.OWNER_SHARE_BPS)) / 10_000n;
      const maturing = await a.device.get(EARNINGS);
      expect(maturing.status).toBe(200);
      expect(maturing.body).toMatchObject({ pending: ownerShare.toString(), credited: '0', last24h: '0', paid: '0' });
      // Once matured (what the worker's maintenance queue does), the owner share is credited.
      await db.reward.updateMany({ where: { unitId: unit.id }, data: { maturesAt: new Date(Date.now() - 1_000) } });
      expect(await api.app.get(RewardsService).matureDue()).toBeGreaterThanOrEqual(2);
      const earnings = await a.device.get(EARNINGS);
      expect(earnings.status).toBe(200);
      expect(earnings.body).toMatchObject({ pending: '0', credited: ownerShare.toString(), last24h: ownerShare.toString(), paid: '0' });

      // Unknown assignments: not found, never 5xx.
      expectError(await a.device.post(resultPath(newId()), good), 404, 'WORK.ASSIGNMENT_NOT_FOUND');
      expectError(await a.device.post(resultPath('not-an-id'), good), 404, 'WORK.ASSIGNMENT_NOT_FOUND');
    });

    it('one household (network origin) holds one replica of a unit, whatever owners its devices have', async () => {
      const m = await createModel(api.base, mfr.apiKey, { batchSize: 4 + api.config.CANARIES_UNTRUSTED });
      const household = '198.19.77.7';
      const inside = [await enrolled(m), await enrolled(m)].map((e) => ({
        ...e,
        device: new DeviceClient(api.base, e.device.key, household),
      }));
      const outside = await enrolled(m);
      const unit = await queueUnit(api, m.deviceClass, { items: 4, quorum: 2, replicas: 2 });
      const first = await inside[0]!.device.post<{ assignment: Assignment }>(CLAIM, {});
      expect(first.status).toBe(200);
      expect(first.body.assignment.unitId).toBe(unit.id);
      // the second device of the same household (another owner: none claimed either) gets nothing of it
      await untilDue(m.deviceClass);
      expect((await claimUntilWork(inside[1]!.device, 3)).status).toBe(204);
      expect(await db.assignment.count({ where: { deviceId: inside[1]!.deviceId } })).toBe(0);
      // a device of another household takes the other replica
      const other = await claimUntilWork(outside.device);
      expect(other.status).toBe(200);
      expect(other.body.assignment.unitId).toBe(unit.id);
      const origins = await db.assignment.findMany({ where: { unitId: unit.id }, select: { origin: true } });
      expect(origins.map((o) => o.origin).sort()).toEqual([household, outside.device.origin].sort());
    });

    it('409 WORK.DEADLINE_PASSED once the lease ran out, and the result is not stored', async () => {
      const lease = await startExtra({ LEASE_MS: '1000' });
      const m = await createModel(api.base, mfr.apiKey);
      const { device, deviceId } = await enrolled(m);
      // One real item: with the canaries of a new device it fits the model's batch size of 4.
      const unit = await queueUnit(lease, m.deviceClass, { items: 1, replicas: 1 });
      const client = new DeviceClient(lease.base, device.key);
      const r = await client.post<{ assignment: Assignment }>(CLAIM, {});
      expect(r.status).toBe(200);
      expect(Date.parse(r.body.assignment.deadline) - Date.now()).toBeLessThanOrEqual(1_000);
      await sleep(1_300);
      // A well-formed answer over every item sent, so only the deadline is at fault.
      const verdicts = honest(r.body.assignment.items);
      expectError(
        await client.post(resultPath(r.body.assignment.assignmentId), {
          verdicts,
          resultSignature: resultSignature(device.key, unit.id, verdicts),
        }),
        409,
        'WORK.DEADLINE_PASSED',
      );
      expect(await db.assignment.findFirst({ where: { deviceId } })).toMatchObject({
        status: 'leased',
        verdicts: null,
        resultSignature: null,
      });
    });
  });

  it('rate limit: the request past DEVICE_RATE_PER_MIN gets 429 with retry-after, changing nothing', async () => {
    const limited = await startExtra({ DEVICE_RATE_PER_MIN: '3' });
    const { device } = await enrolled();
    // The limit counts per wall-clock minute: do not straddle a minute boundary.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await sleep(60_500 - intoMinute);
    const client = new DeviceClient(limited.base, device.key);
    for (let i = 0; i < 3; i++) expect((await client.post(HEARTBEAT, HEARTBEAT_BODY)).status).toBe(200);
    const seen = (await deviceRow(device.publicKey))?.lastSeenAt;
    const r = await client.post(HEARTBEAT, { ...HEARTBEAT_BODY, firmware: '7.7.7' });
    expectError(r, 429, 'DEVICE.RATE_LIMITED');
    const retryAfter = Number(r.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(await deviceRow(device.publicKey)).toMatchObject({ lastSeenAt: seen, firmware: '1.4.2' });
    // Other devices are not affected.
    const { device: fresh } = await enrolled();
    expect((await new DeviceClient(limited.base, fresh.key).post(HEARTBEAT, HEARTBEAT_BODY)).status).toBe(200);
  });
});
