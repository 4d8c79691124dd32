import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import boundaries from 'eslint-plugin-boundaries';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const sandboxedImports = [...nodeBuiltins, 'kafkajs', 'pino', 'fastify', 'zod', 'prom-client'].map((name) => ({
  name,
  message: 'Workflow code is deterministic and sandboxed: keep side effects in activities.',
}));

/** The layers, bottom first: a layer may import itself and the layers listed before it. */
const layers = ['wire', 'workflows', 'infra', 'events', 'clients', 'activities', 'stack', 'workers'];
/** Folders outside the layering: they may import anything. */
const unlayered = ['bench', 'test', 'bin', 'scripts'];

/**
 * `preflight/workflow-bundle`: a value import in workflow code must not bring a module banned there into the workflow
 * bundle through the project files it imports (a zod schema in wire/, say). Type-only imports are erased: always fine.
 */
const workflowBundleRule = {
  meta: {
    type: 'problem',
    schema: [],
    messages: { reach: "'{{source}}' brings {{banned}} into the workflow bundle ({{chain}}): workflow code may import only types from it." },
  },
  create(context) {
    const check = (node) => {
      if (!node.source || isTypeOnlyDeclaration(node)) return;
      const file = resolveLocal(context.filename, node.source.value);
      const chain = file === undefined ? [] : bannedReach(file);
      if (chain.length === 0) return;
      const shown = [file, ...chain].map((step) => (path.isAbsolute(step) ? path.relative(context.cwd, step) : step));
      context.report({ node: node.source, messageId: 'reach', data: { source: node.source.value, banned: chain.at(-1), chain: shown.join(' → ') } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};

const sandboxBanned = new Set(sandboxedImports.map(({ name }) => name));
const packageName = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

function isTypeOnlyDeclaration(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return true;
  return node.type === 'ImportDeclaration' && node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type');
}

/** The project file a relative specifier names, if any. */
function resolveLocal(fromFile, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(fromFile), specifier);
  return [`${base}.ts`, path.join(base, 'index.ts'), base].find((file) => fs.statSync(file, { throwIfNoEntry: false })?.isFile());
}

/** The specifiers a file imports or re-exports values from. */
function valueImports(file) {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  return source.statements.flatMap((statement) => {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const typeOnly =
        clause !== undefined && (clause.isTypeOnly || (!clause.name && named !== undefined && named.length > 0 && named.every((e) => e.isTypeOnly)));
      return typeOnly ? [] : [statement.moduleSpecifier.text];
    }
    return ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly ? [statement.moduleSpecifier.text] : [];
  });
}

/** How a file brings a banned module into the bundle: the files on the way, then the module; [] when it does not. */
const reachCache = new Map();
function bannedReach(file) {
  const mtimeMs = fs.statSync(file).mtimeMs;
  const cached = reachCache.get(file);
  if (cached?.mtimeMs === mtimeMs) return cached.chain;
  reachCache.set(file, { mtimeMs, chain: [] }); // an import cycle (refused by import-x/no-cycle anyway) ends here
  let chain = [];
  for (const specifier of valueImports(file)) {
    if (sandboxBanned.has(specifier) || sandboxBanned.has(packageName(specifier))) chain = [specifier];
    else {
      const next = resolveLocal(file, specifier);
      const rest = next === undefined ? [] : bannedReach(next);
      if (rest.length > 0) chain = [next, ...rest];
    }
    if (chain.length > 0) break;
  }
  reachCache.set(file, { mtimeMs, chain });
  return chain;
}

/** An `import { ... } from` whose specifiers are all `type` ones (erased like `import type`), in esquery. */
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
      `workflows import only workflows and wire. ${unlayered.join(', ')} may import anything.`,
    ].join(' '),
    policies: [
      // So workflows (the Temporal sandbox) import only wire and workflows; values from wire only when they do not
      // bring zod along (`preflight/workflow-bundle`).
      ...layers.map((layer, i) => ({ from: { element: { type: layer } }, allow: { to: { element: { type: layers.slice(0, i + 1) } } } })),
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
    // The console's browser module (served as is by the api).
    files: ['workers/api/console-web/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'history', 'sessionStorage', 'fetch', 'URLSearchParams', 'setTimeout'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // wire/enums.ts is plain data that workflows import as values: no zod in it.
    files: ['wire/enums.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'zod', message: 'wire/enums.ts is plain data: workflows import it.' }] }],
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
    // The CLI loads a command's implementation when the command runs; a worker's native core and kafkajs load where
    // they are used, not with every client: `require` (typed by an `import type`), not `import()`, so the sources behave
    // alike under tsx, jest and from dist/. The layer rule above checks these requires too. `structured-headers` ships
    // type declarations for ESM resolution only, so infra/http-signatures.ts requires its CommonJS build with local types.
    files: ['workers/cli.ts', 'workers/cli/*.ts', 'infra/temporal.ts', 'infra/http-signatures.ts', 'stack/servers.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Workflow code must stay deterministic: no Node built-ins, no I/O libraries (what else it may import is a layer rule above).
    files: ['workflows/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: sandboxedImports }] },
  },
  {
    files: ['workflows/**/*.ts', 'bench/workflows/**/*.ts'],
    plugins: { preflight: { rules: { 'workflow-bundle': workflowBundleRule } } },
    rules: { 'preflight/workflow-bundle': 'error' },
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
);
