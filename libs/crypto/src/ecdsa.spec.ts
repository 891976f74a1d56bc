import { describe, expect, it } from 'vitest';
import { ecdsaSigner, encodeDer, normaliseLowS, parseStrictDer, SECP256K1_N, verifyEcdsaSecp256k1 } from './ecdsa.js';
import { hexToBytes } from './hex.js';

const HALF_N = SECP256K1_N >> 1n;
const msg = Buffer.from('pay 1 sat');

function der(hex: string): Uint8Array {
  return hexToBytes(hex);
}

describe('parseStrictDer (BIP-66)', () => {
  it('accepts minimal encodings, including a 33-byte r with its 0x00 sign pad', () => {
    expect(parseStrictDer(der('3006020101020101'))).toEqual({ r: 1n, s: 1n });
    expect(parseStrictDer(der('300702020080020101'))).toEqual({ r: 0x80n, s: 1n });
    const big = encodeDer({ r: SECP256K1_N - 1n, s: HALF_N });
    expect(big.length).toBe(71);
    expect(parseStrictDer(big)).toEqual({ r: SECP256K1_N - 1n, s: HALF_N });
  });

  it.each([
    ['empty', ''],
    ['too short', '30050201010201'],
    ['wrong tag', '3106020101020101'],
    ['length too long', '3007020101020101'],
    ['length too short', '3005020101020101'],
    ['trailing byte', '300602010102010100'],
    ['long-form length', '308106020101020101'],
    ['r not an INTEGER', '3006030101020101'],
    ['s not an INTEGER', '3006020101030101'],
    ['zero-length r', '30050200020101'],
    ['zero-length s', '30050201010200'],
    ['negative r', '3006020181020101'],
    ['negative s', '3006020101020181'],
    ['padded r', '300702020001020101'],
    ['padded s', '300702010102020001'],
    ['r = 0', '3006020100020101'],
    ['s = 0', '3006020101020100'],
    ['r longer than the sequence', '3006020901020101'],
    ['s longer than the sequence', '3006020101020201'],
  ])('refuses %s', (_name, hex) => {
    expect(parseStrictDer(der(hex))).toBeNull();
  });

  it('refuses r or s = n', () => {
    expect(parseStrictDer(encodeDer({ r: SECP256K1_N, s: 1n }))).toBeNull();
    expect(parseStrictDer(encodeDer({ r: 1n, s: SECP256K1_N }))).toBeNull();
  });
});

describe('verifyEcdsaSecp256k1', () => {
  it('verifies low-S signatures with both key forms and refuses their high-S twins', () => {
    for (const compressed of [true, false]) {
      for (let i = 0; i < 10; i++) {
        const signer = ecdsaSigner(compressed);
        expect(signer.publicKey.length).toBe(compressed ? 33 : 65);
        const sig = signer.sign(msg);
        const parsed = parseStrictDer(sig);
        expect(parsed).not.toBeNull();
        expect(parsed!.s <= HALF_N).toBe(true);
        expect(verifyEcdsaSecp256k1(signer.publicKey, msg, sig)).toBe(true);
        expect(verifyEcdsaSecp256k1(signer.publicKey, Buffer.from('pay 2 sat'), sig)).toBe(false);
        const high = encodeDer({ r: parsed!.r, s: SECP256K1_N - parsed!.s });
        expect(verifyEcdsaSecp256k1(signer.publicKey, msg, high)).toBe(false);
        expect(normaliseLowS({ r: parsed!.r, s: SECP256K1_N - parsed!.s })).toEqual(parsed);
      }
    }
  });

  it('refuses keys that are malformed, hybrid, off the curve or out of the field', () => {
    const signer = ecdsaSigner(false);
    const sig = signer.sign(msg);
    const pk = Buffer.from(signer.publicKey);
    const parity = pk[64] & 1;
    const variant = (f: (b: Buffer) => Buffer): Buffer => f(Buffer.from(pk));
    const bad: Buffer[] = [
      Buffer.alloc(0),
      Buffer.of(0), // SEC1 point at infinity
      pk.subarray(0, 64),
      Buffer.concat([pk, Buffer.of(0)]),
      variant((b) => ((b[0] = 0x06 | parity), b)), // hybrid: OpenSSL accepts the right-parity one
      variant((b) => ((b[0] = 0x07 ^ parity), b)),
      variant((b) => ((b[64] ^= 1), b)), // off the curve
      Buffer.concat([Buffer.of(0x04 ^ 0x01), pk.subarray(1)]),
      Buffer.concat([Buffer.of(0x02 | (parity ^ 1)), pk.subarray(1, 33)]), // other y: valid point, wrong key
      Buffer.concat([Buffer.of(0x02), Buffer.alloc(32, 0xff)]), // x >= p
    ];
    for (const key of bad) expect(verifyEcdsaSecp256k1(key, msg, sig), key.toString('hex')).toBe(false);
    expect(verifyEcdsaSecp256k1(pk, msg, sig)).toBe(true);
    expect(verifyEcdsaSecp256k1(Buffer.concat([Buffer.of(0x02 | parity), pk.subarray(1, 33)]), msg, sig)).toBe(true);
  });
});
