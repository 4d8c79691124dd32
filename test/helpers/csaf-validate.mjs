// Validates one CSAF 2.0 document read from stdin with the Secvisogram CSAF validator library (the BSI's): the strict
// schema test against the official OASIS CSAF 2.0 JSON schema, and the mandatory tests of CSAF 2.0 section 6.1.
// Prints the library's result as JSON. Run as a separate process because the library is an ES module.
import process from 'node:process';
import validate from '@secvisogram/csaf-validator-lib/validate.js';
import * as basic from '@secvisogram/csaf-validator-lib/basic.js';

let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
const result = await validate(Object.values(basic), JSON.parse(input));
process.stdout.write(JSON.stringify(result));
