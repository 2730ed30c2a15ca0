import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadUserData } from '../../../src/data/user/load.ts';
import { idxImages, idxLabels, tempDir, throwsUsage } from '../helpers.ts';
import { f32, i64, npyBytes, writePng, zipBytes } from './helpers.ts';

test('loadUserData picks the loader by what the path is', () => {
  const root = tempDir('uload');
  const x = npyBytes('<f4', [2, 1], f32([1, 2]));
  const y = npyBytes('<i8', [2], i64([0, 1]));

  const npyDir = path.join(root, 'npy');
  fs.mkdirSync(npyDir);
  fs.writeFileSync(path.join(npyDir, 'x.npy'), x);
  fs.writeFileSync(path.join(npyDir, 'y.npy'), y);
  assert.equal(loadUserData(npyDir).source.format, 'npy');
  assert.equal(loadUserData(npyDir).name, npyDir);
  const pair = loadUserData([path.join(npyDir, 'x.npy'), path.join(npyDir, 'y.npy')]);
  assert.equal(pair.source.format, 'npy');
  assert.equal(pair.source.sha256, loadUserData(npyDir).source.sha256);

  const idxDir = path.join(root, 'idx');
  fs.mkdirSync(idxDir);
  fs.writeFileSync(
    path.join(idxDir, 'train-images-idx3-ubyte'),
    idxImages(2, 2, 2, (i) => i),
  );
  fs.writeFileSync(path.join(idxDir, 'train-labels-idx1-ubyte'), idxLabels([1, 0]));
  assert.equal(loadUserData(idxDir).source.format, 'idx');
  assert.equal(
    loadUserData([
      path.join(idxDir, 'train-images-idx3-ubyte'),
      path.join(idxDir, 'train-labels-idx1-ubyte'),
    ]).source.format,
    'idx',
  );
  fs.writeFileSync(
    path.join(idxDir, 't10k-images-idx3-ubyte'),
    idxImages(1, 2, 2, (i) => i),
  );
  throwsUsage(
    () => loadUserData(idxDir),
    /idx: holds 2 IDX image and 1 label files; give the images and labels files as two paths$/,
  );

  const imgDir = path.join(root, 'img');
  writePng(path.join(imgDir, 'a/1.png'), 2, 2, () => [1, 1, 1], true);
  writePng(path.join(imgDir, 'b/1.png'), 2, 2, () => [2, 2, 2], true);
  assert.equal(loadUserData(imgDir).source.format, 'image-folder');

  const csv = path.join(root, 'd.csv');
  fs.writeFileSync(csv, 'a,k\n1,x\n2,y\n');
  assert.equal(loadUserData(csv, { label: 'k' }).source.format, 'csv');

  const npz = path.join(root, 'd.npz');
  fs.writeFileSync(
    npz,
    zipBytes([
      { name: 'x.npy', data: x },
      { name: 'y.npy', data: y },
    ]),
  );
  assert.equal(loadUserData(npz).source.format, 'npz');

  throwsUsage(
    () => loadUserData(path.join(npyDir, 'x.npy')),
    /x\.npy: is one array; give x\.npy and y\.npy/,
  );
  throwsUsage(
    () => loadUserData(path.join(idxDir, 'train-images-idx3-ubyte')),
    /is one IDX file; give the images and the labels file$/,
  );
  fs.writeFileSync(path.join(root, 'd.parquet'), 'x');
  throwsUsage(
    () => loadUserData(path.join(root, 'd.parquet')),
    /d\.parquet: is not a data layout uib reads; expected a directory/,
  );
  throwsUsage(
    () => loadUserData(path.join(root, 'missing.csv')),
    /missing\.csv: cannot read: no such file or directory \(ENOENT\)$/,
  );
  throwsUsage(
    () => loadUserData([csv, path.join(npyDir, 'x.npy')]),
    /a pair of paths is x\.npy y\.npy or IDX images labels/,
  );
});
