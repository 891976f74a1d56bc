import 'reflect-metadata';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPENAPI_FILE, renderOpenApi } from '../../../scripts/openapi.js';

/**
 * The committed openapi.json must be exactly what the controllers generate (scripts/openapi.ts),
 * and every route must document its success answers (a schema for each body) and the errors it
 * answers with. That the answers match these schemas is checked on every API test's answers
 * (support/contract.ts, proven by contract.spec.ts).
 */

type Doc = {
  paths: Record<
    string,
    Record<
      string,
      {
        operationId?: string;
        responses: Record<
          string,
          { content?: Record<string, { schema: { properties: { error: { properties: { code: { enum: string[] } } } } } }> }
        >;
      }
    >
  >;
};

function changedPaths(committed: Doc | null, generated: Doc): string[] {
  const a = committed?.paths ?? {};
  const b = generated.paths;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => (!(k in a) ? `+ ${k}` : !(k in b) ? `- ${k}` : `~ ${k}`));
}

describe('openapi.json', () => {
  it('is the document the controllers generate', async () => {
    const generated = await renderOpenApi();
    const committed = existsSync(OPENAPI_FILE()) ? readFileSync(OPENAPI_FILE(), 'utf8') : null;
    if (committed !== generated) {
      const changed = changedPaths(committed === null ? null : (JSON.parse(committed) as Doc), JSON.parse(generated) as Doc);
      throw new Error(
        `openapi.json is ${committed === null ? 'missing' : 'stale'}: run \`npm run openapi\` and commit the file.` +
          (changed.length > 0 ? `\npaths that differ:\n  ${changed.join('\n  ')}` : ''),
      );
    }
  });

  it('documents every route with the error codes it answers with, each under its status', async () => {
    const doc = JSON.parse(await renderOpenApi()) as Doc;
    const ids = new Set<string>();
    let operations = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        operations++;
        expect(op.operationId, `${method} ${path}`).toBeTruthy();
        expect(ids.has(op.operationId!), `operationId ${op.operationId} is unique`).toBe(false);
        ids.add(op.operationId!);
        const successes = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
        expect(successes.length, `${method} ${path} documents its success`).toBeGreaterThan(0);
        for (const [status, response] of successes)
          if (status !== '204') expect(response.content, `${method} ${path} ${status} documents its body`).toBeTruthy();
        if (path === '/health' || path.startsWith('/health/')) continue; // probes: 200 or the 503 every route may answer
        const errors = Object.entries(op.responses).filter(([status]) => /^[45]\d\d$/.test(status));
        expect(errors.length, `${method} ${path} documents its errors`).toBeGreaterThan(0);
        for (const [status, response] of errors) {
          const codes = response.content?.['application/json']?.schema.properties.error.properties.code.enum ?? [];
          expect(codes.length, `${method} ${path} ${status} names its codes`).toBeGreaterThan(0);
          for (const code of codes) expect(code).toMatch(/^[A-Z_]+\.[A-Z_]+$/);
        }
        if (path.includes('{'))
          expect(Object.keys(op.responses), `${method} ${path} documents 400 or 404 for its path parameters`).toEqual(
            expect.arrayContaining([expect.stringMatching(/^40[04]$/)]),
          );
      }
    }
    expect(operations).toBeGreaterThan(20);
  });
});
