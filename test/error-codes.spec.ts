import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@idlemint/core';

/**
 * Every error code the platform's code can throw (`new DomainError('CODE', …)` anywhere in the api
 * and the libs) is documented in openapi.json, and every documented code exists in the code: a new
 * error cannot reach a client undocumented, nor a removed one linger in the contract.
 * (openapi.int-spec.ts keeps openapi.json equal to what the controllers generate.)
 */
const root = repoRoot();

/** Codes that never reach an HTTP client as such, and why. */
const NOT_ANSWERED: Record<string, string> = {
  'LEDGER.EMPTY_ENTRY': 'a broken ledger invariant inside a transaction: a bug, answered as 500 INTERNAL',
  'LEDGER.UNBALANCED': 'a broken ledger invariant inside a transaction: a bug, answered as 500 INTERNAL',
  'SHARE.CREDENTIAL_NOT_FOUND': 'revoking a Stratum credential has no HTTP route yet (issue 12: no manufacturer credential API)',
  'HEALTH.DEPENDENCY_DOWN': '/health is the load balancer’s probe, outside the documented API surfaces',
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'generated' || name === 'test') continue;
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(name)) out.push(path);
  }
  return out;
}

/** The platform's code: the api and the libs (the reference node and the simulator are other programs). */
const files = [...sources(join(root, 'apps/api/src')), ...sources(join(root, 'libs'))];

function thrownCodes(): Map<string, string> {
  const codes = new Map<string, string>();
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(/new DomainError\(\s*'([A-Z_]+\.[A-Z_]+)'/g))
      codes.set(m[1]!, relative(root, file));
  }
  return codes;
}

function documentedCodes(): Set<string> {
  type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };
  const doc = JSON.parse(readFileSync(join(root, 'openapi.json'), 'utf8')) as Doc;
  const codes = new Set<string>();
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item)) {
      for (const r of Object.values(op.responses)) {
        const schema = r.content?.['application/json']?.schema as
          { properties?: { error?: { properties?: { code?: { enum?: string[] } } } } } | undefined;
        for (const c of schema?.properties?.error?.properties?.code?.enum ?? []) codes.add(c);
      }
    }
  }
  return codes;
}

describe('error codes', () => {
  it('every code the code throws is documented in openapi.json (or listed as never answered, with why)', () => {
    const thrown = thrownCodes();
    expect(thrown.size).toBeGreaterThan(30);
    const documented = documentedCodes();
    const missing = [...thrown].filter(([code]) => !documented.has(code) && !(code in NOT_ANSWERED)).map(([c, f]) => `${c} (${f})`);
    expect(missing, 'document them with @ApiErrors on the route, or in the API surface of apps/api/src/openapi/openapi.ts').toEqual([]);
    for (const code of Object.keys(NOT_ANSWERED))
      expect(thrown.has(code), `${code} is no longer thrown: drop it from NOT_ANSWERED`).toBe(true);
  });

  it('every documented code exists in the code', () => {
    const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    // Families made from a name (`${what}.NOT_FOUND` in libs/fleet): any `<WHAT>.<SUFFIX>` of them exists.
    const families = new Set([...text.matchAll(/new DomainError\(\s*`\$\{[^}]+\}\.([A-Z_]+)`/g)].map((m) => m[1]!));
    expect(families.size).toBeGreaterThan(0);
    const documented = [...documentedCodes()];
    expect(documented.length).toBeGreaterThan(40);
    expect(documented.filter((code) => !text.includes(`'${code}'`) && !families.has(code.split('.')[1]!))).toEqual([]);
  });
});
