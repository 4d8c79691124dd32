#!/usr/bin/env node
'use strict';
// Runs the compiled JavaScript in dist/ (scripts/build.js; `npm ci` builds it). When a TypeScript source is newer
// than the last build, it rebuilds dist/ first (well under a second); only when it cannot build (no esbuild, a
// read-only checkout) does it run the TypeScript sources through tsx. Either way the same workers/cli.ts code runs.
const path = require('node:path');
const build = require('../scripts/build.js');

const root = path.join(__dirname, '..');

async function loadCli() {
  let fresh = false;
  try {
    fresh = build.isFresh(root);
  } catch {
    // A source folder cannot be read: try to build, which says what is wrong.
  }
  if (!fresh) {
    try {
      await build.build(root);
    } catch (err) {
      process.stderr.write(`preflight: cannot build ${build.OUT_DIR}/ (${err && err.message ? err.message : err}); running the TypeScript sources\n`);
      require('tsx/cjs');
      return require('../workers/cli.ts');
    }
  }
  return require(path.join(root, build.OUT_DIR, 'workers', 'cli.js'));
}

loadCli()
  .then((cli) => cli.main(process.argv))
  .catch((err) => {
    process.stderr.write(`preflight: ${err && err.message ? err.message : err}\n`);
    process.exit(1);
  });
