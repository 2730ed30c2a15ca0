import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildModel } from '../../src/models/index.ts';
import { CostCounter } from '../../src/train/cost.ts';
import { evaluate, softmaxCrossEntropy } from '../../src/train/evaluate.ts';
import { defaultRecipe, trainModel } from '../../src/train/train.ts';
import { blobs } from './fixtures.ts';

before(async () => {
  await tf.setBackend('cpu');
});

test('softmaxCrossEntropy matches −log softmax by hand (mean and per example)', () => {
  const logits = [
    [2, 0, -1],
    [0.5, 0.5, 3],
  ];
  const labels = [0, 1];
  const byHand = logits.map((row, i) => {
    const lse = Math.log(row.reduce((s, z) => s + Math.exp(z), 0));
    return lse - row[labels[i]];
  });
  const l = tf.tensor2d(logits);
  const y = tf.tensor1d(labels, 'int32');
  const per = softmaxCrossEntropy(l, y, 'none').arraySync() as number[];
  per.forEach((v, i) => {
    assert.ok(Math.abs(v - byHand[i]) < 1e-5);
  });
  const mean = softmaxCrossEntropy(l, y).arraySync() as number;
  assert.ok(Math.abs(mean - (byHand[0] + byHand[1]) / 2) < 1e-5);
});

test('evaluate: accuracy, loss and probs equal a one-batch computation; batched without leaks', async () => {
  const data = blobs(37, 4, 3, 2);
  const m = buildModel({ arch: 'mlp', inputShape: [4], numClasses: 3, hidden: [6], seed: 2 });
  const { xs, ys } = data.tensors();
  const logits = m.predict(xs) as tf.Tensor;
  const pred = Array.from(tf.argMax(logits, -1).dataSync());
  const labels = Array.from(ys.dataSync());
  const acc = pred.filter((p, i) => p === labels[i]).length / 37;
  const loss = softmaxCrossEntropy(logits, ys).dataSync()[0];
  const probs = tf.softmax(logits).dataSync();
  const base = tf.memory().numTensors;
  const cost = new CostCounter();
  const r = await evaluate(m, data, 8, { probs: true, cost });
  assert.equal(tf.memory().numTensors, base);
  assert.equal(r.n, 37);
  assert.equal(r.accuracy, acc);
  assert.ok(Math.abs(r.loss - loss) < 1e-5);
  assert.equal(r.probs?.length, 37 * 3);
  r.probs?.forEach((p, i) => {
    assert.ok(Math.abs(p - probs[i]) < 1e-6);
  });
  assert.equal(cost.forwardEvals, 37);
});

test('trainModel learns separable blobs; the recipe seed fixes the result', async () => {
  const data = blobs(120, 4, 3, 4);
  const run = async () => {
    const m = buildModel({ arch: 'mlp', inputShape: [4], numClasses: 3, hidden: [16], seed: 1 });
    const before = (await evaluate(m, data)).loss;
    const recipe = { ...defaultRecipe('mlp', 5), epochs: 5, batchSize: 16 };
    recipe.optimizer = { ...recipe.optimizer, lr: 0.02 };
    const r = await trainModel(m, data, recipe, { quiet: true });
    const after = await evaluate(m, data);
    return { before, after, r, w: Array.from(m.getWeights()[0].dataSync()) };
  };
  const a = await run();
  const b = await run();
  assert.equal(a.r.history.length, 5);
  assert.ok(a.after.loss < a.before, `${a.after.loss} ≥ ${a.before}`);
  assert.ok(a.after.accuracy > 0.8, `accuracy ${a.after.accuracy}`);
  assert.deepEqual(a.w, b.w);
});

test('trainModel refuses a bad recipe', async () => {
  const m = buildModel({ arch: 'mlp', inputShape: [4], numClasses: 3, seed: 1 });
  const data = blobs(10, 4, 3, 4);
  await assert.rejects(
    trainModel(m, data, { ...defaultRecipe('mlp'), batchSize: 0 }),
    /recipe\.batchSize/,
  );
  await assert.rejects(
    trainModel(m, data, { ...defaultRecipe('mlp'), epochs: -1 }),
    /recipe\.epochs/,
  );
});
