/**
 * MaskedOptimizer's update (src/train/optimizer.ts, through ../accel.ts) as one native call per variable: Adam issues
 * ~12 tfjs kernels per variable and SGD ~5 (each with its engine bookkeeping), a per-step cost
 * that dominated small models. Used only when the wasm backend runs the native kernels and every
 * tensor is float32 (the mask bool); otherwise `nativeOptimizerStep` returns false and the
 * optimiser runs its tfjs ops. Same arithmetic, same order, in float32: results match to rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerStepArgs } from '../accel.ts';
import { type BackendWasm, heap, heapIndex } from '../wasm/base.ts';
import { nativeKernelsActive } from '../wasm/kernels.ts';
import { nativeAddon } from './addon.ts';

let wanted = true;

/** Turns this route off (or on again) for comparisons: off, the optimiser runs its tfjs ops. */
export function useNativeOptimizer(on: boolean): void {
  wanted = on;
}

/**
 * One update of `theta` on the native route; true when done, false when this route does not
 * apply (then nothing was changed).
 */
export function nativeOptimizerStep(s: OptimizerStepArgs): boolean {
  const addon = nativeAddon();
  if (
    !wanted ||
    addon === undefined ||
    !nativeKernelsActive() ||
    tf.engine().backendName !== 'wasm'
  )
    return false;
  const tensors = [s.theta, s.grad, s.m, s.v].filter((t) => t !== null) as tf.Tensor[];
  if (tensors.some((t) => t.dtype !== 'float32' || t.size !== s.theta.size)) return false;
  if (s.kind === 'adam' && (s.m === null || s.v === null)) return false;
  if (s.mask !== null && (s.mask.dtype !== 'bool' || s.mask.size !== s.theta.size)) return false;
  const backend = tf.backend() as BackendWasm;
  // m and v change in place: only while nothing else shares their data (the optimiser owns them).
  for (const t of [s.m, s.v]) if (t !== null && backend.refCount(t.dataId) !== 1) return false;
  const out = backend.makeOutput(s.theta.shape, 'float32');
  // Every index before the heap view (allocations can grow the heap and detach older views).
  const [theta, grad, out0] = [s.theta, s.grad, out].map((t) => heapIndex(backend, t));
  const m = s.m === null ? -1 : heapIndex(backend, s.m);
  const v = s.v === null ? -1 : heapIndex(backend, s.v);
  const maskByte = s.mask === null ? -1 : backend.getMemoryOffset(s.mask.dataId);
  addon.optimizerStep(
    heap(backend),
    s.kind === 'adam' ? 0 : 1,
    s.theta.size,
    theta,
    grad,
    m,
    v,
    out0,
    maskByte,
    s.lr,
    s.weightDecay,
    s.beta1,
    s.beta2,
    s.c1,
    s.c2,
    s.eps,
  );
  const next = tf.engine().makeTensorFromTensorInfo(out);
  s.theta.assign(next);
  next.dispose();
  return true;
}
