import { describe, expect, it } from 'vitest';
import { ed25519FromSeed, ed25519Generate, ed25519Sign, ed25519VerifyHex, ed25519VerifyHexAsync, verifyEd25519 } from './ed25519.js';
import { hexToBytes, sha256Hex } from './hex.js';

// RFC 8032 section 7.1, tests 1 and 2 (also the device protocol's device and attestation keys).
const RFC1 = {
  seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  emptySig:
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
};
const RFC2 = {
  seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
  publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
};

/** Little-endian 32-byte encoding of y with an optional sign bit. */
function encodePoint(y: bigint, sign: boolean): string {
  const b = Buffer.alloc(32);
  for (let i = 0, v = y; i < 32; i++, v >>= 8n) b[i] = Number(v & 0xffn);
  if (sign) b[31] |= 0x80;
  return b.toString('hex');
}
const P = (1n << 255n) - 19n;
const BASE_POINT = '5866666666666666666666666666666666666666666666666666666666666666';
const S_ONE = '01' + '00'.repeat(31);
/** (R = B, S = 1) satisfies S*B = R + k*A for every message when A is the identity. */
const IDENTITY_FORGERY = BASE_POINT + S_ONE;

describe('ed25519 keys', () => {
  it('derives the RFC 8032 test 1 public key from its seed', () => {
    expect(ed25519FromSeed(RFC1.seed)).toEqual({ secretKey: RFC1.seed, publicKey: RFC1.publicKey });
    expect(ed25519FromSeed(RFC2.seed).publicKey).toBe(RFC2.publicKey);
  });

  it('signs the RFC 8032 test 1 empty message to the known signature', () => {
    expect(ed25519Sign(RFC1.seed, new Uint8Array(0))).toBe(RFC1.emptySig);
    expect(ed25519Sign(RFC1.seed, '')).toBe(RFC1.emptySig);
  });

  it('round-trips sign/verify with generated keys, strings as UTF-8', () => {
    for (let i = 0; i < 20; i++) {
      const kp = ed25519Generate();
      expect(kp.secretKey).toMatch(/^[0-9a-f]{64}$/);
      expect(ed25519FromSeed(kp.secretKey).publicKey).toBe(kp.publicKey);
      const text = `héllo ${i} ✓`;
      const sig = ed25519Sign(kp.secretKey, text);
      expect(sig).toMatch(/^[0-9a-f]{128}$/);
      expect(ed25519VerifyHex(kp.publicKey, text, sig)).toBe(true);
      expect(ed25519VerifyHex(kp.publicKey, Buffer.from(text, 'utf8'), sig)).toBe(true);
      expect(verifyEd25519(hexToBytes(kp.publicKey), Buffer.from(text, 'utf8'), hexToBytes(sig))).toBe(true);
      expect(ed25519VerifyHex(kp.publicKey, text + '.', sig)).toBe(false);
      expect(ed25519VerifyHex(RFC1.publicKey, text, sig)).toBe(false);
    }
  });

  it('throws on a malformed seed (caller bug), never on verify input', () => {
    expect(() => ed25519Sign('00', 'x')).toThrow(TypeError);
    expect(() => ed25519FromSeed(RFC1.seed.toUpperCase())).toThrow(TypeError);
    const junk: unknown[] = ['', 'zz', RFC1.publicKey.toUpperCase(), RFC1.publicKey + '00', null, undefined, 42];
    for (const j of junk) {
      expect(ed25519VerifyHex(j as string, '', RFC1.emptySig)).toBe(false);
      expect(ed25519VerifyHex(RFC1.publicKey, '', j as string)).toBe(false);
    }
    expect(ed25519VerifyHex(RFC1.publicKey, '', RFC1.emptySig)).toBe(true);
  });
});

describe('ed25519 device protocol v1 vectors (device-v1.md)', () => {
  const cert = {
    serial: 'ACME-FR-000123',
    model: 'acme-fridge-x1',
    issuedAt: '2026-11-01T00:00:00Z',
    signature:
      'ef1eb115ee06bdfe8015ae61f168fbb8ea5d58315759586b7804eb1b8078d245eefb7bb4bf9927fdc15af46af00335e720861764ae2dbf602a935a0feb2f8704',
  };

  it('reproduces the certificate, enroll request and result signatures', () => {
    const certText = ['IDLEMINT-CERT-V1', cert.serial, cert.model, RFC1.publicKey, RFC2.publicKey, cert.issuedAt].join('\n');
    expect(ed25519Sign(RFC2.seed, certText)).toBe(cert.signature);
    expect(ed25519VerifyHex(RFC2.publicKey, certText, cert.signature)).toBe(true);

    const body = JSON.stringify({
      certificate: {
        v: 1,
        serial: cert.serial,
        model: cert.model,
        devicePublicKey: RFC1.publicKey,
        attestationKey: RFC2.publicKey,
        issuedAt: cert.issuedAt,
        signature: cert.signature,
      },
    });
    const bodyHash = sha256Hex(body);
    expect(bodyHash).toBe('bcbf494bbab67017014da6916c5d51ab9292f52a8816a38e76121a7cc85e5b32');
    const signing = ['IDLEMINT-DEVICE-V1', 'POST', '/device/v1/enroll', '1795996800000', 'n-0001-a7f3c2', bodyHash].join('\n');
    expect(ed25519Sign(RFC1.seed, signing)).toBe(
      'f431f640e93aa9a3d8b2760ce55adfce55eb6ac705fbde1acae2c1d5eb1f3986fc4e52cf86cb2334d002a436fddcc47675a20bcd6e47ae5cbab0facad465090f',
    );

    const result = ['IDLEMINT-RESULT-V1', '01JD6Z3K8Q0000000000000000', '1011'].join('\n');
    expect(ed25519Sign(RFC1.seed, result)).toBe(
      'bf072ef7a21b824e733924a7f6e04cec70f366d70e5580b1fb94ba3c5ed11bb771116f7ef7c6d79039e4684006e12fb1e5f3f70ef9bd96ec644d880f7d10580c',
    );
  });
});

describe('ed25519 encodings OpenSSL would accept', () => {
  const msg = Buffer.from('any message at all');
  const identity = encodePoint(1n, false);

  it('accepts a small-order key in verifyEd25519 (RFC 8032) but refuses it in ed25519VerifyHex', () => {
    expect(verifyEd25519(hexToBytes(identity), msg, hexToBytes(IDENTITY_FORGERY))).toBe(true);
    expect(ed25519VerifyHex(identity, msg, IDENTITY_FORGERY)).toBe(false);
  });

  it('refuses non-canonical public keys: y >= p, and x = 0 with the sign bit set', () => {
    // OpenSSL 3.0 verifies all three of these; RFC 8032 decoding (5.1.3) fails for them.
    for (const key of [encodePoint(P + 1n, false), encodePoint(1n, true), encodePoint(P - 1n, true)]) {
      expect(verifyEd25519(hexToBytes(key), msg, hexToBytes(IDENTITY_FORGERY))).toBe(false);
      expect(ed25519VerifyHex(key, msg, IDENTITY_FORGERY)).toBe(false);
    }
  });

  it('refuses S >= L and non-canonical R', () => {
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const withS = (s: bigint): string => BASE_POINT + encodePoint(s, false);
    expect(verifyEd25519(hexToBytes(identity), msg, hexToBytes(withS(1n + L)))).toBe(false);
    expect(verifyEd25519(hexToBytes(identity), msg, hexToBytes(withS(L)))).toBe(false);
    expect(verifyEd25519(hexToBytes(identity), msg, hexToBytes(withS(L - 1n)))).toBe(false); // wrong R, sane S
    expect(verifyEd25519(hexToBytes(identity), msg, hexToBytes(encodePoint(P + 1n, false) + S_ONE))).toBe(false);
  });

  it('returns false on wrong lengths', () => {
    const pk = hexToBytes(RFC1.publicKey);
    const sig = hexToBytes(RFC1.emptySig);
    expect(verifyEd25519(pk, new Uint8Array(0), sig)).toBe(true);
    expect(verifyEd25519(pk.subarray(1), new Uint8Array(0), sig)).toBe(false);
    expect(verifyEd25519(pk, new Uint8Array(0), sig.subarray(0, 63))).toBe(false);
    expect(verifyEd25519(pk, new Uint8Array(0), Buffer.concat([sig, Buffer.of(0)]))).toBe(false);
  });
});

describe('ed25519VerifyHexAsync (thread pool)', () => {
  it('answers exactly as ed25519VerifyHex on good, bad, small-order, non-canonical and malformed input', async () => {
    const kp = ed25519Generate();
    const sig = ed25519Sign(kp.secretKey, 'hello');
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const cases: [string, string | Buffer, string][] = [
      [kp.publicKey, 'hello', sig],
      [kp.publicKey, 'hello.', sig],
      [RFC1.publicKey, 'hello', sig],
      [RFC1.publicKey, '', RFC1.emptySig],
      [encodePoint(1n, false), Buffer.from('any'), IDENTITY_FORGERY],
      [encodePoint(P + 1n, false), Buffer.from('any'), IDENTITY_FORGERY],
      [encodePoint(1n, false), Buffer.from('any'), BASE_POINT + encodePoint(L, false)],
      ['zz', 'hello', sig],
      [kp.publicKey, 'hello', sig.slice(2)],
    ];
    for (const [key, msg, s] of cases) {
      expect(await ed25519VerifyHexAsync(key, msg, s)).toBe(ed25519VerifyHex(key, msg, s));
    }
    expect(await ed25519VerifyHexAsync(kp.publicKey, 'hello', sig)).toBe(true);
  });
});
