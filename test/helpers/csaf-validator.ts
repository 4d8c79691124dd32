/**
 * An independent check of Preflight's CSAF documents: the Secvisogram CSAF validator library
 * (`@secvisogram/csaf-validator-lib`), run in its own Node process (`csaf-validate.mjs`): the official OASIS CSAF 2.0
 * JSON schema in its strict form, and the mandatory tests of CSAF 2.0 section 6.1. Nothing of Preflight's own code
 * takes part.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export interface CsafError {
  test: string;
  instancePath: string;
  message: string;
}

interface LibraryResult {
  isValid: boolean;
  tests: Array<{ name: string; isValid: boolean; errors: Array<{ instancePath: string; message: string }> }>;
}

/** Validates a document; returns every failed test's errors (none when valid). */
export function csafSchemaErrors(doc: unknown): CsafError[] {
  const run = spawnSync(process.execPath, [path.join(__dirname, 'csaf-validate.mjs')], {
    input: JSON.stringify(doc),
    encoding: 'utf8',
    timeout: 60_000,
    cwd: path.join(__dirname, '..', '..'),
  });
  if (run.status !== 0) throw new Error(`the CSAF validator did not run (exit ${run.status}): ${run.stderr || run.error?.message}`);
  const result = JSON.parse(run.stdout) as LibraryResult;
  const errors = result.tests.flatMap((t) => t.errors.map((e) => ({ test: t.name, instancePath: e.instancePath, message: e.message })));
  if (!result.isValid && errors.length === 0) return [{ test: 'validator', instancePath: '', message: 'invalid without a reported error' }];
  return errors;
}
