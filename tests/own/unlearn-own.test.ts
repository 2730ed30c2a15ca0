/**
 * `uib unlearn --model` on a model uib did not build, over data in the user's own files: an image
 * folder of real MNIST digits with a functional tfjs model (two branches joined by Add, Dropout,
 * BatchNormalization, LayerNormalization, softmax), and a CSV with an MLP. The unlearned model
 * loads with tfjs alone (no uib code) and predicts as uib's evidence says; bad input is one line,
 * exit 2, nothing written.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.ts';
import { sha256 } from '../../src/core/hash.ts';
import { EvidenceSchema } from '../../src/experiments/evidence.ts';
import { loadLayersModelFile } from '../../src/models/user-model.ts';
import { readOwnDeletionRecord } from '../../src/unlearn/own-record.ts';
import { tempDir } from '../data/helpers.ts';
import { ROOT, uib } from '../helpers/cli.ts';
import {
  fitAndSave,
  imageBranchy,
  mnistTensors,
  PLAIN_TFJS_PREDICT,
  writeMnistFolder,
} from './fixtures.ts';

const backend = process.env.UIB_BACKEND ?? 'cpu';
const TRAIN = 200;
const TEST = 100;

async function imageSetup() {
  await initBackend(backend);
  const dir = tempDir('own-img');
  const train = writeMnistFolder(path.join(dir, 'train'), TRAIN, 0);
  writeMnistFolder(path.join(dir, 'test'), TEST, 5000);
  const { x, y } = mnistTensors(0, TRAIN);
  const model = imageBranchy();
  await fitAndSave(model, x, y, path.join(dir, 'model'), 15);
  tf.dispose([x, y]);
  model.dispose();
  // Every 7 of the training set, named by id (a person's records are rarely one class, but a
  // forgotten digit is what 200 images can show: without its samples the model cannot know it).
  const forgetIds = train.filter((s) => s.label === 7).map((s) => s.id);
  fs.writeFileSync(path.join(dir, 'forget.txt'), `${forgetIds.join('\n')}\n`);
  return { dir, forgetIds };
}

let ready: ReturnType<typeof imageSetup> | undefined;
const images = () => {
  ready ??= imageSetup();
  return ready;
};

const readEvidence = (dir: string) =>
  EvidenceSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'evidence.json'), 'utf8')));

/** Predictions of DIR/model.json by a plain Node process that imports tfjs only. */
function plainPredict(modelDir: string, x: Float32Array, shape: number[]): number[] {
  const input = path.join(path.dirname(modelDir), `input-${path.basename(modelDir)}.bin`);
  fs.writeFileSync(input, Buffer.from(x.buffer, x.byteOffset, x.byteLength));
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', PLAIN_TFJS_PREDICT, modelDir, input, JSON.stringify(shape)],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return JSON.parse(out);
}

for (const method of ['uib-if', 'ft']) {
  test(`uib unlearn --model (image folder, functional model) --method ${method}: ΔD accuracy falls, the model loads with tfjs alone`, {
    timeout: 300_000,
  }, async (t) => {
    const { dir, forgetIds } = await images();
    const out = path.join(dir, `out-${method}`);
    const before = tf.memory().numTensors;
    const r = await uib(
      'unlearn',
      '--model',
      path.join(dir, 'model', 'model.json'),
      '--data',
      path.join(dir, 'train'),
      '--test',
      path.join(dir, 'test'),
      '--forget',
      path.join(dir, 'forget.txt'),
      '--method',
      method,
      // FT's defaults (SGD, 2 epochs) barely move a model that memorised its 200 images; Adam
      // for 20 passes over D_r is what makes catastrophic forgetting happen here.
      ...(method === 'ft'
        ? ['--param', 'epochs=20', '--param', 'lr=0.01', '--param', 'optimizer=adam']
        : []),
      '--seed',
      '3',
      '--backend',
      backend,
      '--quiet',
      '--out',
      out,
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(tf.memory().numTensors, before, 'the command leaked tensors');
    assert.deepEqual(fs.readdirSync(out).sort(), [
      'deletion-record.json',
      'evidence.json',
      'model.json',
      'report.html',
      'weights.bin',
    ]);
    const e = readEvidence(out);
    assert.equal(e.counts.forget, forgetIds.length);
    assert.equal(e.counts.test, TEST);
    const fb = e.before.sets.forget.accuracy!;
    const fa = e.after.sets.forget.accuracy!;
    const ta = e.after.sets.test.accuracy!;
    // ΔD was learnt (memorised beyond test accuracy); after unlearning it moves toward the test set.
    assert.ok(
      fb > e.before.sets.test.accuracy!,
      `before: ΔD ${fb}, test ${e.before.sets.test.accuracy}`,
    );
    const lb = e.before.sets.forget.loss!;
    const la = e.after.sets.forget.loss!;
    const what = `ΔD accuracy ${fb} → ${fa}, loss ${lb.toFixed(3)} → ${la.toFixed(3)}; test accuracy ${ta}, loss ${e.after.sets.test.loss!.toFixed(3)}`;
    // Both forget the digit: ΔD's loss rises and its accuracy falls past the test set's.
    t.diagnostic(what);
    assert.ok(la > lb && la - lb > 0.02, what);
    assert.ok(fa < fb - 0.5 && fa < ta, what);
    assert.ok(e.after.sets.retain.accuracy! > 0.9, `D_r accuracy ${e.after.sets.retain.accuracy}`);
    assert.match(e.missing['avg-gap'], /--recipe/);

    const rec = readOwnDeletionRecord(path.join(out, 'deletion-record.json'));
    assert.equal(rec.method, method);
    assert.equal(rec.seed, 3);
    assert.equal(rec.request.counts.forget, forgetIds.length);
    assert.equal(rec.request.parts[0].kind, 'file');
    const part = rec.request.parts[0] as { sha256: string };
    assert.equal(part.sha256, sha256(fs.readFileSync(path.join(dir, 'forget.txt'))));
    assert.equal(
      rec.original.files[1].sha256,
      sha256(fs.readFileSync(path.join(dir, 'model', 'weights.bin'))),
    );
    assert.equal(
      rec.unlearned.files[1].sha256,
      sha256(fs.readFileSync(path.join(out, 'weights.bin'))),
    );
    assert.notEqual(rec.unlearned.files[1].sha256, rec.original.files[1].sha256);
    assert.equal(rec.evidence.sha256, sha256(fs.readFileSync(path.join(out, 'evidence.json'))));

    // tfjs alone loads it and predicts what uib's own load predicts.
    const { x } = mnistTensors(5000, 20);
    const xs = x.dataSync() as Float32Array;
    const plain = plainPredict(out, xs, [20, 28, 28, 1]);
    const m = await loadLayersModelFile(out);
    const ours = Array.from((m.predict(x) as tf.Tensor).dataSync());
    m.dispose();
    x.dispose();
    assert.equal(plain.length, 200);
    for (let i = 0; i < plain.length; i++)
      assert.ok(Math.abs(plain[i] - ours[i]) < 1e-6, `prediction ${i}: ${plain[i]} vs ${ours[i]}`);

    const v = await uib('verify', out);
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /OK$/m);
  });
}
