/**
 * Fast paths the core may take when the platform offers them, and the plain tfjs ops otherwise.
 * The core (the optimiser, the per-example curvature) calls these hooks; only Node's backend
 * setup (./native/route.ts, on the wasm route with the native addon) installs the native ones, so
 * the core imports nothing Node-only and a page simply runs the tfjs ops.
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface OptimizerStepArgs {
  kind: 'adam' | 'sgd';
  theta: tf.Variable;
  grad: tf.Tensor;
  /** Adam's first moment or SGD's velocity (null: SGD without momentum); updated in place. */
  m: tf.Variable | null;
  /** Adam's second moment; updated in place. */
  v: tf.Variable | null;
  /** Bool, true = may change; null = all. */
  mask: tf.Tensor | null;
  lr: number;
  weightDecay: number;
  /** Adam β1, or SGD momentum. */
  beta1: number;
  beta2: number;
  /** Adam's bias corrections 1 − β1ᵗ, 1 − β2ᵗ. */
  c1: number;
  c2: number;
  eps: number;
}

export interface Accelerations {
  /** One optimiser update of `theta` in one call; false when it does not apply (nothing changed). */
  optimizerStep(s: OptimizerStepArgs): boolean;
  /** Σ_b (∂ℓ_b/∂W)² of a convolution's kernel; undefined when it does not apply. */
  convSquaredGrad(
    x: tf.Tensor4D,
    dy: tf.Tensor4D,
    filterShape: [number, number, number, number],
    strides: [number, number],
    pad: 'valid' | 'same',
    dilations: [number, number],
  ): tf.Tensor4D | undefined;
  /**
   * linalg.ts's symmetricEigen (same layout and order) by a faster solver; undefined when it does
   * not apply (then the caller runs the JS one, which also names a non-finite entry).
   */
  symmetricEigen(
    a: Float64Array,
    n: number,
  ): { values: Float64Array; vectors: Float64Array } | undefined;
  /** linalg.ts's matmul (C = op(A)·op(B), float64, row-major) by a BLAS; undefined when it does not apply. */
  matmul64(
    a: Float64Array,
    b: Float64Array,
    r: number,
    k: number,
    c: number,
    transA: boolean,
    transB: boolean,
  ): Float64Array | undefined;
}

const NONE: Accelerations = {
  optimizerStep: () => false,
  convSquaredGrad: () => undefined,
  symmetricEigen: () => undefined,
  matmul64: () => undefined,
};

let installed: Accelerations = NONE;

/** Installs the platform's fast paths (null: back to the tfjs ops). */
export function installAccelerations(a: Accelerations | null): void {
  installed = a ?? NONE;
}

/** The fast paths in force now. */
export function accelerations(): Accelerations {
  return installed;
}
