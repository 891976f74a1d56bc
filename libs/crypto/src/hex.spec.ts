import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes, isHex, sha256Hex, toBytes } from './hex.js';
import { LruCache } from './lru.js';

describe('hex', () => {
  it('isHex accepts lowercase whole bytes, optionally of an exact length', () => {
    expect(isHex('')).toBe(true);
    expect(isHex('00ff')).toBe(true);
    expect(isHex('00ff', 2)).toBe(true);
    expect(isHex('00ff', 3)).toBe(false);
    expect(isHex('', 0)).toBe(true);
    for (const bad of ['0', 'abc', 'AB', '0x00', 'g0', ' 00', '00\n', 'é0']) expect(isHex(bad), bad).toBe(false);
    expect(isHex(null as unknown as string)).toBe(false);
    expect(isHex(12 as unknown as string)).toBe(false);
  });

  it('round-trips and refuses what Buffer.from would silently truncate', () => {
    expect(bytesToHex(hexToBytes('00a1ff'))).toBe('00a1ff');
    expect(bytesToHex(new Uint8Array([1, 2, 3]).subarray(1))).toBe('0203');
    expect(() => hexToBytes('00zz')).toThrow(TypeError);
    expect(() => hexToBytes('ABCD')).toThrow(TypeError);
  });

  it('sha256Hex hashes strings as UTF-8', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(new Uint8Array([0x61, 0x62, 0x63]))).toBe(sha256Hex('abc'));
    expect(sha256Hex('é')).toBe(sha256Hex(Buffer.from([0xc3, 0xa9])));
    expect(Buffer.from(toBytes('é')).toString('hex')).toBe('c3a9');
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entry beyond its bound and keeps null values', () => {
    const lru = new LruCache<string, number | null>(2);
    lru.set('a', 1);
    lru.set('b', null);
    expect(lru.get('a')).toBe(1); // a becomes most recent
    lru.set('c', 3);
    expect(lru.size).toBe(2);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    lru.set('d', null);
    expect(lru.get('a')).toBeUndefined();
    expect(lru.get('d')).toBeNull();
  });
});
