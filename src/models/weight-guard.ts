/**
 * The finite-weights guard. A loss guard alone lets through a model whose weights exploded
 * without the loss ever turning NaN (a large step of IU, FT at lr 10, GA running away) or whose
 * weights were already NaN; such a model must never be written, nor certified by `uib verify`.
 *
 * Every weight tensor must be finite, and its largest magnitude at most
 * `WEIGHT_BOUND_FACTOR × max(s, 1)`, where s is the largest magnitude of the same tensor in the
 * reference model (the original for an unlearned model, the initial weights for a trained one).
 * The floor of 1 keeps tensors that start near zero (biases) from tripping it; 10^4 is far above
 * what training moves a weight (the full-MNIST runs stay within 10× of the original's scale) and
 * far below what a divergence reaches (10^20 and more in the attacks that found this).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';

export const WEIGHT_BOUND_FACTOR = 1e4;

/** Largest finite magnitude of each weight tensor, by weight name. */
export type WeightScale = Record<string, number>;

/** Largest finite magnitude (non-finite entries are `tensorProblem`'s to report). */
function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > m && a !== Number.POSITIVE_INFINITY) m = a;
  }
  return m;
}

export function weightScale(model: LayersModel): WeightScale {
  const out: WeightScale = {};
  for (const w of model.weights) out[w.originalName] = maxAbs(w.read().dataSync() as Float32Array);
  return out;
}

/** The bound on tensor `name` given the reference scale (WEIGHT_BOUND_FACTOR × max(s, 1)). */
export function weightBound(reference: WeightScale | undefined, name: string): number {
  const s = reference?.[name];
  return WEIGHT_BOUND_FACTOR * Math.max(Number.isFinite(s) ? (s as number) : 0, 1);
}

/**
 * What is wrong with one tensor's values, or null: non-finite entries (counted), or, given a
 * reference scale, a magnitude beyond the bound around it.
 */
export function tensorProblem(
  name: string,
  values: ArrayLike<number>,
  reference?: WeightScale,
): string | null {
  let nan = 0;
  let inf = 0;
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) nan++;
    else if (!Number.isFinite(v)) inf++;
    else if (Math.abs(v) > m) m = Math.abs(v);
  }
  if (nan + inf > 0) {
    const parts = [nan > 0 ? `${nan} NaN` : '', inf > 0 ? `${inf} infinite` : ''].filter(Boolean);
    return `${name} holds ${parts.join(' and ')} of ${values.length} values`;
  }
  if (reference === undefined) return null;
  const bound = weightBound(reference, name);
  if (m > bound) {
    const s = reference[name];
    const ref = s === undefined ? '' : ` (${WEIGHT_BOUND_FACTOR}× max(${s.toPrecision(3)}, 1))`;
    return `${name} reached |w| = ${m.toPrecision(3)}, beyond the bound ${bound.toPrecision(3)}${ref}`;
  }
  return null;
}

/** The first problem among a model's weights, or null. */
export function modelWeightsProblem(model: LayersModel, reference?: WeightScale): string | null {
  for (const w of model.weights) {
    const p = tensorProblem(w.originalName, w.read().dataSync() as Float32Array, reference);
    if (p) return p;
  }
  return null;
}
