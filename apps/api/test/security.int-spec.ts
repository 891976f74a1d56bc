/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return --
   JSON answers of the API under test, read loosely and checked by the assertions. */
import 'reflect-metadata';
import { PrismaService, SecretBox } from '@idlemint/core';
import { ed25519Generate } from '@idlemint/crypto';
import { attestationKeyProofString, attestationKeyRegistration } from '@idlemint/protocol';
import { ed25519Sign } from '@idlemint/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManufacturer, startApi, unique, type RunningApi } from './support/api.js';
import { makeCertificate } from './support/certificates.js';
import { DeviceClient } from './support/device-client.js';
import { call, client, enroll, expectError, startFleetApi, type FleetApi } from './support/fleet.js';

/**
 * Issue 9, played as an attacker would: a tenant registering another maker's factory key, model
 * names and serials; a viewer key reading claim codes; bodies validated before the caller is known.
 */
describe('security', () => {
  let platform: FleetApi;
  let api: RunningApi;
  let db: PrismaService;

  beforeAll(async () => {
    platform = await startFleetApi('security');
    ({ api, db } = platform);
  });

  afterAll(() => platform?.close());

  const operator = async (name: string) => {
    const r = await call(api.base, 'POST', '/operator/v1/manufacturers', { operator: true, body: { name } });
    expect(r.status).toBe(201);
    return { id: r.body.id as string, api: client(api.base, r.body.apiKey as string) };
  };

  describe('attestation keys need proof of possession (finding 2)', () => {
    it("a tenant cannot register another maker's factory key, model name or serials and take its devices", async () => {
      const factoryKey = ed25519Generate(); // V's factory key: its private half never leaves V
      const model = unique('acme-fridge-x1');
      const serial = unique('ACME-FR');
      const victim = await operator(unique('victim'));
      const attacker = await operator(unique('attacker'));

      // X registers V's public key first: without the private key X has no proof.
      const noProof = await attacker.api.post('/manufacturer/v1/attestation-keys', { publicKey: factoryKey.publicKey });
      expectError(noProof, 400, 'REQUEST.INVALID_BODY');
      const forged = await attacker.api.post('/manufacturer/v1/attestation-keys', {
        publicKey: factoryKey.publicKey,
        proof: ed25519Sign(ed25519Generate().secretKey, attestationKeyProofString(attacker.id, factoryKey.publicKey)),
      });
      expectError(forged, 422, 'ATTESTATION_KEY.PROOF_INVALID');
      expect(forged.body.error.details.challenge).toBe(attestationKeyProofString(attacker.id, factoryKey.publicKey));
      // Nor does V's own proof, seen on the wire, help X: it is bound to V.
      const replayed = await attacker.api.post(
        '/manufacturer/v1/attestation-keys',
        attestationKeyRegistration(factoryKey.secretKey, victim.id),
      );
      expectError(replayed, 422, 'ATTESTATION_KEY.PROOF_INVALID');
      expect(await db.attestationKey.count({ where: { publicKey: factoryKey.publicKey } })).toBe(0);

      // X squats V's model name and serial under its own key.
      const attackerKey = ed25519Generate();
      expect(
        (await attacker.api.post('/manufacturer/v1/attestation-keys', attestationKeyRegistration(attackerKey.secretKey, attacker.id)))
          .status,
      ).toBe(201);
      expect((await attacker.api.post('/manufacturer/v1/models', { name: model, deviceClass: 'fridge', batchSize: 4 })).status).toBe(201);
      const squatter = new DeviceClient(api.base, ed25519Generate());
      const squat = await squatter.post('/device/v1/enroll', {
        certificate: makeCertificate(attackerKey, squatter.publicKey, { serial, model }),
      });
      expect(squat.status).toBe(201);
      expect(squat.body.manufacturerId).toBe(attacker.id);

      // V registers its key and model: no 409 telling anyone they existed elsewhere.
      const own = await victim.api.post('/manufacturer/v1/attestation-keys', attestationKeyRegistration(factoryKey.secretKey, victim.id));
      expect(own.status).toBe(201);
      expect((await victim.api.post('/manufacturer/v1/models', { name: model, deviceClass: 'fridge', batchSize: 4 })).status).toBe(201);

      // V's genuine device, certified by V's factory key with the squatted serial, enrolls under V.
      const genuine = new DeviceClient(api.base, ed25519Generate());
      const r = await genuine.post('/device/v1/enroll', { certificate: makeCertificate(factoryKey, genuine.publicKey, { serial, model }) });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.manufacturerId).toBe(victim.id);
      const rows = await db.device.findMany({ where: { serial }, orderBy: { enrolledAt: 'asc' } });
      expect(rows.map((d) => [d.manufacturerId, d.publicKey])).toEqual([
        [attacker.id, squatter.publicKey],
        [victim.id, genuine.publicKey],
      ]);
      // Within one manufacturer a serial is still bound to one key.
      const twin = new DeviceClient(api.base, ed25519Generate());
      expectError(
        await twin.post('/device/v1/enroll', { certificate: makeCertificate(factoryKey, twin.publicKey, { serial, model }) }),
        409,
        'DEVICE.SERIAL_TAKEN',
      );
    });
  });

  describe('claim codes (finding 6)', () => {
    it('a viewer key never sees a claim code; an admin key does', async () => {
      const m = await createManufacturer(api.base);
      const admin = client(api.base, m.apiKey);
      const model = (await admin.post('/manufacturer/v1/models', { name: unique('m'), deviceClass: 'c', batchSize: 2 })).body;
      const e = await enroll(api.base, m, model);
      const viewer = client(api.base, (await admin.post('/manufacturer/v1/api-keys', { role: 'viewer' })).body.secret as string);
      const list = await viewer.get('/manufacturer/v1/devices');
      expect(list.status).toBe(200);
      expect(list.body.devices.map((d: any) => d.id)).toEqual([e.deviceId]);
      expect(list.body.devices[0].claimCode).toBeNull();
      const one = await viewer.get(`/manufacturer/v1/devices/${e.deviceId}`);
      expect(one.status).toBe(200);
      expect(one.body.claimCode).toBeNull();
      expect(JSON.stringify([list.body, one.body])).not.toContain(e.claimCode);
      expect((await admin.get('/manufacturer/v1/devices')).body.devices[0].claimCode).toBe(e.claimCode);
      expect((await admin.get(`/manufacturer/v1/devices/${e.deviceId}`)).body.claimCode).toBe(e.claimCode);
    });
  });

  describe('authentication before validation (finding 7)', () => {
    const bad = { name: '', extra: { deep: true } };
    it.each([
      ['POST', '/operator/v1/manufacturers', {}, 'AUTH.OPERATOR_KEY_INVALID'],
      ['POST', '/operator/v1/nodes', {}, 'AUTH.OPERATOR_KEY_INVALID'],
      ['GET', '/operator/v1/payouts?status=nonsense', {}, 'AUTH.OPERATOR_KEY_INVALID'],
      ['POST', '/operator/v1/manufacturers', { 'x-operator-key': 'wrong-operator-key-000000' }, 'AUTH.OPERATOR_KEY_INVALID'],
      ['PUT', '/owner/v1/payout-address', {}, 'OWNER.UNAUTHORIZED'],
      ['PUT', '/owner/v1/payout-address', { authorization: 'Bearer imo_nope' }, 'OWNER.UNAUTHORIZED'],
      ['POST', '/owner/v1/claim', { authorization: 'Bearer imo_nope' }, 'OWNER.UNAUTHORIZED'],
      ['POST', '/manufacturer/v1/models', { 'x-api-key': 'imk_nope' }, 'AUTH.API_KEY_INVALID'],
    ])('%s %s with a bad body and no valid credential: 401', async (method, path, headers, code) => {
      const r = await call(api.base, method, path, { headers, ...(method === 'GET' ? {} : { body: bad }) });
      expectError(r, 401, code);
    });
  });

  describe('NUL bytes are refused with 400, never stored or queried (finding 5)', () => {
    it('in a signed heartbeat, device-list filters, a forged cursor, a bulk filter, webhook and node URLs', async () => {
      const m = await createManufacturer(api.base);
      const admin = client(api.base, m.apiKey);
      const model = (await admin.post('/manufacturer/v1/models', { name: unique('m'), deviceClass: 'c', batchSize: 2 })).body;
      const e = await enroll(api.base, m, model);
      const hb = await e.device.post('/device/v1/heartbeat', { idle: true, firmware: 'a\u0000b', uptimeS: 1 });
      expectError(hb, 400, 'REQUEST.INVALID_BODY');
      expect((await db.device.findUniqueOrThrow({ where: { id: e.deviceId } })).firmware).toBeNull();

      expectError(await admin.get('/manufacturer/v1/devices?firmware=a%00'), 400, 'REQUEST.INVALID_QUERY');
      expectError(await admin.get('/manufacturer/v1/devices?firmware=ok&firmware=%00'), 400, 'REQUEST.INVALID_QUERY');
      const forged = Buffer.from(JSON.stringify({ s: 'serial', o: 'asc', v: 'a\u0000', i: e.deviceId })).toString('base64url');
      expectError(await admin.get(`/manufacturer/v1/devices?sort=serial&order=asc&cursor=${forged}`), 400, 'REQUEST.INVALID_CURSOR');
      const forgedPage = Buffer.from(JSON.stringify({ i: e.deviceId, x: '\u0000' })).toString('base64url');
      expectError(
        await call(api.base, 'GET', `/operator/v1/manufacturers?cursor=${forgedPage}`, { operator: true }),
        400,
        'REQUEST.INVALID_CURSOR',
      );
      expectError(
        await admin.post(
          '/manufacturer/v1/devices/bulk',
          { action: 'suspend', filter: { firmware: ['x\u0000'] } },
          { 'idempotency-key': unique('k') },
        ),
        400,
        'REQUEST.INVALID_BODY',
      );
      const rule = { name: 'r', kind: 'canary_strike', params: {}, webhookUrl: 'http://example.com/\u0000x' };
      expectError(await admin.post('/manufacturer/v1/alert-rules', rule), 400, 'REQUEST.INVALID_BODY');
      const node = { name: unique('n'), url: 'http://example.com/\u0000' };
      expectError(await call(api.base, 'POST', '/operator/v1/nodes', { operator: true, body: node }), 400, 'REQUEST.INVALID_BODY');
      expect(await db.trustedNode.count({ where: { name: node.name } })).toBe(0);
      expect(await db.device.count({ where: { manufacturerId: m.id, status: 'suspended' } })).toBe(0);
      // The same requests without the NUL are served.
      expect((await e.device.post('/device/v1/heartbeat', { idle: true, firmware: 'ab', uptimeS: 1 })).status).toBe(200);
      expect((await admin.get('/manufacturer/v1/devices?firmware=ab')).body.devices.map((d: any) => d.id)).toEqual([e.deviceId]);
    });
  });

  describe('rate limits on the route as the router matches it, per-IP budgets for guessing (findings 3 and 4)', () => {
    const limitedApi = (over: Record<string, string>) => startApi(api.config.DATABASE_URL, over);

    it('an encoded path is budgeted like the plain one (reads, writes, owners)', async () => {
      const limited = await limitedApi({ MANUFACTURER_RATE_PER_MIN: '5', OWNER_RATE_PER_MIN: '3' });
      try {
        const m = await createManufacturer(limited.base); // one call with its key (its attestation key)
        const get = (path: string) => call(limited.base, 'GET', path, { key: m.apiKey });
        // The router serves the encoded path: it is the same route.
        expect((await get('/%6Danufacturer/v1/api-keys')).status).toBe(200);
        for (let i = 0; i < 3; i++) expect((await get('/manufacturer/v1/api-keys')).status).toBe(200);
        const plain = await get('/manufacturer/v1/api-keys');
        expectError(plain, 429, 'RATE.LIMITED');
        expect(Number(plain.headers.get('retry-after'))).toBeGreaterThan(0);
        const encoded = await get('/%6Danufacturer/v1/api-keys');
        expectError(encoded, 429, 'RATE.LIMITED');
        expect(Number(encoded.headers.get('retry-after'))).toBeGreaterThan(0);
        const write = await call(limited.base, 'POST', '/%6Danufacturer/v1/models', {
          key: m.apiKey,
          body: { name: unique('m'), deviceClass: 'c', batchSize: 2 },
        });
        expectError(write, 429, 'RATE.LIMITED');
        expect(await db.deviceModel.count({ where: { manufacturerId: m.id } })).toBe(0);

        const d = await createManufacturer(limited.base);
        const dm = (
          await client(limited.base, d.apiKey).post('/manufacturer/v1/models', { name: unique('m'), deviceClass: 'c', batchSize: 2 })
        ).body;
        const e = await enroll(limited.base, d, dm);
        const claimed = await call(limited.base, 'POST', '/owner/v1/claim', { body: { claimCode: e.claimCode } });
        expect(claimed.status).toBe(201);
        const token = { authorization: `Bearer ${claimed.body.ownerToken as string}` };
        for (let i = 0; i < 3; i++) expect((await call(limited.base, 'GET', '/owner/v1/earnings', { headers: token })).status).toBe(200);
        expectError(await call(limited.base, 'GET', '/%6Fwner/v1/earnings', { headers: token }), 429, 'RATE.LIMITED');
      } finally {
        await limited.close();
      }
    });

    it.each([
      ['wrong API keys', (i: number) => ({ method: 'GET', path: '/manufacturer/v1/api-keys', o: { key: `imk_guess_${i}` } }), 401],
      [
        'operator key guesses',
        (i: number) => ({
          method: 'GET',
          path: '/operator/v1/nodes',
          o: { headers: { 'x-operator-key': `guess-operator-key-${i}-0000` } },
        }),
        401,
      ],
      [
        'owner token guesses',
        (i: number) => ({ method: 'GET', path: '/owner/v1/earnings', o: { headers: { authorization: `Bearer imo_guess_${i}` } } }),
        401,
      ],
      [
        'claim code guesses',
        (i: number) => ({ method: 'POST', path: '/owner/v1/claim', o: { body: { claimCode: `GUESS${String(i).padStart(7, 'A')}` } } }),
        404,
      ],
    ] as const)('%s: each guess a fresh credential, yet the address gets 429 after its failure budget', async (_what, guess, status) => {
      const limited = await limitedApi({ AUTH_FAILURES_PER_MIN: '5' });
      try {
        const m = await createManufacturer(limited.base);
        for (let i = 0; i < 5; i++) {
          const g = guess(i);
          expect((await call(limited.base, g.method, g.path, g.o)).status).toBe(status);
        }
        const g = guess(99);
        const refused = await call(limited.base, g.method, g.path, g.o);
        expectError(refused, 429, 'RATE.AUTH_FAILURES');
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
        // The address is refused even with a good credential until its minute is over.
        expectError(await call(limited.base, 'GET', '/manufacturer/v1/api-keys', { key: m.apiKey }), 429, 'RATE.AUTH_FAILURES');
        // The device gateway is not behind it (devices share carrier NATs; they have their own budgets).
        const device = new DeviceClient(limited.base, ed25519Generate());
        expectError(await device.post('/device/v1/heartbeat', { idle: true, firmware: '1', uptimeS: 1 }), 401, 'DEVICE.NOT_ENROLLED');
      } finally {
        await limited.close();
      }
    });

    it('requests without a credential get a budget per address', async () => {
      const limited = await limitedApi({ ANON_RATE_PER_MIN: '4' });
      try {
        for (let i = 0; i < 4; i++) {
          expectError(await call(limited.base, 'POST', '/owner/v1/claim', { body: { claimCode: 'bad' } }), 400, 'REQUEST.INVALID_BODY');
        }
        const r = await call(limited.base, 'POST', '/owner/v1/claim', { body: { claimCode: 'bad' } });
        expectError(r, 429, 'RATE.LIMITED');
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        expectError(await call(limited.base, 'GET', '/operator/v1/nodes'), 429, 'RATE.LIMITED');
        // A credential has its own budget.
        expect((await call(limited.base, 'GET', '/operator/v1/nodes', { operator: true })).status).toBe(200);
      } finally {
        await limited.close();
      }
    });
  });

  describe('secrets at rest (finding 10)', () => {
    it('a webhook secret is stored sealed with the key id beside it, and only the API answer shows it', async () => {
      const m = await createManufacturer(api.base);
      const admin = client(api.base, m.apiKey);
      const secret = `whsec_${'s3cr3t'.repeat(4)}`;
      const rule = { name: unique('r'), kind: 'canary_strike', params: {}, webhookUrl: 'http://example.com/hook', secret };
      const created = await admin.post('/manufacturer/v1/alert-rules', rule);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const row = await db.alertRule.findUniqueOrThrow({ where: { id: created.body.id as string } });
      expect(row.secret).toMatch(new RegExp(`^enc:v1:${api.config.DATA_ENCRYPTION_KEY_ID}:`));
      expect(row.secret).not.toContain('s3cr3t');
      expect(SecretBox.fromConfig(api.config).open('alert-webhook-secret', row.secret)).toBe(secret);
      expect((await admin.get(`/manufacturer/v1/alert-rules/${created.body.id as string}`)).body.secretHint).toBe(`…${secret.slice(-4)}`);
      const rotated = await admin.patch(`/manufacturer/v1/alert-rules/${created.body.id as string}`, { rotateSecret: true });
      expect(rotated.body.secret).toMatch(/^whsec_/);
      const after = await db.alertRule.findUniqueOrThrow({ where: { id: created.body.id as string } });
      expect(after.secret).not.toContain(rotated.body.secret as string);
      expect(SecretBox.fromConfig(api.config).open('alert-webhook-secret', after.secret)).toBe(rotated.body.secret);
    });
  });
});
