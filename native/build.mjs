#!/usr/bin/env node
// Builds uib's native kernels (native/uib_native.cc) with node-gyp; run by `npm ci`.
//
// Two routes for the matrix products (binding.gyp's uib_blas):
//   openblas  the system OpenBLAS (Debian's libopenblas-dev): taken when a test program that
//             includes cblas.h and links -lopenblas compiles and runs;
//   builtin   uib's own GEMM (native/sgemm.cc), needing only a C++ compiler: taken otherwise, or
//             when the OpenBLAS build fails. No BLAS with C sources installs from npm.
// UIB_BLAS=builtin (or openblas) forces a route; UIB_NATIVE=0 skips the build.
//
// Never fails the install: without a compiler or Node headers it prints one line and uib uses its
// wasm kernels. Prints one line either way; node-gyp's output goes to <out>/build.log.
//
//   node native/build.mjs                                        # native/build/Release/
//   UIB_BLAS=builtin node native/build.mjs --out native/build-builtin
//        # native/build-builtin/build/Release/uib_native.node, leaving native/build/ alone (load
//        # it with UIB_NATIVE_ADDON=native/build-builtin/build/Release/uib_native.node)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const say = (line) => process.stderr.write(`uib native kernels: ${line}\n`);

if (process.env.UIB_NATIVE === '0') {
  say('skipped (UIB_NATIVE=0); using the wasm kernels');
  process.exit(0);
}

const { values: opts } = parseArgs({ options: { out: { type: 'string' } } });
const forced = process.env.UIB_BLAS || undefined;
if (forced !== undefined && forced !== 'openblas' && forced !== 'builtin') {
  say(`UIB_BLAS must be openblas or builtin, not "${forced}"; not built, using the wasm kernels`);
  process.exit(0);
}

// Where node-gyp runs: native/ itself (build in native/build/), or, with --out, a directory whose
// binding.gyp includes native/binding.gyp (build in <out>/build/), so that a second variant can be
// built beside the one the tests and the other tools load.
const outDir = opts.out === undefined ? here : resolve(opts.out);
if (outDir !== here) {
  mkdirSync(outDir, { recursive: true });
  const include = relative(outDir, join(here, 'binding.gyp')).split('\\').join('/');
  writeFileSync(join(outDir, 'binding.gyp'), `${JSON.stringify({ includes: [include] })}\n`);
  writeFileSync(join(outDir, '.gitignore'), '# a build directory of native/build.mjs\n*\n');
}
const built = join(outDir, 'build/Release/uib_native.node');
const near = (p) => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p));

// The compiler node-gyp's Makefile uses: $CXX (a command and its flags), else make's default g++.
const [cxx, ...cxxFlags] = (process.env.CXX || 'g++').trim().split(/\s+/);

/** Whether cblas.h and libopenblas compile, link and run; else why not, in a few words. */
function probeOpenblas() {
  const dir = mkdtempSync(join(tmpdir(), 'uib-blas-'));
  try {
    const exe = join(dir, 'probe');
    const program = `extern "C" {
#include <cblas.h>
}
int main() {
  float a = 2, b = 3, c = 1;
  openblas_set_num_threads(1);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
  return c == 6.0f && openblas_get_config() != nullptr && openblas_get_corename() != nullptr ? 0 : 1;
}
`;
    const cc = spawnSync(cxx, [...cxxFlags, '-x', 'c++', '-', '-o', exe, '-lopenblas'], {
      input: program,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (cc.error) return { ok: false, why: `no ${cxx}` };
    if (cc.status !== 0) {
      const err = cc.stderr ?? '';
      if (/cblas\.h/.test(err)) return { ok: false, why: 'no cblas.h' };
      if (/-lopenblas|openblas/.test(err)) return { ok: false, why: 'no libopenblas' };
      return { ok: false, why: 'an OpenBLAS test program did not compile' };
    }
    const run = spawnSync(exe, [], { timeout: 30_000 });
    if (run.status !== 0) return { ok: false, why: 'an OpenBLAS test program did not run' };
    return { ok: true };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// npm hands lifecycle scripts its bundled node-gyp; otherwise look beside npm, then on PATH.
const bundled = join(
  dirname(process.execPath),
  '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
);
const gyp = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : undefined);
const command = gyp ? process.execPath : 'node-gyp';
const baseArgs = gyp ? [gyp, 'rebuild'] : ['rebuild'];
// Headers installed with Node (Debian's nodejs-dev, official tarballs) spare node-gyp a download.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) {
  baseArgs.push(`--nodedir=${prefix}`);
}

// A build is kept when its stamp says it was made from the same sources, for the same Node ABI and
// compiler, on the route this machine takes now: npm runs this script again whenever it installs
// the project as a package (`npx uib` in a clone does: npm exec links the project into its cache
// and runs its install scripts), and a rebuild costs seconds to minutes. UIB_NATIVE_REBUILD=1
// rebuilds anyway.
const stampFile = join(outDir, 'build', 'uib-stamp.json');
function stampOf(blas) {
  const h = createHash('sha256');
  for (const f of ['binding.gyp', 'uib_native.cc', 'sgemm.cc', 'sgemm.h']) {
    h.update(f);
    h.update(readFileSync(join(here, f)));
  }
  return {
    blas,
    sources: h.digest('hex'),
    abi: process.versions.modules,
    cxx: process.env.CXX ?? '',
  };
}
function upToDate(blas) {
  if (process.env.UIB_NATIVE_REBUILD === '1' || !existsSync(built)) return false;
  try {
    return (
      JSON.stringify(JSON.parse(readFileSync(stampFile, 'utf8'))) === JSON.stringify(stampOf(blas))
    );
  } catch {
    return false;
  }
}

let log = '';
function build(blas) {
  if (upToDate(blas)) {
    say(`up to date (${blas === 'openblas' ? 'OpenBLAS' : "uib's own GEMM"}): ${near(built)}`);
    process.exit(0);
  }
  const r = spawnSync(command, [...baseArgs, '--', `-Duib_blas=${blas}`], {
    cwd: outDir,
    encoding: 'utf8',
    timeout: 300_000,
  });
  log += `--- node-gyp rebuild, uib_blas=${blas}\n${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}\n`;
  const ok = r.status === 0 && existsSync(built);
  if (ok) writeFileSync(stampFile, `${JSON.stringify(stampOf(blas))}\n`);
  const why = ok
    ? ''
    : (log.match(/fatal error: [^\n]*/)?.[0] ??
      log.match(/cannot find -l\S+/)?.[0] ??
      (r.error ? String(r.error.message) : `node-gyp exited with ${r.status}`));
  return { ok, why };
}

function finish(message) {
  mkdirSync(join(outDir, 'build'), { recursive: true });
  writeFileSync(join(outDir, 'build', 'build.log'), log);
  say(message);
  process.exit(0);
}

const logName = near(join(outDir, 'build/build.log'));
let why;
if (forced === 'builtin') {
  why = 'UIB_BLAS=builtin';
} else {
  const probe = probeOpenblas();
  log += `--- OpenBLAS probe (${cxx} -lopenblas): ${probe.ok ? 'ok' : probe.why}\n`;
  if (probe.ok || forced === 'openblas') {
    const r = build('openblas');
    if (r.ok) finish(`built with OpenBLAS: ${near(built)}`);
    if (forced === 'openblas')
      finish(`not built with OpenBLAS (${r.why}); using the wasm kernels — see ${logName}`);
    why = `the OpenBLAS build failed: ${r.why}`;
  } else {
    why = probe.why;
  }
}
const r = build('builtin');
if (r.ok) finish(`built with uib's own GEMM (${why}): ${near(built)}`);
finish(`not built (${r.why}); using the wasm kernels — see ${logName}`);
