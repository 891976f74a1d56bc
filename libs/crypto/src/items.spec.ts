import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseStrictDer } from './ecdsa.js';
import { isHex } from './hex.js';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bip340Sign } from './bip340.js';
import { makeItem, SenderPool, verifyItem } from './items.js';
import { SCHEMES, type Scheme, type TxItem } from './types.js';

const KEY_BYTES: Record<Scheme, number[]> = { ed25519: [32], bip340: [32], 'ecdsa-secp256k1': [33, 65] };

/** Shape shared by valid and invalid items: what a device can check without doing any crypto. */
function expectShape(scheme: Scheme, item: TxItem, message: string): void {
  expect(item.scheme).toBe(scheme);
  expect(item.message).toBe(message);
  for (const field of [item.publicKey, item.message, item.signature]) expect(isHex(field)).toBe(true);
  expect(KEY_BYTES[scheme]).toContain(item.publicKey.length / 2);
  if (scheme === 'ecdsa-secp256k1') {
    expect(parseStrictDer(Buffer.from(item.signature, 'hex'))).not.toBeNull();
  } else {
    expect(item.signature.length).toBe(128);
  }
}

describe('verifyItem on malformed input', () => {
  const good = Object.fromEntries(SCHEMES.map((s) => [s, makeItem(s, 'hello', true)])) as Record<Scheme, TxItem>;

  it('accepts the well-formed items', () => {
    for (const s of SCHEMES) expect(verifyItem(good[s])).toBe(true);
  });

  it.each(SCHEMES)('%s: refuses odd, non-hex, uppercase, empty and wrong-length fields', (scheme) => {
    const item = good[scheme];
    const fields = ['publicKey', 'message', 'signature'] as const;
    for (const field of fields) {
      const v = item[field];
      const variants = [v + '0', v.slice(0, -1), 'zz' + v.slice(2), ` ${v}`, `0x${v}`];
      if (/[a-f]/.test(v)) variants.push(v.toUpperCase());
      if (field !== 'message') variants.push('', v + '00', v.slice(0, -2), '00' + v);
      for (const bad of variants) expect(verifyItem({ ...item, [field]: bad }), `${field}=${bad}`).toBe(false);
    }
  });

  it('refuses unknown schemes and non-items without throwing', () => {
    expect(verifyItem({ ...good.ed25519, scheme: 'ED25519' })).toBe(false);
    expect(verifyItem({ ...good.ed25519, scheme: 'bip340' })).toBe(false);
    expect(verifyItem({ ...good.bip340, scheme: 'ed25519' })).toBe(false);
    const junk: unknown[] = [null, undefined, 1, 'x', [], {}, { scheme: 'ed25519' }, { ...good.ed25519, message: 5 }];
    for (const j of junk) expect(verifyItem(j as TxItem)).toBe(false);
  });

  it('refuses an all-zero key or signature of the right length', () => {
    for (const s of SCHEMES) {
      const item = good[s];
      expect(verifyItem({ ...item, publicKey: '00'.repeat(item.publicKey.length / 2) })).toBe(false);
      expect(verifyItem({ ...item, signature: '00'.repeat(item.signature.length / 2) })).toBe(false);
    }
  });
});

describe('makeItem', () => {
  const message = fc.oneof(fc.uint8Array({ maxLength: 96 }), fc.string({ unit: 'grapheme', maxLength: 40 }));

  it.each(SCHEMES)('%s: valid items verify, invalid ones do not, both with the same shape', (scheme) => {
    fc.assert(
      fc.property(message, fc.boolean(), (msg, valid) => {
        const item = makeItem(scheme, msg, valid);
        const hex = Buffer.from(typeof msg === 'string' ? Buffer.from(msg, 'utf8') : msg).toString('hex');
        expectShape(scheme, item, hex);
        expect(verifyItem(item)).toBe(valid);
      }),
      { numRuns: 50 },
    );
  });

  it('uses fresh keys and both SEC1 key forms for ECDSA', () => {
    const keys = Array.from({ length: 24 }, () => makeItem('ecdsa-secp256k1', 'x', true).publicKey);
    expect(new Set(keys).size).toBe(keys.length);
    const lengths = new Set(keys.map((k) => k.length / 2));
    expect(lengths).toEqual(new Set([33, 65]));
  });

  it('produces the high-S corruption among ECDSA invalid items', () => {
    // One in four corruptions is high-S; 64 draws miss it with probability ~1e-8.
    const highS = Array.from({ length: 64 }, () => makeItem('ecdsa-secp256k1', 'y', false)).some((item) => {
      const sig = parseStrictDer(Buffer.from(item.signature, 'hex'));
      return sig !== null && sig.s > 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
    });
    expect(highS).toBe(true);
  });

  it('refuses unknown schemes', () => {
    expect(() => makeItem('rsa' as Scheme, 'x', true)).toThrow(TypeError);
  });
});

/** A signature as hex, or `throws` (both signers refuse a secret key out of range). */
const outcome = (sign: () => Uint8Array): string => {
  try {
    return Buffer.from(sign()).toString('hex');
  } catch {
    return 'throws';
  }
};

describe('items from a sender pool', () => {
  it('verify like fresh-key items, invalid ones fail, and senders recur', () => {
    const senders = new SenderPool(4);
    for (const scheme of SCHEMES) {
      const keys = new Set<string>();
      for (let i = 0; i < 24; i++) {
        const valid = i % 3 !== 0;
        const item = makeItem(scheme, Buffer.from(`transfer ${i}`), valid, senders);
        expect(verifyItem(item), `${scheme} #${i}`).toBe(valid);
        if (valid) keys.add(item.publicKey);
      }
      expect(keys.size).toBeLessThanOrEqual(4);
    }
  });

  it('BIP-340 signing without the self-check gives the signature noble gives, for random keys and messages', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (sk, msg, aux) => outcome(() => bip340Sign(sk, msg, aux)) === outcome(() => schnorr.sign(msg, sk, aux)),
      ),
      { numRuns: 100 },
    );
  });
});
