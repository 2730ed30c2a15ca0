/**
 * Model contracts shared by training, unlearning and evaluation.
 *
 * Every uib model is a tfjs `LayersModel` that maps a batch `[b, ...inputShape]` to **logits**
 * `[b, numClasses]` (no softmax layer: losses and per-example gradients work on logits; a user
 * model ending in softmax is unlearned through its logits twin, models/describe.ts).
 * Its trainable parameters are split into groups θ^(1..L) in forward order, read off the layer
 * graph — one group per layer (MLP, CNN), per residual block (ResNet) — the block-diagonal
 * structure UIB's prior and regulariser work on.
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

/**
 * The kinds of layer that carry weights uib can differentiate per example (models/describe.ts
 * maps tfjs class names to them): `dense` Dense, `conv` Conv2D, `conv1d` Conv1D, `depthwise`
 * DepthwiseConv2D, `separable` SeparableConv2D, `norm` BatchNormalization, `layernorm`
 * LayerNormalization, `embedding` Embedding.
 */
export type LayerKind =
  | 'dense'
  | 'conv'
  | 'conv1d'
  | 'depthwise'
  | 'separable'
  | 'norm'
  | 'layernorm'
  | 'embedding';

export interface ParamTensor {
  variable: LayerVariable;
  role: ParamRole;
  /** Name of the tfjs layer that owns it. */
  layer: string;
  /** Which curvature code applies to its layer (unlearn/curvature/). */
  layerKind: LayerKind;
  /**
   * The weight's name inside its layer (`kernel`, `bias`, `gamma`, `depthwise_kernel`...): what
   * tells a SeparableConv2D's two kernels apart, both of role 'weight'.
   */
  weight: string;
}

export interface ParamGroup {
  /** Stable name: its first layer's (`dense_1`, `output`), or `stem`, `block_3` in uib's ResNet. */
  name: string;
  /** Position in forward order, 0-based. */
  index: number;
  /** True for the group of the last trainable layer, the classifier (its step is clipped separately). */
  isOutput: boolean;
  params: ParamTensor[];
}
