import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@idlemint/core';
import { parseExposition, promtoolAvailable, promtoolCheckMetrics, sum } from './support/prometheus.js';

/**
 * deploy/: the Prometheus alert rules pass `promtool check rules` (CI installs Debian's
 * `prometheus` package), and the rules and the Grafana dashboard only name metric families the
 * code exposes, so a renamed metric cannot leave a dead panel or a silent alert behind.
 */
const root = repoRoot();
const RULES = join(root, 'deploy/prometheus/idlemint-rules.yml');
const SCRAPE = join(root, 'deploy/prometheus/prometheus.example.yml');
const DASHBOARD = join(root, 'deploy/grafana/idlemint-dashboard.json');
const SOURCES = ['libs/core/src/metrics/metrics.ts', 'libs/core/src/metrics/platform-stats.ts', 'apps/api/src/metrics/queue-metrics.ts'];

function definedFamilies(): Set<string> {
  const names = new Set<string>();
  for (const file of SOURCES) for (const m of readFileSync(join(root, file), 'utf8').matchAll(/'(idlemint_[a-z_]+)'/g)) names.add(m[1]!);
  return names;
}

function referenced(text: string): string[] {
  return [...new Set([...text.matchAll(/\b(idlemint_[a-z_]+)/g)].map((m) => m[1]!))].filter((n) => !n.startsWith('idlemint_overview'));
}

describe('deploy/', () => {
  it.skipIf(!promtoolAvailable())('alert rules and the scrape example pass promtool', () => {
    for (const args of [
      ['check', 'rules', RULES],
      ['check', 'config', '--syntax-only', SCRAPE],
    ]) {
      const r = spawnSync('promtool', args, { encoding: 'utf8' });
      expect(r.status, `promtool ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('names only metric families the code exposes', () => {
    const families = definedFamilies();
    expect(families.size).toBeGreaterThan(10);
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const used = referenced([readFileSync(RULES, 'utf8'), ...exprs].join('\n'));
    expect(used.length).toBeGreaterThan(10);
    for (const name of used) {
      const family = name.replace(/_(bucket|count|sum)$/, '');
      expect(families.has(name) || families.has(family), `${name} is not exposed by the code`).toBe(true);
    }
  });
});

describe('the exposition checker', () => {
  it('reads samples and refuses a broken exposition', () => {
    const good = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1",y="q\\"uote"} 3\na_total{x="2"} 4\n';
    const e = parseExposition(good);
    expect(sum(e, 'a_total')).toBe(7);
    expect(e.samples[0]!.labels.y).toBe('q"uote');
    expect(() => parseExposition('a_total{x="1" 3\n')).toThrow(/bad labels|not a sample/);
    expect(() => parseExposition('a_total 3')).toThrow(/newline/);
    expect(() => parseExposition('# TYPE a nonsense\n')).toThrow(/unknown type/);
    if (promtoolAvailable()) {
      expect(promtoolCheckMetrics(good)).toEqual([]);
      expect(promtoolCheckMetrics('a_total{x="1" 3\n').length).toBeGreaterThan(0);
    }
  });
});
