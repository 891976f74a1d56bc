import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { dropDatabase } from '@idlemint/core';
import {
  bitsToTarget,
  hashValue,
  headerHash,
  parseHeader,
  searchNonce,
  stratumCoinbase,
  stratumHeader,
  stratumPrevHash,
  u32Hex,
  type StratumJob,
} from '@idlemint/crypto';
import {
  NodeClient,
  NodeRequestError,
  POW_ERRORS,
  type PowBlockAnswer,
  type PowBlockCandidate,
  type PowBlocksPage,
  type PowTemplate,
} from '@idlemint/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNodeConfig } from '../src/config.js';
import { createNodeApp } from '../src/node-app.js';
import { GENESIS_BLOCK } from '../src/pow/pow.service.js';

const PLATFORM_SEED = 'a8c3e1b0f4d2c6e8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6';
const OTHER_SEED = '11'.repeat(32);
const scratchUrl = () => `postgresql://postgres@127.0.0.1:5432/idlemint_test_pow_${randomBytes(6).toString('hex')}`;

async function startNode(name: string, url: string): Promise<{ app: NestFastifyApplication; client: NodeClient; base: string }> {
  const config = parseNodeConfig({ NODE_NAME: name, NODE_DATABASE_URL: url, PENDING_RATE: '0', PENDING_SEED: '20', LOG_LEVEL: 'silent' });
  const app = await createNodeApp(config);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  return { app, client: new NodeClient(base, PLATFORM_SEED), base };
}

const jobOf = (t: PowTemplate): StratumJob => ({
  prevHash: stratumPrevHash(t.prevHash),
  coinb1: t.coinb1,
  coinb2: t.coinb2,
  merkleBranch: t.merkleBranch,
  version: u32Hex(t.version),
  nbits: t.bits,
  ntime: u32Hex(t.time),
});

/** Mines the template for real (CPU, ~65k hashes at the default target) into a candidate. */
function mine(t: PowTemplate, candidateId: string, extranonce1 = 'a1b2c3d4'): PowBlockCandidate {
  const job = jobOf(t);
  const target = BigInt('0x' + t.target);
  for (let en2 = 0; ; en2++) {
    const s = { extranonce1, extranonce2: u32Hex(en2), ntime: job.ntime };
    const found = searchNonce(job, s, target, 0, 2_000_000);
    if (!found) continue;
    return {
      candidateId,
      header: stratumHeader(job, { ...s, nonce: found.nonce }).toString('hex'),
      coinbase: stratumCoinbase(job, { ...s, nonce: found.nonce }).toString('hex'),
      txids: t.txids,
    };
  }
}

async function refusal(p: Promise<unknown>): Promise<{ status: number | null; code: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NodeRequestError) return { status: e.status, code: e.code };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('reference node proof-of-work chain', () => {
  const urls = [scratchUrl(), scratchUrl()];
  let a: Awaited<ReturnType<typeof startNode>>;
  let b: Awaited<ReturnType<typeof startNode>>;

  beforeAll(async () => {
    a = await startNode('node-pow-a', urls[0]!);
    b = await startNode('node-pow-b', urls[1]!);
  });
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    for (const u of urls) await dropDatabase(u);
  });

  it('starts from Bitcoin’s genesis block and serves a template on top of it', async () => {
    const page = (await (await fetch(`${a.base}/v1/pow/blocks`)).json()) as PowBlocksPage;
    expect(page.blocks[0]!.hash).toBe(GENESIS_BLOCK.hash);
    expect(headerHash(Buffer.from(page.blocks[0]!.header, 'hex'))).toBe(GENESIS_BLOCK.hash);
    const t = await a.client.request<PowTemplate>('GET', '/v1/pow/template');
    expect(t).toMatchObject({ height: 1, prevHash: GENESIS_BLOCK.hash, bits: '1f00ffff', extranonceSize: 8 });
    expect(BigInt('0x' + t.target)).toBe(bitsToTarget(0x1f00ffff));
    expect(t.txids.length).toBeGreaterThan(0);
    expect(t.time).toBeGreaterThan(t.minTime - 1);
  });

  it('refuses unsigned and foreign-signed template requests', async () => {
    expect((await fetch(`${a.base}/v1/pow/template`)).status).toBe(401);
    expect((await refusal(new NodeClient(a.base, OTHER_SEED).request('GET', '/v1/pow/template'))).status).toBe(401);
  });

  it('appends a mined block on both nodes (each checks it on its own terms), idempotently', async () => {
    const t = await a.client.request<PowTemplate>('GET', '/v1/pow/template');
    const candidate = mine(t, 'cand-1');
    const hash = headerHash(Buffer.from(candidate.header, 'hex'));
    const first = await a.client.request<PowBlockAnswer>('POST', '/v1/pow/blocks', candidate);
    expect(first).toEqual({ height: 1, hash, duplicate: false });
    expect(await b.client.request<PowBlockAnswer>('POST', '/v1/pow/blocks', candidate)).toEqual({ height: 1, hash, duplicate: false });
    expect(await a.client.request<PowBlockAnswer>('POST', '/v1/pow/blocks', candidate)).toEqual({ height: 1, hash, duplicate: true });
    for (const n of [a, b]) {
      const page = (await (await fetch(`${n.base}/v1/pow/blocks?after=0`)).json()) as PowBlocksPage;
      expect(page.tip).toEqual({ height: 1, hash });
      expect(page.blocks.map((x) => x.candidateId)).toEqual(['cand-1']);
    }
    const next = await a.client.request<PowTemplate>('GET', '/v1/pow/template');
    expect(next).toMatchObject({ height: 2, prevHash: hash });
  });

  it('refuses hostile candidates with stable codes and appends nothing', async () => {
    const t = await a.client.request<PowTemplate>('GET', '/v1/pow/template');
    const good = mine(t, 'cand-2');
    const header = Buffer.from(good.header, 'hex');

    // A hash above the network target: walk nonces until one misses (most do).
    const high = Buffer.from(header);
    for (let n = parseHeader(header).nonce + 1; ; n++) {
      high.writeUInt32LE(n >>> 0, 76);
      if (hashValue(high) > BigInt('0x' + t.target)) break;
    }
    expect(await refusal(a.client.request('POST', '/v1/pow/blocks', { ...good, candidateId: 'h', header: high.toString('hex') }))).toEqual({
      status: 422,
      code: POW_ERRORS.highHash,
    });
    // Another transaction list than the header commits to.
    expect(await refusal(a.client.request('POST', '/v1/pow/blocks', { ...good, candidateId: 'm', txids: good.txids.slice(1) }))).toEqual({
      status: 422,
      code: POW_ERRORS.badMerkle,
    });
    // A coinbase paying someone else: mined for real, still refused.
    const thief = { ...t, coinb2: t.coinb2.replace(/76a914(1d){20}88ac/, '76a914' + 'ee'.repeat(20) + '88ac') };
    expect(thief.coinb2).not.toBe(t.coinb2);
    expect(await refusal(a.client.request('POST', '/v1/pow/blocks', mine(thief, 'thief')))).toEqual({
      status: 422,
      code: POW_ERRORS.badCoinbase,
    });
    // Another nBits than the node's.
    const easy = Buffer.from(header);
    easy.writeUInt32LE(0x207fffff, 72);
    expect(await refusal(a.client.request('POST', '/v1/pow/blocks', { ...good, candidateId: 'e', header: easy.toString('hex') }))).toEqual({
      status: 422,
      code: POW_ERRORS.badBits,
    });
    // Malformed body: the schema refuses it.
    expect((await refusal(a.client.request('POST', '/v1/pow/blocks', { ...good, header: 'zz' }))).status).toBe(400);

    await a.client.request('POST', '/v1/pow/blocks', good);
    // A block on the old tip (the same template mined again) is stale now.
    expect(await refusal(a.client.request('POST', '/v1/pow/blocks', mine(t, 'late', 'ffffffff')))).toEqual({
      status: 409,
      code: POW_ERRORS.staleTip,
    });
    // The same candidate id with another block is a conflict.
    const other = mine(await a.client.request<PowTemplate>('GET', '/v1/pow/template'), 'cand-2', '0000aaaa');
    expect(await refusal(a.client.request('POST', '/v1/pow/blocks', other))).toEqual({ status: 409, code: POW_ERRORS.candidateConflict });
    const page = (await (await fetch(`${a.base}/v1/pow/blocks`)).json()) as PowBlocksPage;
    expect(page.blocks.map((x) => x.candidateId)).toEqual([null, 'cand-1', 'cand-2']);
  });
});
