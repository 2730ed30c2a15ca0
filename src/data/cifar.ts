/**
 * CIFAR-10 / CIFAR-100, "binary version", from a directory the user gives (neither registry has
 * them). Records are fixed-size, images channel-major (1024 R, 1024 G, 1024 B, rows of 32):
 *
 *   CIFAR-10:  data_batch_1..5.bin, test_batch.bin; record = 1 label byte + 3072 pixel bytes
 *   CIFAR-100: train.bin, test.bin;                 record = coarse byte + fine byte + 3072
 *
 * Pixels are converted to HWC (tfjs's layout). CIFAR-100 uses the fine label as the class and
 * keeps the coarse label (superclass) as the sample's group.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../core/errors.ts';
import { exists, KiB, readFileChecked, readTextChecked } from '../core/read.ts';
import type { DataSource } from './dataset.ts';
import { fileKey } from './file-key.ts';
import type { Split } from './mnist.ts';

export type CifarVariant = 'cifar10' | 'cifar100';

const SIDE = 32;
const PIXELS = SIDE * SIDE * 3;
/** Records in one file at most: a whole CIFAR set (50,000 train + 10,000 test) in one file. */
export const CIFAR_MAX_RECORDS = 60_000;
/** A class-name file: at most 100 names, one a line; 64 KiB allows 650 bytes a name. */
export const CIFAR_NAMES_MAX_BYTES = 64 * KiB;

const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

interface Layout {
  files: Record<Split, string[]>;
  /** Subfolder the official archive unpacks to; accepted in place of the directory itself. */
  archiveDir: string;
  labelBytes: number;
  numClasses: number;
  numCoarse: number;
  namesFile: string;
  coarseNamesFile?: string;
}

const LAYOUTS: Record<CifarVariant, Layout> = {
  cifar10: {
    files: {
      train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
      test: ['test_batch.bin'],
    },
    archiveDir: 'cifar-10-batches-bin',
    labelBytes: 1,
    numClasses: 10,
    numCoarse: 0,
    namesFile: 'batches.meta.txt',
  },
  cifar100: {
    files: { train: ['train.bin'], test: ['test.bin'] },
    archiveDir: 'cifar-100-binary',
    labelBytes: 2,
    numClasses: 100,
    numCoarse: 20,
    namesFile: 'fine_label_names.txt',
    coarseNamesFile: 'coarse_label_names.txt',
  },
};

const cache = new Map<string, DataSource>();

/** The directory holding the variant's files: `dir` itself, or the archive's subfolder inside it. */
function resolveDir(variant: CifarVariant, dir: string, where: string): string {
  const layout = LAYOUTS[variant];
  const first = layout.files.train[0];
  for (const d of [dir, path.join(dir, layout.archiveDir)]) {
    if (fs.existsSync(path.join(d, first))) return d;
  }
  throw new UsageError(
    where,
    `${dir} does not hold the ${variant} binary files (${first}, ...; also looked in ${layout.archiveDir}/); CIFAR cannot be downloaded by uib, give the directory of the "binary version"`,
  );
}

function readNames(file: string, n: number): string[] | undefined {
  // Optional; but anything there (a dangling link included) is read, and refused if bad.
  if (!exists(file)) return undefined;
  const text = readTextChecked(file, {
    maxBytes: CIFAR_NAMES_MAX_BYTES,
    what: 'a class-name file',
  });
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length !== n) {
    throw new UsageError(file, `expected ${n} class names, one per line; found ${names.length}`);
  }
  return names;
}

export function loadCifar(variant: CifarVariant, split: Split, dir: string): DataSource {
  const layout = LAYOUTS[variant];
  const root = resolveDir(variant, dir, dir);
  const files = layout.files[split].map((f) => path.join(root, f));
  for (const f of files) {
    if (!fs.existsSync(f)) throw new UsageError(f, `missing ${variant} file`);
  }
  const key = `${variant}|${fileKey(files)}`;
  const hit = cache.get(key);
  if (hit) return hit;

  const recordBytes = layout.labelBytes + PIXELS;
  const bufs = files.map((f) => {
    const buf = readFileChecked(f, {
      maxBytes: CIFAR_MAX_RECORDS * recordBytes,
      missing: `missing ${variant} file`,
      what: `a ${variant} record file`,
    });
    if (buf.length === 0) throw new UsageError(f, 'empty file; no records');
    if (buf.length % recordBytes !== 0) {
      throw new UsageError(
        f,
        `truncated file: ${buf.length} bytes is not a whole number of ${recordBytes}-byte ${variant} records`,
      );
    }
    return buf;
  });
  const n = bufs.reduce((s, b) => s + b.length / recordBytes, 0);
  const x = new Uint8Array(n * PIXELS);
  const y = new Uint8Array(n);
  const coarse = layout.numCoarse > 0 ? new Uint8Array(n) : undefined;
  let s = 0;
  for (let fi = 0; fi < bufs.length; fi++) {
    const buf = bufs[fi];
    for (let r = 0; r < buf.length / recordBytes; r++, s++) {
      const rec = r * recordBytes;
      const label = buf[rec + layout.labelBytes - 1];
      if (label >= layout.numClasses) {
        throw new UsageError(
          files[fi],
          `label ${label} in record ${r} out of range 0-${layout.numClasses - 1}`,
        );
      }
      y[s] = label;
      if (coarse) {
        coarse[s] = buf[rec];
        if (coarse[s] >= layout.numCoarse) {
          throw new UsageError(
            files[fi],
            `coarse label ${coarse[s]} in record ${r} out of range 0-${layout.numCoarse - 1}`,
          );
        }
      }
      // CHW (planes of 1024) -> HWC.
      const px = rec + layout.labelBytes;
      const out = s * PIXELS;
      for (let p = 0; p < SIDE * SIDE; p++) {
        x[out + 3 * p] = buf[px + p];
        x[out + 3 * p + 1] = buf[px + 1024 + p];
        x[out + 3 * p + 2] = buf[px + 2048 + p];
      }
    }
  }
  const sourceIndex = new Uint32Array(n);
  for (let i = 0; i < n; i++) sourceIndex[i] = i;
  const classNames =
    readNames(path.join(root, layout.namesFile), layout.numClasses) ??
    (variant === 'cifar10'
      ? CIFAR10_CLASSES
      : Array.from({ length: layout.numClasses }, (_, i) => String(i)));
  const src: DataSource = {
    name: `${variant}/${split}`,
    sampleShape: [SIDE, SIDE, 3],
    x,
    scale: 1 / 255,
    y,
    numClasses: layout.numClasses,
    classNames,
    meta: coarse
      ? {
          sourceIndex,
          group: coarse,
          groupNames:
            (layout.coarseNamesFile &&
              readNames(path.join(root, layout.coarseNamesFile), layout.numCoarse)) ||
            Array.from({ length: layout.numCoarse }, (_, i) => `coarse-${i}`),
        }
      : { sourceIndex },
  };
  cache.set(key, src);
  return src;
}
