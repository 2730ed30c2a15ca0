/**
 * The training loop: the only one in uib. Training, Retrain and every unlearning method run
 * through `trainLoop`; they differ only in their loss, streams, penalties and masks.
 *
 * One step: draw one batch of every stream → learning rate of the step → loss + penalties and
 * their gradients in one tape → guard (NaN/Inf, exploding gradient) → clip → optimiser step →
 * dispose → epoch bookkeeping (history, onEpochEnd, early stop).
 */

import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { DivergenceError, UsageError } from '../core/errors.ts';
import type { Rng } from '../core/rng.ts';
import { maybeYield } from '../core/yield.ts';
import type { Dataset } from '../data/dataset.ts';
import { MaskedOptimizer } from './optimizer.ts';
import { startStepProgress } from './progress.ts';
import { learningRate } from './schedules.ts';
import type { Batch, LoopOptions, LoopResult, StepInfo, Stream } from './types.ts';

/** The tf.Variables behind a model's trainable weights, in the model's order. */
export function trainableVariables(model: LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

// Layers whose training-mode output is random. Unless the layer was given a seed, tfjs draws
// their noise from Math.random (tfjs-core's rand_util), which no uib seed reaches.
const NOISE_LAYERS = new Set([
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'SpatialDropout3D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
]);

/** Whether any layer of `model` (nested models included) draws noise in training mode. */
export function hasNoiseLayers(model: LayersModel): boolean {
  return model.layers.some(
    (l) =>
      NOISE_LAYERS.has(l.getClassName()) ||
      ('layers' in l && hasNoiseLayers(l as unknown as LayersModel)),
  );
}

/**
 * Runs `f` with Math.random drawing from `rng`, so that a noise layer's masks follow the run's
 * seed. `f` must be synchronous (the forward pass of one step is): nothing else can run while
 * Math.random is replaced, and it is restored even when `f` throws.
 */
export function withSeededRandom<T>(rng: Rng | undefined, f: () => T): T {
  if (!rng) return f();
  const saved = Math.random;
  Math.random = () => rng.next();
  try {
    return f();
  } finally {
    Math.random = saved;
  }
}

/** Shuffled batches of one stream, reshuffled on every pass. */
class StreamCursor {
  private order: Uint32Array[] = [];
  private next = 0;
  constructor(
    readonly name: string,
    readonly data: Dataset,
    readonly batchSize: number,
    private readonly rng: Rng,
  ) {}

  get batchesPerPass(): number {
    return Math.ceil(this.data.length / this.batchSize);
  }

  draw(): Batch {
    if (this.next >= this.order.length) {
      this.order = this.data.batches(this.batchSize, this.rng);
      this.next = 0;
    }
    const positions = this.order[this.next++];
    const { xs, ys } = this.data.tensors(positions);
    return { x: xs, y: ys, positions };
  }
}

function checkStreams(streams: Record<string, Stream>, epochOver: string): void {
  if (!(epochOver in streams)) {
    throw new UsageError(
      'epochOver',
      `names no stream; streams are ${Object.keys(streams).join(', ') || '(none)'}; got "${epochOver}"`,
    );
  }
  for (const [name, s] of Object.entries(streams)) {
    if (s.data.length === 0) throw new UsageError(`streams.${name}`, 'is empty');
    if (!Number.isInteger(s.batchSize) || s.batchSize < 1) {
      throw new UsageError(
        `streams.${name}.batchSize`,
        `must be a positive integer; got ${s.batchSize}`,
      );
    }
  }
}

function runLength(opts: LoopOptions, stepsPerEpoch: number): number {
  if (opts.steps !== undefined) {
    if (!Number.isInteger(opts.steps) || opts.steps < 1) {
      throw new UsageError('steps', `must be a positive integer; got ${opts.steps}`);
    }
    return opts.steps;
  }
  if (opts.epochs === undefined || !Number.isFinite(opts.epochs) || opts.epochs <= 0) {
    throw new UsageError('epochs', `must be a positive number (or give steps); got ${opts.epochs}`);
  }
  return Math.max(1, Math.round(opts.epochs * stepsPerEpoch));
}

/**
 * Masks may be keyed by the tf.Variable's (unique) name, e.g. `dense_1/kernel_3`, or by the
 * weight's name inside the model, e.g. `dense_1/kernel` — the latter survives `cloneModel`.
 */
function maskLookup(model: LayersModel, masks?: Map<string, tf.Tensor>) {
  if (!masks || masks.size === 0) return undefined;
  const original = new Map(
    model.weights.map((w) => [(w.read() as tf.Variable).name, w.originalName]),
  );
  return (v: tf.Variable) => masks.get(v.name) ?? masks.get(original.get(v.name) ?? '');
}

export async function trainLoop(opts: LoopOptions): Promise<LoopResult> {
  const startedAt = performance.now();
  const { model, streams, epochOver } = opts;
  checkStreams(streams, epochOver);
  const names = Object.keys(streams);
  const cursors = names.map(
    (n) => new StreamCursor(n, streams[n].data, streams[n].batchSize, opts.rng.fork(n)),
  );
  // Forked only for models with noise layers: a model without them keeps the exact stream (and
  // results) it had before noise was seeded.
  const noise = hasNoiseLayers(model) ? opts.rng.fork('noise-layers') : undefined;
  const stepsPerEpoch = cursors[names.indexOf(epochOver)].batchesPerPass;
  const totalSteps = runLength(opts, stepsPerEpoch);
  const variables = opts.variables ?? trainableVariables(model);
  const session = opts.session;
  const optimizer = session
    ? session.optimizerFor(opts.optimizer, variables, maskLookup(model, opts.masks))
    : new MaskedOptimizer(opts.optimizer, variables, maskLookup(model, opts.masks));
  // The schedule runs over the session's length when its state carries across calls.
  const offset = session?.steps ?? 0;
  const span = session?.totalSteps ?? totalSteps;
  const maxGradNorm = opts.guard?.maxGradNorm ?? Number.POSITIVE_INFINITY;
  const maxLoss = opts.guard?.maxLoss ?? Number.POSITIVE_INFINITY;
  const clip = opts.clipGradNorm ?? 0;
  const history: LoopResult['history'] = [];
  const bar = opts.quiet ? null : startStepProgress(opts.label ?? 'train', totalSteps);

  let step = 0;
  let epochLoss = 0;
  let epochSteps = 0;
  try {
    while (step < totalSteps) {
      const epoch = Math.floor(step / stepsPerEpoch);
      const info: StepInfo = { step, epoch, totalSteps, progress: step / totalSteps };
      const batches: Record<string, Batch> = {};
      for (const c of cursors) batches[c.name] = c.draw();
      const lr = learningRate(opts.optimizer, offset + step, span);

      const { value, grads } = withSeededRandom(noise, () =>
        tf.variableGrads(() => {
          let loss = opts.loss(batches, info);
          for (const p of opts.penalties ?? []) loss = tf.add(loss, p.value(info));
          return loss as tf.Scalar;
        }, variables),
      );
      let lossValue: number;
      let gradNorm: number;
      try {
        // One read per step: the loss and the squared global gradient norm together.
        const stats = tf.tidy(() => {
          const sq = Object.values(grads).map((g) => tf.sum(tf.square(g)));
          return tf.stack([value, sq.length ? tf.addN(sq) : tf.scalar(0)]);
        });
        const [l, sq] = await stats.data();
        stats.dispose();
        await maybeYield(); // timers (a queue worker's lock renewal, signals) run between steps
        lossValue = l;
        gradNorm = Math.sqrt(sq);
        if (!Number.isFinite(lossValue) || lossValue > maxLoss) {
          throw new DivergenceError(
            `${opts.label ?? 'training'}: loss became ${lossValue} at step ${step}`,
          );
        }
        if (!Number.isFinite(gradNorm) || gradNorm > maxGradNorm) {
          throw new DivergenceError(
            `${opts.label ?? 'training'}: gradient norm ${gradNorm} at step ${step} (limit ${maxGradNorm})`,
          );
        }
        if (clip > 0 && gradNorm > clip) {
          for (const k of Object.keys(grads)) {
            const g = grads[k];
            grads[k] = tf.mul(g, clip / gradNorm);
            g.dispose();
          }
        }
        optimizer.apply(grads, lr);
      } finally {
        value.dispose();
        tf.dispose(Object.values(grads));
        for (const b of Object.values(batches)) tf.dispose([b.x, b.y]);
      }
      for (const c of cursors) opts.cost?.addGrad(batches[c.name].positions.length, c.name);

      step++;
      epochLoss += lossValue;
      epochSteps++;
      bar?.update(step, epoch + 1, lossValue.toFixed(4));
      if (step % stepsPerEpoch === 0 || step === totalSteps) {
        const mean = epochLoss / epochSteps;
        history.push({ epoch, loss: mean });
        epochLoss = 0;
        epochSteps = 0;
        if ((await opts.onEpochEnd?.(epoch, mean)) === 'stop') break;
      }
    }
  } finally {
    bar?.stop();
    if (session) session.steps += step;
    else optimizer.dispose();
  }
  return {
    steps: step,
    epochs: step / stepsPerEpoch,
    timeMs: performance.now() - startedAt,
    history,
  };
}
