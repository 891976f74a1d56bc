import { ed25519Generate, ed25519Sign, type Ed25519KeyPair, type TxItem } from '@idlemint/crypto';
import {
  attestationKeyRegistration,
  certificateSigningString,
  resultSigningString,
  type BirthCertificate,
  type ClaimResponse,
  type EarningsResponse,
  type EnrollResponse,
  type ResultResponse,
} from '@idlemint/protocol';
import { randomBytes, randomInt } from 'node:crypto';
import type { Agent } from 'node:http';
import { ADVERSARIES, CartelChannel, answer, replayPool, type Behaviour, type ItemCheck, type ReplayPool } from './behaviour.js';
import { call, deviceCall, expectStatus, originAgent } from './http.js';

export interface FleetOptions {
  apiUrl: string;
  operatorKey: string;
  devices: number;
  /** Share of devices that lie by answering "all valid" unchecked (the `lazy` adversary). */
  liars?: number;
  /** Share of devices per adversary kind; mixes with `liars`. */
  mix?: Partial<Record<Behaviour, number>>;
  durationMs: number;
  /** Ends the run early once this says so (checked between claims). */
  stop?: () => boolean;
  /** Devices per owner; owners never get two replicas of one unit. Ring devices share one owner. */
  devicesPerOwner?: number;
  deviceClass?: string;
  batchSize?: number;
  onProgress?: (s: FleetStats) => void;
  /**
   * Second octet of the loopback addresses the fleet's households connect from (127.N.x.y, one
   * address per owner), so the platform sees real network origins; default: one picked at random.
   */
  originNet?: number;
  /** Manufacturer name (default `sim-<tag>`). */
  name?: string;
  /** How devices learn items' truth (default: checking each signature); see `nodeOracle`. */
  check?: ItemCheck;
  /** Told how long each device request took, by what it was (for a benchmark's percentiles). */
  onRequest?: (what: DeviceRequest, ms: number, status: number) => void;
  /** Once enrolled and claimed, before any work: the manufacturer's admin API key and the owners' tokens (the console's sign-in). */
  onReady?: (f: { manufacturerId: string; apiKey: string; ownerTokens: string[]; deviceIds: string[] }) => void;
}

export type DeviceRequest = 'heartbeat' | 'claim' | 'result';

interface DeviceStats {
  claims: number;
  answered: number;
  verified: number;
  rejected: number;
  refused: number;
  errors: number;
}

export interface SimDevice {
  index: number;
  keys: Ed25519KeyPair;
  behaviour: Behaviour;
  deviceId?: string;
  claimCode?: string;
  /** The connection pool of the device's household (its network origin). */
  agent?: Agent;
  stats: DeviceStats;
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
  devicesByBehaviour: Partial<Record<Behaviour, string[]>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const zeroStats = (): DeviceStats => ({ claims: 0, answered: 0, verified: 0, rejected: 0, refused: 0, errors: 0 });

/** Which behaviour each device gets: adversaries spread through the fleet, not bunched at one end. */
export function assignBehaviours(n: number, mix: Partial<Record<Behaviour, number>>): Behaviour[] {
  const out: Behaviour[] = Array.from({ length: n }, () => 'honest');
  const wanted = ADVERSARIES.flatMap((b) => Array.from({ length: Math.round(n * (mix[b] ?? 0)) }, () => b));
  if (wanted.length > n) throw new Error('adversary shares add up to more than the fleet');
  wanted.forEach((b, k) => {
    out[Math.floor((k * n) / wanted.length)] = b;
  });
  return out;
}

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
    await call<{ id: string; apiKey: string }>(o.apiUrl, 'POST', '/operator/v1/manufacturers', { name: o.name ?? `sim-${tag}` }, op),
    [201],
    'create manufacturer',
  );
  const mk = { 'x-api-key': m.apiKey };
  const attestation = ed25519Generate();
  expectStatus(
    await call(o.apiUrl, 'POST', '/manufacturer/v1/attestation-keys', attestationKeyRegistration(attestation.secretKey, m.id), mk),
    [201],
    'attestation key',
  );
  const model = `sim-${tag}-appliance`;
  expectStatus(
    await call(
      o.apiUrl,
      'POST',
      '/manufacturer/v1/models',
      { name: model, deviceClass: o.deviceClass ?? 'appliance', batchSize: o.batchSize ?? 16 },
      mk,
    ),
    [201],
    'device model',
  );

  const behaviours = assignBehaviours(o.devices, { ...o.mix, lazy: (o.mix?.lazy ?? 0) + (o.liars ?? 0) });
  const devices: SimDevice[] = behaviours.map((behaviour, index) => ({ index, keys: ed25519Generate(), behaviour, stats: zeroStats() }));

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
    const e = expectStatus(
      await deviceCall<EnrollResponse>(o.apiUrl, d.keys, 'POST', '/device/v1/enroll', { certificate }),
      [201],
      'enroll',
    );
    d.deviceId = e.deviceId;
    d.claimCode = e.claimCode;
  }

  // Owners claim their appliances with the code each shows, and set a payout address. A ring is
  // one owner's devices colluding, so ring devices share an owner; sybils come in pairs of owners;
  // every cartel member has an owner of its own. An owner's devices share its household's origin.
  const perOwner = o.devicesPerOwner ?? 1;
  const groups: SimDevice[][] = [];
  const ring = devices.filter((d) => d.behaviour === 'ring');
  if (ring.length > 0) groups.push(ring);
  const sybils = devices.filter((d) => d.behaviour === 'sybil');
  for (let i = 0; i < sybils.length; i += 2) groups.push(sybils.slice(i, i + 2));
  for (const d of devices.filter((x) => x.behaviour === 'cartel')) groups.push([d]);
  const rest = devices.filter((d) => !['ring', 'sybil', 'cartel'].includes(d.behaviour));
  for (let i = 0; i < rest.length; i += perOwner) groups.push(rest.slice(i, i + perOwner));
  const net = o.originNet ?? 10 + randomInt(240);
  groups.forEach((group, g) => {
    const agent = originAgent(`127.${net}.${Math.floor(g / 250)}.${(g % 250) + 1}`);
    for (const d of group) d.agent = agent;
  });
  const ownerTokens: string[] = [];
  for (const [g, group] of groups.entries()) {
    let token: string | undefined;
    for (const d of group) {
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
      await call(o.apiUrl, 'PUT', '/owner/v1/payout-address', { address: `addr-${tag}-${g}` }, { authorization: `Bearer ${token}` }),
      [200],
      'payout address',
    );
  }

  const stats = (): FleetStats => {
    const sum = (f: (d: SimDevice) => number) => devices.reduce((s, d) => s + f(d), 0);
    return {
      devices: devices.length,
      liars: devices.filter((d) => d.behaviour !== 'honest').length,
      enrolled: devices.filter((d) => d.deviceId).length,
      claimed: sum((d) => d.stats.claims),
      answered: sum((d) => d.stats.answered),
      verified: sum((d) => d.stats.verified),
      rejected: sum((d) => d.stats.rejected),
      errors: sum((d) => d.stats.errors),
      elapsedMs: Date.now() - started,
    };
  };
  o.onReady?.({ manufacturerId: m.id, apiKey: m.apiKey, ownerTokens, deviceIds: devices.map((d) => d.deviceId!) });
  const progress = o.onProgress ? setInterval(() => o.onProgress!(stats()), 1_000) : undefined;
  const deadline = Date.now() + o.durationMs;
  const done = () => Date.now() >= deadline || (o.stop?.() ?? false);
  const pool = replayPool();
  const side = { secret: tag, cartel: new CartelChannel(), check: o.check, onRequest: o.onRequest };
  await Promise.all(devices.map((d) => runDevice(o.apiUrl, d, done, pool, side)));
  if (progress) clearInterval(progress);

  let honestCredited = 0n;
  let liarCredited = 0n;
  for (const d of devices) {
    const e = expectStatus(
      await deviceCall<EarningsResponse>(o.apiUrl, d.keys, 'GET', '/device/v1/earnings', undefined, d.agent),
      [200, 403],
      'earnings',
    );
    const credited = 'credited' in e ? BigInt(e.credited) : 0n;
    if (d.behaviour === 'honest') honestCredited += credited;
    else liarCredited += credited;
  }
  const liars = devices.filter((d) => d.behaviour !== 'honest');
  const devicesByBehaviour: Partial<Record<Behaviour, string[]>> = {};
  for (const d of devices) (devicesByBehaviour[d.behaviour] ??= []).push(d.deviceId!);
  return {
    ...stats(),
    manufacturerId: m.id,
    honestCredited,
    liarCredited,
    liarAnswered: liars.reduce((s, d) => s + d.stats.answered, 0),
    liarVerified: liars.reduce((s, d) => s + d.stats.verified, 0),
    ownerTokens,
    deviceIds: { honest: devicesByBehaviour.honest ?? [], liars: liars.map((d) => d.deviceId!) },
    devicesByBehaviour,
  };
}

/** Every appliance heartbeats this often (the brief: every minute). */
const HEARTBEAT_EVERY_MS = 60_000;

async function runDevice(
  apiUrl: string,
  d: SimDevice,
  done: () => boolean,
  pool: ReplayPool,
  side: { secret: string; cartel: CartelChannel; check?: ItemCheck; onRequest?: FleetOptions['onRequest'] },
): Promise<void> {
  await sleep(Math.random() * 500); // appliances do not all wake at once
  const call = async <T>(method: string, path: string, body?: unknown) => {
    const t0 = performance.now();
    const res = await deviceCall<T>(apiUrl, d.keys, method, path, body, d.agent);
    side.onRequest?.(
      path.endsWith('/heartbeat') ? 'heartbeat' : path.endsWith('/claim') ? 'claim' : 'result',
      performance.now() - t0,
      res.status,
    );
    return res;
  };
  let nextHeartbeat = 0;
  while (!done()) {
    try {
      if (Date.now() >= nextHeartbeat) {
        nextHeartbeat = Date.now() + HEARTBEAT_EVERY_MS;
        await call('POST', '/device/v1/heartbeat', { idle: true, firmware: '1.0.0', uptimeS: 60 });
      }
      // A cartel claims at the same moments, hoping to be handed replicas of one unit together.
      if (d.behaviour === 'cartel') await sleep(250 - (Date.now() % 250));
      const c = await call<ClaimResponse>('POST', '/device/v1/work/claim', { kinds: ['tx-verify'] });
      if (c.status === 204 || c.status === 403) {
        // No work for us now (or never again: quarantined, revoked).
        await sleep(c.status === 403 ? 5_000 : 300 + Math.random() * 400);
        continue;
      }
      const a = expectStatus(c, [200], 'claim').assignment;
      d.stats.claims++;
      const partnered =
        d.behaviour === 'cartel'
          ? await side.cartel.join(a.unitId, Math.min(3_000, Math.max(0, Date.parse(a.deadline) - Date.now()) / 3))
          : undefined;
      const ans = answer(d.behaviour, a.items as TxItem[], {
        pool,
        answered: d.stats.answered,
        side: side.secret,
        partnered,
        check: side.check,
      });
      const resultSignature = ans.stolenSignature ?? ed25519Sign(d.keys.secretKey, resultSigningString(a.unitId, ans.verdicts));
      if (ans.lateByMs !== undefined) await sleep(Math.max(0, Date.parse(a.deadline) - Date.now()) + ans.lateByMs);
      const r = await call<ResultResponse>('POST', `/device/v1/work/${a.assignmentId}/result`, {
        verdicts: ans.verdicts,
        resultSignature,
      });
      if (r.status !== 202) {
        d.stats.refused++; // a stolen signature (422) or a missed deadline (409): not counted as an answer
        continue;
      }
      if (d.behaviour === 'honest') pool.remember(ans.verdicts, resultSignature);
      d.stats.answered++;
      if (r.body.status === 'verified') d.stats.verified++;
      else if (r.body.status === 'rejected') d.stats.rejected++;
    } catch {
      d.stats.errors++;
      await sleep(500);
    }
  }
}
