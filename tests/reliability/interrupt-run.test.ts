/**
 * Interrupted experiments: `uib run` is SIGKILLed at seeded points (after a seeded number of
 * result files has appeared), then rerun on the same directory until it completes. After every
 * kill, each visible file is a whole, valid record (cells, references, cached models, manifests,
 * results.json); the resumed run completes, leaves no temp files, and its metrics equal those of
 * an uninterrupted run bit for bit.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { rngFor } from '../../src/core/rng.ts';
import { tempDir } from '../data/helpers.ts';
import { runUib } from '../helpers/cli.ts';
import { tempLeftovers, visibleFiles } from './cli.ts';
import { checkRunDir, manifestsOf, metricsOf, TINY_EXPERIMENT } from './run-dir.ts';

test('uib run: SIGKILL at seeded points, resume, same metrics as an uninterrupted run', {
  timeout: 240_000,
}, async (t) => {
  const dir = tempDir('kill-run');
  const file = path.join(dir, 'exp.json');
  fs.writeFileSync(file, JSON.stringify(TINY_EXPERIMENT));
  const args = (out: string) => ['run', file, '--out', out, '--backend', 'cpu', '--quiet'];

  const ref = path.join(dir, 'ref');
  const whole = await runUib(args(ref));
  assert.equal(whole.code, 0, whole.stderr);
  const total = visibleFiles(ref).length;

  // Kill points: after k visible files, k drawn from the seeded Rng, increasing.
  const rng = rngFor(3, 'kill-run');
  const targets = [0, 1, 2].map(() => rng.int(1, total)).sort((a, b) => a - b);
  const out = path.join(dir, 'killed');
  const log: string[] = [];
  for (const k of targets) {
    const r = await runUib(args(out), { killWhen: () => visibleFiles(out).length >= k });
    log.push(`target ${k}: ${r.signal ?? `exit ${r.code}`} with ${visibleFiles(out).length} files`);
    if (r.signal === null) assert.equal(r.code, 0, r.stderr);
    checkRunDir(out);
  }
  const last = await runUib(args(out));
  assert.equal(last.code, 0, last.stderr);
  assert.match(last.stdout, /reused/, 'the rerun reused finished work');
  checkRunDir(out);
  assert.deepEqual(tempLeftovers(out), [], 'temp files left after a completed rerun');
  assert.ok(!fs.existsSync(path.join(out, '.lock')), 'lock released');
  assert.deepEqual(metricsOf(out), metricsOf(ref));
  assert.deepEqual(manifestsOf(out), manifestsOf(ref));
  t.diagnostic(`${total} result files; ${log.join('; ')}`);
});
