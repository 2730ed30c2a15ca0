/**
 * Seeded initialisers: every initialiser of a model gets its own seed, derived from the model
 * seed and the layer/weight name, so the same spec builds the same weights in any build order.
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
