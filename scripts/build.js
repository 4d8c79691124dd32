'use strict';
/**
 * Transpiles the TypeScript layers into plain CommonJS under dist/ (same layout, with source maps) with esbuild, one
 * file at a time and without checking types (`npm run typecheck` does). `npm run build` and `npm ci` (through
 * `prepare`) run it, and bin/preflight.js runs it again when the sources changed since the last build.
 *
 * dist/.build-stamp.json lists every source (the .ts files of the layers, and the files that shape the output) with
 * its modification time as the build read it: dist/ is up to date while the list is the same. Each output file is
 * written beside itself and renamed into place, so a process that loads dist/ while another rebuilds it reads whole
 * files, and two processes that rebuild at once write the same files.
 */
const fs = require('node:fs');
const path = require('node:path');

/** The layers (tsconfig.json's list, without test, bench and scripts). */
const SOURCE_DIRS = ['wire', 'workflows', 'infra', 'events', 'clients', 'activities', 'stack', 'workers'];
/** Files that change the output without being compiled: this script and the compiler options esbuild reads. */
const BUILD_INPUTS = ['scripts/build.js', 'tsconfig.json'];
const OUT_DIR = 'dist';
const STAMP = '.build-stamp.json';
const TEMP = /\.tmp-\d+$/;

/** Every source, relative to root, with its modification time; and the .ts files to compile. */
function scanSources(root) {
  const mtimes = {};
  const entryPoints = [];
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        mtimes[child] = fs.statSync(path.join(root, child)).mtimeMs;
        entryPoints.push(path.join(root, child));
      }
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  for (const file of BUILD_INPUTS) mtimes[file] = fs.statSync(path.join(root, file)).mtimeMs;
  return { mtimes, entryPoints };
}

/** True when dist/ holds a build of the sources as they are now (a walk of the sources: about a millisecond). */
function isFresh(root) {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(root, OUT_DIR, STAMP), 'utf8')).sources;
  } catch {
    return false;
  }
  const { mtimes } = scanSources(root);
  const files = Object.keys(mtimes);
  return files.length === Object.keys(stamp).length && files.every((file) => stamp[file] === mtimes[file]);
}

function sameContents(file, contents) {
  try {
    return fs.readFileSync(file).equals(contents);
  } catch {
    return false;
  }
}

function writeAtomically(file, contents) {
  const temp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(temp, contents);
  fs.renameSync(temp, file);
}

/** Output files of an earlier build whose source is gone (another build's temporary files are left alone). */
function staleOutputs(dir, keep) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return staleOutputs(full, keep);
    return keep.has(full) || TEMP.test(entry.name) ? [] : [full];
  });
}

/** Builds dist/ from the sources; resolves to the number of modules, of files written, and the time it took. */
async function build(root) {
  const started = process.hrtime.bigint();
  const esbuild = require('esbuild');
  const { mtimes, entryPoints } = scanSources(root);
  const outdir = path.join(root, OUT_DIR);
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: root,
      entryPoints,
      outbase: root,
      outdir,
      bundle: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      // `import()` becomes `require()`, as tsc emits it for CommonJS.
      supported: { 'dynamic-import': false },
      sourcemap: true,
      // As tsx transpiles, so the code behaves the same from dist/ as from the sources.
      keepNames: true,
      logLevel: 'silent',
      write: false,
    });
  } finally {
    // The build service is a child process: a long-running command must not keep it.
    await esbuild.stop();
  }
  let written = 0;
  for (const out of result.outputFiles) {
    if (sameContents(out.path, out.contents)) continue;
    fs.mkdirSync(path.dirname(out.path), { recursive: true });
    writeAtomically(out.path, out.contents);
    written++;
  }
  const keep = new Set(result.outputFiles.map((out) => out.path));
  for (const dir of SOURCE_DIRS) for (const file of staleOutputs(path.join(outdir, dir), keep)) fs.rmSync(file, { force: true });
  writeAtomically(path.join(outdir, STAMP), JSON.stringify({ sources: mtimes }, null, 1) + '\n');
  return { modules: entryPoints.length, written, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

module.exports = { OUT_DIR, SOURCE_DIRS, isFresh, build };

if (require.main === module) {
  build(path.resolve(__dirname, '..')).then(
    (r) => process.stdout.write(`Built ${OUT_DIR}/ from ${r.modules} modules in ${r.seconds.toFixed(2)} s (${r.written} files written)\n`),
    (err) => {
      process.stderr.write(`build failed: ${err && err.message ? err.message : err}\n`);
      process.exit(1);
    },
  );
}
