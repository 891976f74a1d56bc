import 'reflect-metadata';
import fc from 'fast-check';
import { PrismaService } from '@idlemint/core';
import { AssignmentsService, WorkQueues } from '@idlemint/work';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDevice,
  createFleet,
  createOwner,
  createUnit,
  flip,
  honestVerdicts,
  realPositions,
  signedResult,
  type Held,
  type TestDevice,
  startWorkPlatform,
  type WorkPlatform,
} from '../../../test/support/work.js';
import { VerificationService } from './index.js';

/**
 * The quorum cannot be gamed by one party alone, whatever it tries and in whatever order:
 * resubmitting (duplicates), several devices of one owner agreeing on the same wrong answer (a
 * ring), and submitting another device's result signature (a replay). Property-based over random
 * sequences of claims and submissions, on the real claim and submit paths (Postgres and Redis).
 * The adversaries are granted the worst case: they answer every canary right.
 */

type Move =
  | { kind: 'claim'; who: number }
  | { kind: 'ring-answer'; who: number }
  | { kind: 'duplicate'; who: number }
  | { kind: 'replay-signature'; who: number; from: number };

const WHO = 4; // devices 0..2: one owner's ring; device 3: a replayer of another owner

const moveArb: fc.Arbitrary<Move> = fc.oneof(
  fc.record({ kind: fc.constant('claim' as const), who: fc.integer({ min: 0, max: WHO - 1 }) }),
  fc.record({ kind: fc.constant('ring-answer' as const), who: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), who: fc.integer({ min: 0, max: WHO - 1 }) }),
  fc.record({
    kind: fc.constant('replay-signature' as const),
    who: fc.integer({ min: 0, max: WHO - 1 }),
    from: fc.integer({ min: 0, max: WHO - 1 }),
  }),
);

describe('quorum integrity (property)', () => {
  let platform: WorkPlatform;
  let db: PrismaService;
  let queues: WorkQueues;
  let assignments: AssignmentsService;
  let verification: VerificationService;

  beforeAll(async () => {
    platform = await startWorkPlatform('integrity', { CANARIES_UNTRUSTED: '2', QUARANTINE_STRIKES: '100' });
    db = platform.db;
    queues = platform.mod.get(WorkQueues);
    assignments = platform.mod.get(AssignmentsService);
    verification = platform.mod.get(VerificationService);
  });

  afterAll(() => platform?.close());

  it('duplicates, one owner’s ring and replayed signatures never verify a unit or credit anyone', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(moveArb, { minLength: 4, maxLength: 14 }), async (moves) => {
        const fleet = await createFleet(db, 8);
        const ringOwner = await createOwner(db);
        const devices: TestDevice[] = [];
        for (let i = 0; i < 3; i++) devices.push(await createDevice(db, fleet, ringOwner));
        devices.push(await createDevice(db, fleet, await createOwner(db)));
        const unit = await createUnit(db, { deviceClass: fleet.deviceClass, answers: '1101', quorum: 2, replicasIssued: 2 });
        for (const r of [1, 2]) await queues.addReplica(fleet.deviceClass, { unitId: unit.id, replica: r });

        const held = new Map<number, Held>();
        const sent = new Map<number, { verdicts: string; resultSignature: string }>();
        // The ring's agreed wrong answer on the unit's own items, with every canary answered right.
        const ringAnswer = (h: Held) => {
          let v = honestVerdicts(h.items);
          v = flip(v, realPositions(h)[0]!);
          return v;
        };
        for (const m of moves) {
          const d = devices[m.who]!;
          const h = held.get(m.who);
          switch (m.kind) {
            case 'claim': {
              if (h) break;
              const res = await assignments.claim(d, {});
              if (!res) break;
              const row = await db.assignment.findUniqueOrThrow({ where: { id: res.assignment.assignmentId } });
              held.set(m.who, {
                assignmentId: row.id,
                unitId: row.unitId,
                items: res.assignment.items,
                canaries: row.canaries as Held['canaries'],
              });
              break;
            }
            case 'ring-answer': {
              if (!h || sent.has(m.who)) break;
              const body = signedResult(d, h.unitId, ringAnswer(h));
              await verification.submit(d, h.assignmentId, body);
              sent.set(m.who, body);
              break;
            }
            case 'duplicate': {
              const body = sent.get(m.who);
              if (!h || !body) break;
              await verification.submit(d, h.assignmentId, body);
              break;
            }
            case 'replay-signature': {
              const theirs = sent.get(m.from);
              if (!h || !theirs || m.from === m.who || sent.has(m.who)) break;
              // Another device's verdicts and signature: the signature is not this device's.
              await expect(verification.submit(d, h.assignmentId, theirs)).rejects.toMatchObject({
                code: expect.stringMatching(/^WORK\.(RESULT_SIGNATURE_INVALID|VERDICTS_INVALID)$/),
              });
              break;
            }
          }
        }
        const after = await db.workUnit.findUniqueOrThrow({ where: { id: unit.id } });
        expect(after.status).not.toBe('verified');
        expect(await db.reward.count({ where: { unitId: unit.id } })).toBe(0);
        expect(await db.journalEntry.count({ where: { unitId: unit.id } })).toBe(0);
        // One owner never holds two replicas of the unit.
        const byOwner = await db.assignment.groupBy({ by: ['ownerId'], where: { unitId: unit.id }, _count: true });
        expect(byOwner.every((g) => g._count === 1)).toBe(true);
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
