/**
 * The two-rename window of `writeDirAtomic`: a writer SIGKILLed after moving the old checkpoint
 * aside but before moving the new one in leaves nothing at the target. The next reader
 * (`loadCheckpoint`) or writer (`writeDirAtomic`) puts the old checkpoint back and removes the dead
 * writer's temp directories; a live writer's are left alone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initBackend } from '../../src/backend/index.ts';
import { recoverDir } from '../../src/core/atomic.ts';
import { loadCheckpoint, readCheckpointMeta, saveCheckpoint } from '../../src/models/checkpoint.ts';
import { buildModel } from '../../src/models/index.ts';
import { tempDir } from '../data/helpers.ts';
import { ROOT } from '../helpers/cli.ts';
import { tempLeftovers } from './cli.ts';

/** Run `_swap-child.ts`, which kills itself after its `nth` rename; returns what it left beside `target`. */
function killedSwap(target: string, nth: number): string[] {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'tests', 'reliability', '_swap-child.ts'),
      target,
      String(nth),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  return fs.readdirSync(path.dirname(target)).sort();
}

const spec = { arch: 'mlp' as const, inputShape: [6], numClasses: 3, hidden: [4], seed: 1 };

test('a writer killed between the two renames: the old checkpoint comes back, whole', {
  timeout: 60_000,
}, async () => {
  await initBackend('cpu');
  const parent = tempDir('kill-swap');
  const target = path.join(parent, 'ck');
  const m = buildModel(spec);
  const { weightsSha256: old } = await saveCheckpoint(target, m);
  m.dispose();

  // Killed after the first rename: nothing at the target, the old checkpoint under a temp name.
  let left = killedSwap(target, 1);
  assert.ok(!left.includes('ck'), `the kill missed the window: ${left}`);
  assert.ok(
    left.some((n) => /^\.ck\.tmp-\d+-[0-9a-f]+\.old$/.test(n)),
    `${left}`,
  );
  // A reader puts it back.
  const { model, meta } = await loadCheckpoint(target);
  model.dispose();
  assert.equal(meta.weightsSha256, old);
  assert.deepEqual(tempLeftovers(parent), []);
  assert.deepEqual(fs.readdirSync(parent), ['ck']);

  // Again; this time the next writer recovers first, then replaces it.
  left = killedSwap(target, 1);
  assert.ok(!left.includes('ck'));
  const m2 = buildModel({ ...spec, seed: 2 });
  const { weightsSha256: next } = await saveCheckpoint(target, m2);
  m2.dispose();
  assert.notEqual(next, old);
  assert.equal(readCheckpointMeta(target).weightsSha256, next);
  assert.deepEqual(fs.readdirSync(parent), ['ck']);

  // Killed after the second rename: the new directory is in, the old one lingers; it is removed.
  left = killedSwap(target, 2);
  assert.ok(left.includes('ck'));
  assert.deepEqual(fs.readdirSync(path.join(target)), ['new.txt']);
  assert.equal(left.length, 2, `${left}`);
  assert.equal(recoverDir(target), false);
  assert.deepEqual(fs.readdirSync(parent), ['ck']);
});

test('a live writer’s temp directories are left alone', () => {
  const parent = tempDir('live-swap');
  const target = path.join(parent, 'ck');
  // This process is alive: its "moved aside" directory is a swap in progress, not a leftover.
  const mine = path.join(parent, `.ck.tmp-${process.pid}-abcd1234.old`);
  fs.mkdirSync(mine);
  assert.equal(recoverDir(target), false);
  assert.ok(fs.existsSync(mine) && !fs.existsSync(target));
  fs.rmSync(parent, { recursive: true });
});
