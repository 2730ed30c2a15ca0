/**
 * Fashion-MNIST (60k + 10k, 28x28 grey, 10 classes) from Debian's `dataset-fashion-mnist`, which
 * installs gzip IDX files under /usr/share/datasets/fashion-mnist. Same format as MNIST.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../core/errors.ts';
import type { DataSource } from './dataset.ts';
import { fileKey } from './file-key.ts';
import { loadIdxPair, type Split } from './mnist.ts';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = [
  't-shirt/top',
  'trouser',
  'pullover',
  'dress',
  'coat',
  'sandal',
  'shirt',
  'sneaker',
  'bag',
  'ankle-boot',
] as const;

const cache = new Map<string, DataSource>();

/** The IDX file `<stem>` in `dir`, gzip'd or not. */
function idxFile(dir: string, stem: string): string {
  for (const f of [`${stem}.gz`, stem]) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return p;
  }
  throw new UsageError(
    path.join(dir, `${stem}.gz`),
    dir === FASHION_MNIST_DIR
      ? 'Fashion-MNIST is not installed; install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu) or pass --data-dir'
      : `Fashion-MNIST file not found; expected ${stem}.gz in ${dir} (Debian: \`apt-get install dataset-fashion-mnist\` puts it in ${FASHION_MNIST_DIR})`,
  );
}

export function loadFashionMnist(split: Split, dir: string = FASHION_MNIST_DIR): DataSource {
  const prefix = split === 'train' ? 'train' : 't10k';
  const images = idxFile(dir, `${prefix}-images-idx3-ubyte`);
  const labels = idxFile(dir, `${prefix}-labels-idx1-ubyte`);
  const key = fileKey([images, labels]);
  const hit = cache.get(key);
  if (hit) return hit;
  const src: DataSource = {
    ...loadIdxPair(`fashion-mnist/${split}`, images, labels),
    classNames: FASHION_MNIST_CLASSES,
  };
  cache.set(key, src);
  return src;
}
