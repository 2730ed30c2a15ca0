/**
 * The route a machine without OpenBLAS gets (uib's own GEMM, native/sgemm.cc), tested on a machine
 * that has OpenBLAS: builds that variant into test-artifacts/ and runs the addon's kernel and
 * GEMM tests on it in a child test run (UIB_NATIVE_ADDON), so both routes are checked by every
 * `npm test`. Where the primary build is already the built-in one, the other tests cover it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { nativeAddon, nativeUnavailableReason } from '../../../src/backend/native/addon.ts';
import { ROOT } from '../../helpers/cli.ts';

test("the built-in GEMM route passes the addon's kernel tests", async (t) => {
  const addon = nativeAddon();
  if (!addon) return t.skip(`native addon absent (${nativeUnavailableReason()})`);
  if (addon.blas() === 'builtin') return t.skip('the primary build is the built-in route');
  const out = path.join(ROOT, 'test-artifacts', 'native-builtin');
  mkdirSync(out, { recursive: true });
  const build = spawnSync(process.execPath, ['native/build.mjs', '--out', out], {
    cwd: ROOT,
    env: { ...process.env, UIB_BLAS: 'builtin' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  const built = path.join(out, 'build', 'Release', 'uib_native.node');
  assert.ok(existsSync(built), `build failed: ${build.stderr}`);
  const files = ['gemm.test.ts', 'kernels.test.ts', 'optimizer.test.ts'].map((f) =>
    path.join('tests', 'backend', 'native', f),
  );
  // Without NODE_TEST_CONTEXT the child reports in TAP, not to this runner's channel.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...files], {
    cwd: ROOT,
    env: { ...env, UIB_NATIVE_ADDON: built },
    encoding: 'utf8',
    timeout: 600_000,
  });
  const summary = run.stdout.split('\n').filter((l) => /^# (pass|fail|skipped)/.test(l));
  t.diagnostic(summary.join(', '));
  assert.equal(run.status, 0, run.stdout.slice(-4000));
  assert.match(run.stdout, /^# fail 0$/m);
});
