import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/index.ts';
import { createScenario, materialiseScenario } from '../../src/data/scenarios/index.ts';
import { buildModel } from '../../src/models/index.ts';
import { trainModel } from '../../src/train/train.ts';
import { unlearn, weightHashes } from '../../src/unlearn/registry.ts';

await initBackend('cpu');
const m = createScenario({
  dataset: 'mnist',
  seed: 1,
  trainSize: 100,
  testSize: 50,
  scenario: { kind: 'class', forgetClass: 3 },
});
const s = materialiseScenario(m);
const spec = {
  arch: 'mlp' as const,
  hidden: [8],
  inputShape: [28, 28, 1],
  numClasses: 10,
  seed: 3,
};
const recipe = { optimizer: { name: 'sgd' as const, lr: 0.1 }, epochs: 1, batchSize: 32, seed: 3 };
const original = buildModel(spec);
await trainModel(original, s.train, recipe, { quiet: true });
const before = weightHashes(original);
const n0 = tf.memory().numTensors;
for (const lr of [1, 10]) {
  try {
    const r = await unlearn(
      'ga',
      {
        original,
        spec,
        recipe,
        data: { retain: s.retain, forget: s.forget },
        seed: 1,
        quiet: true,
      },
      { lr, epochs: 200 },
    );
    const w = r.model.weights.map((w) => w.read().dataSync() as Float32Array);
    console.log(
      'lr',
      lr,
      'finished; max |w|',
      Math.max(...w.map((a) => Math.max(...a.map(Math.abs)))),
      'finite',
      w.every((a) => a.every(Number.isFinite)),
    );
    r.model.dispose();
  } catch (e) {
    console.log('lr', lr, String(e));
  }
  console.log('tensors', tf.memory().numTensors - n0);
}
console.log(JSON.stringify(before) === JSON.stringify(weightHashes(original)));
