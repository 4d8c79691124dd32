import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import boundaries from 'eslint-plugin-boundaries';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const sandboxedImports = [...nodeBuiltins, 'kafkajs', 'pino', 'fastify', 'zod', 'prom-client'].map((name) => ({
  name,
  message: 'Workflow code is deterministic and sandboxed: keep side effects in activities.',
}));

/** The layers, bottom first: a layer may import itself and the layers listed before it. */
const layers = ['wire', 'workflows', 'infra', 'events', 'clients', 'activities', 'stack', 'workers'];
/** Folders outside the layering: they may import anything. */
const unlayered = ['bench', 'test', 'bin'];

const importDeclaration = 'ImportDeclaration[importKind=value]';
const typeOnlySpecifiers = '[specifiers.length>0]:not(:has(> ImportSpecifier[importKind=value], > ImportDefaultSpecifier, > ImportNamespaceSpecifier))';

/** Options of `boundaries/dependencies`; `extraPolicies` widen it for one file (see the temporary exceptions). */
const layerPolicies = (extraPolicies = []) => [
  'error',
  {
    default: 'disallow',
    checkUnknownLocals: true,
    message: [
      '{{from.type}} may not import {{#if to.type}}{{to.type}}{{else}}{{dependency.source}}{{/if}} ({{dependency.kind}} import).',
      `Layers, bottom first: ${layers.join(', ')}. Each imports only itself and the layers before it;`,
      `workflows import only workflows and types from wire. ${unlayered.join(', ')} may import anything.`,
    ].join(' '),
    policies: [
      // Workflow code runs in the Temporal sandbox: it gets wire types, never wire values (they carry zod).
      { from: { element: { type: 'workflows' } }, allow: { to: { element: { type: 'workflows' } } } },
      { from: { element: { type: 'workflows' } }, allow: { to: { element: { type: 'wire' } }, dependency: { kind: 'type' } } },
      ...layers
        .map((layer, i) => ({ from: { element: { type: layer } }, allow: { to: { element: { type: layers.slice(0, i + 1) } } } }))
        .filter(({ from }) => from.element.type !== 'workflows'),
      { from: { element: { type: unlayered } }, allow: { to: { element: { type: [...layers, ...unlayered] } } } },
      ...extraPolicies,
    ],
  },
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'coverage/**',
      'bin/**',
      'events/generated/**',
      // Deliberately wrong imports, linted only by test/unit/lint-boundaries.test.ts.
      'test/fixtures/lint/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Type-aware rules for the TypeScript sources (every one of them is in tsconfig.json).
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: true }],
    },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // Import direction between the layers, and no import cycles between files (type-only imports do not count).
    files: ['**/*.ts'],
    plugins: { boundaries, 'import-x': importX },
    settings: {
      'boundaries/elements': [...layers, ...unlayered].map((folder) => ({ type: folder, pattern: folder, partialMatch: false })),
      'boundaries/dependency-nodes': ['export', 'dynamic-import', 'require'],
      // `import { type A, type B } from` is erased like `import type`: count it as a type import.
      'boundaries/additional-dependency-nodes': [
        { name: 'import', kind: 'type', selector: `ImportDeclaration[importKind=type] > Literal, ${importDeclaration}${typeOnlySpecifiers} > Literal` },
        { name: 'import', kind: 'value', selector: `${importDeclaration}:not(${typeOnlySpecifiers}) > Literal` },
      ],
      'import/resolver': { node: { extensions: ['.ts', '.js', '.json'] } },
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
    rules: {
      'boundaries/dependencies': layerPolicies(),
      'import-x/no-cycle': 'error',
    },
  },
  {
    // Workflow code must stay deterministic: no Node built-ins, no I/O libraries (what else it may import is a layer rule above).
    files: ['workflows/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: sandboxedImports }] },
  },
  {
    // The benchmark baselines (bench/workflows) are workflow code too; bench/lib holds their activity types.
    files: ['bench/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: sandboxedImports,
          patterns: [
            {
              group: ['../../activities', '../../activities/*', '../../infra/*', '../../events/*', '../../workers/*', '../lib/*'],
              allowTypeImports: true,
              message: 'Workflows may import only types from activities, infra, events, workers and bench/lib.',
            },
          ],
        },
      ],
    },
  },
  // ---- TEMPORARY EXCEPTIONS: known back edges out of workflows/, one entry per file. ----
  // Delete this block once workflows/ no longer imports these modules.
  ...Object.entries({
    'workflows/assessment/workflow.ts': ['activities'],
    'workflows/submission/workflow.ts': ['activities', 'events'],
    'workflows/webhooks/delivery.ts': ['activities'],
    'workflows/webhooks/endpoint-registry.ts': ['activities'],
  }).map(([file, to]) => ({
    files: [file],
    rules: {
      'boundaries/dependencies': layerPolicies([
        { from: { element: { type: 'workflows' } }, allow: { to: { element: { type: to } }, dependency: { kind: 'type' } } },
      ]),
    },
  })),
  // ---- END OF TEMPORARY EXCEPTIONS ----
);
