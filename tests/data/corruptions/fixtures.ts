/** Shared inputs for the corruption tests: real MNIST digits and small synthetic images. */
import { loadMnist } from '../../../src/data/mnist.ts';

export const H = 28;
export const W = 28;

/** MNIST train image `index` (a copy, 28×28 uint8). */
export function mnistImage(index: number): Uint8Array {
  const src = loadMnist('train');
  return Uint8Array.from(src.x.subarray(index * H * W, (index + 1) * H * W));
}

export function constantImage(h: number, w: number, value: number): Uint8Array {
  return new Uint8Array(h * w).fill(value);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Pixels with value > threshold: their bounding box as [rowMin, rowMax, colMin, colMax]. */
export function boundingBox(
  img: Uint8Array,
  h: number,
  w: number,
  threshold: number,
): [number, number, number, number] {
  let r0 = h;
  let r1 = -1;
  let c0 = w;
  let c1 = -1;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      if (img[r * w + c]! > threshold) {
        r0 = Math.min(r0, r);
        r1 = Math.max(r1, r);
        c0 = Math.min(c0, c);
        c1 = Math.max(c1, c);
      }
    }
  }
  return [r0, r1, c0, c1];
}
