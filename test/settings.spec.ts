import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_EXAMPLE_FILE, nodeSettings, platformSettings, README_FILE, renderEnvExample, renderReadme } from '../scripts/settings.js';

/** The README's settings table and .env.example come from the config schemas and cannot drift from them. */
describe('settings', () => {
  it('has a meaning for every setting of every schema', () => {
    const all = [...platformSettings(), ...nodeSettings()];
    expect(all.length).toBeGreaterThan(50);
    expect(
      all.filter((s) => !s.meaning).map((s) => s.name),
      'add them to scripts/settings-docs.ts',
    ).toEqual([]);
  });

  it('README.md and .env.example are what `npm run settings` renders', () => {
    const readme = readFileSync(README_FILE(), 'utf8');
    expect(readme === renderReadme(readme), 'README.md settings table is stale: run `npm run settings`').toBe(true);
    const env = existsSync(ENV_EXAMPLE_FILE()) ? readFileSync(ENV_EXAMPLE_FILE(), 'utf8') : '';
    expect(env === renderEnvExample(), '.env.example is stale: run `npm run settings`').toBe(true);
    for (const s of platformSettings()) expect(readme).toContain(`| \`${s.name}\` |`);
  });
});
