import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { startVardiff, suggestedDifficulty, vardiffTick, type VardiffPolicy } from './vardiff.js';

const P: VardiffPolicy = { targetS: 15, retargetS: 90, variancePct: 30, minDiff: 0.0001, maxDiff: 1000 };

/** A miner of `rate` difficulty-1 shares per second at difficulty d finds one every 1/(rate/d) s. */
function simulate(rate: number, start: number, seconds: number): number {
  const s = startVardiff(start, 0);
  let credit = 0;
  for (let t = 0; t <= seconds * 1000; t += 100) {
    credit += (rate / s.difficulty) * 0.1;
    let share = false;
    if (credit >= 1) {
      credit -= 1;
      share = true;
    }
    vardiffTick(s, P, t, share);
  }
  return s.difficulty;
}

describe('vardiff', () => {
  it('keeps the difficulty while shares come within 30 % of 15 s', () => {
    const s = startVardiff(1, 0);
    for (let i = 1; i <= 6; i++) expect(vardiffTick(s, P, i * 15_000, true)).toBeNull();
    expect(s.difficulty).toBe(1);
  });

  it('raises by the observed ratio, at most x4 at once', () => {
    const s = startVardiff(1, 0);
    for (let i = 1; i <= 17; i++) vardiffTick(s, P, i * 5_000, true); // one share per 5 s: x3
    expect(vardiffTick(s, P, 90_000, true)).toBeCloseTo(3, 6);
    const fast = startVardiff(1, 0);
    for (let i = 1; i < 900; i++) vardiffTick(fast, P, i * 100, true);
    expect(vardiffTick(fast, P, 90_000, true)).toBe(4);
  });

  it('eases a silent device down, not below the minimum', () => {
    const s = startVardiff(0.0002, 0);
    expect(vardiffTick(s, P, 90_000, false)).toBe(0.0001);
    expect(vardiffTick(s, P, 180_000, false)).toBeNull();
  });

  it('converges an ESP32-class miner (~50 kH/s) to about one share per 15 s', () => {
    const rate = 50_000 / 2 ** 32; // difficulty-1 shares per second
    const d = simulate(rate, 0.001, 3_600);
    const interval = d / rate;
    expect(interval).toBeGreaterThan(15 * 0.6);
    expect(interval).toBeLessThan(15 * 1.4);
  });

  it('always stays within bounds (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 200_000 }), fc.boolean()), { maxLength: 200 }),
        fc.double({ min: 0.0001, max: 1000, noNaN: true }),
        (steps, start) => {
          const s = startVardiff(start, 0);
          let t = 0;
          for (const [dt, share] of steps) {
            t += dt;
            vardiffTick(s, P, t, share);
            expect(s.difficulty).toBeGreaterThanOrEqual(P.minDiff);
            expect(s.difficulty).toBeLessThanOrEqual(P.maxDiff);
          }
        },
      ),
    );
  });

  it('honours suggest_difficulty within bounds and ignores nonsense', () => {
    expect(suggestedDifficulty(0.5, P)).toBe(0.5);
    expect(suggestedDifficulty(1e9, P)).toBe(1000);
    expect(suggestedDifficulty(1e-12, P)).toBe(0.0001);
    expect(suggestedDifficulty(-1, P)).toBeNull();
    expect(suggestedDifficulty(Number.NaN, P)).toBeNull();
  });
});
