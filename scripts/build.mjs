// Compiles apps, libs and scripts to dist/ with tsc (decorator metadata for Nest), then rewrites
// the @idlemint/* path aliases to relative imports so plain `node` runs the output. Then the
// console (apps/console): type-checked, and bundled by Vite into dist/console, which the api serves.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const started = Date.now();
const say = (s) => console.log(`build: ${s}`);
rmSync('dist', { recursive: true, force: true });
const run = (bin, args) => execFileSync(bin, args, { stdio: 'inherit' });
say('type-checking and compiling apps, libs and scripts to dist/ with tsc (about a minute on a busy machine)…');
run('npx', ['tsc', '-p', 'tsconfig.json']);
say('rewriting @idlemint/* imports to relative paths (tsc-alias)…');
run('npx', ['tsc-alias', '-p', 'tsconfig.json']);
say('type-checking the console (apps/console) and bundling it with Vite into dist/console…');
run('npx', ['tsc', '-p', 'apps/console/tsconfig.json']);
run('npx', ['vite', 'build', '--config', 'apps/console/vite.config.mts']);
say(`done in ${((Date.now() - started) / 1000).toFixed(0)} s: dist/apps/{api,worker,node,sim,stratum}, dist/scripts, dist/console`);
