/**
 * Interrupted training: a `uib train` that overwrites an existing checkpoint is SIGKILLed at
 * seeded times. The directory then holds a whole checkpoint, the previous one or the new one
 * (never a mix), no temp file is visible as a result, and a rerun completes.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { rngFor } from '../../src/core/rng.ts';
import { readCheckpointMeta } from '../../src/models/checkpoint.ts';
import { tempDir } from '../data/helpers.ts';
import { runUib } from '../helpers/cli.ts';
import { visibleFiles } from './cli.ts';
import { checkCheckpointDir } from './run-dir.ts';

test('uib train: SIGKILL while overwriting a checkpoint leaves the old or the new one, whole', {
  timeout: 180_000,
}, async (t) => {
  const dir = tempDir('kill-train');
  const out = path.join(dir, 'ck');
  const args = (seed: number) => [
    'train',
    '--dataset',
    'mnist',
    '--model',
    'mlp',
    '--subset',
    '200',
    '--test-size',
    '100',
    '--epochs',
    '3',
    '--seed',
    String(seed),
    '--out',
    out,
    '--force', // the reruns replace the checkpoint
    '--backend',
    'cpu',
    '--quiet',
  ];
  const first = await runUib(args(1));
  assert.equal(first.code, 0, first.stderr);
  checkCheckpointDir(out);
  const old = readCheckpointMeta(out).weightsSha256;
  const whole = first.ms;

  const rng = rngFor(2, 'kill-train');
  const seen: string[] = [];
  for (let i = 0; i < 2; i++) {
    const at = rng.uniform(0.25, 0.85) * whole;
    const r = await runUib(args(2), { killAfterMs: at });
    checkCheckpointDir(out);
    assert.deepEqual(
      visibleFiles(path.dirname(out)).filter((f) => !f.startsWith(`ck${path.sep}`)),
      [],
      'stray files beside the checkpoint',
    );
    const now = readCheckpointMeta(out).weightsSha256;
    seen.push(
      `${Math.round(at)} ms: ${r.signal ?? `exit ${r.code}`}, ${now === old ? 'old' : 'new'} checkpoint`,
    );
  }
  const last = await runUib(args(2));
  assert.equal(last.code, 0, last.stderr);
  checkCheckpointDir(out);
  assert.notEqual(readCheckpointMeta(out).weightsSha256, old, 'seed 2 gives other weights');
  t.diagnostic(`whole run ${Math.round(whole)} ms; ${seen.join('; ')}`);
});
