import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadCifar } from '../../src/data/cifar.ts';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../../src/data/fashion-mnist.ts';
import { loadIdxPair } from '../../src/data/mnist.ts';
import { loadDataset } from '../../src/data/registry.ts';
import {
  cifarPixel,
  cifarRecord,
  idxImages,
  idxLabels,
  tempDir,
  throwsUsage,
  writeCifar10,
  writeCifar100,
  writeFashionDir,
} from './helpers.ts';

test('IDX: bad magic, truncated header, declared size larger than the file, label out of range', () => {
  const dir = tempDir('idx');
  const img = path.join(dir, 'img');
  const lab = path.join(dir, 'lab');
  fs.writeFileSync(lab, idxLabels([1, 2, 3]));
  const good = idxImages(3, 4, 4, (i) => i);
  fs.writeFileSync(img, good);
  assert.equal(loadIdxPair('t', img, lab).y.length, 3);

  const bad = Buffer.from(good);
  bad.writeUInt32BE(2049, 0);
  fs.writeFileSync(img, bad);
  throwsUsage(() => loadIdxPair('t', img, lab), /img: bad magic number 2049 for IDX images/);
  fs.writeFileSync(img, good.subarray(0, 10));
  throwsUsage(() => loadIdxPair('t', img, lab), /img: truncated IDX header/);
  fs.writeFileSync(img, good.subarray(0, good.length - 5));
  throwsUsage(
    () => loadIdxPair('t', img, lab),
    /img: declared size 3x4x4 needs 64 bytes but the file has 59/,
  );
  fs.writeFileSync(img, good);
  fs.writeFileSync(lab, idxLabels([1, 12, 3]));
  throwsUsage(() => loadIdxPair('t', img, lab), /lab: label 12 at index 1 out of range 0-9/);
});

test('Fashion-MNIST: a missing directory says how to install it', () => {
  const missing = path.join(tempDir('fm'), 'nope');
  throwsUsage(() => loadFashionMnist('train', missing), /apt-get install dataset-fashion-mnist/);
  throwsUsage(
    () => loadDataset('fashion-mnist', 'test', { dir: missing }),
    /t10k-images-idx3-ubyte\.gz.*apt-get install/,
  );
});

test('Fashion-MNIST: gzip IDX from a directory, with class names', () => {
  const dir = tempDir('fm');
  writeFashionDir(dir, 20);
  const src = loadFashionMnist('train', dir);
  assert.deepEqual(src.sampleShape, [28, 28, 1]);
  assert.equal(src.y.length, 20);
  assert.equal(src.x[5], 35);
  assert.equal(src.classNames?.[9], 'ankle-boot');
});

test('Fashion-MNIST from the Debian package, when installed', {
  skip: !fs.existsSync(FASHION_MNIST_DIR),
}, () => {
  const train = loadDataset('fashion-mnist', 'train');
  const testSplit = loadDataset('fashion-mnist', 'test');
  assert.equal(train.y.length, 60000);
  assert.equal(testSplit.y.length, 10000);
  assert.deepEqual(train.sampleShape, [28, 28, 1]);
  // Fashion-MNIST is balanced: 6000 per class in train.
  const counts = new Array(10).fill(0);
  for (const y of train.y) counts[y]++;
  assert.deepEqual(counts, new Array(10).fill(6000));
});

test('CIFAR-10: the real binary layout, converted from CHW to HWC', () => {
  const dir = tempDir('c10');
  writeCifar10(dir, 3, 4);
  const train = loadDataset('cifar10', 'train', { dir });
  assert.equal(train.y.length, 15);
  assert.deepEqual(train.sampleShape, [32, 32, 3]);
  assert.deepEqual(Array.from(train.y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4]);
  for (const [rec, r, c, ch] of [
    [0, 0, 0, 0],
    [7, 5, 31, 2],
    [14, 31, 17, 1],
  ]) {
    assert.equal(train.x[rec * 3072 + (r * 32 + c) * 3 + ch], cifarPixel(rec, ch, r, c));
  }
  const t = loadCifar('cifar10', 'test', dir);
  assert.deepEqual(Array.from(t.y), [0, 3, 6, 9]);
  assert.equal(t.x[3 * 3072 + (2 * 32 + 3) * 3 + 1], cifarPixel(1003, 1, 2, 3));
  assert.equal(t.classNames?.[3], 'cat');
  // The archive's subfolder is found too.
  const outer = tempDir('c10o');
  fs.mkdirSync(path.join(outer, 'cifar-10-batches-bin'));
  writeCifar10(path.join(outer, 'cifar-10-batches-bin'), 1, 1);
  assert.equal(loadCifar('cifar10', 'train', outer).y.length, 5);
});

test('CIFAR-100: coarse + fine label bytes; fine is the class, coarse the group', () => {
  const dir = tempDir('c100');
  writeCifar100(dir, 6, 2);
  const src = loadDataset('cifar100', 'train', { dir });
  assert.equal(src.numClasses, 100);
  assert.deepEqual(Array.from(src.y), [0, 13, 26, 39, 52, 65]);
  assert.deepEqual(Array.from(src.meta.group!), [0, 1, 2, 3, 4, 5]);
  assert.equal(src.x[4 * 3072 + (10 * 32 + 20) * 3 + 2], cifarPixel(4, 2, 10, 20));
  const t = loadCifar('cifar100', 'test', dir);
  assert.equal(t.x[1 * 3072 + 0], cifarPixel(501, 0, 0, 0));
});

test('CIFAR: truncated file, label out of range, missing directory', () => {
  const dir = tempDir('c10bad');
  writeCifar10(dir, 2, 2);
  const f = path.join(dir, 'test_batch.bin');
  fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 3073 + 100));
  throwsUsage(
    () => loadCifar('cifar10', 'test', dir),
    /test_batch\.bin: truncated file: 3173 bytes is not a whole number of 3073-byte/,
  );
  fs.writeFileSync(f, Buffer.concat([cifarRecord(0, [3]), cifarRecord(1, [10])]));
  throwsUsage(
    () => loadCifar('cifar10', 'test', dir),
    /test_batch\.bin: label 10 in record 1 out of range 0-9/,
  );
  throwsUsage(
    () => loadDataset('cifar10', 'train', { dir: path.join(dir, 'x') }),
    /does not hold the cifar10 binary files/,
  );
  throwsUsage(
    () => loadDataset('cifar10', 'train'),
    /--data-dir: cifar10 must be read from a directory/,
  );
  throwsUsage(
    () => loadDataset('imagenet', 'train'),
    /--dataset: unknown dataset "imagenet"; known: mnist, fashion-mnist/,
  );
});
