import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@idlemint/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzFixtures, fuzzLine, runFuzz, type OpenApi } from '../../../scripts/lib/fuzz.js';
import { scratchDatabase } from '../../../test/support/scratch.js';
import { OPERATOR_KEY, startApi, type RunningApi } from './support/api.js';

/**
 * The short version of `npm run fuzz` (scripts/lib/fuzz.ts): a few mutated requests for every
 * operation of openapi.json; none may answer 5xx, every error must be in the envelope.
 */
describe('spec-driven fuzz (short)', () => {
  let api: RunningApi;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await scratchDatabase('fuzz');
    drop = db.drop;
    api = await startApi(db.url, {
      MANUFACTURER_RATE_PER_MIN: '1000000',
      OWNER_RATE_PER_MIN: '1000000',
      OPERATOR_RATE_PER_MIN: '1000000',
      DEVICE_RATE_PER_MIN: '1000000',
      ALLOW_PRIVATE_WEBHOOKS: 'true',
    });
  });

  afterAll(async () => {
    await api?.close();
    await drop?.();
  });

  it('every operation, mutated: no 5xx, every error in { error: { code, message } }', async () => {
    const doc = JSON.parse(readFileSync(join(repoRoot(), 'openapi.json'), 'utf8')) as OpenApi;
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    const fixtures = await fuzzFixtures(api.base, OPERATOR_KEY);
    const result = await runFuzz(api.base, doc, fixtures, {
      perOperation: 6,
      seed: 20261202,
      onNode: async (id) => {
        await fetch(`${api.base}/operator/v1/nodes/${id}/disable`, { method: 'POST', headers: { 'x-operator-key': OPERATOR_KEY } });
      },
    });
    // It did reach the handlers: answers of every kind, not only refusals at the door.
    expect(result.requests).toBe(operations * 6);
    expect(result.byStatus[200]).toBeGreaterThan(0);
    expect(result.byStatus[400]).toBeGreaterThan(0);
    expect(result.byStatus[404]).toBeGreaterThan(0);
    expect(result.samples, fuzzLine(result)).toEqual([]);
    expect(fuzzLine(result)).toBe(`fuzz: requests=${operations * 6} 5xx=0 envelope_violations=0`);
  }, 240_000);
});
