import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bip340Sign, verifyBip340 } from './bip340.js';
import { verifyEcdsaSecp256k1 } from './ecdsa.js';
import { verifyEd25519 } from './ed25519.js';
import { hexToBytes } from './hex.js';
import { verifyItem } from './items.js';
import type { TxItem } from './types.js';

// shared/ lives beside the repository (locally /work/shared, in CI next to the clone).
function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(resolve(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}
const VECTORS = resolve(findRepoRoot(__dirname), '..', 'shared', 'vectors');

interface WycheproofTest {
  tcId: number;
  comment: string;
  msg: string;
  sig: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface WycheproofFile<K> {
  numberOfTests: number;
  testGroups: { publicKey: K; tests: WycheproofTest[] }[];
}

function readJson<K>(name: string): WycheproofFile<K> {
  return JSON.parse(readFileSync(resolve(VECTORS, name), 'utf8')) as WycheproofFile<K>;
}

/** Runs every case and reports all mismatching tcIds at once (one failing assertion, full list). */
function mismatches<T>(cases: T[], run: (c: T) => string | null): string[] {
  return cases.map(run).filter((m): m is string => m !== null);
}

// Wycheproof "acceptable" counts as invalid (shared/vectors/README.md).
const expected = (t: WycheproofTest): boolean => t.result === 'valid';

describe('Wycheproof ed25519_test.json', () => {
  const file = readJson<{ pk: string }>('wycheproof-ed25519_test.json');
  const cases = file.testGroups.flatMap((g) => g.tests.map((t) => ({ pk: g.publicKey.pk, t })));

  it('has every test', () => {
    expect(cases.length).toBe(file.numberOfTests);
    expect(cases.length).toBe(151);
  });

  it('verifyItem and verifyEd25519 give the exact result for every tcId', () => {
    const bad = mismatches(cases, ({ pk, t }) => {
      const item: TxItem = { scheme: 'ed25519', publicKey: pk, message: t.msg, signature: t.sig };
      const viaItem = verifyItem(item);
      const viaBytes = verifyEd25519(hexToBytes(pk), hexToBytes(t.msg), hexToBytes(t.sig));
      return viaItem === expected(t) && viaBytes === expected(t)
        ? null
        : `tcId ${t.tcId} (${t.result}, ${t.comment}): item=${viaItem} bytes=${viaBytes}`;
    });
    expect(bad).toEqual([]);
  });
});

describe('Wycheproof ecdsa_secp256k1_sha256_bitcoin_test.json', () => {
  const file = readJson<{ uncompressed: string }>('wycheproof-ecdsa_secp256k1_sha256_bitcoin_test.json');
  const cases = file.testGroups.flatMap((g) => g.tests.map((t) => ({ pk: g.publicKey.uncompressed, t })));

  it('has every test', () => {
    expect(cases.length).toBe(file.numberOfTests);
    expect(cases.length).toBe(463);
  });

  it('gives the exact result for every tcId, with the key uncompressed and compressed', () => {
    const bad = mismatches(cases, ({ pk, t }) => {
      const parity = parseInt(pk.slice(-2), 16) & 1;
      const compressed = (parity === 1 ? '03' : '02') + pk.slice(2, 66);
      const results = [pk, compressed].map((key) =>
        verifyItem({ scheme: 'ecdsa-secp256k1', publicKey: key, message: t.msg, signature: t.sig }),
      );
      results.push(verifyEcdsaSecp256k1(hexToBytes(pk), hexToBytes(t.msg), hexToBytes(t.sig)));
      return results.every((r) => r === expected(t))
        ? null
        : `tcId ${t.tcId} (${t.result}, ${t.comment}): [uncompressed, compressed, bytes]=${results.join(',')}`;
    });
    expect(bad).toEqual([]);
  });
});

describe('BIP-340 test-vectors.csv', () => {
  const [header, ...rows] = readFileSync(resolve(VECTORS, 'bip340-test-vectors.csv'), 'utf8').trim().split(/\r?\n/);
  const cases = rows.map((line) => {
    const f = line.split(',');
    // The CSV is upper case; items are lower case.
    const hex = (i: number): string => (f[i] ?? '').toLowerCase();
    return {
      index: f[0],
      secretKey: hex(1),
      publicKey: hex(2),
      auxRand: hex(3),
      message: hex(4),
      signature: hex(5),
      result: f[6] === 'TRUE',
      comment: f[7] ?? '',
    };
  });

  it('has every row', () => {
    expect(header.startsWith('index,secret key,public key,aux_rand,message,signature,verification result')).toBe(true);
    expect(cases.length).toBe(19);
  });

  it('verifies every row exactly', () => {
    const bad = mismatches(cases, (c) => {
      const viaItem = verifyItem({ scheme: 'bip340', publicKey: c.publicKey, message: c.message, signature: c.signature });
      const viaBytes = verifyBip340(hexToBytes(c.publicKey), hexToBytes(c.message), hexToBytes(c.signature));
      return viaItem === c.result && viaBytes === c.result
        ? null
        : `index ${c.index} (${c.result}, ${c.comment}): item=${viaItem} bytes=${viaBytes}`;
    });
    expect(bad).toEqual([]);
  });

  it('signs rows with a secret key to the exact signature', () => {
    const signing = cases.filter((c) => c.secretKey !== '');
    expect(signing.length).toBeGreaterThan(0);
    const bad = mismatches(signing, (c) => {
      const sig = Buffer.from(bip340Sign(hexToBytes(c.secretKey), hexToBytes(c.message), hexToBytes(c.auxRand)));
      return sig.toString('hex') === c.signature ? null : `index ${c.index}: got ${sig.toString('hex')}`;
    });
    expect(bad).toEqual([]);
  });
});
