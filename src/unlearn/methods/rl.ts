/**
 * RL — random labels (Golatkar et al. 2020; SalUn's RL, Fan et al. 2024): fine-tune on ΔD with
 * random wrong labels mixed with D_r. Each step draws a forget batch and a retain batch sized
 * like one shuffled batch of the union, so an epoch (one pass over D_r) also passes over ΔD about
 * once.
 *
 *   L = (b_f·CE(ΔD, y') + α·b_r·CE(D_r, y)) / (b_f + b_r),   y' ≠ y uniform
 *
 * The random labels are drawn afresh for every ΔD batch (`relabel: 'batch'`), so a sample gets a
 * new one at each visit, as in SalUn's code (OPTML-Group/Unlearn-Saliency, Classification/unlearn/
 * RL.py: a `torch.randint` per forget batch, CIFAR-10 branch; a fresh relabelled copy of ΔD per
 * epoch, CIFAR-100 branch). `relabel: 'once'` keeps one draw per sample for the whole run. The
 * pool is the paper's y′ ≠ y (`randomLabels: 'wrong'`); the code's draw over all classes is
 * `randomLabels: 'uniform'`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { Rng } from '../../core/rng.ts';
import type { Dataset } from '../../data/dataset.ts';
import { cloneModel } from '../../models/index.ts';
import type { MethodOutput, UnlearnContext, UnlearnMethod } from '../types.ts';
import {
  batchCE,
  disposeOnThrow,
  optimizerOf,
  type RandomLabelPool,
  randomLabel,
  randomWrongLabels,
  type TrainingParams,
  timed,
  trainingParams,
} from './common.ts';

export const rlParamShape = {
  ...trainingParams({ epochs: 2, lr: 0.01 }),
  retainWeight: z.number().min(0).max(1000).default(1).describe('α: weight of the D_r term'),
  forgetBatchSize: z
    .number()
    .int()
    .min(1)
    .max(65536)
    .optional()
    .describe('ΔD samples per step (default: batchSize·|ΔD|/n, at least 1)'),
  relabel: z
    .enum(['batch', 'once'])
    .default('batch')
    .describe("ΔD's random labels: drawn afresh for every batch (SalUn's code) or once per run"),
  randomLabels: z
    .enum(['wrong', 'uniform'])
    .default('wrong')
    .describe('pool of the random labels: the other classes (y′ ≠ y) or all classes'),
};
const params = z.strictObject(rlParamShape);

export type RlParams = TrainingParams & {
  retainWeight: number;
  forgetBatchSize?: number;
  relabel: 'batch' | 'once';
  randomLabels: RandomLabelPool;
};

/**
 * The random labels of ΔD batches: `labelsFor(positions)` gives one label per position, drawn
 * afresh on every call (`batch`) or looked up in a table drawn once (`once`); `draws` counts the
 * labels drawn so far.
 */
export function forgetLabeller(
  forget: Dataset,
  relabel: 'batch' | 'once',
  pool: RandomLabelPool,
  rng: Rng,
): { labelsFor(positions: Uint32Array): Int32Array; readonly draws: number } {
  const k = forget.numClasses;
  const table = relabel === 'once' ? randomWrongLabels(forget, rng, pool) : null;
  let draws = table ? table.length : 0;
  return {
    labelsFor(positions) {
      const out = new Int32Array(positions.length);
      for (let i = 0; i < out.length; i++) {
        const at = positions[i];
        out[i] = table ? table[at] : randomLabel(forget.label(at), k, rng, pool);
      }
      if (!table) draws += out.length;
      return out;
    },
    get draws() {
      return draws;
    },
  };
}

/** RL's fine-tuning, on `model` in place; `masks` (SalUn) freeze the entries they mark 0. */
export async function randomLabelFinetune(
  ctx: UnlearnContext,
  model: LayersModel,
  p: RlParams,
  label: string,
  masks?: Map<string, tf.Tensor>,
): Promise<{ steps: number; labelDraws: number }> {
  const { retain, forget } = ctx.data;
  const labeller = forgetLabeller(
    forget,
    p.relabel,
    p.randomLabels,
    ctx.rng.fork(`${label}-labels`),
  );
  const bf =
    p.forgetBatchSize ?? Math.max(1, Math.round((p.batchSize * forget.length) / ctx.numTrain));
  const br = Math.max(1, p.batchSize - (p.forgetBatchSize === undefined ? bf : 0));
  const run = await ctx.train({
    model,
    streams: { retain: { data: retain, batchSize: br }, forget: { data: forget, batchSize: bf } },
    epochOver: 'retain',
    epochs: p.epochs,
    loss: (b) => {
      const nf = b.forget.positions.length;
      const nr = b.retain.positions.length;
      const wrong = tf.tensor1d(labeller.labelsFor(b.forget.positions), 'int32');
      const lf = tf.mul(batchCE(model, b.forget, wrong), nf);
      const lr = tf.mul(batchCE(model, b.retain), p.retainWeight * nr);
      return tf.div(tf.add(lf, lr), nf + nr);
    },
    optimizer: optimizerOf(p),
    masks,
    rng: ctx.rng.fork(label),
    cost: ctx.cost,
    quiet: ctx.quiet,
    label,
  });
  return { steps: run.steps, labelDraws: labeller.draws };
}

export const rl: UnlearnMethod<typeof params> = {
  id: 'rl',
  summary: 'Fine-tune on ΔD with random wrong labels mixed with D_r',
  params,
  readsRetain: true,
  supportsUib: true,
  async run(ctx, p): Promise<MethodOutput> {
    const phases: Record<string, number> = {};
    const model = cloneModel(ctx.original);
    const { steps, labelDraws } = await timed(phases, 'finetune', () =>
      disposeOnThrow(model, () => randomLabelFinetune(ctx, model, p, 'rl')),
    );
    return { model, phases, details: { steps, labelDraws } };
  },
};
