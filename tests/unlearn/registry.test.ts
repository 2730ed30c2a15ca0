import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.ts';
import { formatMethods } from '../../src/cli/commands/methods.ts';
import { UsageError } from '../../src/core/errors.ts';
import { Rng } from '../../src/core/rng.ts';
import { Dataset } from '../../src/data/dataset.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { buildModel } from '../../src/models/index.ts';
import { randomWrongLabels } from '../../src/unlearn/methods/common.ts';
import { woodFisherSolve } from '../../src/unlearn/methods/iu.ts';
import { saliencyMasks } from '../../src/unlearn/methods/salun.ts';
import { distillKL } from '../../src/unlearn/methods/scrub.ts';
import { dampeningFactors } from '../../src/unlearn/methods/ssd.ts';
import {
  getMethod,
  hiddenRetain,
  listMethods,
  METHODS,
  unlearn,
} from '../../src/unlearn/registry.ts';

/** A 3-class MLP on 2×2 inputs and a dataset of n samples (labels 0,1,2,0,...; inputs a ramp or zeros). */
function tinySetup(n: number, ramp: boolean) {
  const spec = { arch: 'mlp' as const, inputShape: [2, 2, 1], numClasses: 3, hidden: [5], seed: 1 };
  const x = ramp
    ? Float32Array.from({ length: 4 * n }, (_, i) => (i % 7) / 7)
    : new Float32Array(4 * n);
  const y = Uint8Array.from({ length: n }, (_, i) => i % 3);
  const ds = new Dataset({
    name: 't',
    sampleShape: [2, 2, 1],
    x,
    scale: 1,
    y,
    numClasses: 3,
    meta: {},
  });
  return { spec, model: buildModel(spec), ds };
}

test('unknown ids fail with one line listing the known ids', () => {
  assert.throws(
    () => getMethod('nope'),
    (e: unknown) =>
      e instanceof UsageError &&
      !e.message.includes('\n') &&
      e.message.includes('salun') &&
      e.message.includes('ft+uib'),
  );
});

test('every supportsUib method has a +uib variant, and ids are unique', () => {
  const ids = METHODS.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ['ft', 'ga', 'neg-grad-plus', 'rl', 'l1-sparse', 'salun', 'scrub', 'jtt'])
    assert.ok(ids.includes(`${id}+uib`), id);
  assert.ok(!ids.includes('ssd+uib'));
  assert.ok(!ids.includes('dfr+uib'));
});

test('bad hyper-parameters fail with one line: parameter, allowed range, value received', async () => {
  await initBackend('cpu');
  const { spec, model, ds } = tinySetup(6, false);
  const inputs = {
    original: model,
    spec,
    recipe: { optimizer: { name: 'sgd' as const, lr: 0.1 }, epochs: 1, batchSize: 2, seed: 1 },
    data: { retain: ds.take(4), forget: ds.subset([4, 5]) },
    seed: 1,
    quiet: true,
  };
  const check = async (id: string, params: Record<string, unknown>, ...parts: string[]) => {
    await assert.rejects(unlearn(id, inputs, params), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.ok(!e.message.includes('\n'));
      for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
      return true;
    });
  };
  await check('salun', { maskRatio: 1.5 }, 'salun.maskRatio', '(0, 1]', '1.5');
  await check('ft', { lr: -1 }, 'ft.lr', '(0, 10]', '-1');
  await check('ft', { batchSize: 2.5 }, 'ft.batchSize', 'integer', '2.5');
  await check('ft', { optimizer: 'rmsprop' }, 'ft.optimizer', 'sgd, adam', 'rmsprop');
  await check('ga', { bogus: 1 }, 'ga.bogus', 'unknown', 'epochs');
  await check('ft+uib', { beta: -2 }, 'ft+uib.beta', '-2');
  model.dispose();
});

test('methods that must not read D_r get a view that throws on any use; GA never reads it', async () => {
  await initBackend('cpu');
  const { spec, model, ds } = tinySetup(6, true);
  const hidden = hiddenRetain('x', ds);
  assert.throws(
    () => hidden.length,
    /x: read the retain set D_r \("\.length"\) but declares readsRetain: false/,
  );
  assert.throws(() => hidden.tensors([0]));
  // A retain set that throws on any use at all: GA must finish without touching it.
  const trap = new Proxy(ds, {
    get: () => {
      throw new Error('D_r touched');
    },
  });
  const r = await unlearn(
    'ga',
    {
      original: model,
      spec,
      recipe: { optimizer: { name: 'sgd', lr: 0.1 }, epochs: 1, batchSize: 2, seed: 1 },
      data: { retain: trap, forget: ds.subset([4, 5]) },
      numTrain: 6,
      seed: 1,
      quiet: true,
    },
    { epochs: 1, batchSize: 2 },
  );
  assert.deepEqual(Object.keys(r.details.touched as object), ['forget']);
  r.model.dispose();
  model.dispose();
});

test('woodFisherSolve equals the dense inverse (λI + GᵀG/m)⁻¹ v', () => {
  const rng = new Rng(3);
  const m = 4;
  const d = 6;
  const G = Array.from({ length: m }, () => Float32Array.from({ length: d }, () => rng.normal()));
  const v = Float64Array.from({ length: d }, () => rng.normal());
  const lambda = 0.7;
  const x = woodFisherSolve(G, v, lambda);
  // Check F x = v with F built explicitly.
  for (let i = 0; i < d; i++) {
    let s = lambda * x[i];
    for (let k = 0; k < m; k++) {
      let gx = 0;
      for (let j = 0; j < d; j++) gx += G[k][j] * x[j];
      s += (G[k][i] * gx) / m;
    }
    assert.ok(Math.abs(s - v[i]) < 1e-9, `row ${i}: ${s} vs ${v[i]}`);
  }
});

test('distillKL is T²·KL(teacher ‖ student) of the tempered softmaxes', async () => {
  await initBackend('cpu');
  const s = [1, 0, -1];
  const t = [0.5, 0.2, 0.1];
  const T = 2;
  const sm = (z: number[]) => {
    const e = z.map((v) => Math.exp(v / T));
    const n = e.reduce((a, b) => a + b);
    return e.map((v) => v / n);
  };
  const ps = sm(s);
  const pt = sm(t);
  const want = T * T * pt.reduce((a, p, i) => a + p * Math.log(p / ps[i]), 0);
  const got = distillKL(tf.tensor2d([s]), tf.tensor2d([t]), T);
  assert.ok(Math.abs(got.dataSync()[0] - want) < 1e-5);
  got.dispose();
});

test('saliencyMasks keeps exactly the largest share, ties broken by position', async () => {
  await initBackend('cpu');
  const grads = new Map([
    ['a', Float32Array.from([0.1, -5, 0.2, 0.2])],
    ['b', Float32Array.from([0.2, 3, 0, -0.2])],
  ]);
  const shapes = new Map([
    ['a', [4]],
    ['b', [2, 2]],
  ]);
  const { masks, kept } = saliencyMasks(grads, shapes, 0.5);
  assert.equal(kept, 4);
  assert.deepEqual(Array.from(masks.get('a')!.dataSync()), [0, 1, 1, 1]);
  assert.deepEqual(Array.from(masks.get('b')!.dataSync()), [0, 1, 0, 0]);
  tf.dispose([...masks.values()]);
});

test('dampeningFactors: only entries with F_f > α·F_D, scaled by min(λ·F_D/F_f, 1)', () => {
  const fD = Float32Array.from([1, 1, 1, 0]);
  const fF = Float32Array.from([5, 20, 0.5, 1]);
  assert.deepEqual(Array.from(dampeningFactors(fD, fF, 10, 1)), [1, 0.05000000074505806, 1, 0]);
  assert.deepEqual(Array.from(dampeningFactors(fD, fF, 2, 100)), [1, 1, 1, 0]);
});

test('random wrong labels are never the true label and cover the others', () => {
  const ds = new Dataset(loadMnist('test')).take(500);
  const wrong = randomWrongLabels(ds, new Rng(1));
  const seen = new Set<number>();
  for (let i = 0; i < ds.length; i++) {
    assert.notEqual(wrong[i], ds.label(i));
    seen.add(wrong[i]);
  }
  assert.equal(seen.size, 10);
});

test('`uib methods` lists every id with its summary', () => {
  const out = formatMethods();
  for (const m of listMethods())
    assert.ok(out.includes(`${m.id} `) && out.includes(m.summary), m.id);
  assert.ok(out.includes('maskRatio=0.5'));
});

test('a method that throws after cloning the model leaks no tensors or variables', async () => {
  await initBackend('cpu');
  const { spec, model, ds } = tinySetup(12, true);
  // D_r that works for its first `uses` property reads, then throws: FT has cloned the model by
  // then and, half-way through, taken Adam steps (optimizer slots are variables too).
  let reads = 0;
  const failing = (uses: number) =>
    new Proxy(ds, {
      get(target, prop, receiver) {
        if (++reads > uses) throw new Error('D_r failed');
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  const inputs = (uses: number) => ({
    original: model,
    spec,
    recipe: { optimizer: { name: 'adam' as const, lr: 0.1 }, epochs: 1, batchSize: 2, seed: 1 },
    data: { retain: failing(uses), forget: ds.subset([0, 1]) },
    seed: 1,
    quiet: true,
  });
  const params = { epochs: 3, batchSize: 2, optimizer: 'adam' };
  // A whole run first, to count the reads it makes (and to warm up anything cached once).
  const whole = await unlearn('ft', inputs(Number.POSITIVE_INFINITY), params);
  whole.model.dispose();
  const total = reads;
  assert.ok(total > 10, `a whole run reads D_r ${total} times`);
  const numTensors = tf.memory().numTensors;
  const numVars = Object.keys(tf.engine().registeredVariables).length;
  for (const uses of [0, 3, Math.floor(total / 2)]) {
    reads = 0;
    await assert.rejects(unlearn('ft', inputs(uses), params), /D_r failed/);
    assert.equal(tf.memory().numTensors, numTensors, `failing after ${uses} reads: tensors leaked`);
    assert.equal(
      Object.keys(tf.engine().registeredVariables).length,
      numVars,
      `failing after ${uses} reads: variables leaked`,
    );
  }
  model.dispose();
});
