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
    // The wire is the bottom floor: it imports only zod and itself, and its enums no zod at all (workflows import them).
    files: ['wire/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*'], message: 'wire/ imports nothing of the project.' }] }],
    },
  },
  {
    files: ['wire/enums.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'zod', message: 'wire/enums.ts is plain data: workflows import it.' }] }],
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
            // The wire schemas are zod: workflows take their types, and values only from the plain enums module.
            { group: ['../../wire/*', '!../../wire/enums', '../../../wire/*', '!../../../wire/enums'], allowTypeImports: true, message: 'Workflows may import only types from the wire schemas; values come from wire/enums.' },
            // The benchmark baselines (bench/workflows) are workflow code too; bench/lib holds their activity types.
            { group: ['../../activities', '../../activities/*', '../../infra/*', '../../events/*', '../../workers/*', '../lib/*'], allowTypeImports: true, message: 'Workflows may import only types from activities, infra, events, workers and bench/lib.' },
          ],
        },
      ],
    },
  },
);
