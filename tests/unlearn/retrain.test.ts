/**
 * Retrain is independent of the original: its initial weights and its data order come from a
 * seed drawn from the run's own stream (recorded in its details), not from the original's spec and
 * recipe; `independent: false` restores the coupled Retrain for comparison.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/backend/index.ts';
import { createScenario, materialiseScenario } from '../../src/data/scenarios/index.ts';
import { buildModel } from '../../src/models/index.ts';
import type { ModelSpec } from '../../src/models/types.ts';
import { unlearn, weightHashes } from '../../src/unlearn/registry.ts';

const spec: ModelSpec = {
  arch: 'mlp',
  hidden: [6],
  inputShape: [28, 28, 1],
  numClasses: 10,
  seed: 7,
};
const recipe = { optimizer: { name: 'sgd' as const, lr: 0.1 }, epochs: 1, batchSize: 32, seed: 7 };

test('Retrain draws its own initialisation and data order; independent: false is the coupled one', async () => {
  await initBackend('cpu');
  const s = materialiseScenario(
    createScenario({
      dataset: 'mnist',
      seed: 1,
      trainSize: 80,
      testSize: 20,
      scenario: { kind: 'random', forgetFraction: 0.2 },
    }),
  );
  const original = buildModel(spec);
  const inputs = (seed: number) => ({
    original,
    spec,
    recipe,
    data: { retain: s.retain, forget: s.forget },
    seed,
    quiet: true,
  });
  const a = await unlearn('retrain', inputs(1), { epochs: 0.01 });
  const b = await unlearn('retrain', inputs(2), { epochs: 0.01 });
  const coupled = await unlearn('retrain', inputs(1), { epochs: 0.01, independent: false });
  const seedOf = (r: typeof a) => r.details.seed as number;
  assert.notEqual(seedOf(a), spec.seed, "not the original's initialisation");
  assert.notEqual(seedOf(a), seedOf(b), 'another run seed, another Retrain');
  assert.equal(a.details.shuffleSeed, seedOf(a));
  assert.equal(seedOf(coupled), spec.seed);
  assert.equal(coupled.details.shuffleSeed, recipe.seed);
  // The same run seed gives the same Retrain, bit for bit.
  const again = await unlearn('retrain', inputs(1), { epochs: 0.01 });
  assert.deepEqual(weightHashes(again.model), weightHashes(a.model));
  // A Retrain barely trained (one step) still sits near its own start, far from the original's.
  const start = buildModel({ ...spec, seed: seedOf(a) });
  const differs = Object.values(weightHashes(start)).some(
    (h, i) => h !== Object.values(weightHashes(original))[i],
  );
  assert.ok(differs, "its initial weights are not the original's");
  for (const m of [a.model, b.model, coupled.model, again.model, start, original]) m.dispose();
});
