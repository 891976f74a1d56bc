import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@idlemint/core';
import { describe, expect, it } from 'vitest';

const compose = readFileSync(join(repoRoot(), 'docker-compose.yml'), 'utf8');

describe('docker-compose.yml', () => {
  it.each(['OPERATOR_KEY', 'PLATFORM_SIGNING_KEY', 'DATA_ENCRYPTION_KEY', 'PLATFORM_PUBLIC_KEY'])('requires %s (no default)', (name) => {
    const uses = [...compose.matchAll(new RegExp(`\\$\\{${name}(:?[-?][^}]*)?\\}`, 'g'))];
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) expect(u[1]?.startsWith(':?')).toBe(true);
  });

  it('publishes ports on loopback unless told otherwise', () => {
    const ports = [...compose.matchAll(/ports: \[(.*)\]/g)].map((m) => m[1]);
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p).toMatch(/^'(\$\{API_BIND:-127\.0\.0\.1\}|127\.0\.0\.1):/);
  });
});
