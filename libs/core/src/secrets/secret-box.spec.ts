import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.js';

const box = new SecretBox('k1', randomBytes(32));

describe('SecretBox (envelope encryption)', () => {
  it('seals with a fresh data key, the key id beside it, and opens again', () => {
    const a = box.seal('alert-webhook-secret', 'whsec_hello');
    const b = box.seal('alert-webhook-secret', 'whsec_hello');
    expect(a).toMatch(/^enc:v1:k1:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/);
    expect(a).not.toContain('hello');
    expect(a).not.toBe(b);
    expect(box.open('alert-webhook-secret', a)).toBe('whsec_hello');
  });

  it('refuses another purpose, another key, and a changed byte', () => {
    const sealed = box.seal('platform-key-seed', 'ab'.repeat(32));
    expect(() => box.open('alert-webhook-secret', sealed)).toThrow();
    expect(() => new SecretBox('k1', randomBytes(32)).open('platform-key-seed', sealed)).toThrow();
    expect(() => new SecretBox('k2', randomBytes(32)).open('platform-key-seed', sealed)).toThrow(/key "k1"/);
    const last = sealed.at(-2) === 'A' ? 'B' : 'A';
    expect(() => box.open('platform-key-seed', `${sealed.slice(0, -2)}${last}${sealed.at(-1)}`)).toThrow();
  });

  it('reads a value written before encryption as it is', () => {
    expect(box.open('alert-webhook-secret', 'whsec_legacy')).toBe('whsec_legacy');
  });
});
