import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Nest DI needs decorator metadata, which esbuild cannot emit: SWC compiles the tests.
const libs = [
  'core',
  'protocol',
  'crypto',
  'fleet',
  'work',
  'verification',
  'ledger',
  'payouts',
  'relay',
  'audit',
  'nodes',
  'alerts',
  'shares',
];

export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
    }),
  ],
  resolve: {
    alias: libs.map((name) => ({
      find: `@idlemint/${name}`,
      replacement: resolve(import.meta.dirname, `libs/${name}/src/index.ts`),
    })),
  },
  test: {
    include: ['{apps,libs,test}/**/*.{spec,int-spec,e2e-spec}.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
