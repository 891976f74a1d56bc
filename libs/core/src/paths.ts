import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository root (the folder holding package.json), from source or from dist/. */
export function repoRoot(from: string = __dirname): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'prisma'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`repository root not found above ${from}`);
    dir = up;
  }
}

export const platformMigrationsDir = (): string => join(repoRoot(), 'prisma', 'migrations');
export const nodeMigrationsDir = (): string => join(repoRoot(), 'apps', 'node', 'prisma', 'migrations');
