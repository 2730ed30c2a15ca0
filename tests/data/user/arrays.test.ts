import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadIdxPairFiles } from '../../../src/data/user/idx-pair.ts';
import { loadNpyPair } from '../../../src/data/user/npy.ts';
import { loadNpz } from '../../../src/data/user/npz.ts';
import { idxImages, idxLabels, tempDir, throwsUsage } from '../helpers.ts';
import { f32, f64, i64, npyBytes, zipBytes } from './helpers.ts';

test('IDX pair: images [rows, cols, 1], labels, row ids, hash of the stored (gzip) bytes', () => {
  const dir = tempDir('uidx');
  const img = path.join(dir, 'imgs-idx3-ubyte.gz');
  const lab = path.join(dir, 'labs-idx1-ubyte');
  fs.writeFileSync(img, gzipSync(idxImages(3, 2, 2, (i) => i * 10)));
  fs.writeFileSync(lab, idxLabels([2, 0, 1]));
  const ds = loadIdxPairFiles(img, lab);
  assert.deepEqual(ds.sampleShape, [2, 2, 1]);
  assert.deepEqual(Array.from(ds.labels()), [2, 0, 1]);
  assert.deepEqual(ds.source.ids, ['0', '1', '2']);
  assert.equal(ds.numClasses, 3);
  assert.equal(ds.source.x[5], 50);
  assert.equal(ds.source.files[0].sha256.length, 64);
  assert.deepEqual(
    ds.source.files.map((f) => [f.name, f.bytes]),
    [
      ['imgs-idx3-ubyte.gz', fs.statSync(img).size],
      ['labs-idx1-ubyte', 11],
    ],
  );
  const h = ds.source.sha256;
  assert.equal(loadIdxPairFiles(img, lab).source.sha256, h);
  fs.writeFileSync(lab, idxLabels([2, 0, 0]));
  assert.notEqual(loadIdxPairFiles(img, lab).source.sha256, h);
  assert.equal(loadIdxPairFiles(img, lab, { classes: ['a', 'b', 'c', 'd'] }).numClasses, 4);
  fs.writeFileSync(lab, idxLabels([2, 0]));
  throwsUsage(
    () => loadIdxPairFiles(img, lab),
    /labs-idx1-ubyte: has 2 labels but .*imgs-idx3-ubyte\.gz has 3 images$/,
  );
  throwsUsage(
    () => loadIdxPairFiles(lab, img),
    /labs-idx1-ubyte: is the labels file and .*imgs-idx3-ubyte\.gz the images: give the images first$/,
  );
});

function npyPair(x: Buffer, y: Buffer): { dir: string; x: string; y: string } {
  const dir = tempDir('unpy');
  fs.writeFileSync(path.join(dir, 'x.npy'), x);
  fs.writeFileSync(path.join(dir, 'y.npy'), y);
  return { dir, x: path.join(dir, 'x.npy'), y: path.join(dir, 'y.npy') };
}

test('npy pair: float32 [n, d], int64 labels; float64 and uint8 features; 3-D gets a channel', () => {
  const p = npyPair(
    npyBytes('<f4', [3, 2], f32([1, 2, 3, 4, 5, 6])),
    npyBytes('<i8', [3], i64([1, 0, 1])),
  );
  const ds = loadNpyPair(p.x, p.y);
  assert.deepEqual(ds.sampleShape, [2]);
  assert.deepEqual(Array.from(ds.source.x), [1, 2, 3, 4, 5, 6]);
  assert.ok(ds.source.x instanceof Float32Array);
  assert.deepEqual(Array.from(ds.labels()), [1, 0, 1]);
  assert.deepEqual(ds.source.ids, ['0', '1', '2']);
  assert.deepEqual(ds.source.classNames, ['0', '1']);
  assert.deepEqual(
    ds.source.files.map((f) => f.name),
    ['x.npy', 'y.npy'],
  );
  const h = ds.source.sha256;
  assert.equal(loadNpyPair(p.x, p.y).source.sha256, h);

  const q = npyPair(
    npyBytes('<f8', [2, 2, 2], f64([0, 0.5, 1, 2, 3, 4, 5, 6])),
    npyBytes('|u1', [2, 1], new Uint8Array([3, 1])),
  );
  const d2 = loadNpyPair(q.x, q.y);
  assert.deepEqual(d2.sampleShape, [2, 2, 1]);
  assert.equal(d2.source.x[1], 0.5);
  assert.equal(d2.numClasses, 4);
  assert.notEqual(d2.source.sha256, h);

  const be = Buffer.alloc(8);
  be.writeFloatBE(1.5, 0);
  be.writeFloatBE(-2, 4);
  const r = npyPair(npyBytes('>f4', [2], be), npyBytes('<f8', [2], f64([0, 1])));
  assert.deepEqual(Array.from(loadNpyPair(r.x, r.y).source.x), [1.5, -2]);

  const u = npyPair(
    npyBytes('|u1', [2, 1, 1, 3], new Uint8Array([0, 255, 51, 1, 2, 3])),
    npyBytes('<i4', [2], new Uint8Array(Int32Array.from([0, 1]).buffer)),
  );
  const d3 = loadNpyPair(u.x, u.y);
  assert.deepEqual(d3.sampleShape, [1, 1, 3]);
  assert.equal(d3.source.scale, 1 / 255);
  assert.ok(Math.abs(d3.gather([0]).x[2] - 0.2) < 1e-6);
});

test('npy: Fortran order, bad dtypes, truncation and bad labels are one-line errors', () => {
  const y = npyBytes('<i8', [2], i64([0, 1]));
  const t = (x: Buffer, yb: Buffer, re: RegExp) => {
    const p = npyPair(x, yb);
    throwsUsage(() => loadNpyPair(p.x, p.y), re);
  };
  t(
    npyBytes('<f4', [2, 1], f32([1, 2]), { fortran: true }),
    y,
    /x\.npy: is in Fortran \(column-major\) order; save it in C order/,
  );
  t(npyBytes('<U3', [2], new Uint8Array(24)), y, /x\.npy: dtype '<U3' is not supported/);
  t(
    npyBytes('<i4', [2], new Uint8Array(8)),
    y,
    /x\.npy: features of dtype '<i4' are not supported \(float32, float64 or uint8\)$/,
  );
  t(
    npyBytes('<f4', [2, 2], f32([1, 2, 3])),
    y,
    /x\.npy: shape \(2, 2\) of <f4 needs 16 data bytes; the file has 12 \(truncated\?\)$/,
  );
  t(
    npyBytes('<f4', [2], f32([1, Number.NaN])),
    y,
    /x\.npy: value 1 is NaN; features must be finite$/,
  );
  t(npyBytes('<f4', [3], f32([1, 2, 3])), y, /y\.npy: has 2 labels but .*x\.npy has 3 rows$/);
  t(
    npyBytes('<f4', [2], f32([1, 2])),
    npyBytes('<f8', [2], f64([0, 0.5])),
    /y\.npy: label 1 is 0\.5; labels are integer class ids ≥ 0$/,
  );
  t(npyBytes('<f4', [2], f32([1, 2])), npyBytes('<i8', [2], i64([0, -1])), /y\.npy: label 1 is -1/);
  t(
    npyBytes('<f4', [2], f32([1, 2])),
    npyBytes('<i8', [1, 2], i64([0, 1])),
    /y\.npy: labels must have shape \(n,\) or \(n, 1\); got \(1, 2\)$/,
  );
  t(Buffer.from('not numpy at all'), y, /x\.npy: is not a \.npy file/);
});

test('npz: stored, deflated and NumPy-style zip64 members; missing array and corruption', () => {
  const x = npyBytes('<f4', [2, 3], f32([1, 2, 3, 4, 5, 6]));
  const y = npyBytes('<i8', [2], i64([0, 1]));
  const dir = tempDir('unpz');
  const hashes = new Set<string>();
  for (const opts of [{}, { deflate: true }, { deflate: true, zip64: true }]) {
    const file = path.join(dir, `d${hashes.size}.npz`);
    fs.writeFileSync(
      file,
      zipBytes(
        [
          { name: 'y.npy', data: y },
          { name: 'x.npy', data: x },
        ],
        opts,
      ),
    );
    const ds = loadNpz(file);
    assert.deepEqual(ds.sampleShape, [3]);
    assert.deepEqual(Array.from(ds.source.x), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(ds.labels()), [0, 1]);
    assert.equal(ds.source.format, 'npz');
    assert.equal(loadNpz(file).source.sha256, ds.source.sha256);
    hashes.add(ds.source.sha256);
  }
  assert.equal(hashes.size, 3, 'different bytes, different hashes');
  const file = path.join(dir, 'bad.npz');
  fs.writeFileSync(file, zipBytes([{ name: 'x.npy', data: x }]));
  throwsUsage(
    () => loadNpz(file),
    /bad\.npz: has no array named y \(members: x\.npy\); save with np\.savez/,
  );
  const z = zipBytes([
    { name: 'x.npy', data: x },
    { name: 'y.npy', data: y },
  ]);
  z[40] ^= 0xff; // a data byte of x.npy
  fs.writeFileSync(file, z);
  throwsUsage(() => loadNpz(file), /bad\.npz:x\.npy: CRC-32 mismatch \(corrupt file\)$/);
  fs.writeFileSync(file, 'PK not really');
  throwsUsage(() => loadNpz(file), /bad\.npz: no zip end-of-central-directory record/);
});

const numpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

test('npz and npy written by NumPy itself (when python3-numpy is installed)', {
  skip: !numpy && 'no numpy',
}, () => {
  const dir = tempDir('unumpy');
  const script = `
import numpy as np, sys
d = sys.argv[1]
x = np.arange(24, dtype=np.float32).reshape(4, 2, 3) / 10
y = np.array([0, 2, 1, 2])
np.savez(d + '/s.npz', x=x, y=y)
np.savez_compressed(d + '/c.npz', x=x.astype(np.float64), y=y)
np.save(d + '/x.npy', (x * 10).astype(np.uint8)); np.save(d + '/y.npy', y.astype(np.int32))
np.save(d + '/f.npy', np.asfortranarray(x.reshape(4, 6)))
`;
  const r = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['s.npz', 'c.npz']) {
    const ds = loadNpz(path.join(dir, f));
    assert.deepEqual(ds.sampleShape, [2, 3, 1]);
    assert.ok(Math.abs(ds.source.x[23] - 2.3) < 1e-6);
    assert.deepEqual(Array.from(ds.labels()), [0, 2, 1, 2]);
  }
  const ds = loadNpyPair(path.join(dir, 'x.npy'), path.join(dir, 'y.npy'));
  assert.equal(ds.source.x[23], 23);
  throwsUsage(
    () => loadNpyPair(path.join(dir, 'f.npy'), path.join(dir, 'y.npy')),
    /f\.npy: is in Fortran/,
  );
});
