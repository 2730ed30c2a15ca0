import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { sha256Json } from '../../src/core/hash.ts';
import { readManifest } from '../../src/data/scenarios/index.ts';
import { loadCheckpoint } from '../../src/models/checkpoint.ts';
import { uib } from '../helpers/cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-train-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('uib train: per-epoch metrics on stdout, a loadable checkpoint with its metadata', async () => {
  const out = path.join(tmp, 'mlp');
  const args = [
    'train',
    '--model',
    'mlp',
    '--subset',
    '300',
    '--test-size',
    '200',
    '--epochs',
    '2',
  ];
  const r = await uib(
    ...args,
    '--lr',
    '3e-3',
    '--seed',
    '3',
    '--backend',
    'cpu',
    '--quiet',
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /epoch 1\/2 +train loss \d\.\d{4} +test loss \d\.\d{4} +test acc \d+\.\d\d %/,
  );
  assert.match(r.out, /epoch 2\/2 /);
  // (tfjs-backend-cpu prints its one-off tfjs-node advert itself; that is not ours.)
  const ours = r.err
    .replace(/=+\s*Hi, looks like you are running TensorFlow\.js[^=]*=+/, '')
    .trim();
  assert.equal(ours, '', 'nothing else on stderr when quiet');
  const { model, meta } = await loadCheckpoint(out);
  assert.deepEqual(meta.spec, { arch: 'mlp', inputShape: [28, 28, 1], numClasses: 10, seed: 3 });
  assert.equal(meta.recipe?.optimizer.lr, 3e-3);
  assert.equal(meta.recipe?.epochs, 2);
  assert.equal(meta.extra?.subset, 300);
  assert.equal(meta.extra?.testSize, 200);
  const acc = meta.metrics?.testAccuracy ?? 0;
  assert.ok(acc > 0.5, `test accuracy ${acc} after 2 epochs on 300 samples`);
  assert.match(r.out, new RegExp(`test acc ${(100 * acc).toFixed(2)} %`));
  model.dispose();
});

test('bad flags exit 2 with one line naming the flag, and write nothing', async () => {
  const out = path.join(tmp, 'never');
  const cases: [string[], RegExp][] = [
    [['--model', 'vgg'], /--model: must be one of mlp, cnn, resnet18; got "vgg"/],
    [['--dataset', 'imagenet'], /--dataset: unknown dataset "imagenet"/],
    [['--backend', 'tpu'], /--backend: unknown backend "tpu"/],
    [['--epochs', '0'], /--epochs: must be a number in \(0, 1000\]; got "0"/],
    [['--epochs', 'x'], /--epochs: must be a number/],
    [['--batch-size', '1.5'], /--batch-size: must be an integer/],
    [['--lr', '-1'], /--lr: must be a number/],
    [['--subset', '0'], /--subset: must be an integer ≥ 1; got "0"/],
    [
      ['--subset', '70000', '--backend', 'cpu'],
      /--subset: must be at most the 60000 training samples of mnist; got 70000/,
    ],
    [['--optimizer', 'rmsprop'], /--optimizer: must be one of sgd, adam/],
    [['--schedule', 'exp'], /--schedule: must be one of constant, cosine, linear, step/],
    [['--width', '8', '--model', 'cnn'], /--width: applies to --model resnet18 only/],
  ];
  for (const [flags, pattern] of cases) {
    const r = await uib('train', ...flags, '--out', out);
    assert.equal(r.code, 2, `${flags.join(' ')}: exit ${r.code}; ${r.err}`);
    assert.match(r.err, pattern);
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  }
  const noOut = await uib('train', '--model', 'mlp');
  assert.equal(noOut.code, 2);
  assert.match(noOut.err, /--out: required/);
  assert.equal(fs.existsSync(out), false);
});

test('train --scenario --cache-fisher, then unlearn uib-if: the record says F_D came from the cache', async () => {
  const manifest = path.join(tmp, 's.json');
  const s = await uib(
    'scenario',
    '--dataset',
    'mnist',
    '--kind',
    'class',
    '--class',
    '3',
    '--seed',
    '1',
    '--train-size',
    '300',
    '--test-size',
    '100',
    '--out',
    manifest,
  );
  assert.equal(s.code, 0, s.err);
  const ckpt = path.join(tmp, 'cnn');
  const t = await uib(
    'train',
    '--scenario',
    manifest,
    '--model',
    'mlp',
    '--epochs',
    '1',
    '--cache-fisher',
    '--backend',
    'cpu',
    '--quiet',
    '--out',
    ckpt,
  );
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /F_D cached in/);
  const { model, meta } = await loadCheckpoint(ckpt);
  model.dispose();
  const m = readManifest(manifest);
  assert.equal(meta.scenarioHash, sha256Json(m));
  assert.equal(meta.extra?.subset, m.counts.train);
  // The cache is tied to the checkpoint's weights (a stale one is refused).
  const index = JSON.parse(fs.readFileSync(path.join(ckpt, 'fisher.json'), 'utf8'));
  assert.equal(index.weightsSha256, meta.weightsSha256);
  assert.equal(index.n, m.counts.train);
  // Nothing of the atomic write is left beside the checkpoint.
  assert.deepEqual(
    fs.readdirSync(tmp).filter((n) => n.startsWith('.')),
    [],
  );

  const out = path.join(tmp, 'cnn-uib');
  const u = await uib(
    'unlearn',
    '--checkpoint',
    ckpt,
    '--scenario',
    manifest,
    '--method',
    'uib-if',
    '--param',
    'epochs=0',
    '--backend',
    'cpu',
    '--quiet',
    '--out',
    out,
  );
  assert.equal(u.code, 0, u.err);
  const record = JSON.parse(fs.readFileSync(path.join(out, 'deletion-record.json'), 'utf8'));
  assert.equal(record.scenario.matchesCheckpoint, true);
  assert.deepEqual(record.curvature, { kind: 'fisher-stratified', source: 'cache', samples: 300 });
  const v = await uib('verify', out);
  assert.equal(v.code, 0, v.err);
});

test('--scenario refuses flags that would pick other data', async () => {
  for (const flag of [
    ['--dataset', 'mnist'],
    ['--subset', '100'],
  ]) {
    const r = await uib('train', '--scenario', 'x.json', ...flag, '--out', path.join(tmp, 'no'));
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, new RegExp(`${flag[0]}: not with --scenario`));
  }
});
