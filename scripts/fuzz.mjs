#!/usr/bin/env node
// `npm run fuzz`: every test file with fuzz properties (those calling `fuzzRuns` from
// tests/reliability/fuzz.ts), with a larger case budget than `npm test` gives them. UIB_FUZZ_RUNS
// (default 2000 cases per property) and UIB_FUZZ_SEED carry through; arguments narrow the files
// as for `npm test` (`npm run fuzz -- manifest`).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join('tests', 'reliability');
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join(dir, f))
  .filter((f) => readFileSync(f, 'utf8').includes('fuzzRuns('))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no fuzz test files match ${filters.join(' ')}`);
  process.exit(2);
}
const runs = process.env.UIB_FUZZ_RUNS ?? '2000';
console.error(`fuzz: ${files.length} files, ${runs} cases per property`);
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...files],
  { stdio: 'inherit', env: { ...process.env, UIB_TEST: '1', UIB_FUZZ_RUNS: runs } },
);
process.exit(r.status ?? 1);
