/**
 * Sample images as PNG data URIs (for the report's forget-set examples), via pngjs.
 */
import { PNG } from 'pngjs';
import type { Dataset } from '../../data/dataset.ts';

/**
 * One image `[h, w, c]` with values in [0, 1] (c = 1 grey, 3 RGB) as a PNG data URI.
 * Values outside [0, 1] are clipped.
 */
export function imageToPngDataUri(pixels: ArrayLike<number>, shape: readonly number[]): string {
  const [h, w, c] = shape;
  if (!(shape.length === 3 && (c === 1 || c === 3) && pixels.length === h * w * c)) {
    throw new Error(
      `imageToPngDataUri: shape [${shape.join(', ')}] does not fit ${pixels.length} values`,
    );
  }
  const png = new PNG({ width: w, height: h });
  const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  for (let i = 0; i < h * w; i++) {
    const r = byte(pixels[i * c]);
    png.data[4 * i] = r;
    png.data[4 * i + 1] = c === 3 ? byte(pixels[i * c + 1]) : r;
    png.data[4 * i + 2] = c === 3 ? byte(pixels[i * c + 2]) : r;
    png.data[4 * i + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

/** The first `n` samples of an image dataset as PNG data URIs with their labels ([] for tabular). */
export function exampleImages(data: Dataset, n: number): { label: number; png: string }[] {
  const shape = data.sampleShape;
  if (shape.length !== 3 || n <= 0) return [];
  const m = Math.min(n, data.length);
  const size = shape[0] * shape[1] * shape[2];
  const positions = Uint32Array.from({ length: m }, (_, i) => i);
  const { x, y } = data.gather(positions);
  return Array.from({ length: m }, (_, i) => ({
    label: y[i],
    png: imageToPngDataUri(x.subarray(i * size, (i + 1) * size), shape),
  }));
}
