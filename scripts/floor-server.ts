import cluster from 'node:cluster';
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * The floor for `npm run bench:gateway`: what any implementation of the device protocol must do
 * per request, and nothing else. No project code. Fastify with a JSON body kept raw for the body
 * hash, a cached Ed25519 key per device (looked up once in PostgreSQL), the timestamp window, the
 * signature check (node:crypto, off the event loop), one Redis SET NX for the nonce and one
 * PostgreSQL statement: the device row upserted (heartbeat), nothing (claim on an empty queue) or
 * one result row inserted after the result's own Ed25519 check (result).
 * Env: FLOOR_PORT, FLOOR_DATABASE_URL, FLOOR_REDIS_URL, FLOOR_PREFIX, FLOOR_PROCESSES.
 */
const env = process.env;
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const processes = Number(env.FLOOR_PROCESSES ?? 1);

if (cluster.isPrimary && processes > 1) {
  for (let i = 0; i < processes; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const db = new pg.Pool({ connectionString: env.FLOOR_DATABASE_URL, max: 10 });
  const redis = new Redis(env.FLOOR_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = env.FLOOR_PREFIX ?? 'floor:';
  const keys = new Map<string, KeyObject | null>();
  const ed25519 = (key: KeyObject, msg: Buffer | string, sig: string) =>
    new Promise<boolean>((ok) => verify(null, Buffer.from(msg), key, Buffer.from(sig, 'hex'), (e, v) => ok(!e && v)));
  const deny = (code: number, c: string) => ({ code, body: { error: { code: c, message: c } } });

  const app = Fastify({ bodyLimit: 65_536 });
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, { raw: body, json: JSON.parse(body.toString('utf8')) as unknown });
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  /** Headers, window, cached key, signature, nonce: the checks every device request passes. */
  async function auth(req: { method: string; url: string; headers: Record<string, unknown>; body: unknown }) {
    const [key, ts, nonce, sig] = ['x-device-key', 'x-device-timestamp', 'x-device-nonce', 'x-device-signature'].map((h) => {
      const v = req.headers[h];
      return typeof v === 'string' ? v : '';
    }) as [string, string, string, string];
    if (!/^[0-9a-f]{64}$/.test(key) || !/^[0-9a-f]{128}$/.test(sig) || !/^[A-Za-z0-9_-]{8,64}$/.test(nonce))
      return deny(401, 'BAD_HEADERS');
    if (Math.abs(Date.now() - Number(ts)) > 60_000) return deny(401, 'TIMESTAMP');
    let pub = keys.get(key);
    if (pub === undefined) {
      const r = await db.query('SELECT 1 FROM floor_device WHERE public_key = $1', [key]);
      pub = r.rowCount ? createPublicKey({ key: Buffer.concat([SPKI, Buffer.from(key, 'hex')]), format: 'der', type: 'spki' }) : null;
      keys.set(key, pub);
    }
    if (!pub) return deny(401, 'NOT_ENROLLED');
    const raw = (req.body as { raw?: Buffer } | undefined)?.raw ?? Buffer.alloc(0);
    const signing = ['IDLEMINT-DEVICE-V1', req.method, req.url, ts, nonce, createHash('sha256').update(raw).digest('hex')].join('\n');
    if (!(await ed25519(pub, signing, sig))) return deny(401, 'SIGNATURE');
    if ((await redis.set(`${prefix}{${key}}:${nonce}`, '1', 'PX', 120_000, 'NX')) !== 'OK') return deny(401, 'NONCE');
    return { key, pub, json: (req.body as { json?: unknown } | undefined)?.json as Record<string, unknown> | undefined };
  }

  app.post('/device/v1/heartbeat', async (req, reply) => {
    const a = await auth(req);
    if ('code' in a) return reply.code(a.code).send(a.body);
    await db.query(
      `INSERT INTO floor_device (public_key, last_seen, telemetry) VALUES ($1, now(), $2)
       ON CONFLICT (public_key) DO UPDATE SET last_seen = EXCLUDED.last_seen, telemetry = EXCLUDED.telemetry`,
      [a.key, JSON.stringify(a.json ?? {})],
    );
    return { policy: { idleOnly: true, maxItems: 64 }, nextHeartbeatS: 60 };
  });

  app.post('/device/v1/work/claim', async (req, reply) => {
    const a = await auth(req);
    if ('code' in a) return reply.code(a.code).send(a.body);
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>('/device/v1/work/:id/result', async (req, reply) => {
    const a = await auth(req);
    if ('code' in a) return reply.code(a.code).send(a.body);
    const verdicts = typeof a.json?.verdicts === 'string' ? a.json.verdicts : '';
    const resultSignature = typeof a.json?.resultSignature === 'string' ? a.json.resultSignature : '';
    if (!/^[01]{1,1024}$/.test(verdicts) || !/^[0-9a-f]{128}$/.test(resultSignature))
      return reply.code(422).send({ error: { code: 'VERDICTS' } });
    if (!(await ed25519(a.pub, `IDLEMINT-RESULT-V1\n${req.params.id}\n${verdicts}`, resultSignature)))
      return reply.code(422).send({ error: { code: 'RESULT_SIGNATURE' } });
    await db.query('INSERT INTO floor_result (assignment_id, public_key, verdicts, signature) VALUES ($1, $2, $3, $4)', [
      req.params.id,
      a.key,
      verdicts,
      resultSignature,
    ]);
    return reply.code(202).send({ status: 'pending' });
  });

  app.get('/health', () => Promise.resolve({ ok: true }));
  app.listen({ port: Number(env.FLOOR_PORT ?? 3900), host: '127.0.0.1' }).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
