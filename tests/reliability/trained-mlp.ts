/**
 * The guard tests' setup: an 8-unit MLP trained for one epoch on a class scenario of 100 MNIST
 * images (cpu backend), built once per test file, and `unlearn()` inputs over it.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/backend/index.ts';
import {
  createScenario,
  materialiseScenario,
  type Scenario,
} from '../../src/data/scenarios/index.ts';
import { buildModel } from '../../src/models/index.ts';
import type { ModelSpec } from '../../src/models/types.ts';
import { trainModel } from '../../src/train/train.ts';
import type { TrainRecipe } from '../../src/train/types.ts';

export const spec: ModelSpec = {
  arch: 'mlp',
  hidden: [8],
  inputShape: [28, 28, 1],
  numClasses: 10,
  seed: 3,
};
export const recipe: TrainRecipe = {
  optimizer: { name: 'sgd', lr: 0.1 },
  epochs: 1,
  batchSize: 32,
  seed: 3,
};

let ready: Promise<{ s: Scenario; original: LayersModel }> | null = null;
export function setup(): Promise<{ s: Scenario; original: LayersModel }> {
  ready ??= (async () => {
    await initBackend('cpu');
    const s = materialiseScenario(
      createScenario({
        dataset: 'mnist',
        seed: 1,
        trainSize: 100,
        testSize: 50,
        scenario: { kind: 'class', forgetClass: 3 },
      }),
    );
    const original = buildModel(spec);
    await trainModel(original, s.train, recipe, { quiet: true });
    return { s, original };
  })();
  return ready;
}

/** `unlearn()` inputs for `original` on the scenario's split, seed 1, quiet. */
export const inputs = (s: Scenario, original: LayersModel) => ({
  original,
  spec,
  recipe,
  data: { retain: s.retain, forget: s.forget },
  seed: 1,
  quiet: true,
});
