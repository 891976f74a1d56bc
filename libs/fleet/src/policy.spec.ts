import { describe, expect, it } from 'vitest';
import { defaultPolicy, inHours, localHour, mayWork, mergePolicy, readOverride, type WorkingState } from './policy.js';

describe('mergePolicy', () => {
  it('is the default when no level sets anything', () => {
    expect(mergePolicy(8, { model: null, group: null, device: null })).toEqual(defaultPolicy(8));
    expect(defaultPolicy(8)).toEqual({ idleOnly: true, hours: { from: 0, to: 24 }, powerBudgetW: null, maxItems: 8 });
  });

  it('takes each field from the most specific level that sets it: device > group > model > default', () => {
    const merged = mergePolicy(8, {
      model: { idleOnly: false, hours: { from: 1, to: 5 }, powerBudgetW: 10, maxItems: 6 },
      group: { hours: { from: 22, to: 6 }, maxItems: 4 },
      device: { maxItems: 2 },
    });
    expect(merged).toEqual({ idleOnly: false, hours: { from: 22, to: 6 }, powerBudgetW: 10, maxItems: 2 });
  });

  it('lets a more specific level lift a power budget with null', () => {
    expect(mergePolicy(8, { model: { powerBudgetW: 10 }, group: null, device: { powerBudgetW: null } }).powerBudgetW).toBeNull();
    expect(mergePolicy(8, { model: { powerBudgetW: 10 }, group: {}, device: {} }).powerBudgetW).toBe(10);
  });

  it('reads stored overrides defensively: anything malformed sets nothing', () => {
    expect(readOverride(null)).toBeNull();
    expect(readOverride({ maxItems: 3 })).toEqual({ maxItems: 3 });
    expect(readOverride({ maxItems: 'many' })).toBeNull();
    expect(readOverride({ maxItems: 3, extra: true })).toBeNull();
  });
});

describe('hours', () => {
  it('[from, to) within a day, and windows that wrap past midnight', () => {
    expect([0, 8, 9, 16, 17, 23].map((h) => inHours(h, { from: 9, to: 17 }))).toEqual([false, false, true, true, false, false]);
    expect([21, 22, 23, 0, 5, 6, 12].map((h) => inHours(h, { from: 22, to: 6 }))).toEqual([false, true, true, true, true, false, false]);
    expect([0, 12, 23].every((h) => inHours(h, { from: 0, to: 24 }))).toBe(true);
  });

  it('reads the hour in the device time zone', () => {
    const at = new Date('2026-11-25T10:30:00Z');
    expect(localHour('UTC', at)).toBe(10);
    expect(localHour('Asia/Kolkata', at)).toBe(16); // +05:30
    expect(localHour('America/New_York', at)).toBe(5); // EST, -05:00
    expect(localHour('Pacific/Kiritimati', at)).toBe(0); // +14:00, the next day
    expect(localHour('Not/AZone', at)).toBe(10); // unknown: UTC
  });
});

describe('mayWork', () => {
  const state = (over: Partial<WorkingState> = {}, policy: Partial<WorkingState['policy']> = {}): WorkingState => ({
    manufacturerActive: true,
    status: 'active',
    timezone: 'UTC',
    live: { idle: null, powerW: null },
    ...over,
    policy: { ...defaultPolicy(4), ...policy },
  });
  const noon = new Date('2026-11-25T12:00:00Z');

  it('works by default, and with no heartbeat yet (the device was sent its policy)', () => {
    expect(mayWork(state(), noon)).toBe(true);
  });

  it('refuses a device whose latest heartbeat said busy when idleOnly, not otherwise', () => {
    expect(mayWork(state({ live: { idle: false, powerW: null } }), noon)).toBe(false);
    expect(mayWork(state({ live: { idle: true, powerW: null } }), noon)).toBe(true);
    expect(mayWork(state({ live: { idle: false, powerW: null } }, { idleOnly: false }), noon)).toBe(true);
  });

  it('refuses outside the local hours', () => {
    expect(mayWork(state({}, { hours: { from: 13, to: 17 } }), noon)).toBe(false);
    expect(mayWork(state({}, { hours: { from: 12, to: 13 } }), noon)).toBe(true);
    // 12:00 UTC is 17:30 in Kolkata.
    expect(mayWork(state({ timezone: 'Asia/Kolkata' }, { hours: { from: 12, to: 13 } }), noon)).toBe(false);
    expect(mayWork(state({ timezone: 'Asia/Kolkata' }, { hours: { from: 17, to: 18 } }), noon)).toBe(true);
  });

  it('refuses above the power budget', () => {
    expect(mayWork(state({ live: { idle: true, powerW: 12 } }, { powerBudgetW: 10 }), noon)).toBe(false);
    expect(mayWork(state({ live: { idle: true, powerW: 10 } }, { powerBudgetW: 10 }), noon)).toBe(true);
    expect(mayWork(state({ live: { idle: true, powerW: 999 } }), noon)).toBe(true);
  });

  it('refuses every device of a suspended manufacturer and any device not active', () => {
    expect(mayWork(state({ manufacturerActive: false }), noon)).toBe(false);
    for (const status of ['suspended', 'quarantined', 'revoked']) expect(mayWork(state({ status }), noon)).toBe(false);
  });
});
