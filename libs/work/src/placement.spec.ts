import { describe, expect, it } from 'vitest';
import { auditSampled, networkOrigin, placementPriority, seededUniform } from './placement.js';

describe('placement', () => {
  it('orders replica jobs reproducibly from a seed, and differently under another seed', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `unit-${i}-r1`);
    const order = (seed: string) => [...ids].sort((a, b) => placementPriority(seed, a) - placementPriority(seed, b));
    expect(order('s1')).toEqual(order('s1'));
    expect(order('s1')).not.toEqual(order('s2'));
    expect(order('s1')).not.toEqual(ids); // not the order they were cut in
    for (const id of ids) {
      const p = placementPriority('s1', id);
      expect(p).toBeGreaterThanOrEqual(1);
      expect(p).toBeLessThanOrEqual(2 ** 21);
    }
  });

  it('separates the two replicas of a unit: their places in the queue are unrelated', () => {
    // Over many units, the second replica is as often before the first as after it.
    let before = 0;
    for (let i = 0; i < 2000; i++) if (placementPriority('seed', `u${i}-r2`) < placementPriority('seed', `u${i}-r1`)) before++;
    expect(before).toBeGreaterThan(850);
    expect(before).toBeLessThan(1150);
  });

  it('samples audits at the configured rate, reproducibly', () => {
    const n = 20_000;
    let sampled = 0;
    for (let i = 0; i < n; i++) if (auditSampled('seed', `unit-${i}`, 0.1)) sampled++;
    expect(sampled / n).toBeGreaterThan(0.09);
    expect(sampled / n).toBeLessThan(0.11);
    expect(auditSampled('seed', 'unit-1', 0)).toBe(false);
    expect(auditSampled('seed', 'unit-7', 0.5)).toBe(auditSampled('seed', 'unit-7', 0.5));
    expect(seededUniform('a', 'b')).toBeLessThan(1);
  });

  it('takes an IPv4 address as it is, IPv6 by its /64, and nothing from garbage', () => {
    expect(networkOrigin('203.0.113.7')).toBe('203.0.113.7');
    expect(networkOrigin('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(networkOrigin('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(networkOrigin('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(networkOrigin('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(networkOrigin('not an ip')).toBeNull();
    expect(networkOrigin(undefined)).toBeNull();
  });
});
