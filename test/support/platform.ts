import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  ConfigModule,
  DbModule,
  dropDatabase,
  newId,
  PrismaService,
  type Config,
  type Prisma,
  type TrustedNodeModel,
} from '@idlemint/core';
import { ed25519Generate, ed25519Sign, verifyItem, type Ed25519KeyPair, type TxItem } from '@idlemint/crypto';
import { diminishedReward, LedgerModule, LedgerService, RewardsService, splitReward } from '@idlemint/ledger';
import { PayoutsModule, PayoutsService, ReconciliationService } from '@idlemint/payouts';
import { NodeClient, resultSigningString, type NodeLogPage, type NodePendingPage, type NodeStats } from '@idlemint/protocol';
import { RelayModule, RelayService } from '@idlemint/relay';
import pg from 'pg';
import { parseNodeConfig } from '../../apps/node/src/config.js';
import { createNodeApp } from '../../apps/node/src/node-app.js';
import { dropRedisKeys, redisPatterns, scratchDatabase, TEST_PG, testConfig, uniqueSuffix } from './scratch.js';

/**
 * In-process platform tests: the platform's Nest modules on a migrated scratch database, reference
 * nodes (apps/node) listening on free ports on scratch databases of their own, and factories for
 * realistic rows (fleet, owners, credits through the ledger, verified units over a node's real
 * pending transactions signed by real device keys). Everything made here is dropped by `close()`.
 */

export const unique = (prefix: string): string => `${prefix}-${randomBytes(5).toString('hex')}`;

// ---------------------------------------------------------------------------------------------
// The platform

export interface Platform {
  config: Config;
  /** Ed25519 key pair of PLATFORM_SIGNING_KEY; nodes are given its public key. */
  signing: Ed25519KeyPair;
  module: TestingModule;
  db: PrismaService;
  ledger: LedgerService;
  rewards: RewardsService;
  payouts: PayoutsService;
  reconciliation: ReconciliationService;
  relay: RelayService;
  close(): Promise<void>;
}

/** The platform's payout, relay and ledger modules on a fresh scratch database with their own Redis prefixes. */
export async function startPlatform(label: string, overrides: Record<string, string> = {}): Promise<Platform> {
  const signing = ed25519Generate();
  const { url, drop } = await scratchDatabase(label);
  const config = testConfig(url, { PLATFORM_SIGNING_KEY: signing.secretKey, ...overrides });
  let module: TestingModule;
  try {
    module = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), DbModule, LedgerModule, PayoutsModule, RelayModule],
    }).compile();
    await module.init();
  } catch (e) {
    await drop();
    throw e;
  }
  return {
    config,
    signing,
    module,
    db: module.get(PrismaService),
    ledger: module.get(LedgerService),
    rewards: module.get(RewardsService),
    payouts: module.get(PayoutsService),
    reconciliation: module.get(ReconciliationService),
    relay: module.get(RelayService),
    close: async () => {
      await module.close().catch(() => undefined);
      await drop();
      await dropRedisKeys(redisPatterns(config));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reference nodes

export interface TestNode {
  name: string;
  /** Base URL the node listens on. */
  url: string;
  databaseUrl: string;
  app: NestFastifyApplication;
  /** The node's own database, read directly to assert what the node stored. */
  db: pg.Pool;
  stats(): Promise<NodeStats>;
  /** Balance of an address at the node (0 when it has none). */
  balance(address: string): Promise<bigint>;
  payouts(): Promise<{ idempotencyKey: string; address: string; amount: string; status: string }[]>;
  log(): Promise<NodeLogPage['entries']>;
  /** Pending (unverified) transactions, through the node's signed API as ingest sees them. */
  pending(platformSeed: string, limit?: number): Promise<NodePendingPage['transactions']>;
  close(): Promise<void>;
}

export interface NodeOptions {
  name?: string;
  /** The platform public key the node accepts signatures of. */
  platformPublicKey: string;
  treasury?: bigint;
  pendingSeed?: number;
  /** FAULT_PAYOUT_DROP_RESPONSE: payouts commit, then the connection is cut without an answer. */
  dropPayoutResponses?: boolean;
  /** Another node process on an existing node database (not dropped by this one's close). */
  databaseUrl?: string;
}

/** A reference node in-process on a free port, on its own scratch database (created, migrated, seeded). */
export async function startNode(opts: NodeOptions): Promise<TestNode> {
  const name = opts.name ?? unique('node');
  const owned = opts.databaseUrl === undefined;
  const databaseUrl = opts.databaseUrl ?? `${TEST_PG}/idlemint_test_node_${uniqueSuffix()}`;
  const config = parseNodeConfig({
    NODE_NAME: name,
    NODE_DATABASE_URL: databaseUrl,
    PLATFORM_PUBLIC_KEY: opts.platformPublicKey,
    TREASURY_BALANCE: (opts.treasury ?? 1_000_000_000n).toString(),
    PENDING_SEED: String(opts.pendingSeed ?? 0),
    PENDING_RATE: '0',
    INVALID_SHARE: '0.3',
    LOG_LEVEL: 'silent',
    FAULT_PAYOUT_DROP_RESPONSE: opts.dropPayoutResponses ? '1' : '0',
  });
  let app: NestFastifyApplication | undefined;
  try {
    app = await createNodeApp(config);
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (e) {
    await app?.close().catch(() => undefined);
    if (owned) await dropDatabase(databaseUrl);
    throw e;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const running = app;
  return {
    name,
    url,
    databaseUrl,
    app,
    db,
    stats: async () => {
      const res = await fetch(`${url}/v1/stats`);
      if (!res.ok) throw new Error(`node stats: HTTP ${res.status}`);
      return (await res.json()) as NodeStats;
    },
    balance: async (address) => {
      const { rows } = await db.query<{ amount: string }>('SELECT "amount"::text AS amount FROM "Balance" WHERE "address" = $1', [address]);
      return BigInt(rows[0]?.amount ?? '0');
    },
    payouts: async () =>
      (
        await db.query<{ idempotencyKey: string; address: string; amount: string; status: string }>(
          'SELECT "idempotencyKey", "address", "amount"::text AS amount, "status"::text AS status FROM "Payout" ORDER BY "createdAt"',
        )
      ).rows,
    log: async () => {
      const res = await fetch(`${url}/v1/log?after=0&limit=1000`);
      if (!res.ok) throw new Error(`node log: HTTP ${res.status}`);
      return ((await res.json()) as NodeLogPage).entries;
    },
    pending: async (platformSeed, limit = 1000) =>
      (await new NodeClient(url, platformSeed).request<NodePendingPage>('GET', `/v1/pending?after=0&limit=${limit}`)).transactions,
    close: async () => {
      await running.close().catch(() => undefined);
      await db.end().catch(() => undefined);
      if (owned) await dropDatabase(databaseUrl);
    },
  };
}

/** A URL nothing listens on: a port taken from the OS and released again. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  return `http://127.0.0.1:${port}`;
}

/** The platform's row for a trusted node (name = the node's NODE_NAME, as refs name it). */
export async function registerNode(p: Platform, node: { name: string; url: string }): Promise<TrustedNodeModel> {
  return p.db.trustedNode.create({ data: { id: newId(), name: node.name, url: node.url } });
}

// ---------------------------------------------------------------------------------------------
// Fleet and owners

export interface Fleet {
  manufacturerId: string;
  modelId: string;
  attestationKeyId: string;
  deviceClass: string;
}

export interface TestDevice {
  id: string;
  manufacturerId: string;
  ownerId: string | null;
  keys: Ed25519KeyPair;
}

/** A manufacturer with one attestation key and one device model. */
export async function createFleet(p: Platform): Promise<Fleet> {
  const manufacturerId = newId();
  const attestationKeyId = newId();
  const modelId = newId();
  const deviceClass = 'fridge';
  await p.db.manufacturer.create({ data: { id: manufacturerId, name: unique('maker') } });
  await p.db.attestationKey.create({ data: { id: attestationKeyId, manufacturerId, publicKey: ed25519Generate().publicKey } });
  await p.db.deviceModel.create({ data: { id: modelId, manufacturerId, name: unique('model'), deviceClass, batchSize: 8 } });
  return { manufacturerId, modelId, attestationKeyId, deviceClass };
}

/** An enrolled device with a real Ed25519 key, claimed by `ownerId` when given. */
export async function createDevice(p: Platform, fleet: Fleet, ownerId: string | null = null): Promise<TestDevice> {
  const keys = ed25519Generate();
  const id = newId();
  await p.db.device.create({
    data: {
      id,
      manufacturerId: fleet.manufacturerId,
      modelId: fleet.modelId,
      attestationKeyId: fleet.attestationKeyId,
      serial: unique('SN'),
      publicKey: keys.publicKey,
      claimCode: randomBytes(6).toString('hex').toUpperCase(),
      ownerId,
      certIssuedAt: new Date(),
    },
  });
  return { id, manufacturerId: fleet.manufacturerId, ownerId, keys };
}

export async function createOwner(p: Platform, opts: { payoutAddress?: string | null; halted?: boolean } = {}): Promise<string> {
  const id = newId();
  await p.db.owner.create({
    data: {
      id,
      tokenHash: randomBytes(32).toString('hex'),
      payoutAddress: opts.payoutAddress === undefined ? unique('addr') : opts.payoutAddress,
      ...(opts.halted ? { payoutsHaltedAt: new Date(), haltReason: 'halted by the test' } : {}),
    },
  });
  return id;
}

/**
 * Credits `device` for `units` verified units of `reward` each, as verification does: one
 * transaction per unit (a fake unit id each) crediting the reward immature through
 * RewardsService.credit, then matures it (`matureDue`) into the owner, manufacturer and operator
 * shares, so the owner share lands on `device:<id>`, the account payouts pay from. Needs a platform
 * started with `MATURITY_MS: '0'`. `ownerRank` is the device's place among its owner's devices
 * (diminishing returns past OWNER_FULL_DEVICES). Returns the owner share credited in total.
 */
export async function creditDevice(
  p: Platform,
  device: TestDevice,
  units: number,
  reward = p.config.UNIT_REWARD,
  ownerRank = 1,
): Promise<bigint> {
  if (p.config.MATURITY_MS !== 0) throw new Error('creditDevice: start the platform with MATURITY_MS: 0 so rewards mature at once');
  const unitIds: string[] = [];
  for (let i = 0; i < units; i++) {
    const unitId = `fake-unit-${newId()}`;
    unitIds.push(unitId);
    await p.db.$transaction((tx) =>
      p.rewards.credit(tx, unitId, [{ deviceId: device.id, manufacturerId: device.manufacturerId, ownerRank }], reward),
    );
  }
  let matured: number;
  do matured = await p.rewards.matureDue();
  while (matured > 0);
  const done = await p.db.reward.count({ where: { deviceId: device.id, unitId: { in: unitIds }, status: 'mature' } });
  if (done !== units) throw new Error(`creditDevice: ${done} of ${units} rewards matured`);
  const { amount } = diminishedReward(reward, ownerRank, { fullDevices: p.config.OWNER_FULL_DEVICES, stepBps: p.config.OWNER_STEP_BPS });
  return splitReward(amount, p.ledger.shares).owner * BigInt(units);
}

/** Ledger balance of every account, by code (missing accounts are 0). */
export async function ledgerBalances(p: Platform): Promise<(code: string) => bigint> {
  const totals = await p.ledger.totals();
  return (code) => totals.get(code) ?? 0n;
}

// ---------------------------------------------------------------------------------------------
// Verified units over real node transactions

export interface UnitSource {
  node: TestNode;
  /** The platform's TrustedNode row for that node. */
  nodeRow: TrustedNodeModel;
  count: number;
}

export interface SeededUnit {
  unitId: string;
  items: TxItem[];
  verdicts: string;
  /** Per node name, the node's transaction ids in the unit and the true verdict of each. */
  txs: Map<string, { id: string; valid: boolean }[]>;
}

/**
 * A verified WorkUnit as verification leaves it: items taken from the nodes' real pending
 * transactions (recorded as SourceTx rows with unit and index), the true verdicts, and one
 * `agreed` Assignment per device (no canaries planted in it) whose resultSignature the device
 * really signed over the unit's verdicts.
 * `devices` must belong to distinct owners (a unit never goes twice to one owner).
 */
export async function seedVerifiedUnit(p: Platform, fleet: Fleet, sources: UnitSource[], devices: TestDevice[]): Promise<SeededUnit> {
  const unitId = newId();
  const items: TxItem[] = [];
  const txs = new Map<string, { id: string; valid: boolean }[]>();
  const sourceRows: Prisma.SourceTxCreateManyInput[] = [];
  for (const { node, nodeRow, count } of sources) {
    const listed = await node.pending(p.config.PLATFORM_SIGNING_KEY);
    const taken = new Set(
      (await p.db.sourceTx.findMany({ where: { nodeId: nodeRow.id, externalId: { in: listed.map((t) => t.id) } } })).map(
        (s) => s.externalId,
      ),
    );
    const fresh = listed.filter((t) => !taken.has(t.id)).slice(0, count);
    if (fresh.length < count) throw new Error(`node ${node.name} has only ${fresh.length} unused pending transactions`);
    const mine: { id: string; valid: boolean }[] = [];
    for (const t of fresh) {
      const item = { scheme: t.scheme, publicKey: t.publicKey, message: t.message, signature: t.signature };
      sourceRows.push({ id: newId(), nodeId: nodeRow.id, externalId: t.id, ...item, unitId, itemIndex: items.length });
      mine.push({ id: t.id, valid: verifyItem(item) });
      items.push(item);
    }
    txs.set(node.name, mine);
  }
  const verdicts = items.map((item) => (verifyItem(item) ? '1' : '0')).join('');
  const now = new Date();
  await p.db.$transaction(async (tx) => {
    await tx.workUnit.create({
      data: {
        id: unitId,
        kind: 'tx-verify',
        deviceClass: fleet.deviceClass,
        status: 'verified',
        quorum: devices.length,
        maxReplicas: 5,
        replicasIssued: devices.length,
        items: items as unknown as object[],
        reward: p.config.UNIT_REWARD.toString(),
        verdicts,
        decidedAt: now,
        assurance: {
          devices: devices.length,
          owners: new Set(devices.map((d) => d.ownerId ?? d.id)).size,
          manufacturers: 1,
          origins: devices.length,
          reputations: devices.map(() => 1),
        },
      },
    });
    await tx.sourceTx.createMany({ data: sourceRows });
    await tx.assignment.createMany({
      data: devices.map((d, replica) => ({
        id: newId(),
        unitId,
        deviceId: d.id,
        ownerId: d.ownerId,
        replica,
        jobId: `unit-${unitId}-r${replica}`,
        lockToken: randomBytes(8).toString('hex'),
        deadline: new Date(now.getTime() + 30_000),
        status: 'submitted' as const,
        outcome: 'agreed' as const,
        verdicts,
        realVerdicts: verdicts,
        canaries: [],
        resultSignature: ed25519Sign(d.keys.secretKey, resultSigningString(unitId, verdicts)),
        submittedAt: now,
      })),
    });
  });
  return { unitId, items, verdicts, txs };
}

// ---------------------------------------------------------------------------------------------
// A broken hop between the platform and a node

export interface FaultyHop {
  url: string;
  /** POSTs the node acted on whose answer the hop replaced with a 200 that is not JSON. */
  garbled: number;
  /** GETs the hop answered itself, without asking the node. */
  refused: number;
  close(): Promise<void>;
}

export interface FaultyHopOptions {
  /** 'garble' (default): forward, let the node act, answer a 200 whose body is not JSON. */
  post?: 'garble' | 'forward';
  /** 'forward' (default), or answer every GET with this 4xx (a rate limiter, an auth gateway). */
  get?: 'forward' | { status: number; code: string };
}

/**
 * A broken hop in front of the node at `target` (a load balancer, a gateway): what it forwards
 * reaches the node untouched (the platform's signature still holds), but it may replace the
 * node's answer to a POST after the node acted, or answer GETs itself with a 4xx.
 */
export async function startFaultyHop(target: string, opts: FaultyHopOptions = {}): Promise<FaultyHop> {
  const hop: FaultyHop = { url: '', garbled: 0, refused: 0, close: () => Promise.resolve() };
  const server = createHttpServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const get = opts.get ?? 'forward';
      if (req.method === 'GET' && get !== 'forward') {
        hop.refused++;
        res
          .writeHead(get.status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: get.code, message: 'refused by the hop' } }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === 'string' && (k.startsWith('x-idlemint-') || k === 'content-type')) headers[k] = v;
      }
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const answer = await fetch(target + req.url, { method: req.method, headers, body });
      const text = await answer.text();
      if (req.method === 'POST' && (opts.post ?? 'garble') === 'garble') {
        hop.garbled++;
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>upstream answered</body></html>');
      } else {
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
      }
    })().catch((e: unknown) => res.writeHead(502).end(String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hop.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  hop.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return hop;
}
