#!/usr/bin/env node
'use strict';
// Runs the TypeScript sources directly; `npm run build` produces dist/ for deployments that prefer plain JS.
require('tsx/cjs');
require('../workers/cli.ts')
  .main(process.argv)
  .catch((err) => {
    process.stderr.write(`preflight: ${err && err.message ? err.message : err}\n`);
    process.exit(1);
  });
