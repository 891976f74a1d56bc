import { randomBytes } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule, DbModule, PrismaService, RedisModule, newId, type Config } from '@idlemint/core';
import { LedgerModule } from '@idlemint/ledger';
import { VerificationModule } from '@idlemint/verification';
import { WorkModule } from '@idlemint/work';
import { RelayModule } from '@idlemint/relay';
import { SCHEMES, ed25519Generate, ed25519Sign, makeItem, verifyItem, type TxItem } from '@idlemint/crypto';
import { makeTransferMessage, resultSigningString } from '@idlemint/protocol';
import { dropRedisKeys, redisPatterns, scratchDatabase, testConfig } from './scratch.js';

/**
 * Factories for the work and verification tests: fleet rows written straight into a scratch
 * database (every id and name unique), units with known answers, and signed results.
 */

export const unique = (label: string): string => `${label}-${randomBytes(5).toString('hex')}`;

export interface TestFleet {
  manufacturerId: string;
  attestationKeyId: string;
  modelId: string;
  deviceClass: string;
}

export interface TestDevice {
  id: string;
  ownerId: string | null;
  manufacturerId: string;
  publicKey: string;
  secretKey: string;
  model: { deviceClass: string };
}

/** A manufacturer with an attestation key and one device model, of a device class of its own unless given. */
export async function createFleet(db: PrismaService, batchSize = 4, deviceClass = unique('class')): Promise<TestFleet> {
  const manufacturerId = newId();
  const attestationKeyId = newId();
  const modelId = newId();
  await db.manufacturer.create({ data: { id: manufacturerId, name: unique('mfr') } });
  await db.attestationKey.create({ data: { id: attestationKeyId, manufacturerId, publicKey: ed25519Generate().publicKey } });
  await db.deviceModel.create({ data: { id: modelId, manufacturerId, name: unique('model'), deviceClass, batchSize } });
  return { manufacturerId, attestationKeyId, modelId, deviceClass };
}

export async function createOwner(db: PrismaService): Promise<string> {
  const id = newId();
  await db.owner.create({ data: { id, tokenHash: randomBytes(32).toString('hex') } });
  return id;
}

/** An enrolled device with a real Ed25519 key, owned by `ownerId` (or unclaimed with null). */
export async function createDevice(db: PrismaService, fleet: TestFleet, ownerId: string | null): Promise<TestDevice> {
  const key = ed25519Generate();
  const id = newId();
  await db.device.create({
    data: {
      id,
      manufacturerId: fleet.manufacturerId,
      modelId: fleet.modelId,
      attestationKeyId: fleet.attestationKeyId,
      serial: unique('sn'),
      publicKey: key.publicKey,
      claimCode: randomBytes(6).toString('hex').toUpperCase(),
      ownerId,
      certIssuedAt: new Date(),
    },
  });
  return {
    id,
    ownerId,
    manufacturerId: fleet.manufacturerId,
    publicKey: key.publicKey,
    secretKey: key.secretKey,
    model: { deviceClass: fleet.deviceClass },
  };
}

export interface UnitSpec {
  deviceClass: string;
  /** The answer of every item of the unit: '1' valid, '0' invalid. */
  answers?: string;
  quorum?: number;
  maxReplicas?: number;
  replicasIssued?: number;
  reward?: bigint;
  status?: 'open' | 'verified' | 'disputed';
  /** Distinct manufacturers the agreement must span (2 where the class has several). */
  minManufacturers?: number;
}

export interface TestUnit {
  id: string;
  items: TxItem[];
  /** The correct verdict string over the unit's own items. */
  truth: string;
}

/** Real signed items of every scheme, in the shape a node's transfers have. */
export function makeItems(answers: string): TxItem[] {
  return [...answers].map((c, i) => makeItem(SCHEMES[i % SCHEMES.length]!, Buffer.from(makeTransferMessage(), 'hex'), c === '1'));
}

/** Inserts a unit with known answers (canaries are planted per assignment, at claim time). */
export async function createUnit(db: PrismaService, spec: UnitSpec): Promise<TestUnit> {
  const answers = spec.answers ?? '0110';
  const items = makeItems(answers);
  const truth = honestVerdicts(items);
  if (truth !== answers) throw new Error(`createUnit: items do not verify as ${answers} (got ${truth})`);
  const quorum = spec.quorum ?? 2;
  const id = newId();
  await db.workUnit.create({
    data: {
      id,
      kind: 'tx-verify',
      deviceClass: spec.deviceClass,
      status: spec.status ?? 'open',
      quorum,
      maxReplicas: spec.maxReplicas ?? 5,
      replicasIssued: spec.replicasIssued ?? quorum,
      minManufacturers: spec.minManufacturers ?? 1,
      items: items as object[],
      reward: (spec.reward ?? 1000n).toString(),
    },
  });
  return { id, items, truth };
}

/** What an honest device answers: each item checked. */
export function honestVerdicts(items: TxItem[]): string {
  return items.map((it) => (verifyItem(it) ? '1' : '0')).join('');
}

/** A replica a device holds: the items it was sent and, from Postgres, where its canaries are. */
export interface Held {
  assignmentId: string;
  unitId: string;
  items: TxItem[];
  canaries: { index: number; valid: boolean }[];
}

/** Positions of the unit's own items among the items a device was sent. */
export function realPositions(held: Held): number[] {
  const at = new Set(held.canaries.map((c) => c.index));
  return held.items.map((_, i) => i).filter((i) => !at.has(i));
}

/** Flips the verdict of item `index`. */
export function flip(verdicts: string, index: number): string {
  return verdicts.slice(0, index) + (verdicts[index] === '1' ? '0' : '1') + verdicts.slice(index + 1);
}

/** A result body signed by the device over the protocol's result signing string. */
export function signedResult(device: TestDevice, unitId: string, verdicts: string): { verdicts: string; resultSignature: string } {
  return { verdicts, resultSignature: ed25519Sign(device.secretKey, resultSigningString(unitId, verdicts)) };
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, timeoutMs: number, stepMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > until) throw new Error(`eventually: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The work, verification and ledger modules on a scratch database and Redis prefixes of their own. */
export interface WorkPlatform {
  config: Config;
  mod: TestingModule;
  db: PrismaService;
  close(): Promise<void>;
}

export async function startWorkPlatform(label: string, overrides: Record<string, string>): Promise<WorkPlatform> {
  const scratch = await scratchDatabase(label);
  const config = testConfig(scratch.url, overrides);
  const mod = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), DbModule, RedisModule, WorkModule, VerificationModule, LedgerModule, RelayModule],
  }).compile();
  await mod.init();
  return {
    config,
    mod,
    db: mod.get(PrismaService),
    close: async () => {
      await mod.close();
      await dropRedisKeys(redisPatterns(config));
      await scratch.drop();
    },
  };
}
