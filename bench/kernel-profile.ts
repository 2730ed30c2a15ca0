/**
 * Where a training step's time goes, per tfjs kernel (src/backend/profile.ts), for the workloads of
 * bench/train-steps.ts. Not a test:
 * `node --import tsx bench/kernel-profile.ts [--backend wasm] [--models cnn,resnet] [--steps 3]`.
 * Prints a Markdown table per workload on stdout.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/backend/index.ts';
import { profileKernels } from '../src/backend/profile.ts';
import { buildModel, type ModelSpec } from '../src/models/index.ts';

const WORKLOADS: Record<string, { spec: ModelSpec; batch: number }> = {
  mlp: {
    spec: { arch: 'mlp', inputShape: [28, 28, 1], numClasses: 10, hidden: [256, 256], seed: 1 },
    batch: 128,
  },
  cnn: { spec: { arch: 'cnn', inputShape: [28, 28, 1], numClasses: 10, seed: 1 }, batch: 128 },
  resnet: {
    spec: { arch: 'resnet18', inputShape: [28, 28, 1], numClasses: 10, width: 8, seed: 1 },
    batch: 64,
  },
};

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    models: { type: 'string', default: 'cnn,resnet' },
    steps: { type: 'string', default: '3' },
  },
});
const backend = await initBackend(values.backend);
for (const id of values.models.split(',')) {
  const w = WORKLOADS[id];
  if (w === undefined) throw new Error(`unknown model ${id}; one of ${Object.keys(WORKLOADS)}`);
  const model: tfl.LayersModel = buildModel(w.spec);
  const opt: tf.Optimizer = tf.train.adam(1e-3);
  const x = tf.randomNormal([w.batch, ...w.spec.inputShape], 0, 1, 'float32', 7);
  const y = tf.tidy(() =>
    tf.oneHot(tf.randomUniform([w.batch], 0, w.spec.numClasses, 'int32', 8), w.spec.numClasses),
  );
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () =>
          tf.losses.softmaxCrossEntropy(
            y,
            model.apply(x, { training: true }) as tf.Tensor,
          ) as tf.Scalar,
      );
      opt.applyGradients(grads);
      value.dataSync();
    });
  step();
  step();
  const p = profileKernels(backend, step, Number(values.steps));
  const lines = [
    `### ${id} on ${backend}: ${p.stepMs.toFixed(1)} ms/step, ${(p.stepMs - p.kernelMs).toFixed(1)} ms outside kernels`,
    '',
    '| kernel | calls/step | ms/step | share |',
    '|---|---|---|---|',
    ...p.kernels
      .filter((k) => k.ms >= 0.005 * p.stepMs)
      .map(
        (k) =>
          `| ${k.kernelName} | ${k.calls} | ${k.ms.toFixed(1)} | ${((100 * k.ms) / p.stepMs).toFixed(0)}% |`,
      ),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
}
