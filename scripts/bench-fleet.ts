import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ulid } from 'ulid';
import { createDatabase, dropDatabase, migrate, parseConfig, platformMigrationsDir } from '@idlemint/core';
import { attestationKeyRegistration } from '@idlemint/protocol';
import { createApiApp } from '../apps/api/src/main.js';

/**
 * `npm run bench:fleet`: the manufacturer device list at fleet scale. Makes its own scratch
 * database, migrates it, seeds 100,000 devices of one manufacturer (models, firmwares, groups,
 * tags, statuses, owners and a realistic spread of last-seen times) with multi-row INSERTs, starts
 * the API in-process on a random port, and times the common list shapes over real HTTP, each run
 * paging through a few pages with the cursor. Prints p50/p95/p99 per shape and overall, then drops
 * the database. A script that prints figures, not a test.
 */

const DEVICES = Number(process.env.BENCH_DEVICES ?? 100_000);
const RUNS_PER_SHAPE = Number(process.env.BENCH_RUNS ?? 30);
const PAGES = 4;
const LIMIT = 50;
const OPERATOR_KEY = 'bench-operator-key-0123456789';
const PG = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** BENCH_KEEP=1 keeps the scratch database for EXPLAIN afterwards (drop it yourself). */
const KEEP = process.env.BENCH_KEEP === '1';

const MODELS = [
  { name: 'fridge', weight: 40, firmwares: ['1.4.2', '1.5.0', '2.0.1'] },
  { name: 'washer', weight: 30, firmwares: ['3.1.0', '3.2.0'] },
  { name: 'router', weight: 20, firmwares: ['7.0.0', '7.0.3', '7.1.0'] },
  { name: 'ereader', weight: 10, firmwares: ['0.9.8', '1.0.0'] },
];
const STATUSES: [string, number][] = [
  ['active', 85],
  ['suspended', 8],
  ['quarantined', 4],
  ['revoked', 3],
];
const TAGS = ['eu', 'us', 'apac', 'beta', 'pilot', 'solar', 'kitchen', 'basement', 'office', 'retail', 'recall-2026', 'vip'];
const GROUPS = ['north', 'south', 'east', 'west', 'lab', 'field-test'];

const say = (s: string) => console.log(`bench:fleet: ${s}`);
const pick = <T>(items: [T, number][]): T => {
  let r = randomInt(items.reduce((s, [, w]) => s + w, 0));
  for (const [item, w] of items) if ((r -= w) < 0) return item;
  return items[0]![0];
};

interface Api {
  base: string;
  key: string;
}

async function http<T>(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Manufacturer, attestation key, models and groups through the API; devices straight into the database. */
async function seed(db: pg.Client, base: string): Promise<{ api: Api; models: string[]; groups: string[] }> {
  const m = await http<{ id: string; apiKey: string }>(
    base,
    'POST',
    '/operator/v1/manufacturers',
    { 'x-operator-key': OPERATOR_KEY },
    { name: `bench-${Date.now()}` },
  );
  const h = { 'x-api-key': m.apiKey };
  const ak = await http<{ id: string }>(
    base,
    'POST',
    '/manufacturer/v1/attestation-keys',
    h,
    attestationKeyRegistration(randomBytes(32).toString('hex'), m.id),
  );
  const models: { id: string; name: string }[] = [];
  for (const mm of MODELS) {
    const name = `bench-${mm.name}-${randomBytes(3).toString('hex')}`;
    models.push({
      id: (await http<{ id: string }>(base, 'POST', '/manufacturer/v1/models', h, { name, deviceClass: mm.name, batchSize: 16 })).id,
      name,
    });
  }
  const groups: string[] = [];
  for (const g of GROUPS) groups.push((await http<{ id: string }>(base, 'POST', '/manufacturer/v1/groups', h, { name: g })).id);

  const now = Date.now();
  const t0 = performance.now();
  const CHUNK = 5_000;
  for (let start = 0; start < DEVICES; start += CHUNK) {
    const n = Math.min(CHUNK, DEVICES - start);
    const cols: unknown[][] = Array.from({ length: 15 }, () => []);
    for (let k = 0; k < n; k++) {
      const i = start + k;
      const modelAt = pick(MODELS.map((mm, j): [number, number] => [j, mm.weight]));
      const model = MODELS[modelAt]!;
      const seen = randomInt(100);
      // 10% never seen, 60% online (last 2 min), the rest over 30 days, most of them recently.
      const lastSeen =
        seen < 10
          ? null
          : seen < 70
            ? new Date(now - randomInt(110_000))
            : new Date(now - Math.floor(30 * 86_400_000 * Math.random() ** 2));
      const tagCount = pick<number>([
        [0, 30],
        [1, 40],
        [2, 20],
        [3, 10],
      ]);
      const tags = [...new Set(Array.from({ length: tagCount }, () => TAGS[Math.floor(TAGS.length * Math.random() ** 1.5)]!))];
      const enrolled = new Date(now - 365 * 86_400_000 + Math.floor((i / DEVICES) * 365 * 86_400_000) + randomInt(60_000));
      const values = [
        ulid(enrolled.getTime()),
        `BENCH-${String(i).padStart(7, '0')}-${randomBytes(2).toString('hex')}`,
        randomBytes(32).toString('hex'),
        pick(STATUSES),
        randomBytes(6).toString('hex').toUpperCase(),
        randomInt(100) < 70 ? ulid() : null,
        model.firmwares[randomInt(model.firmwares.length)]!,
        lastSeen,
        Math.round(Math.random() ** 0.5 * 1000) / 1000,
        enrolled,
        randomInt(100) < 30 ? null : groups[randomInt(groups.length)]!,
        `{${tags.join(',')}}`,
        models[modelAt]!.id,
        lastSeen
          ? JSON.stringify({ idle: Math.random() < 0.7, uptimeS: randomInt(1e6), tempC: 20 + randomInt(40), powerW: randomInt(50) / 10 })
          : null,
        randomInt(100) < 5 ? randomInt(3) : 0,
      ];
      values.forEach((v, c) => cols[c]!.push(v));
    }
    await db.query(
      `INSERT INTO "Device" ("id", "serial", "publicKey", "status", "claimCode", "ownerId", "firmware", "lastSeenAt", "reputation",
                             "enrolledAt", "groupId", "tags", "modelId", "telemetry", "strikes",
                             "manufacturerId", "attestationKeyId", "certIssuedAt")
       SELECT u.id, u.serial, u.pk, u.status::"DeviceStatus", u.code, u.owner, u.fw, u.seen, u.rep, u.enrolled, u.grp, u.tags::text[], u.model,
              u.telemetry::jsonb, u.strikes, $16, $17, u.enrolled
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamp[], $9::float8[],
                     $10::timestamp[], $11::text[], $12::text[], $13::text[], $14::text[], $15::int[])
           AS u(id, serial, pk, status, code, owner, fw, seen, rep, enrolled, grp, tags, model, telemetry, strikes)`,
      [
        ...cols.map((c, j) => (j === 7 || j === 9 ? (c as (Date | null)[]).map((d) => d?.toISOString().replace('Z', '') ?? null) : c)),
        m.id,
        ak.id,
      ],
    );
  }
  await db.query('ANALYZE "Device"');
  say(`seeded ${DEVICES} devices in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { api: { base, key: m.apiKey }, models: models.map((x) => x.name), groups };
}

interface Shape {
  name: string;
  query: () => Record<string, string>;
}

function shapes(models: string[], groups: string[]): Shape[] {
  const any = <T>(xs: T[]): T => xs[randomInt(xs.length)]!;
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  return [
    { name: 'all, default sort', query: () => ({}) },
    { name: 'status+model', query: () => ({ status: any(['active', 'suspended']), model: any(models) }) },
    { name: 'rare status+model', query: () => ({ status: any(['quarantined', 'revoked']), model: any(models) }) },
    { name: 'tag', query: () => ({ tag: any(TAGS) }) },
    { name: 'two tags', query: () => ({ tag: `${any(TAGS.slice(0, 4))},${any(TAGS.slice(4))}` }) },
    {
      name: 'lastSeen range, by lastSeenAt',
      query: () => ({
        lastSeenAfter: ago((2 + randomInt(10)) * 86_400_000),
        lastSeenBefore: ago(randomInt(2) * 86_400_000 + 3_600_000),
        sort: 'lastSeenAt',
        order: 'desc',
      }),
    },
    { name: 'sorted by serial', query: () => ({ sort: 'serial', order: any(['asc', 'desc']), status: 'active' }) },
    { name: 'group+claimed', query: () => ({ group: any(groups), claimed: any(['true', 'false']) }) },
    { name: 'firmware+online', query: () => ({ firmware: any(['1.4.2', '3.1.0', '7.0.3']), online: 'true' }) },
    { name: 'offline, by lastSeenAt asc', query: () => ({ online: 'false', status: 'active', sort: 'lastSeenAt', order: 'asc' }) },
    { name: 'reputation range', query: () => ({ reputationMin: '0.2', reputationMax: '0.5', model: any(models) }) },
    {
      name: 'needle: firmware+rep, by serial',
      query: () => ({ firmware: any(['0.9.8', '1.0.0', '7.1.0']), reputationMin: '0.99', sort: 'serial', order: 'asc' }),
    },
  ];
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const fmt = (ms: number) => `${ms.toFixed(1).padStart(6)} ms`;

async function run(api: Api, list: Shape[]): Promise<void> {
  const h = { 'x-api-key': api.key };
  const list1 = async (params: Record<string, string>) => {
    const t = performance.now();
    const page = await http<{ devices: unknown[]; nextCursor: string | null }>(
      api.base,
      'GET',
      `/manufacturer/v1/devices?${new URLSearchParams(params).toString()}`,
      h,
    );
    return { ms: performance.now() - t, page };
  };
  for (const s of list) for (let i = 0; i < 3; i++) await list1({ ...s.query(), limit: String(LIMIT) }); // warm-up

  const all: number[] = [];
  const rows: string[] = [];
  for (const s of list) {
    const times: number[] = [];
    let rowsSeen = 0;
    for (let r = 0; r < RUNS_PER_SHAPE; r++) {
      const q = { ...s.query(), limit: String(LIMIT) };
      let cursor: string | null = null;
      for (let p = 0; p < PAGES; p++) {
        const { ms, page }: { ms: number; page: { devices: unknown[]; nextCursor: string | null } } = await list1(
          cursor ? { ...q, cursor } : q,
        );
        times.push(ms);
        rowsSeen += page.devices.length;
        cursor = page.nextCursor;
        if (!cursor) break;
      }
    }
    times.sort((a, b) => a - b);
    all.push(...times);
    rows.push(
      `${s.name.padEnd(32)} n=${String(times.length).padStart(4)}  p50 ${fmt(percentile(times, 50))}  p95 ${fmt(percentile(times, 95))}  p99 ${fmt(percentile(times, 99))}  max ${fmt(times.at(-1)!)}  rows/page ${(rowsSeen / times.length).toFixed(0)}`,
    );
  }
  all.sort((a, b) => a - b);
  console.log('');
  for (const r of rows) console.log(r);
  console.log(
    `${'overall'.padEnd(32)} n=${String(all.length).padStart(4)}  p50 ${fmt(percentile(all, 50))}  p95 ${fmt(percentile(all, 95))}  p99 ${fmt(percentile(all, 99))}  max ${fmt(all.at(-1)!)}`,
  );
  console.log('');
}

async function clearRedis(prefix: string): Promise<void> {
  const redis = new Redis(REDIS, { maxRetriesPerRequest: null });
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

async function main(): Promise<void> {
  const tag = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const url = `${PG}/idlemint_bench_fleet_${tag}`;
  await createDatabase(url);
  const db = new pg.Client({ connectionString: url });
  let app: Awaited<ReturnType<typeof createApiApp>> | undefined;
  const config = parseConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    DATABASE_URL: url,
    REDIS_URL: REDIS,
    QUEUE_PREFIX: `{imt_bench_${tag}}`,
    REDIS_KEY_PREFIX: `imt_bench_${tag}:`,
    OPERATOR_KEY,
    MANUFACTURER_RATE_PER_MIN: '10000000',
  });
  try {
    await migrate(url, platformMigrationsDir());
    await db.connect();
    app = await createApiApp(config);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    const base = `http://127.0.0.1:${port}`;
    say(`scratch database ${url.split('/').pop()}, api on ${base}`);
    const { api, models, groups } = await seed(db, base);
    const list = shapes(models, groups);
    say(`${list.length} shapes x ${RUNS_PER_SHAPE} runs x up to ${PAGES} pages of ${LIMIT}, one request at a time`);
    await run(api, list);
  } finally {
    await app?.close().catch(() => undefined);
    await db.end().catch(() => undefined);
    if (KEEP) say(`kept ${url}`);
    else await dropDatabase(url);
    await clearRedis(`{imt_bench_${tag}}`);
    await clearRedis(`imt_bench_${tag}:`);
    if (!KEEP) say('scratch database dropped');
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
