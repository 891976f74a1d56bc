// Compiles apps, libs and scripts to dist/ with tsc (decorator metadata for Nest), then rewrites
// the @idlemint/* path aliases to relative imports so plain `node` runs the output.
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
say(`done in ${((Date.now() - started) / 1000).toFixed(0)} s: dist/apps/{api,worker,node,sim}, dist/scripts`);
