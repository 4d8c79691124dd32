import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', 'bin/**', 'events/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // Workflow code must stay deterministic: no Node built-ins, no I/O libraries, no activity values.
    files: ['workflows/**/*.ts', 'bench/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, 'kafkajs', 'pino', 'fastify', 'zod', 'prom-client'].map((name) => ({
            name,
            message: 'Workflow code is deterministic and sandboxed: keep side effects in activities.',
          })),
          patterns: [
            { group: ['../activities', '../activities/*', '../infra/*', '../events/*', '../workers/*'], allowTypeImports: true, message: 'Workflows may import only types from activities, infra, events and workers.' },
            // The benchmark baselines (bench/workflows) are workflow code too; bench/lib holds their activity types.
            { group: ['../../activities', '../../activities/*', '../../infra/*', '../../events/*', '../../workers/*', '../lib/*'], allowTypeImports: true, message: 'Workflows may import only types from activities, infra, events, workers and bench/lib.' },
          ],
        },
      ],
    },
  },
);
