/**
 * Multi-layer perceptron: [flatten] → [dense_i (linear) → relu_i]* → output (logits).
 * Dense layers are linear with the ReLU in its own layer, so curvature code sees pre-activations.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { heInit, outputLogits } from './init.ts';
import type { ModelSpec } from './types.ts';

export const MLP_DEFAULT_HIDDEN = [256, 256] as const;

export function buildMlp(spec: ModelSpec): tfl.LayersModel {
  const hidden = spec.hidden ?? [...MLP_DEFAULT_HIDDEN];
  const input = tfl.input({ shape: spec.inputShape, name: 'input' });
  // Tabular rows are already flat (and Flatten refuses rank-2 input).
  let h =
    spec.inputShape.length > 1
      ? (tfl.layers.flatten({ name: 'flatten' }).apply(input) as tfl.SymbolicTensor)
      : input;
  hidden.forEach((units, i) => {
    const name = `dense_${i + 1}`;
    h = tfl.layers
      .dense({ units, activation: 'linear', kernelInitializer: heInit(spec.seed, name), name })
      .apply(h) as tfl.SymbolicTensor;
    h = tfl.layers
      .activation({ activation: 'relu', name: `relu_${i + 1}` })
      .apply(h) as tfl.SymbolicTensor;
  });
  const logits = outputLogits(h, spec.numClasses, spec.seed);
  return tfl.model({ inputs: input, outputs: logits, name: 'mlp' });
}
