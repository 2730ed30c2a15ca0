/**
 * MaskedOptimizer's native update (src/backend/native/optimizer.ts) against the same optimiser on
 * the cpu backend (its tfjs ops): Adam and SGD, with and without momentum, weight decay and a mask,
 * over several steps; on every route this machine has (wasm alone, where the tfjs ops run; native
 * with 1 and 2 threads, the work threshold at 0 so that even these small variables are split).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/backend/index.ts';
import { nativeOptimizerStep } from '../../../src/backend/native/optimizer.ts';
import { useNativeKernels } from '../../../src/backend/native/route.ts';
import { nativeKernelsActive } from '../../../src/backend/wasm/kernels.ts';
import { Rng } from '../../../src/core/rng.ts';
import { MaskedOptimizer } from '../../../src/train/optimizer.ts';
import type { OptimizerSpec } from '../../../src/train/types.ts';
import { nativeRoutes } from './routes.ts';

const { addon, routes: ROUTES } = nativeRoutes();

const SHAPES = [[3, 3, 2, 5], [5], [37, 11]];
const STEPS = 4;

/** Seeded values of the variables, the mask of the first one, and a gradient per step. */
function problem(seed: number) {
  const rng = new Rng(seed);
  const normal = (shape: number[]) =>
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
  return {
    init: SHAPES.map(normal),
    mask: normal(SHAPES[0]).map((x) => (x > 0 ? 1 : 0)),
    grads: Array.from({ length: STEPS }, () => SHAPES.map(normal)),
  };
}

/** Runs the optimiser on the current backend; the variables after every step. */
function run(spec: OptimizerSpec, p: ReturnType<typeof problem>, masked: boolean): number[][][] {
  const before = tf.memory().numTensors;
  const vars = SHAPES.map((s, i) => {
    const t = tf.tensor(p.init[i], s);
    const v = tf.variable(t, true, `v${i}`);
    t.dispose(); // the variable holds its own reference
    return v;
  });
  const mask = tf.tensor(p.mask, SHAPES[0]);
  const opt = new MaskedOptimizer(spec, vars, (v) => (masked && v === vars[0] ? mask : undefined));
  const out: number[][][] = [];
  for (const step of p.grads) {
    const grads = Object.fromEntries(step.map((g, i) => [`v${i}`, tf.tensor(g, SHAPES[i])]));
    opt.apply(grads, spec.lr);
    tf.dispose(Object.values(grads));
    out.push(vars.map((v) => Array.from(v.dataSync())));
  }
  opt.dispose();
  tf.dispose([...vars, mask]);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  return out;
}

const SPECS: [string, OptimizerSpec, boolean][] = [
  ['Adam', { name: 'adam', lr: 0.01 }, false],
  ['Adam, weight decay, mask', { name: 'adam', lr: 0.01, weightDecay: 0.1 }, true],
  ['SGD, momentum, weight decay, mask', { name: 'sgd', lr: 0.1, weightDecay: 0.05 }, true],
  ['SGD without momentum', { name: 'sgd', lr: 0.1, momentum: 0 }, false],
];

for (const [name, spec, masked] of SPECS) {
  test(`MaskedOptimizer, ${name}: every route matches cpu over ${STEPS} steps`, async () => {
    const p = problem(3);
    await initBackend('cpu');
    const want = run(spec, p, masked);
    for (const route of ROUTES) {
      await initBackend('wasm');
      useNativeKernels(route.native);
      assert.equal(nativeKernelsActive(), route.native, `${route.name}: route registered`);
      addon?.setThreads(route.threads, 0);
      const got = run(spec, p, masked);
      for (let s = 0; s < STEPS; s++) {
        for (let v = 0; v < SHAPES.length; v++) {
          const w = want[s][v];
          const g = got[s][v];
          for (let i = 0; i < w.length; i++) {
            const frozen = masked && v === 0 && p.mask[i] === 0;
            if (frozen) {
              // Masked entries keep their value exactly.
              assert.equal(g[i], Math.fround(p.init[v][i]), `${route.name}: frozen entry ${i}`);
            } else {
              const err = Math.abs(g[i] - w[i]);
              assert.ok(
                err <= 1e-6 * Math.max(1, Math.abs(w[i])),
                `${route.name}, step ${s}, variable ${v}[${i}]: ${g[i]} vs cpu ${w[i]}`,
              );
            }
          }
        }
      }
    }
  });
}

test('nativeOptimizerStep runs on the native route only, and leaves the rest to the tfjs ops', async () => {
  const args = () => ({
    kind: 'sgd' as const,
    theta: tf.variable(tf.ones([4])),
    grad: tf.ones([4]),
    m: null,
    v: null,
    mask: null,
    lr: 0.5,
    weightDecay: 0,
    beta1: 0,
    beta2: 0,
    c1: 1,
    c2: 1,
    eps: 0,
  });
  await initBackend('cpu');
  const onCpu = args();
  assert.equal(nativeOptimizerStep(onCpu), false, 'cpu backend');
  assert.deepEqual(Array.from(onCpu.theta.dataSync()), [1, 1, 1, 1]);
  tf.dispose([onCpu.theta, onCpu.grad]);
  await initBackend('wasm');
  useNativeKernels(false);
  const wasmOnly = args();
  assert.equal(nativeOptimizerStep(wasmOnly), false, 'wasm route');
  tf.dispose([wasmOnly.theta, wasmOnly.grad]);
  useNativeKernels(true);
  const native = args();
  assert.equal(nativeOptimizerStep(native), addon !== undefined, 'native route');
  if (addon !== undefined)
    assert.deepEqual(Array.from(native.theta.dataSync()), [0.5, 0.5, 0.5, 0.5]);
  tf.dispose([native.theta, native.grad]);
});
