import 'reflect-metadata';
import { getQueueToken } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Queue } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PrismaService, QUEUE, newId, writeOutbox, type Config, type OutboxPayloads, type OutboxTopic } from '@idlemint/core';
import { RewardsService } from '@idlemint/ledger';
import { WorkQueues } from '@idlemint/work';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropRedisKeys, redisPatterns, scratchDatabase, testConfig } from '../../../test/support/scratch.js';
import { eventually, unique } from '../../../test/support/work.js';
import { createWorker } from '../src/main.js';
import { OutboxDispatcher } from '../src/outbox.dispatcher.js';
import { WorkerModule } from '../src/worker.module.js';

/**
 * The transactional outbox becomes BullMQ jobs: rows committed in Postgres are turned into jobs
 * with deterministic ids and marked dispatched; dispatching a message again never doubles its job.
 */

async function announce<T extends OutboxTopic>(db: PrismaService, topic: T, key: string, payload: OutboxPayloads[T]): Promise<void> {
  await db.$transaction((tx) => writeOutbox(tx, topic, key, payload));
}
const replicaKey = (unitId: string, replica: number) => `work.replica:${unitId}:${replica}`;
const outboxRow = (db: PrismaService, key: string) => db.outboxMessage.findUniqueOrThrow({ where: { key } });

/** Sessions open on a database, seen from the server's `postgres` database. */
async function connectionsTo(url: string): Promise<number> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  u.pathname = '/postgres';
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

/** Jobs of a queue in any live state. */
async function jobIds(queue: Queue): Promise<string[]> {
  const jobs = await queue.getJobs(['wait', 'prioritized', 'delayed', 'active'], 0, -1);
  return jobs.map((j) => j.id!).sort();
}

describe('the worker process dispatches the outbox', () => {
  let drop: () => Promise<void>;
  let config: Config;
  let app: INestApplicationContext | undefined;
  let db: PrismaService;

  beforeAll(async () => {
    const scratch = await scratchDatabase('worker_outbox');
    drop = scratch.drop;
    config = testConfig(scratch.url, { OUTBOX_POLL_MS: '50', INGEST_EVERY_MS: '60000', PAYOUT_EVERY_MS: '60000' });
    app = await createWorker(config);
    db = app.get(PrismaService);
  });

  afterAll(async () => {
    await app?.close();
    if (config) await dropRedisKeys(redisPatterns(config));
    await drop?.();
  });

  it('turns work.replica rows into replica jobs with deterministic ids, marks them, and does not double a re-dispatch', async () => {
    const deviceClass = unique('class');
    const unitId = newId();
    for (const replica of [1, 2]) await announce(db, 'work.replica', replicaKey(unitId, replica), { unitId, replica, deviceClass });

    const first = await eventually(
      async () => {
        const rows = await db.outboxMessage.findMany({ where: { key: { in: [replicaKey(unitId, 1), replicaKey(unitId, 2)] } } });
        return rows.every((r) => r.dispatchedAt !== null) && rows.length === 2 ? rows : undefined;
      },
      30_000,
      50,
    );
    expect(first).toHaveLength(2);

    const queue = app!.get(WorkQueues).queue(deviceClass);
    expect(await jobIds(queue)).toEqual([`unit-${unitId}-r1`, `unit-${unitId}-r2`]);
    const job = await queue.getJob(`unit-${unitId}-r1`);
    expect(job?.data).toEqual({ unitId, replica: 1 });
    expect(job?.name).toBe('work.replica');

    // announcing the same fact again is a no-op in the outbox
    await announce(db, 'work.replica', replicaKey(unitId, 1), { unitId, replica: 1, deviceClass });
    expect(await db.outboxMessage.count({ where: { key: replicaKey(unitId, 1) } })).toBe(1);

    // a crash after enqueueing but before marking: the row is dispatched again, the job is not doubled
    const before = await outboxRow(db, replicaKey(unitId, 1));
    await db.outboxMessage.update({ where: { key: replicaKey(unitId, 1) }, data: { dispatchedAt: null } });
    const again = await eventually(
      async () => {
        const r = await outboxRow(db, replicaKey(unitId, 1));
        return r.dispatchedAt ?? undefined;
      },
      30_000,
      50,
    );
    expect(again.getTime()).toBeGreaterThan(before.dispatchedAt!.getTime());
    expect(await jobIds(queue)).toEqual([`unit-${unitId}-r1`, `unit-${unitId}-r2`]);
    expect(await queue.getJobCounts('prioritized')).toEqual({ prioritized: 2 }); // replica jobs wait with a placement priority
  });

  it('stops cleanly: close resolves and nothing is dispatched afterwards', async () => {
    const own = await scratchDatabase('worker_stop');
    const cfg = testConfig(own.url, { OUTBOX_POLL_MS: '50', INGEST_EVERY_MS: '60000', PAYOUT_EVERY_MS: '60000' });
    const worker = await createWorker(cfg);
    let closed = false;
    try {
      const wdb = worker.get(PrismaService);
      const deviceClass = unique('class');
      const unitId = newId();
      await announce(wdb, 'work.replica', replicaKey(unitId, 1), { unitId, replica: 1, deviceClass });
      await eventually(async () => (await outboxRow(wdb, replicaKey(unitId, 1))).dispatchedAt, 30_000, 50);

      // close while a dispatch pass is in flight (a slow pass makes that certain), then count passes
      const dispatcher = worker.get(OutboxDispatcher);
      const drain = dispatcher.drain.bind(dispatcher);
      let passes = 0;
      let inFlight = false;
      dispatcher.drain = async () => {
        passes++;
        inFlight = true;
        await sleep(300);
        try {
          return await drain();
        } finally {
          inFlight = false;
        }
      };
      // ... and while a maintenance job runs: its schedulers fire every second or two (maturing
      // rewards, canaries, expired leases), so a job on the database is often running at close.
      const rewards = worker.get(RewardsService);
      const matureDue = rewards.matureDue.bind(rewards);
      let maturing = 0;
      let jobInFlight = false;
      const failures: string[] = [];
      rewards.matureDue = async (limit?: number) => {
        maturing++;
        jobInFlight = true;
        await sleep(800); // outlasts the dispatch pass that close waits for first
        try {
          return await matureDue(limit);
        } catch (e) {
          failures.push((e as Error).message);
          throw e;
        } finally {
          jobInFlight = false;
        }
      };
      await eventually(() => Promise.resolve(inFlight && jobInFlight), 30_000, 5);

      const started = Date.now();
      await worker.close();
      closed = true;
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(jobInFlight, 'close waited for the running maintenance job').toBe(false);
      // ... which finished on a live database, not one disconnected under it.
      expect(failures, 'maintenance work failed during close').toEqual([]);
      const passesAtClose = passes;
      const maturingAtClose = maturing;
      await sleep(1_500); // past the next tick of every maintenance scheduler
      expect(passes, 'dispatch passes started after close').toBe(passesAtClose);
      expect(maturing, 'maintenance jobs started after close').toBe(maturingAtClose);
      // and neither the pass nor the job that were in flight reopened the database pool behind the closed app
      expect(await connectionsTo(own.url)).toBe(0);

      // the dispatch loop is gone: a new row stays undispatched (read on a connection of our own)
      const probe = await Test.createTestingModule({ imports: [WorkerModule.forRoot(cfg)] }).compile();
      try {
        const pdb = probe.get(PrismaService);
        await announce(pdb, 'work.replica', replicaKey(unitId, 2), { unitId, replica: 2, deviceClass });
        await sleep(500);
        expect((await outboxRow(pdb, replicaKey(unitId, 2))).dispatchedAt).toBeNull();
      } finally {
        await probe.close();
      }
    } finally {
      if (!closed) await worker.close().catch(() => undefined);
      await dropRedisKeys(redisPatterns(cfg));
      await own.drop();
    }
  }, 30_000);
});

describe('OutboxDispatcher.drain', () => {
  let drop: () => Promise<void>;
  let config: Config;
  let mod: TestingModule;
  let db: PrismaService;
  let dispatcher: OutboxDispatcher;

  beforeAll(async () => {
    const scratch = await scratchDatabase('worker_drain');
    drop = scratch.drop;
    config = testConfig(scratch.url);
    // compiled, not initialised: no polling loop and no processors, so drain() is the only dispatcher
    mod = await Test.createTestingModule({ imports: [WorkerModule.forRoot(config)] }).compile();
    db = mod.get(PrismaService);
    dispatcher = mod.get(OutboxDispatcher);
  });

  afterAll(async () => {
    await mod?.close();
    if (config) await dropRedisKeys(redisPatterns(config));
    await drop?.();
  });

  it('dispatches every pending row across batches, once; a re-dispatch keeps one job per id', async () => {
    const deviceClass = unique('class');
    const units = Array.from({ length: 150 }, () => newId());
    await db.$transaction(async (tx) => {
      for (const unitId of units) {
        for (const replica of [1, 2, 3])
          await writeOutbox(tx, 'work.replica', replicaKey(unitId, replica), { unitId, replica, deviceClass });
      }
    });

    expect(await dispatcher.drain()).toBe(450);
    expect(await db.outboxMessage.count({ where: { dispatchedAt: null } })).toBe(0);
    const queue = mod.get(WorkQueues).queue(deviceClass);
    const expected = units.flatMap((u) => [1, 2, 3].map((r) => `unit-${u}-r${r}`)).sort();
    expect(await jobIds(queue)).toEqual(expected);

    expect(await dispatcher.drain()).toBe(0);

    await db.outboxMessage.updateMany({ where: { key: { startsWith: `work.replica:${units[0]}` } }, data: { dispatchedAt: null } });
    expect(await dispatcher.drain()).toBe(3);
    expect(await jobIds(queue)).toEqual(expected);
  });

  it('unit.verified becomes one relay job per active node; payout.created a payout job, both with deterministic ids', async () => {
    const active = { id: newId(), name: unique('node'), url: 'http://127.0.0.1:1' };
    const disabled = { id: newId(), name: unique('node'), url: 'http://127.0.0.1:1', status: 'disabled' as const };
    await db.trustedNode.createMany({ data: [active, disabled] });
    const unitId = newId();
    const payoutId = newId();
    await announce(db, 'unit.verified', `unit.verified:${unitId}`, { unitId });
    await announce(db, 'payout.created', `payout.created:${payoutId}`, { payoutId });

    expect(await dispatcher.drain()).toBe(2);
    const relay = mod.get<Queue>(getQueueToken(QUEUE.relay));
    const payouts = mod.get<Queue>(getQueueToken(QUEUE.payouts));
    const relayJobs = (await jobIds(relay)).filter((id) => id.startsWith(`relay-${unitId}-`));
    expect(relayJobs).toEqual([`relay-${unitId}-${active.id}`]);
    expect((await relay.getJob(relayJobs[0]!))?.data).toEqual({ unitId, nodeId: active.id });
    expect((await payouts.getJob(`payout-${payoutId}`))?.data).toEqual({ payoutId });

    await db.outboxMessage.updateMany({
      where: { key: { in: [`unit.verified:${unitId}`, `payout.created:${payoutId}`] } },
      data: { dispatchedAt: null },
    });
    expect(await dispatcher.drain()).toBe(2);
    expect((await jobIds(relay)).filter((id) => id.startsWith(`relay-${unitId}-`))).toEqual(relayJobs);
    expect((await jobIds(payouts)).filter((id) => id === `payout-${payoutId}`)).toHaveLength(1);
  });
});
