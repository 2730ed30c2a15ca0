/**
 * A tiny trained CNN on the MNIST class scenario and on the bias scenario, built once per test
 * process: 400 training images, 2 epochs. Small enough for CI, trained enough that forgetting
 * is measurable.
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
import type { UnlearnInputs } from '../../src/unlearn/registry.ts';

export type ScenarioName = 'class' | 'bias';

export interface Fixture {
  scenario: Scenario;
  original: LayersModel;
  spec: ModelSpec;
  recipe: TrainRecipe;
}

const cache = new Map<ScenarioName, Promise<Fixture>>();

const SCENARIOS = {
  class: { kind: 'class', forgetClass: 3 },
  bias: { kind: 'bias', corruption: 'patch', biasClass: 3, rho: 0.9, q: 0.02, testFraction: 0.5 },
} as const;

export function fixture(name: ScenarioName): Promise<Fixture> {
  let hit = cache.get(name);
  if (!hit) {
    hit = (async () => {
      await initBackend(process.env.UIB_BACKEND ?? 'wasm');
      const manifest = createScenario({
        dataset: 'mnist',
        seed: 1,
        trainSize: 400,
        testSize: 100,
        scenario: SCENARIOS[name],
      });
      const scenario = materialiseScenario(manifest);
      const spec: ModelSpec = { arch: 'cnn', inputShape: [28, 28, 1], numClasses: 10, seed: 3 };
      const recipe: TrainRecipe = {
        optimizer: { name: 'adam', lr: 2e-3 },
        epochs: 2,
        batchSize: 32,
        seed: 3,
      };
      const original = buildModel(spec);
      await trainModel(original, scenario.train, recipe, { quiet: true });
      return { scenario, original, spec, recipe };
    })();
    cache.set(name, hit);
  }
  return hit;
}

export function inputsOf(f: Fixture, extra: Partial<UnlearnInputs> = {}): UnlearnInputs {
  return {
    original: f.original,
    spec: f.spec,
    recipe: f.recipe,
    data: { retain: f.scenario.retain, forget: f.scenario.forget },
    seed: 7,
    quiet: true,
    ...extra,
  };
}
