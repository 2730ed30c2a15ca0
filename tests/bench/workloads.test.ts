import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { median, summarise } from '../../bench/lib/report.ts';
import { runReferenceJob } from '../../bench/lib/spawn.ts';
import { syntheticDataset } from '../../bench/lib/synthetic.ts';
import { STEP_WORKLOADS } from '../../bench/lib/workloads.ts';
import { initBackend } from '../../src/backend/index.ts';
import { countParams } from '../../src/models/index.ts';

const described = Object.values(STEP_WORKLOADS).map(({ build: _b, ...w }) => w);

test('each step workload builds a model with the parameter count it declares, logits out', async () => {
  await initBackend('cpu');
  for (const w of Object.values(STEP_WORKLOADS)) {
    const before = tf.memory().numTensors;
    const model = w.build(1);
    assert.equal(countParams(model), w.params, w.id);
    const shape = tf.tidy(() => (model.apply(tf.zeros([2, ...w.inputShape])) as tf.Tensor).shape);
    assert.deepEqual(shape, [2, w.numClasses], w.id);
    model.dispose();
    assert.equal(tf.memory().numTensors, before, `${w.id} leaked tensors`);
  }
  // The narrow ResNet is residual: three blocks, each with an Add.
  const resnet = STEP_WORKLOADS.resnet.build(1);
  assert.equal(resnet.layers.filter((l) => l.getClassName() === 'Add').length, 3);
  resnet.dispose();
});

test('the PyTorch reference builds the same networks (skipped without torch)', async (t) => {
  const r = await runReferenceJob({ kind: 'params', threads: 1, workloads: described });
  if (!r.ok && r.unavailable) return t.skip(r.reason);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.deepEqual(r.out.params, Object.fromEntries(described.map((w) => [w.id, w.params])));
});

test('median and summaries', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
  const s = summarise([10, 30, 20], [2048, 4096], []);
  assert.deepEqual(s && { m: s.median, lo: s.min, hi: s.max, rss: s.maxRssMB }, {
    m: 20,
    lo: 10,
    hi: 30,
    rss: 4,
  });
  assert.equal(summarise([], [], []), null);
});

test('synthetic data is seeded', () => {
  const a = syntheticDataset(4, [2, 2, 1], 3, 5);
  const b = syntheticDataset(4, [2, 2, 1], 3, 5);
  const c = syntheticDataset(4, [2, 2, 1], 3, 6);
  assert.deepEqual(a.source.x, b.source.x);
  assert.notDeepEqual(a.source.x, c.source.x);
  assert.ok(a.labels().every((y) => y >= 0 && y < 3));
});
