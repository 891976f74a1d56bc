import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseMix } from './behaviour.js';
import { runFleet, type FleetStats } from './fleet.js';

/**
 * Device fleet simulator:
 *   node dist/apps/sim/src/main.js --api http://127.0.0.1:3000 --devices 50 --liars 0.1 --seconds 60
 * Honest appliances verify every item; `--liars F` makes that share answer "all valid" unchecked,
 * `--adversaries` mixes in the other kinds (apps/sim/src/behaviour.ts).
 */
const USAGE =
  'usage: sim [--api URL] [--operator-key K] [--devices N] [--liars F] [--adversaries lazy=F,random=F,flipper=F,ring=F,replayer=F,slowpoke=F] [--seconds S] [--devices-per-owner N] [--summary-file PATH]';

export function progressLine(s: FleetStats): string {
  return (
    `sim: ${(s.elapsedMs / 1000).toFixed(0).padStart(3)}s devices=${s.enrolled}/${s.devices} claimed=${s.claimed} ` +
    `answered=${s.answered} verified=${s.verified} rejected=${s.rejected} errors=${s.errors}`
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      api: { type: 'string', default: 'http://127.0.0.1:3000' },
      'operator-key': { type: 'string', default: 'dev-operator-key-change-me' },
      devices: { type: 'string', default: '50' },
      liars: { type: 'string', default: '0' },
      adversaries: { type: 'string', default: '' },
      seconds: { type: 'string', default: '60' },
      'devices-per-owner': { type: 'string', default: '1' },
      'summary-file': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const devices = Number(values.devices);
  const liars = Number(values.liars);
  const seconds = Number(values.seconds);
  if (!Number.isInteger(devices) || devices < 1 || !(liars >= 0 && liars <= 1) || !(seconds > 0)) throw new Error(USAGE);
  const tty = process.stdout.isTTY;
  const summary = await runFleet({
    apiUrl: values.api,
    operatorKey: values['operator-key'],
    devices,
    liars,
    mix: parseMix(values.adversaries),
    durationMs: seconds * 1000,
    devicesPerOwner: Number(values['devices-per-owner']),
    onProgress: (s) => (tty ? process.stdout.write(`\r${progressLine(s)}`) : console.log(progressLine(s))),
  });
  if (tty) process.stdout.write('\n');
  const json = JSON.stringify(summary, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
  if (values['summary-file']) writeFileSync(values['summary-file'], json);
  console.log(
    `sim: done devices=${summary.devices} liars=${summary.liars} answered=${summary.answered} verified=${summary.verified} ` +
      `rejected=${summary.rejected} honest_credited=${summary.honestCredited} liar_credited=${summary.liarCredited} errors=${summary.errors}`,
  );
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
