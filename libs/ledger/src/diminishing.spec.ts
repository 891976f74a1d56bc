import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diminishedReward } from './diminishing.js';

const d = { fullDevices: 5, stepBps: 5000 };

describe('diminishing returns per owner', () => {
  it('pays the first devices in full and halves each further one, saying why', () => {
    expect(diminishedReward(1000n, 1, d).amount).toBe(1000n);
    expect(diminishedReward(1000n, 5, d).amount).toBe(1000n);
    expect(diminishedReward(1000n, 6, d)).toEqual({
      amount: 500n,
      why: 'device 6 of its owner: above 5 devices each further one earns 50% of the previous, 1000 -> 500',
    });
    expect(diminishedReward(1000n, 8, d).amount).toBe(125n);
    expect(diminishedReward(1000n, 40, d).amount).toBe(0n);
  });

  it('never grows with rank and never exceeds the reward', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 10_000 }),
        (reward, rank, stepBps) => {
          const a = diminishedReward(reward, rank, { fullDevices: 5, stepBps }).amount;
          const b = diminishedReward(reward, rank + 1, { fullDevices: 5, stepBps }).amount;
          expect(a).toBeLessThanOrEqual(reward);
          expect(b).toBeLessThanOrEqual(a);
          expect(a).toBeGreaterThanOrEqual(0n);
        },
      ),
    );
  });
});
