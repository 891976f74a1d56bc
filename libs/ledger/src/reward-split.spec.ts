import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitReward, type Shares } from './reward-split.js';

const MAX_REWARD = 10n ** 30n;

/** Any three non-negative basis-point shares adding up to 10,000: two cut points on [0, 10000]. */
const shares: fc.Arbitrary<Shares> = fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 })).map(([a, b]) => {
  const [lo, hi] = a <= b ? [a, b] : [b, a];
  return { ownerBps: lo, manufacturerBps: hi - lo, operatorBps: 10_000 - hi };
});

const rewards = fc.bigInt({ min: 0n, max: MAX_REWARD });

describe('splitReward', () => {
  it('gives non-negative parts that add up to the reward exactly, owner and manufacturer rounded down', () => {
    fc.assert(
      fc.property(rewards, shares, (reward, s) => {
        const { owner, manufacturer, operator } = splitReward(reward, s);

        expect(owner).toBeGreaterThanOrEqual(0n);
        expect(manufacturer).toBeGreaterThanOrEqual(0n);
        expect(operator).toBeGreaterThanOrEqual(0n);
        expect(owner + manufacturer + operator).toBe(reward);
        expect(owner).toBe((reward * BigInt(s.ownerBps)) / 10_000n);
        expect(manufacturer).toBe((reward * BigInt(s.manufacturerBps)) / 10_000n);
        // The operator takes the remainder: its exact share plus under two minor units of rounding.
        const operatorExact = reward * BigInt(s.operatorBps);
        expect(operator * 10_000n).toBeGreaterThanOrEqual(operatorExact);
        expect(operator * 10_000n).toBeLessThan(operatorExact + 20_000n);
      }),
      { numRuns: 100 },
    );
  });

  it('splits exactly when the reward divides evenly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_REWARD / 10_000n }), shares, (units, s) => {
        const reward = units * 10_000n;
        expect(splitReward(reward, s)).toEqual({
          owner: units * BigInt(s.ownerBps),
          manufacturer: units * BigInt(s.manufacturerBps),
          operator: units * BigInt(s.operatorBps),
        });
      }),
      { numRuns: 100 },
    );
  });

  it('leaves the rounding to the operator', () => {
    expect(splitReward(1n, { ownerBps: 5_000, manufacturerBps: 5_000, operatorBps: 0 })).toEqual({
      owner: 0n,
      manufacturer: 0n,
      operator: 1n,
    });
    expect(splitReward(0n, { ownerBps: 7_000, manufacturerBps: 2_000, operatorBps: 1_000 })).toEqual({
      owner: 0n,
      manufacturer: 0n,
      operator: 0n,
    });
    expect(splitReward(MAX_REWARD, { ownerBps: 10_000, manufacturerBps: 0, operatorBps: 0 })).toEqual({
      owner: MAX_REWARD,
      manufacturer: 0n,
      operator: 0n,
    });
  });

  it('refuses a negative reward and shares that do not add up to 10,000', () => {
    expect(() => splitReward(-1n, { ownerBps: 7_000, manufacturerBps: 2_000, operatorBps: 1_000 })).toThrow(RangeError);
    expect(() => splitReward(1n, { ownerBps: 7_000, manufacturerBps: 2_000, operatorBps: 999 })).toThrow(RangeError);
    expect(() => splitReward(1n, { ownerBps: 7_000, manufacturerBps: 2_000, operatorBps: 1_001 })).toThrow(RangeError);
  });
});
