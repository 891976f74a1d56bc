import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { afterAgreed, afterStrike, isTrusted, nextQuota, reputationScore, type Reputation } from './reputation.js';

const policy = { trustAfter: 10, strikeDecayEvery: 20, quarantineStrikes: 3, revokeAfterQuarantines: 3 };
const fresh: Reputation = { consecutiveValid: 0, strikes: 0, quarantineCount: 0 };
const agreedTimes = (r: Reputation, n: number) => Array.from({ length: n }).reduce<Reputation>((x) => afterAgreed(x, policy), r);

describe('reputation', () => {
  it('is earned by a run of agreed results and lost at the first strike', () => {
    expect(isTrusted(agreedTimes(fresh, 9), policy.trustAfter)).toBe(false);
    const proven = agreedTimes(fresh, 10);
    expect(isTrusted(proven, policy.trustAfter)).toBe(true);
    expect(reputationScore(proven, policy)).toBe(1);
    const struck = afterStrike(proven, policy);
    expect(struck.action).toBe('none');
    expect(isTrusted(struck.next, policy.trustAfter)).toBe(false);
    expect(struck.next.consecutiveValid).toBe(0);
    expect(reputationScore(struck.next, policy)).toBe(0);
  });

  it('quarantines at the third strike, revokes at the third quarantine', () => {
    let r = fresh;
    const actions: string[] = [];
    for (let q = 0; q < 3; q++) {
      for (let s = 0; s < 3; s++) {
        const { next, action } = afterStrike(r, policy);
        r = next;
        actions.push(action);
      }
      r = { ...r, strikes: 0 }; // released by the manufacturer
    }
    expect(actions).toEqual(['none', 'none', 'quarantine', 'none', 'none', 'quarantine', 'none', 'none', 'revoke']);
  });

  it('forgives one strike per 20 agreed results in a row', () => {
    const struck = afterStrike(agreedTimes(fresh, 5), policy).next;
    expect(agreedTimes(struck, 19).strikes).toBe(1);
    expect(agreedTimes(struck, 20).strikes).toBe(0);
    expect(isTrusted(agreedTimes(struck, 20), policy.trustAfter)).toBe(true);
  });

  it('scores stay within 0..1 and never trust a device with a strike outstanding', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 80 }), (events) => {
        let r = fresh;
        for (const ok of events) r = ok ? afterAgreed(r, policy) : afterStrike(r, policy).next;
        const s = reputationScore(r, policy);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
        if (r.strikes > 0) expect(isTrusted(r, policy.trustAfter)).toBe(false);
      }),
    );
  });
});

describe('quota', () => {
  it('doubles on agreement up to the cap, halves on errors and missed deadlines, never below 1', () => {
    expect(nextQuota(200, 'agreed', 300)).toBe(300);
    expect(nextQuota(100, 'agreed', 300)).toBe(200);
    expect(nextQuota(200, 'strike', 300)).toBe(100);
    expect(nextQuota(3, 'missed', 300)).toBe(1);
    expect(nextQuota(1, 'strike', 300)).toBe(1);
  });
});
