import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * The import rules of eslint.config.mjs refuse what they should: a layer importing a layer above it, workflow code
 * importing anything but workflows and wire (even types), workflow code importing values that bring zod along, and an
 * import cycle. The sources are linted as if they sat at the given paths; the cycle and a stand-in for wire/ are files
 * in test/fixtures/lint, which the normal lint run skips.
 */
const ROOT = path.resolve(__dirname, '../..');
const IMPORT_RULES = ['boundaries/dependencies', 'import-x/no-cycle', 'preflight/workflow-bundle'];
const WIRE = '../test/fixtures/lint/wire';

type Source = { filePath: string; code?: string };
type Finding = { ruleId: string | null; message: string };

/** ESLint loads its config with import(): it runs in a child Node process, outside the CommonJS test realm. */
function lint(sources: Source[]): { findings: Finding[][]; fixturesIgnored: boolean } {
  const script = `
    const { ESLint } = await import('eslint');
    const sources = ${JSON.stringify(sources)};
    const rules = new Set(${JSON.stringify(IMPORT_RULES)});
    const eslint = new ESLint({
      ignore: false,
      // The sources are not on disk (or not in the normal run): lint them without type information, import rules only.
      overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false } } },
      ruleFilter: ({ ruleId }) => rules.has(ruleId),
    });
    const findings = [];
    for (const { filePath, code } of sources) {
      const [result] = code === undefined ? await eslint.lintFiles([filePath]) : await eslint.lintText(code, { filePath });
      findings.push(result.messages.map(({ ruleId, message }) => ({ ruleId, message })));
    }
    const fixturesIgnored = await new ESLint().isPathIgnored('test/fixtures/lint/cycle-a.ts');
    process.stdout.write(JSON.stringify({ findings, fixturesIgnored }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out) as { findings: Finding[][]; fixturesIgnored: boolean };
}

describe('import rules (eslint.config.mjs)', () => {
  const sources: Record<string, Source> = {
    eventsImportsWorkers: { filePath: 'events/wrong-way.ts', code: "import { startWorker } from '../workers/worker';\nexport const start = startWorker;\n" },
    eventsImportsInfra: { filePath: 'events/right-way.ts', code: "import { loadConfig } from '../infra/config';\nexport const load = loadConfig;\n" },
    clientsImportsActivities: {
      filePath: 'clients/wrong-way.ts',
      code: "export { createLifecycleActivities } from '../activities/lifecycle';\n",
    },
    wireImportsWorkflows: { filePath: 'wire/wrong-way.ts', code: "import { SA } from '../workflows/shared/search-attributes';\nexport const sa = SA;\n" },
    workflowImportsInfraType: { filePath: 'workflows/wrong-way.ts', code: "import type { Config } from '../infra/config';\nexport type C = Config;\n" },
    workflowImportsWorkflows: { filePath: 'workflows/right-way.ts', code: "import { SA } from './shared/search-attributes';\nexport const sa = SA;\n" },
    workflowImportsZodFreeValue: { filePath: 'workflows/wire-names.ts', code: `import { PING } from '${WIRE}/names';\nexport const ping = PING;\n` },
    workflowImportsSchemaType: { filePath: 'workflows/wire-type.ts', code: `import type { Ping } from '${WIRE}/schema';\nexport type P = Ping;\n` },
    workflowImportsSchemaValue: {
      filePath: 'workflows/wire-schema.ts',
      code: `import { PingSchema } from '${WIRE}/schema';\nexport const schema = PingSchema;\n`,
    },
    workflowImportsThroughIndex: { filePath: 'workflows/wire-index.ts', code: `import { PING } from '${WIRE}';\nexport const ping = PING;\n` },
    testImportsWorkers: { filePath: 'test/right-way.ts', code: "import { startWorker } from '../workers/worker';\nexport const start = startWorker;\n" },
    cycle: { filePath: 'test/fixtures/lint/cycle-a.ts' },
    typeOnlyBackEdge: {
      filePath: 'test/fixtures/lint/cycle-b.ts',
      code: "import type { a } from './cycle-a';\nexport const b = (f: typeof a): string => f();\n",
    },
  };
  const names = Object.keys(sources);
  let findings: Record<string, Finding[]>;
  let fixturesIgnored: boolean;

  beforeAll(() => {
    const result = lint(names.map((name) => sources[name]!));
    findings = Object.fromEntries(names.map((name, i) => [name, result.findings[i]!]));
    fixturesIgnored = result.fixturesIgnored;
  });

  it('refuses a layer importing a layer above it', () => {
    expect(findings.eventsImportsWorkers).toEqual([
      { ruleId: 'boundaries/dependencies', message: expect.stringContaining('events may not import workers (value import)') },
    ]);
    expect(findings.clientsImportsActivities).toEqual([
      { ruleId: 'boundaries/dependencies', message: expect.stringContaining('clients may not import activities (value import)') },
    ]);
  });

  it('refuses wire, the bottom layer, importing any other layer', () => {
    expect(findings.wireImportsWorkflows).toEqual([
      { ruleId: 'boundaries/dependencies', message: expect.stringContaining('wire may not import workflows (value import)') },
    ]);
  });

  it('accepts a layer importing a layer below it', () => {
    expect(findings.eventsImportsInfra).toEqual([]);
  });

  it('refuses workflow code importing outside workflows, even a type', () => {
    expect(findings.workflowImportsInfraType).toEqual([
      { ruleId: 'boundaries/dependencies', message: expect.stringContaining('workflows may not import infra (type import)') },
    ]);
    expect(findings.workflowImportsWorkflows).toEqual([]);
  });

  it('refuses workflow code importing values that bring zod into the bundle, directly or through another file', () => {
    // The stand-in for wire/ sits in test/: drop the layer finding (workflows may not import test) to see the bundle rule.
    const bundle = (name: string) => findings[name]!.filter((f) => f.ruleId !== 'boundaries/dependencies');
    expect(bundle('workflowImportsZodFreeValue')).toEqual([]);
    expect(bundle('workflowImportsSchemaType')).toEqual([]);
    expect(bundle('workflowImportsSchemaValue')).toEqual([
      {
        ruleId: 'preflight/workflow-bundle',
        message: expect.stringContaining('brings zod into the workflow bundle (test/fixtures/lint/wire/schema.ts → zod)'),
      },
    ]);
    expect(bundle('workflowImportsThroughIndex')).toEqual([
      {
        ruleId: 'preflight/workflow-bundle',
        message: expect.stringContaining('(test/fixtures/lint/wire/index.ts → test/fixtures/lint/wire/schema.ts → zod)'),
      },
    ]);
  });

  it('lets tests import any layer', () => {
    expect(findings.testImportsWorkers).toEqual([]);
  });

  it('refuses an import cycle, and does not count a type-only import as one', () => {
    expect(findings.cycle).toEqual([{ ruleId: 'import-x/no-cycle', message: expect.stringContaining('Dependency cycle') }]);
    expect(findings.typeOnlyBackEdge).toEqual([]);
  });

  it('the normal lint run skips the cycle fixture', () => {
    expect(fixturesIgnored).toBe(true);
  });
});
