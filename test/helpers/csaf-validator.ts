/**
 * An independent check of Preflight's CSAF documents: the official OASIS CSAF 2.0 JSON schema (and the FIRST CVSS
 * schemas it references), checked into `test/fixtures/csaf-2.0/` (see SOURCE.md there), compiled by ajv for JSON
 * Schema draft 2020-12 with ajv-formats (date-time, uri, email). Nothing of Preflight's own code takes part.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

const DIR = path.join(__dirname, '..', 'fixtures', 'csaf-2.0');

function load(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as Record<string, unknown>;
}

let validate: (((doc: unknown) => boolean) & { errors?: ErrorObject[] | null }) | undefined;

/** Validates a document against the CSAF 2.0 schema; returns the schema errors (none when valid). */
export function csafSchemaErrors(doc: unknown): ErrorObject[] {
  if (!validate) {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    // The CVSS schemas declare draft-04/-07; ajv cannot mix those with 2020-12 in one instance, so they are added
    // under the URIs the CSAF schema references, without their `$schema` (their keywords mean the same in 2020-12).
    for (const [file, uri] of [
      ['cvss-v2.0.json', 'https://www.first.org/cvss/cvss-v2.0.json'],
      ['cvss-v3.0.json', 'https://www.first.org/cvss/cvss-v3.0.json'],
      ['cvss-v3.1.json', 'https://www.first.org/cvss/cvss-v3.1.json'],
    ] as const) {
      const { $schema: _s, $id: _i, id: _id, ...schema } = load(file);
      ajv.addSchema(schema, uri);
    }
    validate = ajv.compile(load('csaf_json_schema.json'));
  }
  return validate(doc) ? [] : [...(validate.errors ?? [])];
}
