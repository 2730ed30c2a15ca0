/**
 * A new method is one object (one file) that trains through `ctx.train`: its `+uib` variant then
 * exists with nothing else touched — the bound is in every loop it runs, β = 0 gives the method
 * bit for bit — and a method that declares `supportsUib` without training through the loop is
 * refused instead of silently lacking the bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { cloneModel } from '../../src/models/index.ts';
import { batchCE, optimizerOf } from '../../src/unlearn/methods/common.ts';
import { uibVariant, unlearnWith } from '../../src/unlearn/registry.ts';
import type { UnlearnMethod } from '../../src/unlearn/types.ts';
import { fixture, inputsOf } from './fixtures.ts';

const toy: UnlearnMethod = {
  id: 'toy-ft',
  summary: 'a few SGD steps on D_r (test only)',
  params: z.strictObject({ steps: z.int().min(1).default(3) }),
  readsRetain: true,
  supportsUib: true,
  async run(ctx, p: { steps: number }) {
    const model = cloneModel(ctx.original);
    await ctx.train({
      model,
      streams: { retain: { data: ctx.data.retain, batchSize: 16 } },
      epochOver: 'retain',
      steps: p.steps,
      loss: (b) => batchCE(model, b.retain),
      optimizer: optimizerOf({
        optimizer: 'sgd',
        lr: 0.05,
        batchSize: 16,
        momentum: 0,
        weightDecay: 0,
        schedule: 'constant',
      }),
      rng: ctx.rng.fork('toy'),
      cost: ctx.cost,
      quiet: true,
    });
    return { model };
  },
};

const flat = (m: { weights: { read(): { dataSync(): ArrayLike<number> } }[] }) =>
  m.weights.flatMap((w) => Array.from(w.read().dataSync()));

test('a toy method gets its +uib variant by construction; β = 0 is the method bit for bit', async () => {
  const f = await fixture('bias');
  const prior = { priorFisherSamples: 100, priorSearchSamples: 50 };
  const base = await unlearnWith(toy, inputsOf(f), {});
  const zero = await unlearnWith(uibVariant(toy), inputsOf(f), { beta: 0, ...prior });
  const heavy = await unlearnWith(uibVariant(toy), inputsOf(f), { beta: 1e4, ...prior });
  try {
    assert.deepEqual(flat(zero.model), flat(base.model));
    assert.notDeepEqual(flat(heavy.model), flat(base.model), 'the bound is in the loss');
    assert.equal(zero.params.steps, 3);
  } finally {
    for (const r of [base, zero, heavy]) r.model.dispose();
  }
});

test('a method that declares supportsUib but never trains through ctx.train is refused', async () => {
  const f = await fixture('bias');
  const lazy: UnlearnMethod = {
    ...toy,
    id: 'toy-copy',
    async run(ctx) {
      return { model: cloneModel(ctx.original) };
    },
  };
  await assert.rejects(
    unlearnWith(uibVariant(lazy), inputsOf(f), { priorFisherSamples: 50, priorSearchSamples: 20 }),
    /toy-copy declares supportsUib but never trains through ctx\.train/,
  );
});
