import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { QUEUE, newId, workQueueName, type Config, type TrustedNodeModel } from '@idlemint/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../../scripts/lib/private-services.js';
import {
  createDevice,
  createFleet,
  createOwner,
  creditDevice,
  registerNode,
  seedVerifiedUnit,
  startNode,
  startPlatform,
  type Fleet,
  type Platform,
  type TestDevice,
  type TestNode,
} from '../../../test/support/platform.js';
import { testConfig } from '../../../test/support/scratch.js';
import { eventually } from '../../../test/support/work.js';
import { createWorker } from '../src/main.js';

/**
 * Postgres is the truth, Redis is rebuilt. Two workers run against a private Redis; facts whose
 * jobs lived only in Redis are written to Postgres (an open unit's replica nobody holds, a verified
 * unit not yet relayed, a payout in flight), then that Redis is emptied mid-run. The reconciler sees
 * its marker gone and rebuilds every job once, however many workers do it: the replica is queued
 * once, the unit reaches the node once, the payout is paid once, the schedulers come back.
 */

describe('the reconciler rebuilds Redis from Postgres', { timeout: 180_000 }, () => {
  let redis: PrivateRedis;
  let p: Platform;
  let node: TestNode;
  let nodeRow: TrustedNodeModel;
  let fleet: Fleet;
  let config: Config;
  const workers: INestApplicationContext[] = [];
  let client: Redis;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    p = await startPlatform('reconciler', { MATURITY_MS: '0', PAYOUT_THRESHOLD: '1000' });
    node = await startNode({ name: 'node-a', platformPublicKey: p.signing.publicKey, pendingSeed: 20 });
    nodeRow = await registerNode(p, node);
    fleet = await createFleet(p);
    // Nothing but the marker can bring jobs back within the test: the outbox and the scheduled
    // sweep are a minute away, payout runs too; ingest cuts nothing.
    config = testConfig(p.config.DATABASE_URL, {
      REDIS_URL: redis.url,
      PLATFORM_SIGNING_KEY: p.config.PLATFORM_SIGNING_KEY,
      OUTBOX_POLL_MS: '60000',
      RECONCILE_EVERY_MS: '60000',
      INGEST_EVERY_MS: '60000',
      INGEST_MAX_OPEN_UNITS: '0',
      PAYOUT_EVERY_MS: '60000',
      PAYOUT_THRESHOLD: '1000',
      MATURITY_MS: '0',
    });
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    for (let i = 0; i < 2; i++) workers.push(await createWorker(config));
  });

  afterAll(async () => {
    for (const w of workers) await w.close().catch(() => undefined);
    client?.disconnect();
    await node?.close();
    await p?.close();
    await redis?.close();
  });

  const marker = () => client.exists(`${config.QUEUE_PREFIX}:reconciler:marker`);

  it('after Redis is emptied mid-run, every job comes back exactly once and the work completes', async () => {
    // Both workers made their start pass: the marker and the schedulers are in Redis.
    await eventually(async () => (await marker()) === 1, 90_000);
    const ingest = new Queue(QUEUE.ingest, { connection: client, prefix: config.QUEUE_PREFIX });
    await eventually(async () => (await ingest.getJobScheduler('ingest')) !== undefined, 90_000);

    // An open unit with three replicas: one answered, one leased until later, one held by nobody.
    const devices: TestDevice[] = [];
    for (let i = 0; i < 3; i++) devices.push(await createDevice(p, fleet, await createOwner(p)));
    const openUnit = newId();
    await p.db.workUnit.create({
      data: {
        id: openUnit,
        kind: 'tx-verify',
        deviceClass: fleet.deviceClass,
        quorum: 3,
        maxReplicas: 5,
        replicasIssued: 3,
        items: [],
        reward: '1000',
      },
    });
    const lease = (replica: number, d: TestDevice, status: 'leased' | 'submitted', deadlineMs: number) =>
      p.db.assignment.create({
        data: {
          id: newId(),
          unitId: openUnit,
          deviceId: d.id,
          ownerId: d.ownerId,
          replica,
          jobId: `unit-${openUnit}-r${replica}`,
          lockToken: randomBytes(8).toString('hex'),
          deadline: new Date(Date.now() + deadlineMs),
          status,
        },
      });
    await lease(1, devices[0]!, 'submitted', 90_000);
    await lease(2, devices[1]!, 'leased', 10 * 60_000);

    // A verified unit not yet relayed, and a payout in flight whose job Redis held.
    const verified = await seedVerifiedUnit(p, fleet, [{ node, nodeRow, count: 4 }], devices.slice(0, 2));
    const payee = await createDevice(p, fleet, await createOwner(p));
    await creditDevice(p, payee, 3);
    const [payoutId] = await p.payouts.run();
    expect(payoutId).toBeDefined();
    await p.db.outboxMessage.updateMany({ where: { dispatchedAt: null }, data: { dispatchedAt: new Date() } });

    // Redis restarted empty.
    await redis.flush();
    expect(await marker()).toBe(0);

    // The marker comes back and every job with it.
    await eventually(async () => (await marker()) === 1, 90_000);
    await eventually(async () => (await ingest.getJobScheduler('ingest')) !== undefined, 90_000);
    const work = new Queue(workQueueName(fleet.deviceClass), { connection: client, prefix: config.QUEUE_PREFIX });
    const replicaJobs = await eventually(async () => {
      const jobs = await work.getJobs(['wait', 'delayed', 'prioritized', 'active'], 0, -1);
      return jobs.length > 0 ? jobs : undefined;
    }, 90_000);
    const delivered = await eventually(
      async () =>
        (await p.db.relayDelivery.findFirst({ where: { unitId: verified.unitId, nodeId: nodeRow.id, status: 'delivered' } })) ?? undefined,
      30_000,
    );
    const paid = await eventually(async () => {
      const row = await p.db.payout.findUniqueOrThrow({ where: { id: payoutId! } });
      return row.status === 'confirmed' ? row : undefined;
    }, 90_000);

    // Only the replica nobody held was queued, once, though two workers rebuilt at the same time.
    expect(replicaJobs.map((j) => j.id)).toEqual([`unit-${openUnit}-r3`]);
    expect(replicaJobs[0]!.data).toEqual({ unitId: openUnit, replica: 3 });
    // The unit reached the node once; the payout was paid once at the node.
    expect(delivered.nodeSeq).not.toBeNull();
    expect((await node.log()).filter((e) => e.unitId === verified.unitId)).toHaveLength(1);
    const atNode = (await node.payouts()).filter((x) => x.idempotencyKey === paid.idempotencyKey);
    expect(atNode).toHaveLength(1);
    expect(atNode[0]!.amount).toBe(paid.amount.toFixed(0));
    await ingest.close();
    await work.close();
  });

  it('a sweep with nothing missing adds nothing', async () => {
    const { Reconciler } = await import('../src/reconciler.js');
    const report = await workers[0]!.get(Reconciler).reconcile('scheduled');
    expect(report).toMatchObject({ replicas: 0, relays: 0, payouts: 0, schedulers: false });
  });
});
