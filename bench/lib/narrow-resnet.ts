/**
 * The narrow ResNet of issue 7's benchmark table (not one of the toolkit's architectures):
 * stem conv3×3·16 + BN + ReLU, then three BasicBlocks of widths 16, 32, 64 (stride 1, 2, 2; a 1×1
 * projection shortcut with BN where the shape changes), global average pool, dense logits.
 * On 28×28×1 with 10 classes: 77,754 trainable parameters. bench/reference/models.py builds the
 * same network in PyTorch (NCHW; same layers, same parameter count).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { glorotInit, heInit } from '../../src/models/init.ts';

type T = tfl.SymbolicTensor;

export const NARROW_RESNET_WIDTHS = [16, 32, 64] as const;

function convBn(
  x: T,
  seed: number,
  name: string,
  filters: number,
  kernelSize: number,
  strides: number,
): T {
  const c = tfl.layers
    .conv2d({
      filters,
      kernelSize,
      strides,
      padding: 'same',
      useBias: false, // BatchNorm follows
      kernelInitializer: heInit(seed, name),
      name: `${name}_conv`,
    })
    .apply(x) as T;
  // PyTorch's BatchNorm2d defaults (momentum 0.1 ⇔ Keras 0.9, eps 1e-5), so both sides compute alike.
  return tfl.layers
    .batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: `${name}_bn` })
    .apply(c) as T;
}

function block(x: T, seed: number, k: number, filters: number, strides: number): T {
  let h = convBn(x, seed, `block${k}_1`, filters, 3, strides);
  h = tfl.layers.reLU({ name: `block${k}_relu1` }).apply(h) as T;
  h = convBn(h, seed, `block${k}_2`, filters, 3, 1);
  const inChannels = x.shape[x.shape.length - 1];
  const shortcut =
    strides !== 1 || inChannels !== filters
      ? convBn(x, seed, `block${k}_proj`, filters, 1, strides)
      : x;
  const sum = tfl.layers.add({ name: `block${k}_add` }).apply([h, shortcut]) as T;
  return tfl.layers.reLU({ name: `block${k}_relu2` }).apply(sum) as T;
}

export function buildNarrowResnet(
  inputShape: number[],
  numClasses: number,
  seed: number,
): tfl.LayersModel {
  const input = tfl.input({ shape: inputShape, name: 'input' });
  let h = convBn(input, seed, 'stem', NARROW_RESNET_WIDTHS[0], 3, 1);
  h = tfl.layers.reLU({ name: 'stem_relu' }).apply(h) as T;
  NARROW_RESNET_WIDTHS.forEach((filters, i) => {
    h = block(h, seed, i + 1, filters, i === 0 ? 1 : 2);
  });
  h = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(h) as T;
  const logits = tfl.layers
    .dense({ units: numClasses, kernelInitializer: glorotInit(seed, 'output'), name: 'output' })
    .apply(h) as T;
  return tfl.model({ inputs: input, outputs: logits, name: 'narrow_resnet' });
}
