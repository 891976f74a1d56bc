import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';

/** The default number of api and worker processes: one per core. */
export const CORES = availableParallelism();

/**
 * Runs `start` in `count` processes of one app (node:cluster). With one process it simply runs
 * `start` here. Otherwise this process only supervises: it forks `count` copies, restarts one that
 * dies on its own (not faster than once a second per slot), and on SIGTERM/SIGINT stops them all
 * and exits once they have. The api's copies share its listening port (the cluster module hands
 * connections round-robin); every copy is stateless against the one PostgreSQL and Redis.
 */
export function runProcesses(name: string, count: number, start: () => Promise<void>): Promise<void> {
  if (count <= 1 || cluster.isWorker) return start();
  let stopping = false;
  const slots = new Map<number, number>(); // worker id -> slot
  const lastStart: number[] = [];
  const fork = (slot: number) => {
    lastStart[slot] = Date.now();
    const w = cluster.fork({ IDLEMINT_PROCESS_SLOT: String(slot) });
    slots.set(w.id, slot);
  };
  cluster.on('exit', (w, code, signal) => {
    const slot = slots.get(w.id);
    slots.delete(w.id);
    if (stopping) {
      if (slots.size === 0) process.exit(0);
      return;
    }
    if (slot === undefined) return;
    console.error(`${name}: process ${w.process.pid} (slot ${slot}) exited (${signal ?? code}); starting another`);
    setTimeout(() => fork(slot), Math.max(0, 1_000 - (Date.now() - (lastStart[slot] ?? 0))));
  });
  const stop = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    if (slots.size === 0) process.exit(0);
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(sig);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGTERM'));
  for (let slot = 0; slot < count; slot++) fork(slot);
  console.log(`${name}: supervising ${count} processes (pid ${process.pid})`);
  return Promise.resolve();
}
