import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createDatabase, dropDatabase, migrate, platformMigrationsDir, repoRoot } from '@idlemint/core';
import { ed25519Generate } from '@idlemint/crypto';

/**
 * Starts the whole platform as real processes from dist/: two reference nodes, the API and the
 * worker, each on its own database and Redis prefix. Used by `npm run demo` and the e2e test.
 */
export interface StackOptions {
  /** Names the databases and Redis prefixes: idlemint_<tag>, idlemint_<tag>_node_a, … */
  tag: string;
  pgBase: string;
  redisUrl: string;
  logDir: string;
  operatorKey: string;
  /** Extra environment for the API and worker (reward, payout, lease settings…). */
  platformEnv?: Record<string, string>;
  nodeEnv?: Record<string, string>;
}

export interface Stack {
  apiUrl: string;
  operatorKey: string;
  nodes: { name: string; url: string }[];
  databases: string[];
  redisPatterns: string[];
  stop(): Promise<void>;
  dropDatabases(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url: string, child: ChildProcess, name: string, timeoutMs = 180_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} during start (see its log)`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} not healthy at ${url} after ${timeoutMs} ms`);
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const root = repoRoot();
  mkdirSync(o.logDir, { recursive: true });
  const platformDb = `${o.pgBase}/idlemint_${o.tag}`;
  const nodeNames = ['node-a', 'node-b'];
  const nodeDbs = nodeNames.map((n) => `${o.pgBase}/idlemint_${o.tag}_${n.replace('-', '_')}`);
  for (const db of [platformDb, ...nodeDbs]) await createDatabase(db, { recreate: true });
  await migrate(platformDb, platformMigrationsDir());

  const platformKey = ed25519Generate();
  const children: { name: string; child: ChildProcess }[] = [];
  const start = (name: string, script: string, env: Record<string, string>): ChildProcess => {
    const log = createWriteStream(join(o.logDir, `${name}.log`));
    const child = spawn(process.execPath, [join(root, 'dist', script)], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    children.push({ name, child });
    return child;
  };
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  };

  try {
    const nodes: { name: string; url: string }[] = [];
    for (let i = 0; i < nodeNames.length; i++) {
      const port = await freePort();
      const name = nodeNames[i]!;
      const child = start(name, 'apps/node/src/main.js', {
        NODE_NAME: name,
        NODE_PORT: String(port),
        NODE_DATABASE_URL: nodeDbs[i]!,
        PLATFORM_PUBLIC_KEY: platformKey.publicKey,
        ...o.nodeEnv,
      });
      const url = `http://127.0.0.1:${port}`;
      await waitForHealth(`${url}/health`, child, name);
      nodes.push({ name, url });
    }
    const apiPort = await freePort();
    const queuePrefix = `{imt_${o.tag}}`;
    const keyPrefix = `imt_${o.tag}:`;
    const platformEnv = {
      DATABASE_URL: platformDb,
      REDIS_URL: o.redisUrl,
      QUEUE_PREFIX: queuePrefix,
      REDIS_KEY_PREFIX: keyPrefix,
      API_PORT: String(apiPort),
      OPERATOR_KEY: o.operatorKey,
      PLATFORM_SIGNING_KEY: platformKey.secretKey,
      // One process each unless the caller asks for more (the multi-process run is not proven here yet).
      API_PROCESSES: '1',
      WORKER_PROCESSES: '1',
      ...o.platformEnv,
    };
    const api = start('api', 'apps/api/src/main.js', platformEnv);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitForHealth(`${apiUrl}/health`, api, 'api');
    start('worker', 'apps/worker/src/main.js', platformEnv);
    for (const n of nodes) {
      const res = await fetch(`${apiUrl}/operator/v1/nodes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-operator-key': o.operatorKey },
        body: JSON.stringify(n),
      });
      if (res.status !== 201) throw new Error(`registering ${n.name}: HTTP ${res.status} ${await res.text()}`);
    }
    return {
      apiUrl,
      operatorKey: o.operatorKey,
      nodes,
      databases: [platformDb, ...nodeDbs],
      redisPatterns: [`${queuePrefix}:*`, `${keyPrefix}*`],
      stop,
      dropDatabases: async () => {
        for (const db of [platformDb, ...nodeDbs]) await dropDatabase(db);
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
