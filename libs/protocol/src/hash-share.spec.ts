import { difficultyToTarget, headerHash, sha256Hex, stratumHeader, type StratumJob } from '@idlemint/crypto';
import { describe, expect, it } from 'vitest';
import { signDeviceRequest } from './device-client.js';
import { hashShareSubmitBodySchema } from './hash-share.js';

// The vectors of docs/protocol/hash-share-v1.md: if one of these changes, the document (and every
// firmware built against it) is wrong.
const DEVICE = {
  secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
};
const GENESIS_JOB: StratumJob = {
  prevHash: '0'.repeat(64),
  coinb1: '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d010445',
  coinb2:
    '732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000',
  merkleBranch: [],
  version: '00000001',
  nbits: '1d00ffff',
  ntime: '495fab29',
};

describe('hash-share/1 vectors', () => {
  it('vector 1: the genesis block as a job and a share rebuilds the genesis header', () => {
    const header = stratumHeader(GENESIS_JOB, { extranonce1: '54686520', extranonce2: '54696d65', ntime: '495fab29', nonce: '7c2bac1d' });
    expect(headerHash(header)).toBe('000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
  });

  it('vector 2: a signed shares request', () => {
    const body = JSON.stringify({ jobId: '0a1b2c3d', shares: [{ extranonce2: '54696d65', ntime: '495fab29', nonce: '7c2bac1d' }] });
    expect(hashShareSubmitBodySchema.safeParse(JSON.parse(body)).success).toBe(true);
    expect(sha256Hex(body)).toBe('06f663113bed95815ae5600b10146b425a7613245949aebaf5706a37dfd9a3c8');
    expect(
      signDeviceRequest(DEVICE, 'POST', '/device/v1/hash-share/shares', body, 1795996800000, 'n-0002-b8e4d1')['x-device-signature'],
    ).toBe(
      'ef25221eb4289fb26450b97d1f7bc22e2c2f47df8e9672f6e0b95f0b10e434e36a6e3e1a5d5110f2131d8d33009bdccf746db3ca5f99e2801c2e61003e3c4606',
    );
  });

  it('vector 3: the share target of difficulty 0.001', () => {
    expect(difficultyToTarget(0.001).toString(16).padStart(64, '0')).toBe('000003e7fc18' + '0'.repeat(52));
  });
});
