/**
 * GA — gradient ascent on ΔD (Thudi et al. 2022; Jia et al. 2023's baseline): starting from θ̂,
 * maximise the cross-entropy of the forget set. Reads only ΔD.
 *
 *   maximise (1/|B|) Σ_{i∈B} min(CE_i, c)   over ΔD batches B
 *
 * Plain −CE has no maximum, so ascent never settles: the cap c (`forgetLossCeiling`) bounds it,
 * and a sample stops pulling once it is forgotten. The run also stops early once a whole epoch
 * sits at the cap (nothing left to ascend), and a step whose gradient norm exceeds `maxGradNorm`
 * stops it with a DivergenceError (the registry keeps θ̂; the clone is freed).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { cloneModel } from '../../models/index.ts';
import type { UnlearnMethod } from '../types.ts';
import {
  cappedCE,
  ceilingParam,
  disposeOnThrow,
  guardParams,
  optimizerOf,
  timed,
  trainingParams,
} from './common.ts';

// Jia et al. run GA with SGD at lr 1e-6…1e-4 for 5 epochs on CIFAR. On the small MNIST nets GA is
// a cliff; one pass at 5e-4 forgets a class fully and moves a biased ΔD without collapsing its
// class (docs/methods.md, "Defaults and their sources").
const params = z.strictObject({
  ...trainingParams({ epochs: 1, lr: 5e-4, batchSize: 32 }),
  forgetLossCeiling: ceilingParam(),
  ...guardParams,
});

export const ga: UnlearnMethod<typeof params> = {
  id: 'ga',
  summary: 'Gradient ascent on the forget-set loss, capped per sample (reads only ΔD)',
  params,
  readsRetain: false,
  supportsUib: true,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    const c = p.forgetLossCeiling;
    const model = cloneModel(ctx.original);
    const run = await timed(phases, 'ascent', () =>
      disposeOnThrow(model, () =>
        ctx.train({
          model,
          streams: { forget: { data: ctx.data.forget, batchSize: p.batchSize } },
          epochOver: 'forget',
          epochs: p.epochs,
          loss: (b) => tf.neg(cappedCE(model, b.forget, c)),
          optimizer: optimizerOf(p),
          guard: { maxGradNorm: p.maxGradNorm },
          // Every sample of the epoch at the cap: the bounded objective is at its maximum.
          onEpochEnd: (_epoch, meanLoss) => (meanLoss <= -c * (1 - 1e-6) ? 'stop' : undefined),
          rng: ctx.rng.fork('ga'),
          cost: ctx.cost,
          quiet: ctx.quiet,
          label: 'ga',
        }),
      ),
    );
    return { model, phases, details: { steps: run.steps, epochs: run.epochs } };
  },
};
