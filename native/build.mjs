#!/usr/bin/env node
// Builds uib's native kernels (native/uib_native.cc over OpenBLAS) with node-gyp; run by `npm ci`.
// Never fails the install: without a compiler, Node headers or libopenblas-dev, it prints one line
// and uib uses its wasm kernels. UIB_NATIVE=0 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const say = (line) => process.stderr.write(`uib native kernels: ${line}\n`);

if (process.env.UIB_NATIVE === '0') {
  say('skipped (UIB_NATIVE=0); using the wasm kernels');
  process.exit(0);
}

// npm hands lifecycle scripts its bundled node-gyp; otherwise look beside npm, then on PATH.
const bundled = join(
  dirname(process.execPath),
  '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
);
const gyp = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : undefined);
const command = gyp ? process.execPath : 'node-gyp';
const args = gyp ? [gyp, 'rebuild'] : ['rebuild'];
// Headers installed with Node (Debian's nodejs-dev, official tarballs) spare node-gyp a download.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}

const r = spawnSync(command, args, { cwd: here, encoding: 'utf8', timeout: 300_000 });
const log = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
mkdirSync(join(here, 'build'), { recursive: true });
writeFileSync(join(here, 'build', 'build.log'), log);
if (r.status === 0 && existsSync(join(here, 'build/Release/uib_native.node'))) {
  say('built (native/build/Release/uib_native.node)');
} else {
  const why =
    log.match(/fatal error: [^\n]*/)?.[0] ??
    log.match(/cannot find -l\S+/)?.[0] ??
    (r.error ? String(r.error.message) : `node-gyp exited with ${r.status}`);
  say(`not built (${why}); using the wasm kernels — see native/build/build.log`);
}
