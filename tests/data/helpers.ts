/** Test fixtures: temp dirs and small files in the real IDX / CIFAR binary layouts. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `uib-${tag}-`));
}

export function idxImages(
  n: number,
  rows: number,
  cols: number,
  fill: (i: number) => number,
): Buffer {
  const b = Buffer.alloc(16 + n * rows * cols);
  b.writeUInt32BE(2051, 0);
  b.writeUInt32BE(n, 4);
  b.writeUInt32BE(rows, 8);
  b.writeUInt32BE(cols, 12);
  for (let i = 0; i < n * rows * cols; i++) b[16 + i] = fill(i);
  return b;
}

export function idxLabels(labels: number[]): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(2049, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => {
    b[8 + i] = l;
  });
  return b;
}

/** A Fashion-MNIST-shaped directory (gzip IDX) with n train and n test images of 28x28. */
export function writeFashionDir(dir: string, n: number): void {
  const labels = Array.from({ length: n }, (_, i) => i % 10);
  for (const p of ['train', 't10k']) {
    fs.writeFileSync(
      path.join(dir, `${p}-images-idx3-ubyte.gz`),
      gzipSync(idxImages(n, 28, 28, (i) => (i * 7) % 256)),
    );
    fs.writeFileSync(path.join(dir, `${p}-labels-idx1-ubyte.gz`), gzipSync(idxLabels(labels)));
  }
}

/** Pixel value of (record, channel, row, col) in the generated CIFAR files. */
export const cifarPixel = (rec: number, ch: number, r: number, c: number) =>
  (rec * 31 + ch * 101 + r * 7 + c * 3) % 256;

/** One CIFAR binary record: label byte(s), then 3072 bytes channel-major (R plane, G, B). */
export function cifarRecord(rec: number, labelBytes: number[]): Buffer {
  const b = Buffer.alloc(labelBytes.length + 3072);
  labelBytes.forEach((v, i) => {
    b[i] = v;
  });
  for (let ch = 0; ch < 3; ch++)
    for (let r = 0; r < 32; r++)
      for (let c = 0; c < 32; c++)
        b[labelBytes.length + ch * 1024 + r * 32 + c] = cifarPixel(rec, ch, r, c);
  return b;
}

/** CIFAR-10 layout: data_batch_1..5.bin with `perBatch` records each, test_batch.bin with `test`. */
export function writeCifar10(dir: string, perBatch: number, test: number): void {
  let rec = 0;
  for (let b = 1; b <= 5; b++) {
    const recs = Array.from({ length: perBatch }, () => cifarRecord(rec, [rec++ % 10]));
    fs.writeFileSync(path.join(dir, `data_batch_${b}.bin`), Buffer.concat(recs));
  }
  const t = Array.from({ length: test }, (_, i) => cifarRecord(1000 + i, [(i * 3) % 10]));
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.concat(t));
}

/** CIFAR-100 layout: train.bin / test.bin, records of coarse byte, fine byte, pixels. */
export function writeCifar100(dir: string, train: number, test: number): void {
  const recs = (n: number, base: number) =>
    Buffer.concat(
      Array.from({ length: n }, (_, i) =>
        cifarRecord(base + i, [(base + i) % 20, (base + i * 13) % 100]),
      ),
    );
  fs.writeFileSync(path.join(dir, 'train.bin'), recs(train, 0));
  fs.writeFileSync(path.join(dir, 'test.bin'), recs(test, 500));
}

export function throwsUsage(fn: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (!(err instanceof Error) || err.name !== 'UsageError') {
    throw new Error(
      `expected a UsageError matching ${pattern}; got ${err === undefined ? 'no error' : String(err)}`,
    );
  }
  if (!pattern.test(err.message))
    throw new Error(`UsageError "${err.message}" does not match ${pattern}`);
  if (err.message.includes('\n')) throw new Error(`UsageError is not one line: ${err.message}`);
}
