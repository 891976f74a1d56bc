import { SCENARIOS, chaosLine, runScenario } from './lib/chaos.js';

/**
 * `npm run chaos` runs every scenario; `npm run chaos -- redis-empty worker-kill` runs those.
 * Each scenario has a private PostgreSQL cluster and Redis; prints one `chaos:` line, and the suite
 * ends with `chaos: N passed, M failed` (exit 1 when any failed).
 */
async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.name === w));
  if (unknown.length > 0) {
    console.error(`chaos: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  const chosen = wanted.length > 0 ? SCENARIOS.filter((s) => wanted.includes(s.name)) : SCENARIOS;
  let passed = 0;
  let failed = 0;
  for (const s of chosen) {
    const r = await runScenario(s, (line) => console.log(line));
    console.log(chaosLine(r));
    if (r.pass) passed++;
    else failed++;
  }
  console.log(`chaos: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
