import 'reflect-metadata';
import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule, DbModule } from '@idlemint/core';
import { difficultyToTarget, hashValue, searchNonce, stratumHeader, u32Hex } from '@idlemint/crypto';
import { Accounts } from '@idlemint/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDevice,
  createFleet,
  createOwner,
  ledgerBalances,
  registerNode,
  startNode,
  startPlatform,
  type Fleet,
  type Platform,
  type TestDevice,
  type TestNode,
} from '../../../test/support/platform.js';
import {
  HashJobsService,
  SHARE_CODES,
  ShareCreditService,
  SharesModule,
  SharesService,
  StratumCredentialsService,
  type HashJobView,
  type Miner,
} from './index.js';

// Shares at difficulty 2e-7 (~860 hashes); the node's network target 1f00ffff is difficulty 2^-16
// (~65,536 hashes): about one share in 76 is a block.
const SHARE_DIFF = 0.0000002;
const RATE = 1_000_000n; // minor units per difficulty-1 share: 0.2 a share, so remainders matter

describe('hash shares (libs/shares)', () => {
  let p: Platform;
  let mod: TestingModule;
  let nodes: TestNode[];
  let fleet: Fleet;
  let devices: TestDevice[];
  let shares: SharesService;
  let jobs: HashJobsService;
  let credit: ShareCreditService;
  let creds: StratumCredentialsService;
  let en2 = 0;

  /** Mines one share for `miner` on `job` (a fresh extranonce2 each time), as a device would. */
  function mineShare(job: HashJobView, miner: Miner, wantBlock = false) {
    for (;;) {
      const s = { extranonce1: miner.extranonce1, extranonce2: u32Hex(en2++), ntime: job.ntime };
      const found = searchNonce(job, s, wantBlock ? job.networkTarget : difficultyToTarget(SHARE_DIFF), 0, 200_000);
      // A plain share must not happen to be a block too (at these easy targets one in a few is):
      // it would carry the block bonus and a block.found of its own.
      if (found && (wantBlock ? found.hash <= job.networkTarget : found.hash > job.networkTarget))
        return { jobId: job.id, extranonce2: s.extranonce2, ntime: s.ntime, nonce: found.nonce };
    }
  }

  beforeAll(async () => {
    p = await startPlatform('shares', {
      SHARE_MIN_DIFF: '0.00000001',
      SHARE_PPS_PER_DIFF1: RATE.toString(),
      SHARE_BLOCK_BONUS: '500',
      MATURITY_MS: '3600000',
    });
    nodes = [await startNode({ platformPublicKey: p.signing.publicKey }), await startNode({ platformPublicKey: p.signing.publicKey })];
    for (const n of nodes) await registerNode(p, n);
    mod = await Test.createTestingModule({ imports: [ConfigModule.forRoot(p.config), DbModule, SharesModule] }).compile();
    await mod.init();
    shares = mod.get(SharesService);
    jobs = mod.get(HashJobsService);
    credit = mod.get(ShareCreditService);
    creds = mod.get(StratumCredentialsService);
    fleet = await createFleet(p);
    const owner = await createOwner(p);
    devices = [await createDevice(p, fleet, owner), await createDevice(p, fleet, owner)];
  });
  afterAll(async () => {
    await mod?.close();
    for (const n of nodes ?? []) await n.close();
    await p?.close();
  });

  it('cuts a job from the first node’s template and gives each device its own extranonce1', async () => {
    const { job, created } = await jobs.refresh();
    expect(created).toBe(true);
    expect(job).toMatchObject({ height: 1, bits: '1f00ffff' });
    expect((await jobs.refresh()).created).toBe(false); // same tip: the same job
    const [a, b] = await Promise.all(devices.map((d) => shares.miner(d.id)));
    expect(a!.extranonce1).toMatch(/^[0-9a-f]{8}$/);
    expect(a!.extranonce1).not.toBe(b!.extranonce1);
    expect(await shares.miner(devices[0]!.id)).toEqual(a);
  });

  it('accepts real shares and refuses duplicates, low difficulty and malformed ones with stable codes', async () => {
    const job = (await jobs.currentJob())!;
    const miner = await shares.miner(devices[0]!.id);
    const share = mineShare(job, miner);
    const ok = await shares.submit(miner, share, [SHARE_DIFF]);
    expect(ok).toMatchObject({ accepted: true, difficulty: SHARE_DIFF });
    expect(await shares.submit(miner, share, [SHARE_DIFF])).toMatchObject({ accepted: false, code: SHARE_CODES.duplicate });
    // The same nonce under another device's extranonce1 is another header: not that device's share.
    const other = await shares.miner(devices[1]!.id);
    const stolen = await shares.submit(other, share, [SHARE_DIFF]);
    expect(stolen.accepted && stolen.hash === (ok.accepted ? ok.hash : '')).toBe(false);
    // A nonce whose hash misses the target.
    let miss = 0;
    const s = { extranonce1: miner.extranonce1, extranonce2: 'ffffffff', ntime: job.ntime };
    while (hashValue(stratumHeader(job, { ...s, nonce: u32Hex(miss) })) <= difficultyToTarget(SHARE_DIFF)) miss++;
    expect(await shares.submit(miner, { jobId: job.id, ...s, nonce: u32Hex(miss) }, [SHARE_DIFF])).toMatchObject({
      code: SHARE_CODES.lowDifficulty,
    });
    for (const bad of [
      { ...share, nonce: 'zz' },
      { ...share, extranonce2: '00' },
      { ...share, ntime: u32Hex(job.time - 1) },
      { ...share, versionBits: '00000001' }, // outside the rolling mask
    ]) {
      expect(await shares.submit(miner, bad, [SHARE_DIFF])).toMatchObject({ accepted: false, code: SHARE_CODES.malformed });
    }
    expect(await shares.submit(miner, { ...share, jobId: 'deadbeef' }, [SHARE_DIFF])).toMatchObject({ code: SHARE_CODES.stale });
  });

  it('credits shares in batches, once each, carrying what is below one minor unit', async () => {
    const job = (await jobs.currentJob())!;
    const miner = await shares.miner(devices[1]!.id);
    let accepted = 0;
    while (accepted < 7) {
      const r = await shares.submit(miner, mineShare(job, miner), [SHARE_DIFF]);
      if (r.accepted && !r.block) accepted++;
    }
    let credited = 0;
    for (let n = await credit.creditBatch(3); n > 0; n = await credit.creditBatch(3)) credited += n;
    expect(credited).toBeGreaterThanOrEqual(8); // device 0's share and device 1's seven
    expect(await credit.creditBatch()).toBe(0);
    const balance = await ledgerBalances(p);
    // 7 shares × 2e-7 × 1,000,000 = 1.4 minor units: 1 credited, 0.4 carried; batches of 3 do not lose the fractions.
    expect(balance(Accounts.immature(devices[1]!.id))).toBe(1n);
    const rewards = await p.db.reward.findMany({ where: { deviceId: devices[1]!.id } });
    expect(rewards.every((r) => r.why.includes('hash shares'))).toBe(true);
    const row = await p.db.hashMiner.findUniqueOrThrow({ where: { deviceId: devices[1]!.id } });
    expect(row.creditRemainder).toBe(40_000_000n);
    expect(await p.db.hashShare.count({ where: { batchId: null } })).toBe(0);
  });

  it('turns a share under the network target into a block: bonus, outbox, both nodes append it, old jobs go stale', async () => {
    const job = (await jobs.currentJob())!;
    const miner = await shares.miner(devices[0]!.id);
    const share = mineShare(job, miner, true);
    const r = await shares.submit(miner, share, [SHARE_DIFF]);
    expect(r).toMatchObject({ accepted: true, block: true });
    const id = r.accepted ? r.shareId : '';
    expect(await p.db.outboxMessage.findMany({ where: { topic: 'block.found' } })).toHaveLength(1);
    expect(await p.db.reward.findMany({ where: { unitId: `block:${id}` } })).toHaveLength(1);
    for (const n of nodes)
      expect(await credit.relayBlock(id, (await p.db.trustedNode.findFirstOrThrow({ where: { name: n.name } })).id)).toBe('appended');
    for (const n of nodes) {
      const { rows } = await n.db.query<{ candidateId: string }>('SELECT "candidateId" FROM "PowBlock" WHERE "height" = 1');
      expect(rows).toEqual([{ candidateId: id }]);
    }
    expect((await jobs.refresh()).created).toBe(true);
    // Each process caches the current job briefly: poll until this one sees the new tip.
    for (let i = 0; i < 600 && (await jobs.currentJob())!.height !== 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await jobs.currentJob())!.height).toBe(2);
    expect(await shares.submit(miner, mineShare(job, miner), [SHARE_DIFF])).toMatchObject({ code: SHARE_CODES.stale });
  });

  it('issues, checks and revokes Stratum credentials; a suspended device lapses', async () => {
    const d = devices[0]!;
    const c = await creds.issue(d.id);
    const auth = await creds.authorize(c.username, c.password);
    expect(auth).toMatchObject({ deviceId: d.id });
    expect(await creds.authorize(`${c.username}.rig1`, c.password)).toMatchObject({ deviceId: d.id });
    expect(await creds.authorize(c.username, c.password + 'x')).toBeNull();
    expect(await creds.lapsed([{ deviceId: d.id, issuedAt: auth!.issuedAt }])).toEqual(new Set());
    await creds.revoke(d.id);
    expect(await creds.authorize(c.username, c.password)).toBeNull();
    expect(await creds.lapsed([{ deviceId: d.id, issuedAt: auth!.issuedAt }])).toEqual(new Set([d.id]));
    const c2 = await creds.issue(devices[1]!.id);
    const a2 = (await creds.authorize(c2.username, c2.password))!;
    await p.db.device.update({ where: { id: devices[1]!.id }, data: { status: 'suspended' } });
    expect(await creds.lapsed([{ deviceId: devices[1]!.id, issuedAt: a2.issuedAt }])).toEqual(new Set([devices[1]!.id]));
    expect(await creds.authorize(c2.username, c2.password)).toBeNull();
  });
});
