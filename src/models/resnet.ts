/**
 * ResNet-18, CIFAR style: 3×3 stem (no max-pool), 4 stages × 2 BasicBlocks with widths
 * w, 2w, 4w, 8w (w = `spec.width`, 64 in the original), stride 2 at the first block of stages 2-4
 * with a 1×1 stride-2 projection shortcut, global average pool, dense output (logits).
 *
 * Layer names: stem_conv, stem_bn, stem_relu; block{k}_conv1/bn1/relu1/conv2/bn2,
 * block{k}_shortcut_conv/bn, block{k}_add, block{k}_relu2 (k = 1..8); pool; output.
 * Convolutions are linear and bias-free (BatchNorm follows each).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { heInit, outputLogits } from './init.ts';
import type { ModelSpec } from './types.ts';

export const RESNET_DEFAULT_WIDTH = 8;

// Keras's default 0.99 is tuned for long runs; 0.9 (PyTorch's 0.1) tracks short runs better.
const BN_MOMENTUM = 0.9;

type T = tfl.SymbolicTensor;

function convBn(
  x: T,
  seed: number,
  prefix: string,
  conv: string,
  bn: string,
  filters: number,
  kernelSize: number,
  strides: number,
): T {
  const name = `${prefix}_${conv}`;
  const c = tfl.layers
    .conv2d({
      filters,
      kernelSize,
      strides,
      padding: 'same',
      useBias: false,
      activation: 'linear',
      kernelInitializer: heInit(seed, name),
      name,
    })
    .apply(x) as T;
  return tfl.layers
    .batchNormalization({ momentum: BN_MOMENTUM, epsilon: 1e-5, name: `${prefix}_${bn}` })
    .apply(c) as T;
}

function basicBlock(x: T, seed: number, k: number, filters: number, strides: number): T {
  const p = `block${k}`;
  let h = convBn(x, seed, p, 'conv1', 'bn1', filters, 3, strides);
  h = tfl.layers.activation({ activation: 'relu', name: `${p}_relu1` }).apply(h) as T;
  h = convBn(h, seed, p, 'conv2', 'bn2', filters, 3, 1);
  const inChannels = x.shape[x.shape.length - 1];
  const shortcut =
    strides !== 1 || inChannels !== filters
      ? convBn(x, seed, p, 'shortcut_conv', 'shortcut_bn', filters, 1, strides)
      : x;
  const sum = tfl.layers.add({ name: `${p}_add` }).apply([h, shortcut]) as T;
  return tfl.layers.activation({ activation: 'relu', name: `${p}_relu2` }).apply(sum) as T;
}

export function buildResnet18(spec: ModelSpec): tfl.LayersModel {
  const w = spec.width ?? RESNET_DEFAULT_WIDTH;
  const input = tfl.input({ shape: spec.inputShape, name: 'input' });
  let h = convBn(input, spec.seed, 'stem', 'conv', 'bn', w, 3, 1);
  h = tfl.layers.activation({ activation: 'relu', name: 'stem_relu' }).apply(h) as T;
  let k = 1;
  [w, 2 * w, 4 * w, 8 * w].forEach((filters, stage) => {
    for (let b = 0; b < 2; b++) {
      h = basicBlock(h, spec.seed, k++, filters, stage > 0 && b === 0 ? 2 : 1);
    }
  });
  h = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(h) as T;
  const logits = outputLogits(h, spec.numClasses, spec.seed);
  return tfl.model({ inputs: input, outputs: logits, name: 'resnet18' });
}
