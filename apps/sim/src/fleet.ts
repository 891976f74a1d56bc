import { ed25519Generate, ed25519Sign, type Ed25519KeyPair, type TxItem } from '@idlemint/crypto';
import {
  certificateSigningString,
  resultSigningString,
  type BirthCertificate,
  type ClaimResponse,
  type EarningsResponse,
  type EnrollResponse,
  type ResultResponse,
} from '@idlemint/protocol';
import { randomBytes } from 'node:crypto';
import { BEHAVIOURS, type Behaviour } from './behaviour.js';
import { call, deviceCall, expectStatus } from './http.js';

export interface FleetOptions {
  apiUrl: string;
  operatorKey: string;
  devices: number;
  /** Share of devices that lie (answer "all valid" without checking). */
  liars: number;
  durationMs: number;
  /** Devices per owner; owners never get two replicas of one unit. */
  devicesPerOwner?: number;
  deviceClass?: string;
  batchSize?: number;
  onProgress?: (s: FleetStats) => void;
}

export interface SimDevice {
  index: number;
  keys: Ed25519KeyPair;
  behaviour: Behaviour;
  deviceId?: string;
  claimCode?: string;
  stats: { claims: number; answered: number; verified: number; rejected: number; pending: number; errors: number };
}

export interface FleetStats {
  devices: number;
  liars: number;
  enrolled: number;
  claimed: number;
  answered: number;
  verified: number;
  rejected: number;
  errors: number;
  elapsedMs: number;
}

export interface FleetSummary extends FleetStats {
  manufacturerId: string;
  honestCredited: bigint;
  liarCredited: bigint;
  liarAnswered: number;
  liarVerified: number;
  ownerTokens: string[];
  deviceIds: { honest: string[]; liars: string[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A simulated fleet: registers a manufacturer with a fresh attestation key, makes N appliances with
 * factory certificates, enrolls them, has owners claim them, then lets each appliance heartbeat,
 * claim, verify and submit signed results until the time is up.
 */
export async function runFleet(o: FleetOptions): Promise<FleetSummary> {
  const started = Date.now();
  const tag = randomBytes(4).toString('hex');
  const op = { 'x-operator-key': o.operatorKey };
  const m = expectStatus(
    await call<{ id: string; apiKey: string }>(o.apiUrl, 'POST', '/operator/v1/manufacturers', { name: `sim-${tag}` }, op),
    [201],
    'create manufacturer',
  );
  const mk = { 'x-api-key': m.apiKey };
  const attestation = ed25519Generate();
  expectStatus(await call(o.apiUrl, 'POST', '/manufacturer/v1/attestation-keys', { publicKey: attestation.publicKey }, mk), [201], 'attestation key');
  const model = `sim-${tag}-appliance`;
  expectStatus(
    await call(o.apiUrl, 'POST', '/manufacturer/v1/models', { name: model, deviceClass: o.deviceClass ?? 'appliance', batchSize: o.batchSize ?? 16 }, mk),
    [201],
    'device model',
  );

  const liarCount = Math.round(o.devices * o.liars);
  // Liars spread through the fleet rather than bunched at one end.
  const liarAt = new Set(Array.from({ length: liarCount }, (_, k) => Math.floor((k * o.devices) / liarCount)));
  const devices: SimDevice[] = Array.from({ length: o.devices }, (_, index) => ({
    index,
    keys: ed25519Generate(),
    behaviour: liarAt.has(index) ? 'lazy' : 'honest',
    stats: { claims: 0, answered: 0, verified: 0, rejected: 0, pending: 0, errors: 0 },
  }));

  // Factory: certificates. First contact: enrollment.
  for (const d of devices) {
    const cert: Omit<BirthCertificate, 'signature'> = {
      v: 1,
      serial: `SIM-${tag}-${String(d.index).padStart(5, '0')}`,
      model,
      devicePublicKey: d.keys.publicKey,
      attestationKey: attestation.publicKey,
      issuedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    const certificate = { ...cert, signature: ed25519Sign(attestation.secretKey, certificateSigningString(cert)) };
    const e = expectStatus(await deviceCall<EnrollResponse>(o.apiUrl, d.keys, 'POST', '/device/v1/enroll', { certificate }), [201], 'enroll');
    d.deviceId = e.deviceId;
    d.claimCode = e.claimCode;
  }

  // Owners claim their appliances with the code each one shows, and set a payout address.
  const perOwner = o.devicesPerOwner ?? 1;
  const ownerTokens: string[] = [];
  for (let i = 0; i < devices.length; i += perOwner) {
    let token: string | undefined;
    for (const d of devices.slice(i, i + perOwner)) {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const c = expectStatus(
        await call<{ ownerToken?: string }>(o.apiUrl, 'POST', '/owner/v1/claim', { claimCode: d.claimCode }, headers),
        [201],
        'claim device',
      );
      token ??= c.ownerToken;
    }
    ownerTokens.push(token!);
    expectStatus(
      await call(o.apiUrl, 'PUT', '/owner/v1/payout-address', { address: `addr-${tag}-${i}` }, { authorization: `Bearer ${token}` }),
      [200],
      'payout address',
    );
  }

  const stats = (): FleetStats => {
    const sum = (f: (d: SimDevice) => number) => devices.reduce((s, d) => s + f(d), 0);
    return {
      devices: devices.length,
      liars: liarCount,
      enrolled: devices.filter((d) => d.deviceId).length,
      claimed: sum((d) => d.stats.claims),
      answered: sum((d) => d.stats.answered),
      verified: sum((d) => d.stats.verified),
      rejected: sum((d) => d.stats.rejected),
      errors: sum((d) => d.stats.errors),
      elapsedMs: Date.now() - started,
    };
  };
  const progress = o.onProgress ? setInterval(() => o.onProgress!(stats()), 1_000) : undefined;
  const deadline = Date.now() + o.durationMs;
  await Promise.all(devices.map((d) => runDevice(o.apiUrl, d, deadline)));
  if (progress) clearInterval(progress);

  let honestCredited = 0n;
  let liarCredited = 0n;
  for (const d of devices) {
    const e = expectStatus(await deviceCall<EarningsResponse>(o.apiUrl, d.keys, 'GET', '/device/v1/earnings'), [200], 'earnings');
    if (d.behaviour === 'honest') honestCredited += BigInt(e.credited);
    else liarCredited += BigInt(e.credited);
  }
  const liars = devices.filter((d) => d.behaviour !== 'honest');
  return {
    ...stats(),
    manufacturerId: m.id,
    honestCredited,
    liarCredited,
    liarAnswered: liars.reduce((s, d) => s + d.stats.answered, 0),
    liarVerified: liars.reduce((s, d) => s + d.stats.verified, 0),
    ownerTokens,
    deviceIds: { honest: devices.filter((d) => d.behaviour === 'honest').map((d) => d.deviceId!), liars: liars.map((d) => d.deviceId!) },
  };
}

async function runDevice(apiUrl: string, d: SimDevice, deadline: number): Promise<void> {
  const answer = BEHAVIOURS[d.behaviour];
  await sleep(Math.random() * 500); // appliances do not all wake at once
  try {
    await deviceCall(apiUrl, d.keys, 'POST', '/device/v1/heartbeat', { idle: true, firmware: '1.0.0', uptimeS: 60 });
  } catch {
    d.stats.errors++;
  }
  while (Date.now() < deadline) {
    try {
      const c = await deviceCall<ClaimResponse>(apiUrl, d.keys, 'POST', '/device/v1/work/claim', { kinds: ['tx-verify'] });
      if (c.status === 204) {
        await sleep(300 + Math.random() * 400);
        continue;
      }
      const a = expectStatus(c, [200], 'claim').assignment;
      d.stats.claims++;
      const verdicts = answer(a.items as TxItem[]);
      const resultSignature = ed25519Sign(d.keys.secretKey, resultSigningString(a.unitId, verdicts));
      const r = expectStatus(
        await deviceCall<ResultResponse>(apiUrl, d.keys, 'POST', `/device/v1/work/${a.assignmentId}/result`, { verdicts, resultSignature }),
        [202],
        'result',
      );
      d.stats.answered++;
      if (r.status === 'verified') d.stats.verified++;
      else if (r.status === 'rejected') d.stats.rejected++;
      else d.stats.pending++;
    } catch {
      d.stats.errors++;
      await sleep(500);
    }
  }
}
