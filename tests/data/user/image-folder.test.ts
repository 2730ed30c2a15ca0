import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadImageFolder } from '../../../src/data/user/image-folder.ts';
import { tempDir, throwsUsage } from '../helpers.ts';
import { writePng } from './helpers.ts';

const grey = (v: number) => (): [number, number, number] => [v, v, v];

function greyFolder(): string {
  const dir = tempDir('imgfolder');
  writePng(path.join(dir, 'dog/b.png'), 3, 2, grey(10), true);
  writePng(path.join(dir, 'cat/z.png'), 3, 2, (x, y) => [x * 50 + y, x * 50 + y, x * 50 + y], true);
  writePng(path.join(dir, 'cat/a.png'), 3, 2, grey(255), true);
  writePng(path.join(dir, 'dog/source=vendor-7/c.png'), 3, 2, grey(0), true);
  fs.writeFileSync(path.join(dir, 'README.txt'), 'not a sample');
  fs.writeFileSync(path.join(dir, 'cat/.DS_Store'), 'skipped');
  return dir;
}

test('image folder: sorted classes, ids = relative paths, [H,W,1] grey, metadata folders', () => {
  const dir = greyFolder();
  const ds = loadImageFolder(dir);
  assert.deepEqual(ds.source.classNames, ['cat', 'dog']);
  assert.deepEqual(ds.source.ids, [
    'cat/a.png',
    'cat/z.png',
    'dog/b.png',
    'dog/source=vendor-7/c.png',
  ]);
  assert.deepEqual(Array.from(ds.labels()), [0, 0, 1, 1]);
  assert.deepEqual(ds.sampleShape, [2, 3, 1]);
  assert.equal(ds.source.format, 'image-folder');
  // Model inputs are floats in [0, 1].
  const { x } = ds.gather([0, 1]);
  assert.ok(x instanceof Float32Array);
  assert.equal(x[0], 1);
  assert.ok(Math.abs(x[6 + 1] - 50 / 255) < 1e-6, 'cat/z.png pixel (x=1, y=0)');
  assert.ok(Math.abs(x[6 + 3] - 1 / 255) < 1e-6, 'cat/z.png pixel (x=0, y=1)');
  assert.deepEqual(ds.source.attributes.source, [null, null, null, 'vendor-7']);
  assert.deepEqual(ds.source.folders, [[], [], [], ['source=vendor-7']]);
  assert.deepEqual(
    ds.source.files.map((f) => f.name),
    ds.source.ids,
  );
});

test('image folder: hash stable across loads, changes with a pixel and with a rename', () => {
  const dir = greyFolder();
  const h1 = loadImageFolder(dir).source.sha256;
  assert.match(h1, /^[0-9a-f]{64}$/);
  assert.equal(loadImageFolder(dir).source.sha256, h1);
  writePng(path.join(dir, 'cat/a.png'), 3, 2, grey(254), true);
  const h2 = loadImageFolder(dir).source.sha256;
  assert.notEqual(h2, h1);
  fs.renameSync(path.join(dir, 'cat/a.png'), path.join(dir, 'cat/a2.png'));
  assert.notEqual(loadImageFolder(dir).source.sha256, h2, 'the name is part of the hash');
});

test('image folder: one colour image makes the folder RGB (grey replicated)', () => {
  const dir = tempDir('imgfolder');
  writePng(path.join(dir, 'a/g.png'), 2, 2, grey(100), true);
  writePng(path.join(dir, 'b/c.png'), 2, 2, () => [255, 0, 10]);
  const ds = loadImageFolder(dir);
  assert.deepEqual(ds.sampleShape, [2, 2, 3]);
  assert.deepEqual(Array.from(ds.source.x.subarray(0, 3)), [100, 100, 100]);
  assert.deepEqual(Array.from(ds.source.x.subarray(12, 15)), [255, 0, 10]);
});

test('image folder: a held-out folder maps to the training classes', () => {
  const dir = tempDir('imgfolder');
  writePng(path.join(dir, 'dog/x.png'), 2, 2, grey(1), true);
  const ds = loadImageFolder(dir, { classes: ['cat', 'dog', 'eel'] });
  assert.equal(ds.numClasses, 3);
  assert.deepEqual(Array.from(ds.labels()), [1]);
  throwsUsage(
    () => loadImageFolder(dir, { classes: ['cat', 'eel'] }),
    /\/dog: is not one of the 2 classes given \(cat, eel\)$/,
  );
});

test('image folder: bad input is a one-line error naming the file', () => {
  const dir = tempDir('imgfolder');
  writePng(path.join(dir, 'a/1.png'), 2, 2, grey(1), true);
  writePng(path.join(dir, 'b/2.png'), 3, 2, grey(1), true);
  throwsUsage(
    () => loadImageFolder(dir),
    /\/b\/2\.png: is 3x2; every image must have the size of the first \(a\/1\.png: 2x2\)$/,
  );
  fs.rmSync(path.join(dir, 'b/2.png'));
  fs.writeFileSync(path.join(dir, 'b/2.jpg'), 'jpeg');
  throwsUsage(
    () => loadImageFolder(dir),
    /\/b\/2\.jpg: JPEG is not supported yet \(no JPEG decoder is installed\); convert the folder to PNG$/,
  );
  fs.rmSync(path.join(dir, 'b/2.jpg'));
  fs.writeFileSync(path.join(dir, 'b/2.png'), 'not a png');
  throwsUsage(() => loadImageFolder(dir), /\/b\/2\.png: is not a valid PNG \(/);
  fs.rmSync(path.join(dir, 'b/2.png'));
  fs.writeFileSync(path.join(dir, 'b/notes.txt'), 'x');
  throwsUsage(() => loadImageFolder(dir), /\/b\/notes\.txt: is not a PNG image/);
  fs.rmSync(path.join(dir, 'b/notes.txt'));
  throwsUsage(() => loadImageFolder(dir), /\/b: holds no images$/);
  fs.rmdirSync(path.join(dir, 'b'));
  throwsUsage(() => loadImageFolder(dir), /: has 1 class folder; at least 2 are needed$/);
  writePng(path.join(dir, 'top.png'), 2, 2, grey(1), true);
  throwsUsage(() => loadImageFolder(dir), /\/top\.png: is directly in the image folder/);
  throwsUsage(() => loadImageFolder(path.join(dir, 'nope')), /\/nope: cannot read: no such file/);
});
