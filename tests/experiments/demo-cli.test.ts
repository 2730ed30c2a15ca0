/**
 * `uib demo` is a thin wrapper over the runner (the run itself is the main job, minutes long, and
 * is not repeated here): its flags parse, bad values fail with one line naming the flag, and
 * `uib run` / `uib demo` are listed by `uib --help`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runUibSync } from '../helpers/cli.ts';

const uib = (...args: string[]) => runUibSync(args);

test('uib demo: flags are checked before any work', () => {
  const seed = uib('demo', '--seed', 'x');
  assert.equal(seed.code, 2);
  assert.equal(seed.stderr.trim(), 'uib: --seed: must be an integer in [0, 4294967295]; got "x"');
  const backend = uib('demo', '--backend', 'gpu');
  assert.equal(backend.code, 2);
  assert.match(backend.stderr, /^uib: --backend: unknown backend "gpu"; must be one of wasm, cpu/);
  const extra = uib('demo', 'now');
  assert.equal(extra.code, 2, 'the demo takes no arguments');
});

test('uib --help lists demo and run; demo --help shows its defaults', () => {
  const help = uib('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^\s+demo\b/m);
  assert.match(help.stdout, /^\s+run\b/m);
  const demo = uib('demo', '--help');
  assert.match(demo.stdout, /--out <dir>[\s\S]*uib-out\/demo, or\s+uib-out\/demo-full with --full/);
  for (const flag of ['--full', '--seed', '--backend', '--quiet'])
    assert.ok(demo.stdout.includes(flag), flag);
});
