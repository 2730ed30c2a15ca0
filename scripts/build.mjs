#!/usr/bin/env node
// `npm run build` (and `prepare`): compiles src/ to dist/ with tsc, unless dist/ was already built
// from exactly these sources (a stamp of their hashes in dist/): npm runs `prepare` again whenever
// it installs the project as a package, as `npx uib` in a clone does, and tsc takes ~10 s.
// `npm run build -- --force` compiles anyway.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = join(root, 'dist', '.build-stamp');

function files(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

function stamp() {
  const h = createHash('sha256');
  const inputs = [
    ...files(join(root, 'src')),
    join(root, 'tsconfig.build.json'),
    join(root, 'tsconfig.json'),
  ];
  for (const f of inputs) {
    h.update(relative(root, f));
    h.update(readFileSync(f));
  }
  h.update(readFileSync(join(root, 'node_modules', 'typescript', 'package.json')));
  return h.digest('hex');
}

const want = stamp();
const force = process.argv.includes('--force');
if (!force && existsSync(join(root, 'dist', 'cli', 'main.js')) && existsSync(stampFile)) {
  if (readFileSync(stampFile, 'utf8').trim() === want) {
    process.stderr.write('uib build: dist/ is up to date\n');
    process.exit(0);
  }
}
// From scratch, so that nothing compiled from a deleted source stays in dist/ (and in the package).
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (r.status !== 0) process.exit(r.status ?? 1);
// The package's `uib/browser` export: src/browser.ts as one ESM bundle for pages, tfjs left to the
// app's own copy (a second tfjs would hold a second engine and backend registry).
const { bundle } = await import('./web-build.mjs');
await bundle(join(root, 'src', 'browser.ts'), join(root, 'dist', 'uib-browser.js'), {
  external: ['@tensorflow/*'],
});
writeFileSync(stampFile, `${want}\n`);
