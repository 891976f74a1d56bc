import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from './stack.js';

/**
 * Private PostgreSQL clusters and Redis servers on spare ports, for fault tests and the chaos
 * suite: they may be killed, restarted or emptied without touching the services other work uses.
 */

async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > end) throw new Error(`${what} not ready after ${timeoutMs} ms`);
    await sleep(100);
  }
}

function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals, timeoutMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Starts it again on the same port (and the same AOF directory). */
  start(): Promise<void>;
  /** kill -9. */
  kill(): Promise<void>;
  /** kill -9, its data files removed, started again: Redis restarted empty. */
  restartEmpty(): Promise<void>;
  /** Empties every key (FLUSHALL): Redis "restarted empty" without the downtime. */
  flush(): Promise<void>;
  /** Stops it for good and removes its files. */
  close(): Promise<void>;
}

export async function startPrivateRedis(opts: { appendonly?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'imt-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const ping = async () => {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } finally {
      r.disconnect();
    }
  };
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        opts.appendonly ? 'yes' : 'no',
        '--appendfsync',
        'always',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    await until(`redis on ${port}`, ping, 15_000);
  };
  await start();
  return {
    url,
    port,
    start,
    kill: () => stopChild(child, 'SIGKILL'),
    restartEmpty: async () => {
      await stopChild(child, 'SIGKILL');
      for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
      await start();
    },
    flush: async () => {
      const r = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        await r.flushall();
      } finally {
        r.disconnect();
      }
    },
    close: async () => {
      await stopChild(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

export interface PrivatePostgres {
  /** postgresql://postgres@127.0.0.1:<port> (append /<database>). */
  base: string;
  port: number;
  /** pg_ctl stop -m immediate (a crash: no checkpoint, recovery on the next start). */
  crash(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A throwaway PostgreSQL cluster (initdb as user postgres) on a spare port. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'imt-pg-'));
  const data = join(dir, 'data');
  const asPostgres = process.getuid?.() === 0;
  const ids = asPostgres
    ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) }
    : {};
  if (asPostgres) chownSync(dir, ids.uid!, ids.gid!);
  const run = (bin: string, args: string[]) => execFileSync(bin, args, { ...ids, stdio: 'ignore', cwd: dir });
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const base = `postgresql://postgres@127.0.0.1:${port}`;
  const ready = async () => {
    const c = new pg.Client({ connectionString: `${base}/postgres`, connectionTimeoutMillis: 1_000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      return true;
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  const start = async () => {
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      'start',
    ]);
    await until(`postgres on ${port}`, ready, 30_000);
  };
  await start();
  return {
    base,
    port,
    start,
    crash: () => {
      run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      return Promise.resolve();
    },
    close: () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}
