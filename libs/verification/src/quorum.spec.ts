import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, passesCanaries, settleAudit, type Answer } from './quorum.js';

/**
 * decide() is the whole trust rule of the platform: these tests pin what a quorum is (distinct
 * devices AND distinct owners), when more replicas are asked for and when a unit is disputed.
 */

let seq = 0;
const ans = (deviceId: string, ownerId: string | null, verdicts: string): Answer => ({
  assignmentId: `as-${++seq}`,
  deviceId,
  ownerId,
  verdicts,
});
const opts = (o: Partial<{ quorum: number; answered: number; replicasIssued: number; maxReplicas: number }> = {}) => ({
  quorum: 2,
  answered: 2,
  replicasIssued: 2,
  maxReplicas: 5,
  ...o,
});

describe('decide, examples', () => {
  it('verifies two matching answers of different devices and owners', () => {
    const a = ans('d1', 'o1', '0110');
    const b = ans('d2', 'o2', '0110');
    const d = decide([a, b], opts());
    expect(d).toEqual({ kind: 'verified', verdicts: '0110', agreeing: [a, b], disagreeing: [] });
  });

  it('does not count two devices of one owner as two', () => {
    const d = decide([ans('d1', 'o1', '0110'), ans('d2', 'o1', '0110')], opts());
    expect(d).toEqual({ kind: 'more', replicas: 1 });
  });

  it('does not count one device twice', () => {
    const d = decide([ans('d1', 'o1', '0110'), ans('d1', 'o1', '0110')], opts());
    expect(d).toEqual({ kind: 'more', replicas: 1 });
    const unowned = decide([ans('d1', null, '0110'), ans('d1', null, '0110')], opts());
    expect(unowned).toEqual({ kind: 'more', replicas: 1 });
  });

  it('counts unowned devices as independent of each other', () => {
    const d = decide([ans('d1', null, '01'), ans('d2', null, '01')], opts());
    expect(d.kind).toBe('verified');
  });

  it('names the disagreeing answers when it verifies', () => {
    const a = ans('d1', 'o1', '01');
    const b = ans('d2', 'o2', '11');
    const c = ans('d3', 'o3', '01');
    const d = decide([a, b, c], opts({ answered: 3, replicasIssued: 3 }));
    expect(d).toEqual({ kind: 'verified', verdicts: '01', agreeing: [a, c], disagreeing: [b] });
  });

  it('waits while issued replicas are still out', () => {
    expect(decide([], opts({ answered: 0 }))).toEqual({ kind: 'wait' });
    expect(decide([ans('d1', 'o1', '01')], opts({ answered: 1 }))).toEqual({ kind: 'wait' });
    expect(decide([ans('d1', 'o1', '01'), ans('d2', 'o2', '10')], opts({ answered: 2, replicasIssued: 3 }))).toEqual({ kind: 'wait' });
  });

  it('asks for as many replicas as the best group misses', () => {
    const three = [ans('d1', 'o1', '00'), ans('d2', 'o2', '01'), ans('d3', 'o3', '10')];
    expect(decide(three, { quorum: 3, answered: 3, replicasIssued: 3, maxReplicas: 9 })).toEqual({ kind: 'more', replicas: 2 });
  });

  it('never asks beyond maxReplicas', () => {
    const three = [ans('d1', 'o1', '00'), ans('d2', 'o2', '01'), ans('d3', 'o3', '10')];
    expect(decide(three, { quorum: 3, answered: 3, replicasIssued: 3, maxReplicas: 4 })).toEqual({ kind: 'more', replicas: 1 });
  });

  it('disputes when no more replicas may be issued', () => {
    expect(decide([ans('d1', 'o1', '01'), ans('d2', 'o2', '10')], opts({ maxReplicas: 2 }))).toEqual({ kind: 'disputed' });
    // answers that failed their canaries count as answered but are not in `answers`
    expect(decide([], opts({ answered: 2, maxReplicas: 2 }))).toEqual({ kind: 'disputed' });
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** A fleet of up to 6 devices, each with one fixed owner (or none), as in the database. */
const fleetArb = fc.array(fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }), { minLength: 1, maxLength: 6 });

const scenarioArb = fleetArb.chain((owners) =>
  fc
    .record({
      picks: fc.array(
        fc.record({ device: fc.integer({ min: 0, max: owners.length - 1 }), verdicts: fc.constantFrom('00', '01', '10', '11') }),
        {
          maxLength: 8,
        },
      ),
      quorum: fc.integer({ min: 1, max: 4 }),
      extraAnswered: fc.integer({ min: 0, max: 2 }),
      extraIssued: fc.integer({ min: -2, max: 3 }),
      extraMax: fc.integer({ min: 0, max: 4 }),
    })
    .map(({ picks, quorum, extraAnswered, extraIssued, extraMax }) => {
      const answers = picks.map((p, i) => ({
        assignmentId: `a${i}`,
        deviceId: `d${p.device}`,
        ownerId: owners[p.device] === null ? null : `o${owners[p.device]}`,
        verdicts: p.verdicts,
      }));
      const answered = answers.length + extraAnswered;
      const replicasIssued = Math.max(quorum, answered + extraIssued);
      return { answers, quorum, answered, replicasIssued, maxReplicas: replicasIssued + extraMax };
    }),
);

/** Independent support of a verdict string: one per owner, and one per unowned device (oracle, not greedy). */
function support(answers: Answer[], verdicts: string): number {
  const owners = new Set<string>();
  const unowned = new Set<string>();
  for (const a of answers) {
    if (a.verdicts !== verdicts) continue;
    if (a.ownerId === null) unowned.add(a.deviceId);
    else owners.add(a.ownerId);
  }
  return owners.size + unowned.size;
}
const bestSupport = (answers: Answer[]) => Math.max(0, ...[...new Set(answers.map((a) => a.verdicts))].map((v) => support(answers, v)));

describe('decide, properties', () => {
  it('a verified decision rests on `quorum` answers with that verdict, distinct devices and distinct owners', () => {
    fc.assert(
      fc.property(scenarioArb, ({ answers, ...o }) => {
        const d = decide(answers, o);
        if (d.kind !== 'verified') return;
        expect(d.agreeing.length).toBeGreaterThanOrEqual(o.quorum);
        for (const a of d.agreeing) {
          expect(a.verdicts).toBe(d.verdicts);
          expect(answers).toContain(a);
        }
        expect(new Set(d.agreeing.map((a) => a.deviceId)).size).toBe(d.agreeing.length);
        const owned = d.agreeing.filter((a) => a.ownerId !== null).map((a) => a.ownerId);
        expect(new Set(owned).size).toBe(owned.length);
        expect(d.disagreeing.every((a) => a.verdicts !== d.verdicts)).toBe(true);
        expect(d.disagreeing).toEqual(answers.filter((a) => a.verdicts !== d.verdicts));
      }),
      { numRuns: 2000 },
    );
  });

  it('verifies exactly when some verdict has `quorum` independent answers', () => {
    fc.assert(
      fc.property(scenarioArb, ({ answers, ...o }) => {
        const d = decide(answers, o);
        expect(d.kind === 'verified').toBe(bestSupport(answers) >= o.quorum);
        if (d.kind === 'verified') expect(support(answers, d.verdicts)).toBe(bestSupport(answers));
      }),
      { numRuns: 2000 },
    );
  });

  it('answers of one owner never make a quorum of 2 or more, whatever devices they come from', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 2, max: 4 }),
        (devices, quorum) => {
          const answers = devices.map((d) => ans(`d${d}`, 'same-owner', '01'));
          const d = decide(answers, { quorum, answered: answers.length, replicasIssued: answers.length, maxReplicas: answers.length + 3 });
          expect(d.kind).not.toBe('verified');
        },
      ),
    );
  });

  it('duplicates of one device never count twice, owned or not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.boolean(), fc.integer({ min: 2, max: 4 }), (n, owned, quorum) => {
        const answers = Array.from({ length: n }, () => ans('one-device', owned ? 'o1' : null, '10'));
        const d = decide(answers, { quorum, answered: n, replicasIssued: n, maxReplicas: n + 3 });
        expect(d.kind).not.toBe('verified');
        if (d.kind === 'more') expect(d.replicas).toBe(Math.min(quorum - 1, 3));
      }),
    );
  });

  it('asks for more only when every issued replica answered, and never beyond maxReplicas', () => {
    fc.assert(
      fc.property(scenarioArb, ({ answers, ...o }) => {
        const d = decide(answers, o);
        if (d.kind === 'more') {
          expect(o.answered).toBeGreaterThanOrEqual(o.replicasIssued);
          expect(d.replicas).toBeGreaterThan(0);
          expect(o.replicasIssued + d.replicas).toBeLessThanOrEqual(o.maxReplicas);
          expect(d.replicas).toBe(Math.min(o.quorum - bestSupport(answers), o.maxReplicas - o.replicasIssued));
        }
        if (d.kind === 'wait') expect(o.answered).toBeLessThan(o.replicasIssued);
      }),
      { numRuns: 2000 },
    );
  });

  it('disputes exactly when there is no quorum, all issued answered, and no more may be issued', () => {
    fc.assert(
      fc.property(scenarioArb, ({ answers, ...o }) => {
        const d = decide(answers, o);
        const expected = bestSupport(answers) < o.quorum && o.answered >= o.replicasIssued && o.replicasIssued >= o.maxReplicas;
        expect(d.kind === 'disputed').toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('does not depend on the order the answers came in, as far as the outcome goes', () => {
    fc.assert(
      fc.property(
        scenarioArb.chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray(s.answers, { minLength: s.answers.length }))),
        ([{ answers, ...o }, shuffled]) => {
          const x = decide(answers, o);
          const y = decide(shuffled, o);
          expect(y.kind).toBe(x.kind);
          if (x.kind === 'more' && y.kind === 'more') expect(y.replicas).toBe(x.replicas);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('passesCanaries', () => {
  it('accepts the known answers and refuses any wrong one', () => {
    const canaries = [
      { index: 0, valid: false },
      { index: 3, valid: true },
    ];
    expect(passesCanaries('0111', canaries)).toBe(true);
    expect(passesCanaries('0000', canaries)).toBe(false);
    expect(passesCanaries('1111', canaries)).toBe(false);
    expect(passesCanaries('0110', canaries)).toBe(false);
  });

  it('refuses a verdict string too short to answer a canary', () => {
    expect(passesCanaries('0', [{ index: 3, valid: false }])).toBe(false);
    expect(passesCanaries('', [{ index: 0, valid: true }])).toBe(false);
  });

  it('passes a unit without canaries', () => {
    expect(passesCanaries('0101', [])).toBe(true);
  });

  it('property: right at every canary passes, one flipped canary fails', () => {
    fc.assert(
      fc.property(
        fc
          .string({ unit: fc.constantFrom('0', '1'), minLength: 1, maxLength: 40 })
          .chain((v) =>
            fc.tuple(
              fc.constant(v),
              fc.uniqueArray(fc.integer({ min: 0, max: v.length - 1 }), { minLength: 1, maxLength: Math.min(5, v.length) }),
            ),
          ),
        ([verdicts, at]) => {
          const canaries = at.map((index) => ({ index, valid: verdicts[index] === '1' }));
          expect(passesCanaries(verdicts, canaries)).toBe(true);
          for (const c of canaries) {
            const wrong = verdicts.slice(0, c.index) + (verdicts[c.index] === '1' ? '0' : '1') + verdicts.slice(c.index + 1);
            expect(passesCanaries(wrong, canaries)).toBe(false);
          }
        },
      ),
    );
  });
});

describe('independence beyond owners (issue 13)', () => {
  const a = (id: string, owner: string, verdicts: string, extra: Partial<Answer> = {}): Answer => ({
    assignmentId: `a-${id}`,
    deviceId: id,
    ownerId: owner,
    verdicts,
    ...extra,
  });
  const opts = { quorum: 2, answered: 2, replicasIssued: 2, maxReplicas: 5 };

  it('two answers from one network origin are one voice', () => {
    const d = decide([a('x', 'o1', '01', { origin: '192.0.2.7' }), a('y', 'o2', '01', { origin: '192.0.2.7' })], opts);
    expect(d).toEqual({ kind: 'more', replicas: 1 });
  });

  it('where the unit needs two manufacturers, one brand never verifies it, however many agree', () => {
    const same = { manufacturerId: 'm1' };
    const answers = [a('x', 'o1', '01', same), a('y', 'o2', '01', same), a('z', 'o3', '01', same)];
    expect(decide(answers, { ...opts, answered: 3, replicasIssued: 3, minManufacturers: 2 })).toEqual({ kind: 'more', replicas: 1 });
    const mixed = [...answers, a('w', 'o4', '01', { manufacturerId: 'm2' })];
    expect(decide(mixed, { ...opts, answered: 4, replicasIssued: 4, minManufacturers: 2 })).toMatchObject({
      kind: 'verified',
      verdicts: '01',
    });
  });

  it('settles a contested audit by strict independent majority; a tie is undecided', () => {
    const made = [a('x', 'o1', '01'), a('y', 'o2', '01')];
    expect(settleAudit('01', [...made, a('aud', 'o3', '11'), a('t1', 'o4', '01'), a('t2', 'o5', '11')])).toMatchObject({ kind: 'upheld' });
    expect(settleAudit('01', [...made, a('aud', 'o3', '11'), a('t1', 'o4', '11'), a('t2', 'o5', '11')])).toMatchObject({
      kind: 'overturned',
      verdicts: '11',
    });
    expect(settleAudit('01', [...made, a('aud', 'o3', '11'), a('t1', 'o4', '11')])).toEqual({ kind: 'undecided' });
    // the auditor and tie-breakers of one owner are one voice
    expect(settleAudit('01', [...made, a('aud', 'o3', '11'), a('t1', 'o3', '11'), a('t2', 'o3', '11')])).toMatchObject({ kind: 'upheld' });
  });
});
