import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ulid } from 'ulid';
import {
  createDatabase,
  deleteKeys,
  dropDatabase,
  JOB_NAME,
  migrate,
  platformMigrationsDir,
  repoRoot,
  workQueueName,
} from '@idlemint/core';
import { ed25519Generate, ed25519Sign, makeItem, SCHEMES, verifyItem, type Ed25519KeyPair, type TxItem } from '@idlemint/crypto';
import {
  attestationKeyRegistration,
  makeTransferMessage,
  resultSigningString,
  signDeviceRequest,
  type ClaimResponse,
} from '@idlemint/protocol';
import { freePort } from './lib/stack.js';

/**
 * `npm run bench:gateway`: the device gateway against its floor. Starts scripts/floor-server (a bare
 * Fastify server doing only what the protocol demands) and the project's api, both with the same
 * enrolled device keys and the same number of processes, and drives both with pre-signed requests
 * in alternating rounds. Prints per endpoint
 *   gateway: endpoint=<name> floor_rps=N project_rps=N ratio=R floor_p99_ms=N project_p99_ms=N
 * (the median round of each side). A benchmark prints figures; it asserts nothing.
 * Env: BENCH_DEVICES (1000), BENCH_CONNECTIONS (50), BENCH_ROUND_S (12), BENCH_ROUNDS (3),
 * BENCH_RESULTS_PER_ROUND (1500), BENCH_PROCESSES (core count), BENCH_ENDPOINTS (heartbeat,claim,result).
 */
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUND_S = Number(process.env.BENCH_ROUND_S ?? 12);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RESULTS_PER_ROUND = Number(process.env.BENCH_RESULTS_PER_ROUND ?? 1_500);
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? cpus().length);
const ENDPOINTS = (process.env.BENCH_ENDPOINTS ?? 'heartbeat,claim,result').split(',');
/** Pre-signed requests per timed round: more than either side can send in ROUND_S. */
const POOL = Number(process.env.BENCH_POOL ?? ROUND_S * 6_000);
const PG = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PROFILE_DIR = process.env.BENCH_CPU_PROF_DIR;
const OPERATOR_KEY = 'bench-operator-key-0123456789';
const TAG = 'bench_gw';
const DEVICE_CLASS = `bench-gw-${randomBytes(3).toString('hex')}`;

const say = (s: string) => console.log(`bench:gateway: ${s}`);

interface Device {
  id: string;
  keys: Ed25519KeyPair;
}
interface Prepared {
  method: 'POST';
  path: string;
  headers: Record<string, string>;
  body: string;
}
interface Round {
  rps: number;
  p99: number;
  ok: number;
  bad: number;
}

function start(name: string, script: string, env: Record<string, string>, logDir: string, nodeArgs: string[] = []): ChildProcess {
  const log = createWriteStream(join(logDir, `${name}.log`));
  const child = spawn(process.execPath, [...nodeArgs, join(repoRoot(), 'dist', script)], {
    cwd: repoRoot(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function waitFor(url: string, child: ChildProcess, name: string): Promise<void> {
  const until = Date.now() + 90_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} (see its log)`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} not healthy at ${url}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function json<T>(base: string, path: string, body: unknown, headers: Record<string, string>): Promise<T> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${path}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Manufacturer, attestation key and model through the operator API; devices and owners straight into both databases. */
async function seed(platform: pg.Pool, floor: pg.Pool, apiUrl: string): Promise<Device[]> {
  const m = await json<{ id: string; apiKey: string }>(
    apiUrl,
    '/operator/v1/manufacturers',
    { name: `bench-gw-${Date.now()}` },
    {
      'x-operator-key': OPERATOR_KEY,
    },
  );
  const ak = await json<{ id: string }>(
    apiUrl,
    '/manufacturer/v1/attestation-keys',
    attestationKeyRegistration(ed25519Generate().secretKey, m.id),
    {
      'x-api-key': m.apiKey,
    },
  );
  const model = await json<{ id: string }>(
    apiUrl,
    '/manufacturer/v1/models',
    { name: DEVICE_CLASS, deviceClass: DEVICE_CLASS, batchSize: 8 },
    {
      'x-api-key': m.apiKey,
    },
  );
  const devices: Device[] = Array.from({ length: DEVICES }, () => ({ id: ulid(), keys: ed25519Generate() }));
  for (let i = 0; i < devices.length; i += 5_000) {
    const chunk = devices.slice(i, i + 5_000);
    const owners = chunk.map(() => ulid());
    await platform.query(`INSERT INTO "Owner" ("id", "tokenHash") SELECT * FROM unnest($1::text[], $2::text[])`, [
      owners,
      chunk.map(() => randomBytes(32).toString('hex')),
    ]);
    await platform.query(
      `INSERT INTO "Device" ("id", "manufacturerId", "modelId", "attestationKeyId", "serial", "publicKey", "claimCode", "ownerId",
                             "certIssuedAt", "telemetry", "dailyQuota")
       SELECT u.id, $1, $2, $3, u.serial, u.pk, u.code, u.owner, now(), '{"idle":true}'::jsonb, 100000
         FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS u(id, serial, pk, code, owner)`,
      [
        m.id,
        model.id,
        ak.id,
        chunk.map((d) => d.id),
        chunk.map((d) => `GW-${d.id}`),
        chunk.map((d) => d.keys.publicKey),
        chunk.map(() => randomBytes(6).toString('hex').toUpperCase()),
        owners,
      ],
    );
    await floor.query(`INSERT INTO floor_device (public_key) SELECT * FROM unnest($1::text[])`, [chunk.map((d) => d.keys.publicKey)]);
  }
  return devices;
}

function presign(devices: Device[], n: number, make: (d: Device, i: number) => { path: string; body: unknown }): Prepared[] {
  const out: Prepared[] = [];
  const ts = Date.now();
  for (let i = 0; i < n; i++) {
    const d = devices[i % devices.length]!;
    const { path, body } = make(d, i);
    const raw = JSON.stringify(body);
    const headers = signDeviceRequest(d.keys, 'POST', path, raw, ts, randomBytes(12).toString('base64url'));
    out.push({ method: 'POST', path, headers: { ...headers, 'content-type': 'application/json' }, body: raw });
  }
  return out;
}

/** One timed round: every request of the pool at most once; duration-bound unless `amount` is given. */
async function drive(url: string, pool: Prepared[], opts: { amount?: number; ok: (status: number) => boolean }): Promise<Round> {
  let next = 0;
  let ok = 0;
  let bad = 0;
  const statuses = new Map<number, number>();
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    ...(opts.amount !== undefined ? { amount: opts.amount } : { duration: ROUND_S }),
    requests: [
      {
        setupRequest: (req) => {
          const p = pool[next++ % pool.length]!;
          return { ...req, method: p.method, path: p.path, headers: p.headers, body: p.body };
        },
        onResponse: (status) => {
          if (opts.ok(status)) ok++;
          else {
            bad++;
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }
        },
      },
    ],
  });
  if (bad > 0 || result.errors > 0)
    say(`refused by status: ${JSON.stringify(Object.fromEntries(statuses))}; ${result.errors} errors, ${result.timeouts} timeouts`);
  if (next > pool.length) say(`warning: pool of ${pool.length} exhausted (${next} sent); raise BENCH_POOL`);
  const seconds = result.duration;
  return { rps: ok / seconds, p99: result.latency.p99, ok, bad };
}

/** Units of two replicas each straight into the database and their replica jobs into the work queue. */
async function queueUnits(platform: pg.Pool, queue: Queue, units: number): Promise<void> {
  for (let i = 0; i < units; i += 500) {
    const n = Math.min(500, units - i);
    const ids = Array.from({ length: n }, () => ulid());
    const items = ids.map(() =>
      JSON.stringify(
        ['1', '0'].map((c, k) => makeItem(SCHEMES[k % SCHEMES.length]!, Buffer.from(makeTransferMessage(), 'hex'), c === '1')),
      ),
    );
    await platform.query(
      `INSERT INTO "WorkUnit" ("id", "kind", "deviceClass", "quorum", "maxReplicas", "replicasIssued", "items", "reward")
       SELECT u.id, 'tx-verify', $1, 2, 2, 2, u.items::jsonb, 1000 FROM unnest($2::text[], $3::text[]) AS u(id, items)`,
      [DEVICE_CLASS, ids, items],
    );
    await queue.addBulk(
      ids.flatMap((unitId) =>
        [1, 2].map((replica) => ({
          name: JOB_NAME['work.replica'],
          data: { unitId, replica },
          opts: { jobId: `unit-${unitId}-r${replica}`, removeOnComplete: true, removeOnFail: 1000 },
        })),
      ),
    );
  }
}

/** Claims through the api (the real path) until `want` assignments are held; answers computed now, off the clock. */
async function holdAssignments(apiUrl: string, devices: Device[], want: number) {
  const held: { device: Device; assignmentId: string; verdicts: string; resultSignature: string }[] = [];
  let cursor = 0;
  let empty = 0;
  const worker = async () => {
    while (held.length < want && empty < 200) {
      const d = devices[cursor++ % devices.length]!;
      const path = '/device/v1/work/claim';
      const raw = JSON.stringify({ kinds: ['tx-verify'] });
      const res = await fetch(apiUrl + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signDeviceRequest(d.keys, 'POST', path, raw) },
        body: raw,
      });
      if (res.status !== 200) {
        if (empty++ === 0) say(`claim while holding: HTTP ${res.status} ${await res.text()}`);
        else await res.arrayBuffer();
        continue;
      }
      const a = ((await res.json()) as ClaimResponse).assignment;
      const verdicts = (a.items as TxItem[]).map((it) => (verifyItem(it) ? '1' : '0')).join('');
      held.push({
        device: d,
        assignmentId: a.assignmentId,
        verdicts,
        resultSignature: ed25519Sign(d.keys.secretKey, resultSigningString(a.unitId, verdicts)),
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return held;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const logDir = join(repoRoot(), '.demo', 'bench-gateway');
  mkdirSync(logDir, { recursive: true });
  const platformDb = `${PG}/idlemint_${TAG}`;
  const floorDb = `${PG}/idlemint_${TAG}_floor`;
  await createDatabase(platformDb, { recreate: true });
  await createDatabase(floorDb, { recreate: true });
  await migrate(platformDb, platformMigrationsDir());
  const platform = new pg.Pool({ connectionString: platformDb, max: 4 });
  const floor = new pg.Pool({ connectionString: floorDb, max: 2 });
  await floor.query(`CREATE TABLE floor_device (public_key text PRIMARY KEY, last_seen timestamptz, telemetry jsonb);
                     CREATE TABLE floor_result (id bigserial PRIMARY KEY, assignment_id text NOT NULL, public_key text NOT NULL,
                                                verdicts text NOT NULL, signature text NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
  const queuePrefix = `{imt_${TAG}}`;
  const keyPrefix = `imt_${TAG}:`;
  const [apiPort, floorPort] = [await freePort(), await freePort()];
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const floorUrl = `http://127.0.0.1:${floorPort}`;
  const profArgs = (name: string) => (PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, name)}`] : []);
  const api = start(
    'api',
    'apps/api/src/main.js',
    {
      LOG_LEVEL: 'warn',
      DATABASE_URL: platformDb,
      REDIS_URL: REDIS,
      QUEUE_PREFIX: queuePrefix,
      REDIS_KEY_PREFIX: keyPrefix,
      API_PORT: String(apiPort),
      API_PROCESSES: String(PROCESSES),
      OPERATOR_KEY,
      LEASE_MS: '900000',
      DEVICE_RATE_PER_MIN: '1000000',
      MANUFACTURER_DEVICE_RATE_PER_MIN: '100000000',
      QUOTA_INITIAL: '100000',
    },
    logDir,
    profArgs('api'),
  );
  const floorServer = start(
    'floor',
    'scripts/floor-server.js',
    {
      FLOOR_PORT: String(floorPort),
      FLOOR_DATABASE_URL: floorDb,
      FLOOR_REDIS_URL: REDIS,
      FLOOR_PREFIX: `imt_${TAG}_floor:`,
      FLOOR_PROCESSES: String(PROCESSES),
    },
    logDir,
    profArgs('floor'),
  );
  const queue = new Queue(workQueueName(DEVICE_CLASS), {
    connection: new Redis(REDIS, { maxRetriesPerRequest: null }),
    prefix: queuePrefix,
  });
  try {
    await waitFor(`${apiUrl}/health`, api, 'api');
    await waitFor(`${floorUrl}/health`, floorServer, 'floor');
    const devices = await seed(platform, floor, apiUrl);
    say(`${DEVICES} devices enrolled on both; ${PROCESSES} process(es) each; ${CONNECTIONS} connections, ${ROUNDS} rounds of ${ROUND_S} s`);

    const lines: string[] = [];
    const compare = async (
      name: string,
      make: (side: 'floor' | 'project') => { pool: Prepared[]; amount?: number },
      ok: (s: number) => boolean,
    ) => {
      const rounds: Record<'floor' | 'project', Round[]> = { floor: [], project: [] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const side of ['floor', 'project'] as const) {
          const { pool, amount } = make(side);
          const round = await drive(side === 'floor' ? floorUrl : apiUrl, pool, { amount, ok });
          rounds[side].push(round);
          say(`${name} round ${r + 1} ${side}: ${round.rps.toFixed(0)} req/s p99 ${round.p99} ms (${round.ok} ok, ${round.bad} refused)`);
        }
      }
      const f = median(rounds.floor.map((x) => x.rps));
      const p = median(rounds.project.map((x) => x.rps));
      const line =
        `gateway: endpoint=${name} floor_rps=${f.toFixed(0)} project_rps=${p.toFixed(0)} ratio=${(p / f).toFixed(2)} ` +
        `floor_p99_ms=${median(rounds.floor.map((x) => x.p99))} project_p99_ms=${median(rounds.project.map((x) => x.p99))}`;
      console.log(line);
      lines.push(line);
    };

    const heartbeat = { idle: true, firmware: '1.4.2', uptimeS: 3600, metrics: { tempC: 41.5, powerW: 3.2, loadPct: 12 } };
    if (ENDPOINTS.includes('heartbeat')) {
      await compare(
        'heartbeat',
        () => ({ pool: presign(devices, POOL, () => ({ path: '/device/v1/heartbeat', body: heartbeat })) }),
        (s) => s === 200,
      );
    }
    if (ENDPOINTS.includes('claim')) {
      await compare(
        'claim',
        () => ({ pool: presign(devices, POOL, () => ({ path: '/device/v1/work/claim', body: { kinds: ['tx-verify'] } })) }),
        (s) => s === 204,
      );
    }
    if (ENDPOINTS.includes('result')) {
      // Every project result answers a real assignment held by its device; half of them verify a
      // unit (the second replica) and credit both devices. The floor gets the same bodies.
      say(`holding ${RESULTS_PER_ROUND * ROUNDS} assignments for the result rounds (claimed through the api, off the clock)`);
      await queueUnits(platform, queue, Math.ceil((RESULTS_PER_ROUND * ROUNDS) / 2));
      const held = await holdAssignments(apiUrl, devices, RESULTS_PER_ROUND * ROUNDS);
      if (held.length < RESULTS_PER_ROUND * ROUNDS) say(`warning: only ${held.length} assignments held`);
      if (held.length < ROUNDS) throw new Error('no assignments to answer');
      const per = Math.floor(held.length / ROUNDS);
      let round = 0;
      await compare(
        'result',
        (side) => {
          const slice = held.slice(round * per, (round + 1) * per);
          if (side === 'project') round++;

          const pool = presign(
            slice.map((h) => h.device),
            slice.length,
            (d, i) => {
              const h = slice[i]!;
              // The floor knows no units: its result signature is over the assignment id instead.
              const resultSignature =
                side === 'project' ? h.resultSignature : ed25519Sign(d.keys.secretKey, resultSigningString(h.assignmentId, h.verdicts));
              return { path: `/device/v1/work/${h.assignmentId}/result`, body: { verdicts: h.verdicts, resultSignature } };
            },
          );
          return { pool, amount: pool.length };
        },
        (s) => s === 202,
      );
      const credited = await platform.query<{ units: string; rewards: string }>(
        `SELECT (SELECT COUNT(*) FROM "WorkUnit" WHERE "status" = 'verified')::text AS units, (SELECT COUNT(*) FROM "Reward")::text AS rewards`,
      );
      say(`project after the result rounds: ${credited.rows[0]!.units} units verified, ${credited.rows[0]!.rewards} rewards`);
    }
    say(`done: ${lines.length} endpoint(s)`);
  } finally {
    await queue.close();
    await Promise.all([stopChild(api), stopChild(floorServer)]);
    await platform.end();
    await floor.end();
    await deleteKeys(REDIS, [`${queuePrefix}:*`, `${keyPrefix}*`, `imt_${TAG}_floor:*`]);
    if (process.env.BENCH_KEEP !== '1') {
      await dropDatabase(platformDb);
      await dropDatabase(floorDb);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
