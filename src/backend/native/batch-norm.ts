/**
 * Batch normalisation in training (tfjs-layers' BatchNormalization: `moments`, then `batchNorm`)
 * as four native kernels where tfjs runs ~40 (the moments' Mean, Sub, Square, Mean and their
 * gradients; FusedBatchNorm's gradient of ~25 ops with Tile): ~30 % of a narrow-ResNet step,
 * kernels and their engine bookkeeping together.
 *
 *   FusedBatchNorm     native over the stock kernel (per-channel statistics, channels last)
 *   UibMoments         mean and variance over every axis but the last, with its gradient
 *   UibMomentsGrad     that gradient: dx = dmean/N + dvariance · 2(x − mean)/N
 *   UibBatchNormGrad   FusedBatchNorm's gradient for all five inputs in two passes
 *
 * On the native route only: `moments` (the function tfjs-layers calls) and FusedBatchNorm's
 * registered gradient hand every other case (other backends, the wasm route, other axes or
 * shapes) to tfjs's own. The chain rule is split as in tfjs (mean and variance are inputs of
 * batchNorm), so results match tfjs's to rounding.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { heap, heapIndex, type KernelArgs } from '../wasm/base.ts';
import { nativeKernelsActive } from '../wasm/kernels.ts';
import type { NativeAddon } from './addon.ts';

export const MOMENTS = 'UibMoments';
export const MOMENTS_GRAD = 'UibMomentsGrad';
export const BATCH_NORM_GRAD = 'UibBatchNormGrad';

const size = (t: tf.TensorInfo) => t.shape.reduce((p, d) => p * d, 1);
const channels = (x: tf.TensorInfo) => x.shape[x.shape.length - 1];
/** A per-channel vector of x: C values, along the last axis ([C] or [1, …, 1, C]). */
const perChannel = (x: tf.TensorInfo, v: tf.TensorInfo | undefined | null) =>
  v == null || (v.dtype === 'float32' && size(v) === channels(x) && v.shape.at(-1) === channels(x));
const fits = (x: tf.TensorInfo) => x.dtype === 'float32' && x.shape.length >= 1 && size(x) > 0;

export function fusedBatchNorm(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend } = args;
  const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.TensorInfo>;
  if (!fits(x) || ![mean, variance].every((v) => v != null && perChannel(x, v))) return undefined;
  if (!perChannel(x, offset) || !perChannel(x, scale)) return undefined;
  const y = backend.makeOutput(x.shape, 'float32');
  // Every index before the heap view (allocations can grow the heap and detach older views).
  const at = (t: tf.TensorInfo | undefined) => (t == null ? -1 : heapIndex(backend, t));
  const ix = [x, mean, variance, offset, scale, y].map(at);
  const cols = channels(x);
  const eps = (args.attrs.varianceEpsilon as number | undefined) ?? 0.001;
  addon.batchNorm(
    heap(backend),
    ix[0],
    ix[1],
    ix[2],
    ix[3],
    ix[4],
    ix[5],
    size(x) / cols,
    cols,
    eps,
  );
  return y;
}

export function moments(addon: NativeAddon, args: KernelArgs): tf.TensorInfo[] | undefined {
  const { backend } = args;
  const x = args.inputs.x as tf.TensorInfo;
  if (!fits(x) || x.shape.length < 2) return undefined;
  const cols = channels(x);
  const mean = backend.makeOutput([cols], 'float32');
  const variance = backend.makeOutput([cols], 'float32');
  const [xi, mi, vi] = [x, mean, variance].map((t) => heapIndex(backend, t));
  addon.moments(heap(backend), xi, mi, vi, size(x) / cols, cols);
  return [mean, variance];
}

export function momentsGrad(addon: NativeAddon, args: KernelArgs): tf.TensorInfo | undefined {
  const { backend } = args;
  const { dmean, dvariance, x, mean } = args.inputs as Record<string, tf.TensorInfo>;
  const dx = backend.makeOutput(x.shape, 'float32');
  const [a, b, c, d, e] = [dmean, dvariance, x, mean, dx].map((t) => heapIndex(backend, t));
  const cols = channels(x);
  addon.momentsGrad(heap(backend), a, b, c, d, e, size(x) / cols, cols);
  return dx;
}

export function batchNormGrad(addon: NativeAddon, args: KernelArgs): tf.TensorInfo[] | undefined {
  const { backend } = args;
  const { dy, x, mean, variance, scale } = args.inputs as Record<string, tf.TensorInfo>;
  const cols = channels(x);
  const dx = backend.makeOutput(x.shape, 'float32');
  const vecs = [0, 1, 2, 3].map(() => backend.makeOutput([cols], 'float32'));
  const at = (t: tf.TensorInfo | undefined) => (t == null ? -1 : heapIndex(backend, t));
  const ix = [dy, x, mean, variance, scale, dx, ...vecs].map(at);
  const eps = (args.attrs.varianceEpsilon as number | undefined) ?? 0.001;
  addon.batchNormGrad(heap(backend), ...ix, size(x) / cols, cols, eps);
  return [dx, ...vecs];
}

/** Whether the native kernels run here: wasm with the native route, float32 per-channel shapes. */
function nativeHere(x: tf.Tensor, ...perChannelOf: (tf.Tensor | undefined | null)[]): boolean {
  return (
    tf.engine().backendName === 'wasm' &&
    nativeKernelsActive() &&
    fits(x) &&
    x.shape.length >= 2 &&
    perChannelOf.every((v) => perChannel(x, v))
  );
}

let installed = false;

/**
 * Puts the native `moments` in place of tfjs-core's (the export tfjs-layers calls through), and
 * registers the gradients of UibMoments and FusedBatchNorm; once per process, after tfjs-layers
 * has registered tfjs's gradients.
 */
export function installBatchNorm(): void {
  if (installed) return;
  const stockGrad = tf.getGradient(tf.FusedBatchNorm);
  if (stockGrad === undefined) return;
  // The CommonJS exports object: the one tfjs-layers reads `moments` from at each call.
  const core = createRequire(import.meta.url)('@tensorflow/tfjs-core') as {
    moments: typeof tf.moments;
  };
  const stockMoments = core.moments;
  core.moments = ((x: tf.Tensor, axis?: number | number[], keepDims = false) => {
    if (!(x instanceof tf.Tensor) || !nativeHere(x)) return stockMoments(x, axis, keepDims);
    const axes = [...tf.util.parseAxisParam(axis ?? x.shape.map((_, i) => i), x.shape)].sort(
      (p, q) => p - q,
    );
    if (axes.length !== x.rank - 1 || axes.some((a, i) => a !== i))
      return stockMoments(x, axis, keepDims);
    const [mean, variance] = tf.engine().runKernel(MOMENTS, { x }) as tf.Tensor[];
    if (!keepDims) return { mean, variance };
    const shape = x.shape.map((d, i) => (i < x.rank - 1 ? 1 : d));
    return { mean: tf.reshape(mean, shape), variance: tf.reshape(variance, shape) };
  }) as typeof tf.moments;

  tf.registerGradient({
    kernelName: MOMENTS,
    inputsToSave: ['x'],
    outputsToSave: [true, false],
    gradFunc: (dys, saved) => {
      const [dmean, dvariance] = dys as tf.Tensor[];
      const [x, mean] = saved;
      return {
        x: () => tf.engine().runKernel(MOMENTS_GRAD, { dmean, dvariance, x, mean }) as tf.Tensor,
      };
    },
  });
  tf.registerGradient({
    ...stockGrad,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved;
      if (!nativeHere(x, mean, variance, scale)) return stockGrad.gradFunc(dy, saved, attrs);
      const inputs: tf.NamedTensorMap = { dy: dy as tf.Tensor, x, mean, variance };
      if (scale != null) inputs.scale = scale;
      // All five at once (each function below runs in its own tidy, so they cannot share work).
      const [dx, dmean, dvar, dscale, doffset] = tf
        .engine()
        .runKernel(BATCH_NORM_GRAD, inputs, attrs as tf.NamedAttrMap) as tf.Tensor[];
      return {
        x: () => dx,
        mean: () => tf.reshape(dmean, mean.shape),
        variance: () => tf.reshape(dvar, variance.shape),
        scale: () => tf.reshape(dscale, scale?.shape ?? mean.shape),
        offset: () => tf.reshape(doffset, mean.shape),
      };
    },
  });
  installed = true;
}
