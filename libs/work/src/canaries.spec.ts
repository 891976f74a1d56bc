import fc from 'fast-check';
import { SCHEMES, isHex, makeItem, verifyItem, type TxItem } from '@idlemint/crypto';
import { makeTransferMessage } from '@idlemint/protocol';
import { describe, expect, it } from 'vitest';
import { makeCanaries, makeCanary, plantCanaries, type Canary } from './canaries.js';

/**
 * A canary is only worth something if a device cannot tell it from real work and its recorded
 * answer is right: these tests hold canaries to the shape of a node's transfers.
 */

const bytes = (hex: string) => hex.length / 2;

/** Key and signature sizes a real item of each scheme can have (what makeItem produces for a node). */
function shapeOf(item: TxItem): string {
  const sig = bytes(item.signature);
  switch (item.scheme) {
    case 'ed25519':
    case 'bip340':
      return `${item.scheme}/pk${bytes(item.publicKey)}/sig${sig}`;
    case 'ecdsa-secp256k1':
      // strict DER: 30 len 02 lenR R 02 lenS S, 8..72 bytes
      return `${item.scheme}/pk${bytes(item.publicKey)}/der${item.signature.slice(0, 2)}${sig >= 8 && sig <= 72 ? '' : `/bad${sig}`}`;
    default:
      return `unknown:${item.scheme}`;
  }
}

describe('makeCanaries', () => {
  const canaries = makeCanaries(90);
  const real = Array.from({ length: 90 }, (_, i) =>
    makeItem(SCHEMES[i % SCHEMES.length]!, Buffer.from(makeTransferMessage(), 'hex'), true),
  );

  it('makes as many as asked, and none for zero', () => {
    expect(canaries).toHaveLength(90);
    expect(makeCanaries(0)).toEqual([]);
    expect(makeCanaries(1)).toHaveLength(1);
  });

  it('the first canary is always invalid', () => {
    for (let i = 0; i < 20; i++) {
      const [first] = makeCanaries(1 + (i % 3));
      expect(first!.valid).toBe(false);
      expect(verifyItem(first!.item)).toBe(false);
    }
  });

  it('every recorded answer is what verifyItem says', () => {
    for (const c of canaries) expect(verifyItem(c.item)).toBe(c.valid);
  });

  it('beyond the first, both answers occur', () => {
    const later = canaries.slice(1).map((c) => c.valid);
    expect(later).toContain(true);
    expect(later).toContain(false);
  });

  it('uses the same schemes as real items, all of them', () => {
    expect(new Set(canaries.map((c) => c.item.scheme))).toEqual(new Set(SCHEMES));
  });

  it('has exactly the fields of a real item, lowercase hex, 32-byte messages', () => {
    for (const { item } of canaries) {
      expect(Object.keys(item).sort()).toEqual(Object.keys(real[0]!).sort());
      expect(isHex(item.publicKey)).toBe(true);
      expect(isHex(item.signature)).toBe(true);
      expect(item.message).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('key and signature sizes match those of real items of the scheme', () => {
    const realShapes = new Set(real.map(shapeOf));
    // ECDSA keys come compressed (33) or not (65) at random: make sure both forms are in the real set
    for (let i = 0; i < 40; i++) realShapes.add(shapeOf(makeItem('ecdsa-secp256k1', Buffer.from(makeTransferMessage(), 'hex'), true)));
    for (const { item } of canaries) expect(realShapes).toContain(shapeOf(item));
  });

  it('messages are not repeated (no fingerprint across units)', () => {
    expect(new Set(canaries.map((c) => c.item.message)).size).toBe(canaries.length);
  });
});

describe('makeCanary', () => {
  it('makes a canary with the asked answer, in the shape of a real item', () => {
    for (const valid of [true, false, true, false, false, true]) {
      const c = makeCanary(valid);
      expect(c.valid).toBe(valid);
      expect(verifyItem(c.item)).toBe(valid);
      expect(SCHEMES).toContain(c.item.scheme);
      expect(c.item.message).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe('plantCanaries', () => {
  const fakeReal = (n: number): TxItem[] =>
    Array.from({ length: n }, (_, i) => ({ scheme: 'ed25519', publicKey: `r${i}`, message: `m${i}`, signature: `s${i}` }));
  const fakeCanaries = (valids: boolean[]): Canary[] =>
    valids.map((valid, i) => ({ item: { scheme: 'bip340', publicKey: `c${i}`, message: `cm${i}`, signature: `cs${i}` }, valid }));

  it('puts each canary at its recorded position with its answer, and keeps the real items in order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.array(fc.boolean(), { maxLength: 5 }), (n, valids) => {
        const real = fakeReal(n);
        const canaries = fakeCanaries(valids);
        const { items, positions } = plantCanaries(real, canaries);
        expect(items).toHaveLength(n + canaries.length);
        expect(positions).toHaveLength(canaries.length);
        // positions are distinct, in range, ascending
        const idx = positions.map((p) => p.index);
        expect(new Set(idx).size).toBe(idx.length);
        expect([...idx].sort((a, b) => a - b)).toEqual(idx);
        for (const p of positions) {
          expect(p.index).toBeGreaterThanOrEqual(0);
          expect(p.index).toBeLessThan(items.length);
          const c = canaries.find((x) => x.item === items[p.index]);
          expect(c, `item at ${p.index} is a canary`).toBeDefined();
          expect(p.valid).toBe(c!.valid);
        }
        // every canary planted once, and no item is a wrapper
        expect(new Set(positions.map((p) => items[p.index]))).toEqual(new Set(canaries.map((c) => c.item)));
        for (const it of items) expect('valid' in it).toBe(false);
        const rest = items.filter((_, i) => !idx.includes(i));
        expect(rest).toEqual(real);
      }),
      { numRuns: 500 },
    );
  });

  it('with real canaries, verifyItem at each position gives the recorded answer', () => {
    const real = Array.from({ length: 6 }, () => makeItem('ed25519', Buffer.from(makeTransferMessage(), 'hex'), true));
    const { items, positions } = plantCanaries(real, makeCanaries(3));
    expect(positions[0]).toBeDefined();
    expect(positions.some((p) => p.valid === false)).toBe(true);
    for (const p of positions) expect(verifyItem(items[p.index]!)).toBe(p.valid);
    const nonCanary = items.filter((_, i) => !positions.some((p) => p.index === i));
    for (const it of nonCanary) expect(verifyItem(it)).toBe(true);
  });

  it('places canaries at varying positions (not always first or last)', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(plantCanaries(fakeReal(5), fakeCanaries([false])).positions[0]!.index);
    expect(seen).toEqual(new Set([0, 1, 2, 3, 4, 5]));
  });
});
