import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { dropDatabase } from '@idlemint/core';
import { ed25519FromSeed, ed25519Generate, ed25519Sign, makeItem, verifyItem, type Ed25519KeyPair } from '@idlemint/crypto';
import {
  makeTransferMessage,
  NODE_GENESIS_HASH,
  nodeLogHash,
  resultSigningString,
  signNodeRequest,
  type NodeLogPage,
  type NodePendingPage,
  type NodeStats,
  type RelayedUnit,
} from '@idlemint/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_PLATFORM_PUBLIC_KEY, parseNodeConfig, type NodeConfig } from '../src/config.js';
import { createNodeApp } from '../src/node-app.js';

const PLATFORM_SEED = 'a8c3e1b0f4d2c6e8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6';
const NODE = 'node-test';
const SEED = 60;
const TREASURY = '1000000';

const scratchUrl = () => `postgresql://postgres@127.0.0.1:5432/idlemint_test_node_${randomBytes(6).toString('hex')}`;

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T & { error?: { code: string; message: string } };
}

class Caller {
  constructor(
    readonly base: string,
    private readonly seed = PLATFORM_SEED,
  ) {}

  async send<T = Record<string, unknown>>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    opts: { sign?: boolean; timestamp?: number; raw?: string; tamper?: (h: Record<string, string>) => void } = {},
  ): Promise<Answer<T>> {
    const raw = opts.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const headers: Record<string, string> =
      opts.sign === false ? {} : signNodeRequest(this.seed, method, path, raw, opts.timestamp ?? Date.now());
    opts.tamper?.(headers);
    if (raw !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + path, { method, headers, body: raw });
    return { status: res.status, body: (await res.json()) as Answer<T>['body'] };
  }
}

async function start(config: NodeConfig): Promise<{ app: NestFastifyApplication; caller: Caller }> {
  const app = await createNodeApp(config);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.getHttpServer().address() as { port: number };
  return { app, caller: new Caller(`http://127.0.0.1:${addr.port}`) };
}

function testConfig(url: string, extra: Record<string, string> = {}): NodeConfig {
  return parseNodeConfig({
    NODE_NAME: NODE,
    NODE_DATABASE_URL: url,
    PENDING_RATE: '0',
    PENDING_SEED: String(SEED),
    INVALID_SHARE: '0.3',
    TREASURY_BALANCE: TREASURY,
    LOG_LEVEL: 'silent',
    ...extra,
  });
}

describe('reference trusted node', () => {
  const url = scratchUrl();
  let app: NestFastifyApplication;
  let node: Caller;
  let db: pg.Client;
  const devices: Ed25519KeyPair[] = [ed25519Generate(), ed25519Generate()];
  let pending: NodePendingPage['transactions'] = [];
  const truth = new Map<string, boolean>();

  /** One device's result over its own verdicts (what it signed), its canaries at `canaries`. */
  function resultOf(d: Ed25519KeyPair, unitId: string, verdicts: string, canaries: number[] = []): RelayedUnit['results'][number] {
    return {
      devicePublicKey: d.publicKey,
      resultSignature: ed25519Sign(d.secretKey, resultSigningString(unitId, verdicts)),
      verdicts,
      canaries,
    };
  }

  /**
   * The verdict string a device sends when its canaries were planted among the unit's items:
   * `planted` maps each canary's index in the device's items to its answer. Returns the long
   * string and the sorted canary indexes.
   */
  function withCanaries(unitVerdicts: string, planted: Record<number, '0' | '1'>): { verdicts: string; canaries: number[] } {
    const canaries = Object.keys(planted)
      .map(Number)
      .sort((a, b) => a - b);
    const real = [...unitVerdicts];
    const out: string[] = [];
    for (let i = 0; i < unitVerdicts.length + canaries.length; i++) out.push(i in planted ? planted[i]! : real.shift()!);
    return { verdicts: out.join(''), canaries };
  }

  /**
   * A unit over `txs` (plus one foreign item), with `verdicts` chosen per tx by `verdictOf`, signed by
   * every device. No canaries planted: each device's verdicts are the unit's.
   */
  function unitOver(
    txs: NodePendingPage['transactions'],
    verdictOf: (id: string) => boolean = (id) => truth.get(id)!,
    unitId = `unit-${randomBytes(6).toString('hex')}`,
    signers: Ed25519KeyPair[] = devices,
  ): RelayedUnit {
    const foreign = makeItem('ed25519', Buffer.from(makeTransferMessage(), 'hex'), false);
    const items = [...txs.map(({ scheme, publicKey, message, signature }) => ({ scheme, publicKey, message, signature })), foreign];
    const verdicts = txs.map((t) => (verdictOf(t.id) ? '1' : '0')).join('') + '0';
    return {
      v: 1,
      unitId,
      kind: 'tx-verify',
      items,
      verdicts,
      refs: txs.map((t, index) => ({ index, node: NODE, id: t.id })),
      results: signers.map((d) => resultOf(d, unitId, verdicts)),
      assurance: {
        devices: signers.length,
        owners: signers.length,
        manufacturers: 1,
        origins: signers.length,
        reputations: signers.map(() => 1),
      },
      verifiedAt: new Date().toISOString(),
    };
  }

  const take = (n: number) => pending.splice(0, n);
  const txsOf = (unit: RelayedUnit) =>
    unit.refs.map((r) => ({ seq: '0', id: r.id, ...unit.items[r.index] }) as NodePendingPage['transactions'][number]);
  const logLength = async () => Number((await db.query('SELECT COUNT(*)::int AS n FROM "LogEntry"')).rows[0].n);
  const stats = async () => (await node.send<NodeStats>('GET', '/v1/stats', undefined, { sign: false })).body;

  beforeAll(async () => {
    ({ app, caller: node } = await start(testConfig(url)));
    db = new pg.Client({ connectionString: url });
    await db.connect();
    const { rows } = await db.query<{ txId: string; valid: boolean }>('SELECT "txId", "valid" FROM "PendingTx"');
    for (const r of rows) truth.set(r.txId, r.valid);
  });

  afterAll(async () => {
    await db?.end();
    await app?.close();
    await dropDatabase(url);
  });

  it('answers /health and public stats without a signature', async () => {
    const health = await fetch(`${node.base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const s = await stats();
    expect(s).toMatchObject({ name: NODE, pending: SEED, logLength: 0, headHash: NODE_GENESIS_HASH, chainValid: true, treasury: TREASURY });
    expect(s.verdicts).toEqual({ recorded: 0, correct: 0, wrong: 0, retracted: 0, wrongUnretracted: 0 });
    expect(s.payouts).toEqual({ confirmed: 0, total: '0' });
  });

  it('the dev platform public key is the dev seed’s', () => {
    expect(ed25519FromSeed(PLATFORM_SEED).publicKey).toBe(DEV_PLATFORM_PUBLIC_KEY);
  });

  it('seeds pending transactions: three schemes evenly, truth stored and right', async () => {
    const { rows } = await db.query<{ scheme: string; n: number }>('SELECT "scheme", COUNT(*)::int AS n FROM "PendingTx" GROUP BY 1');
    expect(Object.fromEntries(rows.map((r) => [r.scheme, r.n]))).toEqual({ ed25519: 20, bip340: 20, 'ecdsa-secp256k1': 20 });
    const invalid = [...truth.values()].filter((v) => !v).length;
    expect(invalid).toBeGreaterThan(0);
    expect(invalid).toBeLessThan(SEED);

    const first = await node.send<NodePendingPage>('GET', '/v1/pending?after=0&limit=25');
    expect(first.status).toBe(200);
    expect(first.body.transactions).toHaveLength(25);
    const second = await node.send<NodePendingPage>('GET', `/v1/pending?after=${first.body.next}&limit=1000`);
    expect(second.body.transactions).toHaveLength(SEED - 25);
    pending = [...first.body.transactions, ...second.body.transactions];
    const seqs = pending.map((t) => BigInt(t.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(pending.map((t) => t.id)).size).toBe(SEED);
    expect(second.body.next).toBe(pending.at(-1)!.seq);
    for (const t of pending) {
      expect(verifyItem(t)).toBe(truth.get(t.id));
      expect(t.message).toMatch(/^[0-9a-f]{64}$/); // a transfer signs its 32-byte digest
    }

    const empty = await node.send<NodePendingPage>('GET', `/v1/pending?after=${second.body.next}`);
    expect(empty.body).toEqual({ transactions: [], next: second.body.next });
  });

  it('refuses bad pending queries with 400 and unsigned or stale requests with 401', async () => {
    for (const q of ['?limit=1001', '?limit=0', '?after=-1', '?after=abc', '?after=99999999999999999999', '?other=1']) {
      const r = await node.send('GET', `/v1/pending${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error?.code).toBe('REQUEST.INVALID_QUERY');
    }
    const unsigned = await node.send('GET', '/v1/pending', undefined, { sign: false });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error?.code).toBe('NODE.PLATFORM_SIGNATURE_INVALID');
    const stale = await node.send('GET', '/v1/pending', undefined, { timestamp: Date.now() - 120_000 });
    expect(stale.status).toBe(401);
    expect(stale.body.error?.code).toBe('NODE.STALE_REQUEST');
    const otherKey = await new Caller(node.base, ed25519Generate().secretKey).send('GET', '/v1/pending');
    expect(otherKey.status).toBe(401);
    expect(otherKey.body.error?.code).toBe('NODE.PLATFORM_SIGNATURE_INVALID');
  });

  it('accepts a relayed unit, appends it, records verdicts and is idempotent', async () => {
    const txs = take(3);
    const unit = unitOver(txs);
    const first = await node.send('POST', '/v1/relay/units', unit);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ seq: '1', hash: nodeLogHash(NODE_GENESIS_HASH, unit), duplicate: false });

    const { rows } = await db.query<{ txId: string; verdict: boolean; unitId: string }>(
      'SELECT "txId", "verdict", "unitId" FROM "PendingTx" WHERE "txId" = ANY($1)',
      [txs.map((t) => t.id)],
    );
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r).toMatchObject({ verdict: truth.get(r.txId), unitId: unit.unitId });

    // Same unit, keys in another order: same answer, nothing appended.
    const reordered = Object.fromEntries(Object.entries(unit).reverse());
    const again = await node.send('POST', '/v1/relay/units', reordered);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, duplicate: true });
    expect(await logLength()).toBe(1);

    // Verified transactions leave the pending listing.
    const listed = await node.send<NodePendingPage>('GET', '/v1/pending?limit=1000');
    expect(listed.body.transactions.map((t) => t.id)).not.toContain(txs[0].id);
  });

  it('answers 409 NODE.UNIT_CONFLICT for the same unit id with other content, changing nothing', async () => {
    const unit = unitOver(take(2));
    expect((await node.send('POST', '/v1/relay/units', unit)).status).toBe(200);
    const before = await logLength();
    // Other verdicts, properly signed by the devices: only the content is at fault.
    const changed = unitOver(txsOf(unit), (id) => (id === unit.refs[0].id) !== truth.get(id), unit.unitId);
    const other = unitOver([], undefined, unit.unitId);
    for (const body of [changed, other]) {
      const r = await node.send('POST', '/v1/relay/units', body);
      expect(r.status).toBe(409);
      expect(r.body.error?.code).toBe('NODE.UNIT_CONFLICT');
    }
    expect(await logLength()).toBe(before);
  });

  it('refuses bad relays with stable codes and stores nothing', async () => {
    const txs = take(2);
    const good = unitOver(txs);
    const before = await logLength();

    const forged = unitOver(txs);
    forged.results[1] = { ...forged.results[1], resultSignature: forged.results[0].resultSignature };
    const wrongVerdictsSigned = unitOver(txs);
    wrongVerdictsSigned.results[0].resultSignature = ed25519Sign(
      devices[0].secretKey,
      resultSigningString(wrongVerdictsSigned.unitId, '111'),
    );
    // A device whose own (properly signed) verdicts are not the unit's: its signature proves nothing.
    const flip = (v: string, i: number) => v.slice(0, i) + (v[i] === '1' ? '0' : '1') + v.slice(i + 1);
    const disagreeing = unitOver(txs);
    disagreeing.results[1] = resultOf(devices[1], disagreeing.unitId, flip(disagreeing.verdicts, 0));
    // Canaries planted, but the indexes given are not where they sit: taking them out leaves other verdicts.
    const misplaced = unitOver(txs);
    // A canary answering the opposite of the first real verdict, in front of it; said to sit one further.
    const long = withCanaries(misplaced.verdicts, { 0: misplaced.verdicts[0] === '1' ? '0' : '1' });
    misplaced.results[0] = resultOf(devices[0], misplaced.unitId, long.verdicts, [1]);
    const canaryOutside = unitOver(txs);
    canaryOutside.results[0] = resultOf(devices[0], canaryOutside.unitId, canaryOutside.verdicts, [canaryOutside.verdicts.length]);
    const canaryTwice = unitOver(txs);
    const once = withCanaries(canaryTwice.verdicts, { 1: '0' });
    canaryTwice.results[0] = resultOf(devices[0], canaryTwice.unitId, once.verdicts, [1, 1]);
    const cases: [string, unknown, number, string, { sign?: boolean; tamper?: (h: Record<string, string>) => void }?][] = [
      [
        'bad platform signature',
        good,
        401,
        'NODE.PLATFORM_SIGNATURE_INVALID',
        { tamper: (h) => (h['x-idlemint-signature'] = 'ab'.repeat(64)) },
      ],
      ['unsigned', good, 401, 'NODE.PLATFORM_SIGNATURE_INVALID', { sign: false }],
      ['bad device signature', forged, 422, 'NODE.RESULT_SIGNATURE_INVALID'],
      ['device signed other verdicts', wrongVerdictsSigned, 422, 'NODE.RESULT_SIGNATURE_INVALID'],
      ['a device’s verdicts differ from the unit’s', disagreeing, 422, 'NODE.VERDICTS_INVALID'],
      ['canaries at the wrong indexes', misplaced, 422, 'NODE.VERDICTS_INVALID'],
      ['a canary index outside the device verdicts', canaryOutside, 422, 'NODE.VERDICTS_INVALID'],
      ['a canary index twice', canaryTwice, 422, 'NODE.VERDICTS_INVALID'],
      ['device verdicts missing', { ...good, results: good.results.map(({ verdicts: _, ...r }) => r) }, 400, 'REQUEST.INVALID_BODY'],
      ['device canaries missing', { ...good, results: good.results.map(({ canaries: _, ...r }) => r) }, 400, 'REQUEST.INVALID_BODY'],
      ['verdicts too short', { ...good, verdicts: good.verdicts.slice(1) }, 422, 'NODE.VERDICTS_INVALID'],
      ['verdicts too long', { ...good, verdicts: good.verdicts + '1' }, 422, 'NODE.VERDICTS_INVALID'],
      ['verdicts not 0/1', { ...good, verdicts: '1x0' }, 422, 'NODE.VERDICTS_INVALID'],
      ['unknown field', { ...good, extra: true }, 400, 'REQUEST.INVALID_BODY'],
      ['unknown field in a ref', { ...good, refs: [{ ...good.refs[0], note: 'x' }] }, 400, 'REQUEST.INVALID_BODY'],
      ['no results', { ...good, results: [] }, 400, 'REQUEST.INVALID_BODY'],
      ['wrong version', { ...good, v: 2 }, 400, 'REQUEST.INVALID_BODY'],
      ['ref outside items', { ...good, refs: [{ index: 9, node: NODE, id: txs[0].id }] }, 422, 'NODE.REF_INVALID'],
      ['ref to an unknown tx', { ...good, refs: [{ index: 0, node: NODE, id: 'no-such-tx' }] }, 422, 'NODE.REF_UNKNOWN'],
      ['ref to another item', { ...good, refs: [{ index: 1, node: NODE, id: txs[0].id }] }, 422, 'NODE.REF_MISMATCH'],
    ];
    for (const [name, body, status, code, opts] of cases) {
      const r = await node.send('POST', '/v1/relay/units', body, opts);
      expect(r.status, name).toBe(status);
      expect(r.body.error?.code, name).toBe(code);
    }
    const notJson = await node.send('POST', '/v1/relay/units', undefined, { raw: '{"v":1,' });
    expect(notJson.status).toBe(400);
    // REQUEST.INVALID_JSON once libs/core's ErrorFilter unwraps Nest 12's HttpException(cause: FastifyError).
    expect(notJson.body.error?.code).toMatch(/^(REQUEST\.INVALID_JSON|HTTP\.400)$/);
    const tooLarge = await node.send('POST', '/v1/relay/units', undefined, { raw: JSON.stringify({ pad: 'x'.repeat(1 << 20) }) });
    expect(tooLarge.status).toBe(413);

    expect(await logLength()).toBe(before);
    const { rows } = await db.query('SELECT 1 FROM "PendingTx" WHERE "txId" = ANY($1) AND "verdict" IS NOT NULL', [txs.map((t) => t.id)]);
    expect(rows).toHaveLength(0);
    // The refused unit can still be delivered properly afterwards.
    expect((await node.send('POST', '/v1/relay/units', good)).status).toBe(200);
  });

  it('refuses a result whose verdicts, canaries taken out, are not the unit’s: 422, nothing stored', async () => {
    const txs = take(3);
    const unit = unitOver(txs);
    // Device 1 planted one canary and signed its long string properly, but its real verdicts disagree.
    const real = [...unit.verdicts].map((c, i) => (i === 1 ? (c === '1' ? '0' : '1') : c)).join('');
    const planted = withCanaries(real, { 2: '0' });
    unit.results[1] = resultOf(devices[1], unit.unitId, planted.verdicts, planted.canaries);
    const before = await logLength();
    const r = await node.send('POST', '/v1/relay/units', unit);
    expect(r.status).toBe(422);
    expect(r.body.error?.code).toBe('NODE.VERDICTS_INVALID');
    expect(await logLength()).toBe(before);
    const { rows } = await db.query(
      'SELECT 1 FROM "PendingTx" WHERE "txId" = ANY($1) AND ("verdict" IS NOT NULL OR "unitId" IS NOT NULL)',
      [txs.map((t) => t.id)],
    );
    expect(rows).toHaveLength(0);
    // The same unit with device 1's answer agreeing goes through.
    const fixed = withCanaries(unit.verdicts, { 2: '0' });
    unit.results[1] = resultOf(devices[1], unit.unitId, fixed.verdicts, fixed.canaries);
    expect((await node.send('POST', '/v1/relay/units', unit)).status).toBe(200);
  });

  it('accepts results with canaries planted: each device signed its own longer verdicts', async () => {
    const txs = take(3);
    const unit = unitOver(txs);
    // Untrusted device: three canaries, the first one invalid; the other device: one canary at the end.
    const three = withCanaries(unit.verdicts, { 0: '0', 3: '1', 5: '0' });
    const one = withCanaries(unit.verdicts, { [unit.verdicts.length]: '0' });
    expect(three.verdicts).toHaveLength(unit.items.length + 3);
    unit.results = [
      resultOf(devices[0], unit.unitId, three.verdicts, three.canaries),
      resultOf(devices[1], unit.unitId, one.verdicts, one.canaries),
    ];
    // A signature over the unit's short verdicts would not do: the node checks the device's own string.
    const shortSigned = {
      ...unit,
      results: [
        { ...unit.results[0], resultSignature: ed25519Sign(devices[0].secretKey, resultSigningString(unit.unitId, unit.verdicts)) },
        unit.results[1],
      ],
    };
    const refused = await node.send('POST', '/v1/relay/units', shortSigned);
    expect(refused.status).toBe(422);
    expect(refused.body.error?.code).toBe('NODE.RESULT_SIGNATURE_INVALID');

    const r = await node.send('POST', '/v1/relay/units', unit);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ duplicate: false });
    const { rows } = await db.query<{ txId: string; verdict: boolean; unitId: string }>(
      'SELECT "txId", "verdict", "unitId" FROM "PendingTx" WHERE "txId" = ANY($1)',
      [txs.map((t) => t.id)],
    );
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatchObject({ verdict: truth.get(row.txId), unitId: unit.unitId });
    const { rows: logged } = await db.query<{ payload: RelayedUnit }>('SELECT "payload" FROM "LogEntry" WHERE "unitId" = $1', [
      unit.unitId,
    ]);
    expect(logged[0]?.payload.results).toEqual(unit.results);
  });

  it('ignores refs to other nodes', async () => {
    const unit = unitOver(take(1));
    unit.refs.push({ index: unit.items.length - 1, node: 'node-other', id: 'whatever' });
    const r = await node.send('POST', '/v1/relay/units', unit);
    expect(r.status).toBe(200);
  });

  it('counts a wrong verdict as wrong', async () => {
    const before = await stats();
    const txs = take(4);
    const lie = txs[0].id;
    const unit = unitOver(txs, (id) => (id === lie ? !truth.get(id)! : truth.get(id)!));
    expect((await node.send('POST', '/v1/relay/units', unit)).status).toBe(200);
    const after = await stats();
    expect(after.verdicts.recorded - before.verdicts.recorded).toBe(4);
    expect(after.verdicts.wrong - before.verdicts.wrong).toBe(1);
    expect(after.verdicts.correct - before.verdicts.correct).toBe(3);
    expect(after.pending).toBe(before.pending - 4);
    const { rows } = await db.query('SELECT COUNT(*)::int AS n FROM "PendingTx" WHERE "verdict" IS NOT NULL AND "verdict" <> "valid"');
    expect(rows[0].n).toBe(after.verdicts.wrong);
  });

  it('refuses a verdict confirmed by fewer independent devices or owners than it requires: 422, nothing stored', async () => {
    const before = await stats();
    const txs = take(2);
    // One device alone, honestly signed: exactly what a trusted device used to be allowed to send.
    const alone = unitOver(txs, undefined, undefined, [devices[0]!]);
    const r1 = await node.send('POST', '/v1/relay/units', alone);
    expect(r1.status).toBe(422);
    expect(r1.body.error?.code).toBe('NODE.ASSURANCE_TOO_LOW');
    // Two devices of one owner (the platform says so under its signature).
    const oneOwner = unitOver(txs);
    oneOwner.assurance = { ...oneOwner.assurance, owners: 1 };
    const r2 = await node.send('POST', '/v1/relay/units', oneOwner);
    expect(r2.status).toBe(422);
    expect(r2.body.error?.code).toBe('NODE.ASSURANCE_TOO_LOW');
    // An assurance that claims more devices than there are signed results.
    const inflated = unitOver(txs, undefined, undefined, [devices[0]!]);
    inflated.assurance = { devices: 2, owners: 2, manufacturers: 1, origins: 2, reputations: [1, 1] };
    const r3 = await node.send('POST', '/v1/relay/units', inflated);
    expect(r3.status).toBe(422);
    expect(r3.body.error?.code).toBe('NODE.ASSURANCE_INVALID');
    const after = await stats();
    expect(after.logLength).toBe(before.logLength);
    expect(after.verdicts.recorded).toBe(before.verdicts.recorded);
    // The same transactions go through with two independent devices.
    expect((await node.send('POST', '/v1/relay/units', unitOver(txs))).status).toBe(200);
  });

  it('records a retraction once, marks the unit’s transactions, and counts wrong verdicts left unretracted', async () => {
    const txs = take(3);
    const lie = txs[0].id;
    const unit = unitOver(txs, (id) => (id === lie ? !truth.get(id)! : truth.get(id)!));
    expect((await node.send('POST', '/v1/relay/units', unit)).status).toBe(200);
    const before = await stats();
    expect(before.verdicts.wrongUnretracted).toBeGreaterThanOrEqual(1);
    const retraction = { v: 1, unitId: unit.unitId, reason: 'AUDIT_OVERTURNED', retractedAt: new Date().toISOString() };
    const first = await node.send('POST', '/v1/relay/retractions', retraction);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ unitId: unit.unitId, transactions: 3, duplicate: false });
    const again = await node.send('POST', '/v1/relay/retractions', retraction);
    expect(again.body).toEqual({ unitId: unit.unitId, transactions: 3, duplicate: true });
    const after = await stats();
    expect(after.verdicts.retracted - before.verdicts.retracted).toBe(3);
    expect(before.verdicts.wrongUnretracted - after.verdicts.wrongUnretracted).toBe(1);
    expect(after.verdicts.wrong).toBe(before.verdicts.wrong); // the log and the verdicts stay as recorded
    expect(after.logLength).toBe(before.logLength);
    // Unsigned or malformed retractions change nothing.
    expect((await node.send('POST', '/v1/relay/retractions', retraction, { sign: false })).status).toBe(401);
    expect((await node.send('POST', '/v1/relay/retractions', { ...retraction, reason: 'BECAUSE' })).status).toBe(400);
  });

  it('serialises concurrent appends into one unbroken chain; concurrent repeats append once', async () => {
    const units = Array.from({ length: 8 }, () => unitOver(take(1)));
    const repeats = Array.from({ length: 5 }, () => units[0]);
    const answers = await Promise.all(
      [...units, ...repeats].map((u) => node.send<{ seq: string; duplicate: boolean }>('POST', '/v1/relay/units', u)),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.body.seq)).size).toBe(8);
    expect(answers.filter((a) => !a.body.duplicate)).toHaveLength(8);

    const log = await node.send<NodeLogPage>('GET', '/v1/log?after=0&limit=1000', undefined, { sign: false });
    expect(log.status).toBe(200);
    const entries = log.body.entries;
    expect(entries.length).toBe(await logLength());
    let prev = NODE_GENESIS_HASH;
    entries.forEach((e, i) => {
      expect(e.seq).toBe(String(i + 1));
      expect(e.prevHash).toBe(prev);
      expect(e.hash).toBe(nodeLogHash(prev, e.payload));
      prev = e.hash;
    });
    const s = await stats();
    expect(s).toMatchObject({ logLength: entries.length, headHash: prev, chainValid: true });
    const paged = await node.send<NodeLogPage>('GET', '/v1/log?after=2&limit=3', undefined, { sign: false });
    expect(paged.body.entries.map((e) => e.seq)).toEqual(['3', '4', '5']);
    expect(paged.body.next).toBe('5');
  });

  it('the log is append-only in the database', async () => {
    await expect(db.query('UPDATE "LogEntry" SET "unitId" = \'x\' WHERE "seq" = 1')).rejects.toThrow(/APPEND_ONLY/);
    await expect(db.query('DELETE FROM "LogEntry" WHERE "seq" = 1')).rejects.toThrow(/APPEND_ONLY/);
  });

  it('reports a broken chain', async () => {
    // Tamper past the trigger, as someone with the database could, then put it back.
    await db.query('ALTER TABLE "LogEntry" DISABLE TRIGGER "LogEntry_append_only"');
    try {
      const { rows } = await db.query<{ payload: RelayedUnit }>('SELECT "payload" FROM "LogEntry" WHERE "seq" = 1');
      const original = rows[0].payload;
      await db.query('UPDATE "LogEntry" SET "payload" = $1 WHERE "seq" = 1', [
        { ...original, verdicts: original.verdicts.replace(/^./, (c) => (c === '1' ? '0' : '1')) },
      ]);
      expect((await stats()).chainValid).toBe(false);
      await db.query('UPDATE "LogEntry" SET "payload" = $1 WHERE "seq" = 1', [original]);
      expect((await stats()).chainValid).toBe(true);
    } finally {
      await db.query('ALTER TABLE "LogEntry" ENABLE TRIGGER "LogEntry_append_only"');
    }
  });

  describe('payouts', () => {
    const key = () => `payout:${randomBytes(6).toString('hex')}`;
    const balance = async (address: string) =>
      (await db.query<{ amount: string }>('SELECT "amount"::text FROM "Balance" WHERE "address" = $1', [address])).rows[0]?.amount ?? '0';

    it('executes once per key, answers the same again, refuses a changed request with 409', async () => {
      const treasury = BigInt(await balance('@treasury'));
      const req = { idempotencyKey: key(), address: 'owner-alice', amount: '1500' };
      const first = await node.send('POST', '/v1/payouts', req);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ ...req, status: 'confirmed' });
      const again = await node.send('POST', '/v1/payouts', req);
      expect(again).toEqual(first);
      const concurrent = await Promise.all(Array.from({ length: 5 }, () => node.send('POST', '/v1/payouts', req)));
      for (const r of concurrent) expect(r).toEqual(first);
      expect(await balance('owner-alice')).toBe('1500');
      expect(BigInt(await balance('@treasury'))).toBe(treasury - 1500n);

      for (const changed of [
        { ...req, amount: '1501' },
        { ...req, address: 'owner-bob' },
      ]) {
        const r = await node.send('POST', '/v1/payouts', changed);
        expect(r.status).toBe(409);
        expect(r.body.error?.code).toBe('NODE.PAYOUT_CONFLICT');
      }
      expect(await balance('owner-alice')).toBe('1500');
      expect(await balance('owner-bob')).toBe('0');

      const got = await node.send('GET', `/v1/payouts/${req.idempotencyKey}`);
      expect(got).toEqual(first);
      const missing = await node.send('GET', `/v1/payouts/${key()}`);
      expect(missing.status).toBe(404);
      expect(missing.body.error?.code).toBe('NODE.PAYOUT_NOT_FOUND');
    });

    it('concurrent payouts with distinct keys all land, to the unit', async () => {
      const treasury = BigInt(await balance('@treasury'));
      const reqs = Array.from({ length: 10 }, (_, i) => ({ idempotencyKey: key(), address: 'owner-carol', amount: String(100 + i) }));
      const answers = await Promise.all(reqs.map((r) => node.send('POST', '/v1/payouts', r)));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(await balance('owner-carol')).toBe('1045');
      expect(BigInt(await balance('@treasury'))).toBe(treasury - 1045n);
    });

    it('treasury short: 422 NODE.INSUFFICIENT_FUNDS, recorded as failed, stable for the key', async () => {
      const treasury = await balance('@treasury');
      const req = { idempotencyKey: key(), address: 'owner-dave', amount: String(BigInt(treasury) + 1n) };
      const first = await node.send('POST', '/v1/payouts', req);
      expect(first.status).toBe(422);
      expect(first.body.error?.code).toBe('NODE.INSUFFICIENT_FUNDS');
      expect(await node.send('POST', '/v1/payouts', req)).toEqual(first);
      const got = await node.send('GET', `/v1/payouts/${req.idempotencyKey}`);
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ ...req, status: 'failed' });
      expect(await balance('@treasury')).toBe(treasury);
      expect(await balance('owner-dave')).toBe('0');
    });

    it('refuses malformed payout requests with 400 and changes nothing', async () => {
      const before = (await db.query('SELECT COUNT(*)::int AS n FROM "Payout"')).rows[0].n;
      for (const body of [
        { idempotencyKey: key(), address: 'a', amount: '0' },
        { idempotencyKey: key(), address: 'a', amount: '-1' },
        { idempotencyKey: key(), address: 'a', amount: '1.5' },
        { idempotencyKey: key(), address: 'a', amount: 10 },
        { idempotencyKey: 'short', address: 'a', amount: '1' },
        { idempotencyKey: key(), address: '@treasury', amount: '1' },
        { idempotencyKey: key(), address: 'a', amount: '1', memo: 'x' },
      ]) {
        const r = await node.send('POST', '/v1/payouts', body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error?.code).toBe('REQUEST.INVALID_BODY');
      }
      const badKey = await node.send('GET', '/v1/payouts/has%20space');
      expect(badKey.status).toBe(400);
      expect((await db.query('SELECT COUNT(*)::int AS n FROM "Payout"')).rows[0].n).toBe(before);
    });

    it('stats sum confirmed payouts and show the treasury', async () => {
      const s = await stats();
      const { rows } = await db.query<{ n: number; total: string }>(
        `SELECT COUNT(*)::int AS n, COALESCE(SUM("amount"), 0)::text AS total FROM "Payout" WHERE "status" = 'confirmed'`,
      );
      expect(s.payouts).toEqual({ confirmed: rows[0].n, total: rows[0].total });
      expect(BigInt(s.treasury) + BigInt(s.payouts.total)).toBe(BigInt(TREASURY));
    });

    it('FAULT_PAYOUT_DROP_RESPONSE: the payout commits, the answer never comes', async () => {
      // A second node process on the same database, with the fault switched on.
      const dropper = await start(testConfig(url, { FAULT_PAYOUT_DROP_RESPONSE: '1', PENDING_SEED: '0' }));
      try {
        const treasury = BigInt(await balance('@treasury'));
        const req = { idempotencyKey: key(), address: 'owner-erin', amount: '700' };
        await expect(dropper.caller.send('POST', '/v1/payouts', req)).rejects.toThrow();
        // Executed and committed anyway: the platform must ask, not assume.
        const got = await node.send('GET', `/v1/payouts/${req.idempotencyKey}`);
        expect(got.status).toBe(200);
        expect(got.body).toEqual({ ...req, status: 'confirmed' });
        expect(await balance('owner-erin')).toBe('700');
        // Asking again (through a healthy node process) answers the same and does not pay twice.
        expect((await node.send('POST', '/v1/payouts', req)).body).toEqual({ ...req, status: 'confirmed' });
        await expect(dropper.caller.send('POST', '/v1/payouts', req)).rejects.toThrow();
        expect(await balance('owner-erin')).toBe('700');
        expect(BigInt(await balance('@treasury'))).toBe(treasury - 700n);
        // Errors still answer normally.
        const conflict = await dropper.caller.send('POST', '/v1/payouts', { ...req, amount: '701' });
        expect(conflict.status).toBe(409);
      } finally {
        await dropper.app.close();
      }
    });
  });
});

describe('pending generator', () => {
  const url = scratchUrl();
  let app: NestFastifyApplication | undefined;

  afterAll(async () => {
    await app?.close();
    await dropDatabase(url);
  });

  it('tops up at PENDING_RATE per second and stops at PENDING_CAP', async () => {
    ({ app } = await start(testConfig(url, { PENDING_SEED: '10', PENDING_RATE: '40', PENDING_CAP: '70' })));
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const count = async () => (await db.query('SELECT COUNT(*)::int AS n FROM "PendingTx"')).rows[0].n as number;
      expect(await count()).toBe(10);
      // Each tick adds PENDING_RATE in one statement: the count goes 10 → 50 → 70 (capped), whenever the ticks come.
      const seen = new Set<number>([10]);
      while (!seen.has(70)) {
        seen.add(await count());
        await new Promise((r) => setTimeout(r, 50));
      }
      expect([...seen].sort((a, b) => a - b)).toEqual([10, 50, 70]);
      // and it stays there: a tick or two later (however slow the machine, never more than the cap)
      await new Promise((r) => setTimeout(r, 2_500));
      expect(await count()).toBe(70);
    } finally {
      await db.end();
    }
  });
});
