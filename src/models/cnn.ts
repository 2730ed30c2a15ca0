/**
 * Small CNN for 28×28 images:
 * conv_1 3×3·32 → relu_1 → pool_1 2×2 → conv_2 3×3·64 → relu_2 → pool_2 2×2 → flatten
 * → dense_1 128 → relu_3 → output (logits). Conv/Dense layers are linear; ReLUs are separate layers.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { heInit, outputLogits } from './init.ts';
import type { ModelSpec } from './types.ts';

export function buildCnn(spec: ModelSpec): tfl.LayersModel {
  const input = tfl.input({ shape: spec.inputShape, name: 'input' });
  let h: tfl.SymbolicTensor = input;
  const convs: [string, number][] = [
    ['conv_1', 32],
    ['conv_2', 64],
  ];
  convs.forEach(([name, filters], i) => {
    h = tfl.layers
      .conv2d({
        filters,
        kernelSize: 3,
        padding: 'valid',
        activation: 'linear',
        kernelInitializer: heInit(spec.seed, name),
        name,
      })
      .apply(h) as tfl.SymbolicTensor;
    h = tfl.layers
      .activation({ activation: 'relu', name: `relu_${i + 1}` })
      .apply(h) as tfl.SymbolicTensor;
    h = tfl.layers
      .maxPooling2d({ poolSize: 2, name: `pool_${i + 1}` })
      .apply(h) as tfl.SymbolicTensor;
  });
  h = tfl.layers.flatten({ name: 'flatten' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers
    .dense({
      units: 128,
      activation: 'linear',
      kernelInitializer: heInit(spec.seed, 'dense_1'),
      name: 'dense_1',
    })
    .apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.activation({ activation: 'relu', name: 'relu_3' }).apply(h) as tfl.SymbolicTensor;
  const logits = outputLogits(h, spec.numClasses, spec.seed);
  return tfl.model({ inputs: input, outputs: logits, name: 'cnn' });
}
