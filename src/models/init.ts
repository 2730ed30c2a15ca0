/**
 * Seeded initialisers: every initialiser of a model gets its own seed, derived from the model
 * seed and the layer/weight name, so the same spec builds the same weights in any build order.
 * Also the output layer every architecture ends with.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { hashSeed } from '../core/rng.ts';

type Initializer = ReturnType<typeof tfl.initializers.heNormal>;

/** He-normal (fan-in) for kernels followed by a ReLU. */
export function heInit(seed: number, layer: string): Initializer {
  return tfl.initializers.heNormal({ seed: hashSeed(seed, layer, 'kernel') });
}

/** Glorot-uniform for the output layer (no ReLU after it). */
export function glorotInit(seed: number, layer: string): Initializer {
  return tfl.initializers.glorotUniform({ seed: hashSeed(seed, layer, 'kernel') });
}

/** The `output` layer on `h`: dense, linear (logits), Glorot-uniform. */
export function outputLogits(
  h: tfl.SymbolicTensor,
  numClasses: number,
  seed: number,
): tfl.SymbolicTensor {
  return tfl.layers
    .dense({
      units: numClasses,
      activation: 'linear',
      kernelInitializer: glorotInit(seed, 'output'),
      name: 'output',
    })
    .apply(h) as tfl.SymbolicTensor;
}
