// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '**/generated/**', 'coverage/**', '.demo/**', '.chaos/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.check.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Nest's decorators and tests lean on these; the type checker already covers the risk.
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // `rows[0]!` documents "exactly one row" even where the compiler already agrees.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // A lib is used through its index only (STYLE.md): no deep imports, no reaching into another lib.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@idlemint/*/*'], message: 'Import a lib through its index: @idlemint/<lib>.' },
            { group: ['**/libs/*/src/*', '**/libs/*/src/**'], message: 'Import another lib through @idlemint/<lib>, not by path.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts', '**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      'no-restricted-imports': 'off',
    },
  },
  {
    // The console (browser code) has its own tsconfig: DOM library, JSX.
    files: ['apps/console/src/**/*.{ts,tsx}', 'apps/console/vite.config.mts'],
    languageOptions: {
      parserOptions: { project: ['./apps/console/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { project: null, projectService: false },
      globals: { process: 'readonly', console: 'readonly' },
    },
  },
);
