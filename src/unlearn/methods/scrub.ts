/**
 * SCRUB (Kurmanji et al. 2023, "Towards unbounded machine unlearning"): the student starts at θ̂
 * and the original model is a frozen teacher. Each epoch:
 *
 *   max-step (the first `maxEpochs` epochs): one pass over ΔD maximising
 *                                            (1/|B|) Σ_i min(KL_T,i(teacher ‖ student), c)·T²,
 *                                            i.e. pushing the student away from the teacher on ΔD;
 *   min-step: one pass over D_r minimising γ·CE + α·KL_T(teacher ‖ student),
 *
 * with KL_T the temperature-T distillation divergence scaled by T². As in the authors' code, the
 * max pass runs for epochs 0..maxEpochs−1 (they compare `epoch <= msteps`; here the count is
 * explicit). Each pass is one `trainLoop` run; by default optimiser momentum restarts at every
 * pass, and `optimizerState: 'shared'` carries one optimiser (its momentum and its schedule over
 * all passes) through the run, as the authors' single SGD optimiser does.
 *
 * The per-sample cap c (`forgetKLCeiling`) is ours: the authors' −KL has no minimum, and on MNIST
 * with their learning rate the second max pass explodes (gradient norm > 1000, docs/methods.md).
 * Note that the first max pass starts at student = teacher, where KL is at its minimum and its
 * gradient is 0: on a net without BatchNorm/dropout only weight decay seeds the ascent there.
 *
 * Weight decay as the authors' optimiser applies it (`weightDecayMode: 'coupled'`): PyTorch SGD's
 * `weight_decay` adds wd·θ to the gradient, which then goes through momentum (meghdadk/SCRUB,
 * large_scale_unlearning.ipynb: their SGD optimiser takes `sgda_weight_decay`); here the penalty
 * (wd/2)·‖θ‖² in both passes' loss. `decoupled` applies it outside momentum (SGDW), the loop's
 * own.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { cloneModel } from '../../models/index.ts';
import { softmaxCrossEntropy } from '../../train/evaluate.ts';
import { OptimizerSession } from '../../train/optimizer.ts';
import type { UnlearnMethod } from '../types.ts';
import {
  capMean,
  disposeOnThrow,
  frozenLogits,
  guardParams,
  l2Penalty,
  optimizerOf,
  timed,
  trainingParams,
  trainLogits,
} from './common.ts';

const params = z.strictObject({
  ...trainingParams({ epochs: 3, lr: 2e-3, weightDecay: 5e-4 }),
  maxEpochs: z
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(2)
    .describe('epochs that begin with a max pass over ΔD'),
  gamma: z
    .number()
    .min(0)
    .max(1000)
    .default(0.99)
    .describe('weight of the CE term of the min-step'),
  alpha: z
    .number()
    .min(0)
    .max(1000)
    .default(0.001)
    .describe('weight of the KL term of the min-step'),
  temperature: z.number().positive().max(100).default(4).describe('distillation temperature T'),
  forgetBatchSize: z
    .number()
    .int()
    .min(1)
    .max(65536)
    .default(32)
    .describe('ΔD samples per max-step'),
  weightDecayMode: z
    .enum(['coupled', 'decoupled'])
    .default('coupled')
    .describe("weight decay through the gradient and momentum (PyTorch SGD's) or decoupled (SGDW)"),
  optimizerState: z
    .enum(['per-pass', 'shared'])
    .default('per-pass')
    .describe(
      "optimiser state restarts at each pass, or one optimiser runs through all (the authors')",
    ),
  forgetKLCeiling: z
    .number()
    .positive()
    .max(1000)
    .default(0.3)
    .describe('per-sample cap (nats, before ·T²) on the ΔD divergence a max-step ascends'),
  ...guardParams,
});

/**
 * KL(softmax(t/T) ‖ softmax(s/T))·T², mean over the batch (Hinton et al.'s distillation loss), or
 * per sample with `reduction: 'none'`.
 */
export function distillKL(studentLogits: tf.Tensor, teacherLogits: tf.Tensor, T: number): tf.Scalar;
export function distillKL(
  studentLogits: tf.Tensor,
  teacherLogits: tf.Tensor,
  T: number,
  reduction: 'none',
): tf.Tensor1D;
export function distillKL(
  studentLogits: tf.Tensor,
  teacherLogits: tf.Tensor,
  T: number,
  reduction: 'mean' | 'none' = 'mean',
): tf.Tensor {
  return tf.tidy(() => {
    const logPs = tf.logSoftmax(tf.div(studentLogits, T));
    const logPt = tf.logSoftmax(tf.div(teacherLogits, T));
    const kl = tf.mul(tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), -1), T * T);
    return reduction === 'mean' ? tf.mean(kl) : kl;
  });
}

export const scrub: UnlearnMethod<typeof params> = {
  id: 'scrub',
  summary:
    'Teacher–student: max-steps away from the original on ΔD, min-steps towards it (+CE) on D_r',
  params,
  readsRetain: true,
  supportsUib: true,
  async run(ctx, p) {
    const phases: Record<string, number> = {};
    const teacher: LayersModel = ctx.original;
    const student = cloneModel(ctx.original);
    const coupled = p.weightDecayMode === 'coupled' && p.weightDecay > 0;
    const own = coupled ? [l2Penalty(student, p.weightDecay, 'zero')] : [];
    const penalties = own;
    const T = p.temperature;
    const session = p.optimizerState === 'shared' ? new OptimizerSession(totalSteps()) : undefined;
    const common = {
      session,
      model: student,
      penalties,
      optimizer: optimizerOf({ ...p, weightDecay: coupled ? 0 : p.weightDecay }),
      guard: { maxGradNorm: p.maxGradNorm },
      cost: ctx.cost,
      quiet: ctx.quiet,
    };
    let steps = 0;
    await disposeOnThrow(student, async () => {
      try {
        await passes();
      } finally {
        for (const q of own) q.dispose();
        session?.dispose();
      }
    });
    return { model: student, phases, details: { steps } };

    /** The steps of all passes together: the length a shared optimiser's schedule runs over. */
    function totalSteps(): number {
      const steps = (n: number, b: number, share: number) =>
        Math.max(1, Math.round(share * Math.ceil(n / b)));
      let total = 0;
      for (let epoch = 0; epoch < Math.ceil(p.epochs); epoch++) {
        const share = Math.min(1, p.epochs - epoch);
        if (epoch < p.maxEpochs) total += steps(ctx.data.forget.length, p.forgetBatchSize, share);
        total += steps(ctx.data.retain.length, p.batchSize, share);
      }
      return total;
    }

    async function passes(): Promise<void> {
      for (let epoch = 0; epoch < Math.ceil(p.epochs); epoch++) {
        const share = Math.min(1, p.epochs - epoch); // a fractional last epoch
        if (epoch < p.maxEpochs) {
          // max-step: away from the teacher on ΔD.
          const run = await timed(phases, 'max', () =>
            ctx.train({
              ...common,
              streams: { forget: { data: ctx.data.forget, batchSize: p.forgetBatchSize } },
              epochOver: 'forget',
              epochs: share,
              loss: (b) => {
                const t = frozenLogits(teacher, b.forget.x);
                ctx.cost.addForward(b.forget.positions.length, 'forget');
                const kl = distillKL(trainLogits(student, b.forget.x), t, T, 'none');
                return tf.neg(capMean(kl, p.forgetKLCeiling * T * T));
              },
              rng: ctx.rng.fork(`scrub-max-${epoch}`),
              label: `scrub max ${epoch + 1}`,
            }),
          );
          steps += run.steps;
        }
        // min-step: towards the teacher (and the labels) on D_r.
        const run = await timed(phases, 'min', () =>
          ctx.train({
            ...common,
            streams: { retain: { data: ctx.data.retain, batchSize: p.batchSize } },
            epochOver: 'retain',
            epochs: share,
            loss: (b) => {
              const t = frozenLogits(teacher, b.retain.x);
              ctx.cost.addForward(b.retain.positions.length, 'retain');
              const s = trainLogits(student, b.retain.x);
              return tf.add(
                tf.mul(p.gamma, softmaxCrossEntropy(s, b.retain.y)),
                tf.mul(p.alpha, distillKL(s, t, T)),
              ) as tf.Scalar;
            },
            rng: ctx.rng.fork(`scrub-min-${epoch}`),
            label: `scrub min ${epoch + 1}`,
          }),
        );
        steps += run.steps;
      }
    }
  },
};
