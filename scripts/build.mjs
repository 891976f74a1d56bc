// Compiles apps, libs and scripts to dist/ with tsc (decorator metadata for Nest), then rewrites
// the @idlemint/* path aliases to relative imports so plain `node` runs the output.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
const run = (bin, args) => execFileSync(bin, args, { stdio: 'inherit' });
run('npx', ['tsc', '-p', 'tsconfig.json']);
run('npx', ['tsc-alias', '-p', 'tsconfig.json']);
