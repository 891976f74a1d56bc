// Compiles apps, libs and scripts to dist/ with tsc (decorator metadata for Nest), then rewrites
// the @idlemint/* path aliases to relative imports so plain `node` runs the output. Then the
// console (apps/console): type-checked, and bundled by Vite into dist/console, which the api serves.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
const run = (bin, args) => execFileSync(bin, args, { stdio: 'inherit' });
run('npx', ['tsc', '-p', 'tsconfig.json']);
run('npx', ['tsc-alias', '-p', 'tsconfig.json']);
run('npx', ['tsc', '-p', 'apps/console/tsconfig.json']);
run('npx', ['vite', 'build', '--config', 'apps/console/vite.config.mts']);
