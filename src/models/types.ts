/**
 * Model contracts shared by training, unlearning and evaluation.
 *
 * Every uib model is a tfjs `LayersModel` that maps a batch `[b, ...inputShape]` to **logits**
 * `[b, numClasses]` (no softmax layer: losses and per-example gradients work on logits).
 * Its trainable parameters are split into groups θ^(1..L) in forward order — one group per
 * layer (MLP, CNN) or per residual block (ResNet) — the block-diagonal structure UIB's prior and
 * regulariser work on.
 */
import type { LayerVariable } from '@tensorflow/tfjs-layers';

export type Architecture = 'mlp' | 'cnn' | 'resnet18';

export interface ModelSpec {
  arch: Architecture;
  /** One sample's shape, NHWC for images (`[28, 28, 1]`) or `[d]` for tabular rows. */
  inputShape: number[];
  numClasses: number;
  /** MLP hidden widths (default [256, 256]). */
  hidden?: number[];
  /** ResNet-18 base width (64 in the original; 8-16 trains on 2 CPU cores). */
  width?: number;
  /** Seed of the weight initialisers. */
  seed: number;
}

/** What one parameter tensor is inside its layer; the trust region clips biases apart from weights. */
export type ParamRole = 'weight' | 'bias' | 'scale' | 'shift';

export interface ParamTensor {
  variable: LayerVariable;
  role: ParamRole;
  /** Name of the tfjs layer that owns it. */
  layer: string;
  /** 'dense' | 'conv' | 'norm': which curvature code applies (exact per-example grads for dense). */
  layerKind: 'dense' | 'conv' | 'norm';
}

export interface ParamGroup {
  /** Stable name, e.g. `dense_1`, `conv_2`, `block_3`, `output`. */
  name: string;
  /** Position in forward order, 0-based. */
  index: number;
  /** True for the final classification layer (its step is clipped separately). */
  isOutput: boolean;
  params: ParamTensor[];
}
