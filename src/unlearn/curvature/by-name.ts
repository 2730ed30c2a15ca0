/**
 * The engine's results keyed by weight name (`conv_1/kernel`), so a method can pair them with any
 * clone of the model (SalUn's saliency, SSD's and Fisher forgetting's Fishers, IU's gradients).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Rng } from '../../core/rng.ts';
import type { Dataset } from '../../data/dataset.ts';
import { paramGroups } from '../../models/index.ts';
import type { CostCounter } from '../../train/cost.ts';
import { computeCurvature } from './compute.ts';
import type { FisherLabels } from './types.ts';

export type PerWeight = Map<string, Float32Array>;

export interface PerWeightCurvature {
  /** Mean CE gradient over the data. */
  grad: PerWeight;
  /** Diagonal Fisher: mean of per-example squared gradients (empirical or sampled labels). */
  diag: PerWeight;
}

export function curvatureByName(
  model: LayersModel,
  data: Dataset,
  opts: { diag: boolean; labels?: FisherLabels; rng?: Rng; cost?: CostCounter; set?: string },
): PerWeightCurvature {
  const groups = paramGroups(model);
  const c = computeCurvature(model, groups, data, {
    gradient: true,
    diag: opts.diag,
    labels: opts.labels,
    rng: opts.rng,
    cost: opts.cost,
    set: opts.set,
  });
  const byName = (per?: Float32Array[][]): PerWeight => {
    const out: PerWeight = new Map();
    if (!per) return out;
    for (const [gi, g] of groups.entries()) {
      for (const [pi, p] of g.params.entries()) out.set(p.variable.originalName, per[gi][pi]);
    }
    return out;
  };
  return { grad: byName(c.grad), diag: byName(c.diag) };
}

/** Mean CE gradient of `model` over `data`, per weight name. */
export function meanGradientByName(
  model: LayersModel,
  data: Dataset,
  opts: { cost?: CostCounter; set?: string } = {},
) {
  return curvatureByName(model, data, { diag: false, ...opts }).grad;
}
