import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
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
  /** Node.js flags for the api and worker processes (a benchmark's `--cpu-prof`). */
  platformNodeFlags?: string[];
  /** How long a node may take to start (it makes its pending pool first); default 180 s. */
  nodeStartMs?: number;
  /** Also start the Stratum v1 gateway (apps/stratum) on a free port. */
  stratum?: boolean;
}

export interface Stack {
  apiUrl: string;
  /** The worker's Prometheus endpoint (the api's is `${apiUrl}/metrics`, behind the operator key). */
  workerMetricsUrl: string;
  /** The Stratum gateway's port, when started. */
  stratumPort?: number;
  operatorKey: string;
  nodes: { name: string; url: string }[];
  databases: string[];
  redisPatterns: string[];
  stop(): Promise<void>;
  dropDatabases(): Promise<void>;
  /** The running process of a name (`api`, `worker`, `node-a`, …): for fault injection. */
  process(name: string): ChildProcess | undefined;
  /** Sends a signal to a process and, for SIGKILL/SIGTERM, waits until it is gone. */
  signal(name: string, signal: NodeJS.Signals): Promise<void>;
  /** Starts a process again with the same script and environment (or another worker as `worker-2`). */
  restart(name: string): Promise<void>;
  /** Starts one more worker under `name`, like the first. */
  addWorker(name: string): void;
  /** A started process's pid by name (node-a, api, worker, stratum…). */
  pid(name: string): number | undefined;
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

async function waitForTcp(port: number, child: ChildProcess, name: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} during start (see its log)`);
    const open = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} not listening on ${port} after ${timeoutMs} ms`);
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
  const recipes = new Map<string, { script: string; env: Record<string, string> }>();
  const start = (name: string, script: string, env: Record<string, string>): ChildProcess => {
    recipes.set(name, { script, env });
    const log = createWriteStream(join(o.logDir, `${name}.log`), { flags: 'a' });
    const flags = script.startsWith('apps/api/') || script.startsWith('apps/worker/') ? (o.platformNodeFlags ?? []) : [];
    const child = spawn(process.execPath, [...flags, join(root, 'dist', script)], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    children.push({ name, child });
    return child;
  };
  const current = (name: string) => children.filter((c) => c.name === name).at(-1)?.child;
  const gone = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
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

  // Interrupted (Ctrl-C, a CI timeout, kill): the processes started here stop with this one.
  const onSignal = (signal: NodeJS.Signals) => {
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // Both nodes start at once: each makes its pending pool before it answers /health.
    const nodes: { name: string; url: string }[] = [];
    const starting: Promise<void>[] = [];
    const ports = new Set<number>();
    while (ports.size < nodeNames.length) ports.add(await freePort()); // neither listens before its pool is made
    for (let i = 0; i < nodeNames.length; i++) {
      const port = [...ports][i]!;
      const name = nodeNames[i]!;
      const child = start(name, 'apps/node/src/main.js', {
        NODE_NAME: name,
        NODE_PORT: String(port),
        NODE_DATABASE_URL: nodeDbs[i]!,
        PLATFORM_PUBLIC_KEY: platformKey.publicKey,
        ...o.nodeEnv,
      });
      const url = `http://127.0.0.1:${port}`;
      starting.push(waitForHealth(`${url}/health`, child, name, o.nodeStartMs));
      nodes.push({ name, url });
    }
    await Promise.all(starting);
    const apiPort = await freePort();
    const workerMetricsPort = await freePort();
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
      WORKER_METRICS_PORT: String(workerMetricsPort),
      LOG_LEVEL: 'info',
      // One process each unless the caller asks for more (the multi-process run is not proven here yet).
      API_PROCESSES: '1',
      WORKER_PROCESSES: '1',
      ...o.platformEnv,
    };
    const api = start('api', 'apps/api/src/main.js', platformEnv);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitForHealth(`${apiUrl}/health`, api, 'api');
    start('worker', 'apps/worker/src/main.js', platformEnv);
    const stratumPort = o.stratum ? await freePort() : undefined;
    if (stratumPort !== undefined) {
      const gateway = start('stratum', 'apps/stratum/src/main.js', { ...platformEnv, STRATUM_PORT: String(stratumPort) });
      await waitForTcp(stratumPort, gateway, 'stratum');
    }
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
      workerMetricsUrl: `http://127.0.0.1:${workerMetricsPort}/metrics`,
      stratumPort,
      operatorKey: o.operatorKey,
      nodes,
      databases: [platformDb, ...nodeDbs],
      redisPatterns: [`${queuePrefix}:*`, `${keyPrefix}*`],
      stop: async () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await stop();
      },
      process: current,
      signal: async (name, signal) => {
        const child = current(name);
        if (!child) throw new Error(`no process ${name}`);
        child.kill(signal);
        if (signal === 'SIGKILL' || signal === 'SIGTERM') await gone(child);
      },
      restart: async (name) => {
        const recipe = recipes.get(name);
        if (!recipe) throw new Error(`no process ${name}`);
        const child = start(name, recipe.script, recipe.env);
        const port = recipe.env.NODE_PORT ?? (name === 'api' ? recipe.env.API_PORT : undefined);
        if (port) await waitForHealth(`http://127.0.0.1:${port}/health`, child, name);
      },
      addWorker: (name) => {
        start(name, 'apps/worker/src/main.js', recipes.get('worker')!.env);
      },
      pid: (name) => current(name)?.pid,
      dropDatabases: async () => {
        for (const db of [platformDb, ...nodeDbs]) await dropDatabase(db);
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
