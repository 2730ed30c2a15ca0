/**
 * The bytes-level loaders (from-bytes.ts) against Node's file loaders on the same files: the same
 * data set (values, shape, classes, ids, hashes) and the same one-line messages; the page's route
 * (DecompressionStream through withStreamInflate, which Node 20 has too) gives them as well.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { zlibInflate } from '../../../src/data/idx.ts';
import {
  type BytesFile,
  checkSize,
  idxPairFromBytes,
  imageSetFromBytes,
  npyPairFromBytes,
  npzFromBytes,
  withStreamInflate,
} from '../../../src/data/user/from-bytes.ts';
import { loadIdxPairFiles } from '../../../src/data/user/idx-pair.ts';
import { loadNpyPair } from '../../../src/data/user/npy.ts';
import { loadNpz } from '../../../src/data/user/npz.ts';
import type { UserDataset } from '../../../src/data/user/types.ts';
import { idxImages, idxLabels, tempDir, throwsUsage } from '../helpers.ts';
import { f32, i64, npyBytes, zipBytes } from './helpers.ts';

/** A file as Node's loader reads it: its path, its base name, its bytes. */
const onDisk = (file: string): BytesFile => ({
  path: file,
  name: path.basename(file),
  bytes: fs.readFileSync(file),
});

function same(a: UserDataset, b: UserDataset): void {
  const s = (d: UserDataset) => ({
    name: d.source.name,
    format: d.source.format,
    sampleShape: d.source.sampleShape,
    x: Array.from(d.source.x),
    xType: d.source.x.constructor.name,
    scale: d.source.scale,
    y: Array.from(d.source.y),
    numClasses: d.source.numClasses,
    classNames: d.source.classNames,
    ids: d.source.ids,
    files: d.source.files,
    sha256: d.source.sha256,
  });
  assert.deepEqual(s(a), s(b));
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.equal((e as Error).name, 'UsageError', String(e));
    return (e as Error).message;
  }
  assert.fail('no error');
}

async function messageOfAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    assert.equal((e as Error).name, 'UsageError', String(e));
    return (e as Error).message;
  }
  assert.fail('no error');
}

test('IDX pair: raw and gzip, the file loader and the bytes function give the same data set', async () => {
  const dir = tempDir('fbidx');
  const img = path.join(dir, 'imgs-idx3-ubyte.gz');
  const lab = path.join(dir, 'labs-idx1-ubyte');
  const rawImg = path.join(dir, 'raw-idx3-ubyte');
  fs.writeFileSync(img, gzipSync(idxImages(3, 2, 2, (i) => i * 10)));
  fs.writeFileSync(
    rawImg,
    idxImages(3, 2, 2, (i) => i * 10),
  );
  fs.writeFileSync(lab, idxLabels([2, 0, 1]));
  for (const im of [img, rawImg]) {
    const node = loadIdxPairFiles(im, lab);
    same(idxPairFromBytes(onDisk(im), onDisk(lab), { inflate: zlibInflate }), node);
    // The page's route: streams instead of zlib, the same result.
    same(
      await withStreamInflate((inflate) => idxPairFromBytes(onDisk(im), onDisk(lab), { inflate })),
      node,
    );
  }
  // As the page names them (no path): the same hashes, messages with the file's name.
  const page = await withStreamInflate((inflate) =>
    imageSetFromBytes(
      [
        { name: 'labs-idx1-ubyte', bytes: fs.readFileSync(lab) },
        {
          name: 'imgs-idx3-ubyte.gz',
          bytes: fs.readFileSync(img),
        },
      ],
      { inflate },
    ),
  );
  assert.equal(page.source.sha256, loadIdxPairFiles(img, lab).source.sha256);
  assert.equal(page.name, 'imgs-idx3-ubyte.gz');
});

test('IDX pair: the same messages from the file loader, the bytes function and the page route', async () => {
  const dir = tempDir('fbidxbad');
  const img = path.join(dir, 'a-idx3-ubyte.gz');
  const lab = path.join(dir, 'a-idx1-ubyte');
  const write = (i: Buffer, l: Buffer) => {
    fs.writeFileSync(img, i);
    fs.writeFileSync(lab, l);
  };
  const cases: [string, Buffer, Buffer, RegExp][] = [
    ['count', gzipSync(idxImages(3, 2, 2, () => 1)), idxLabels([0, 1]), /has 2 labels but/],
    ['magic', gzipSync(idxLabels(Array(20).fill(0))), idxLabels([0, 1]), /bad magic number 2049/],
    [
      'truncated',
      gzipSync(idxImages(3, 2, 2, () => 1).subarray(0, 20)),
      idxLabels([0]),
      /truncated\?/,
    ],
    [
      'gzip',
      Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5]),
      idxLabels([0]),
      /corrupt gzip data$/,
    ],
    ['header', gzipSync(Buffer.from([0, 0, 8])), idxLabels([0]), /truncated IDX header/],
    ['empty', gzipSync(idxImages(0, 2, 2, () => 1)), idxLabels([]), /holds no samples$/],
  ];
  for (const [what, i, l, re] of cases) {
    write(i, l);
    const node = messageOf(() => loadIdxPairFiles(img, lab));
    assert.match(node, re, what);
    assert.equal(
      messageOf(() => idxPairFromBytes(onDisk(img), onDisk(lab), { inflate: zlibInflate })),
      node,
      what,
    );
    assert.equal(
      await messageOfAsync(() =>
        withStreamInflate((inflate) => idxPairFromBytes(onDisk(img), onDisk(lab), { inflate })),
      ),
      node,
      what,
    );
  }
  // Swapped: images given as labels and the other way round.
  write(gzipSync(idxImages(2, 2, 2, () => 1)), idxLabels([0, 1]));
  assert.equal(
    messageOf(() => idxPairFromBytes(onDisk(lab), onDisk(img), { inflate: zlibInflate })),
    messageOf(() => loadIdxPairFiles(lab, img)),
  );
  // A page without any inflater would refuse gzip by name (the page always has one).
  throwsUsage(
    () => idxPairFromBytes({ name: 'a-idx3-ubyte.gz', bytes: fs.readFileSync(img) }, onDisk(lab)),
    /^a-idx3-ubyte\.gz: is gzip-compressed; give it gunzipped$/,
  );
  // Too big for the cap: the page's size check words it as Node's read does.
  const big = path.join(dir, 'big-idx3-ubyte');
  fs.writeFileSync(big, '');
  fs.truncateSync(big, (1 << 30) + 1);
  assert.equal(
    messageOf(() => checkSize(big, fs.statSync(big).size)),
    messageOf(() => loadIdxPairFiles(big, lab)),
  );
  fs.rmSync(big);
});

test('npy pair: the same data set and the same messages', async () => {
  const dir = tempDir('fbnpy');
  const x = path.join(dir, 'x.npy');
  const y = path.join(dir, 'y.npy');
  fs.writeFileSync(
    x,
    npyBytes(
      '|u1',
      [2, 2, 2, 3],
      new Uint8Array(24).map((_, i) => i * 9),
    ),
  );
  fs.writeFileSync(y, npyBytes('<i8', [2], i64([1, 0])));
  const node = loadNpyPair(x, y);
  same(npyPairFromBytes(onDisk(x), onDisk(y), { name: dir }), node);
  assert.deepEqual(node.sampleShape, [2, 2, 3]);
  const page = imageSetFromBytes([
    { name: 'y.npy', bytes: fs.readFileSync(y) },
    { name: 'x.npy', bytes: fs.readFileSync(x) },
  ]);
  assert.equal(page.source.sha256, node.source.sha256);

  const cases: [Buffer, Buffer, RegExp][] = [
    [
      npyBytes('<f4', [3], f32([1, 2, 3])),
      npyBytes('<i8', [2], i64([0, 1])),
      /y\.npy: has 2 labels but/,
    ],
    [
      npyBytes('<f4', [2, 1], f32([1, 2]), { fortran: true }),
      npyBytes('<i8', [2], i64([0, 1])),
      /Fortran/,
    ],
    [
      npyBytes('<f4', [2], f32([1, Number.NaN])),
      npyBytes('<i8', [2], i64([0, 1])),
      /must be finite$/,
    ],
    [Buffer.from('not numpy'), npyBytes('<i8', [2], i64([0, 1])), /is not a \.npy file/],
    [npyBytes('<f4', [2], f32([1, 2])), npyBytes('<i8', [2], i64([0, -1])), /label 1 is -1/],
  ];
  for (const [xb, yb, re] of cases) {
    fs.writeFileSync(x, xb);
    fs.writeFileSync(y, yb);
    const msg = messageOf(() => loadNpyPair(x, y));
    assert.match(msg, re);
    assert.equal(
      messageOf(() => npyPairFromBytes(onDisk(x), onDisk(y))),
      msg,
    );
    // The page's messages name the dropped file.
    const pageMsg = messageOf(() =>
      imageSetFromBytes([
        { name: 'x.npy', bytes: xb },
        { name: 'y.npy', bytes: yb },
      ]),
    );
    assert.equal(pageMsg, msg.replaceAll(dir + path.sep, ''));
  }
});

test('npz: stored and deflated members, zlib and streams, the same data set and messages', async () => {
  const dir = tempDir('fbnpz');
  const x = npyBytes('<f4', [2, 3], f32([1, 2, 3, 4, 5, 6]));
  const y = npyBytes('<i8', [2], i64([0, 1]));
  const file = path.join(dir, 'd.npz');
  for (const opts of [{}, { deflate: true }, { deflate: true, zip64: true }]) {
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
    const node = loadNpz(file);
    same(npzFromBytes(onDisk(file), { inflate: zlibInflate }), node);
    same(await withStreamInflate((inflate) => npzFromBytes(onDisk(file), { inflate })), node);
  }
  const z = zipBytes(
    [
      { name: 'x.npy', data: x },
      { name: 'y.npy', data: y },
    ],
    { deflate: true },
  );
  z[45] ^= 0xff; // inside x.npy's deflate stream
  fs.writeFileSync(file, z);
  const msg = messageOf(() => loadNpz(file));
  assert.match(msg, /d\.npz:x\.npy: (corrupt deflate data|CRC-32 mismatch|inflates to)/);
  assert.equal(
    await messageOfAsync(() =>
      withStreamInflate((inflate) => npzFromBytes(onDisk(file), { inflate })),
    ),
    msg,
  );
  fs.writeFileSync(file, 'PK not really');
  assert.equal(
    messageOf(() => npzFromBytes(onDisk(file))),
    messageOf(() => loadNpz(file)),
  );
});

test('an image set is recognised by its names; other drops are one-line messages', () => {
  const b = new Uint8Array(0);
  const f = (name: string) => ({ name, bytes: b });
  throwsUsage(
    () => imageSetFromBytes([f('x.npy')]),
    /^x\.npy: is one array; give x\.npy and y\.npy together$/,
  );
  throwsUsage(
    () => imageSetFromBytes([f('t-idx1-ubyte.gz')]),
    /^t-idx1-ubyte\.gz: is one IDX file; give the images and the labels file together$/,
  );
  throwsUsage(
    () => imageSetFromBytes([f('a-idx3-ubyte'), f('b-idx3-ubyte')]),
    /^a-idx3-ubyte, b-idx3-ubyte: are 2 IDX image and 0 label files; give one of each$/,
  );
  throwsUsage(
    () => imageSetFromBytes([f('a.npy'), f('b.npy')]),
    /^a\.npy, b\.npy: are not an image set uib reads; an image set is two files/,
  );
  throwsUsage(() => imageSetFromBytes([f('a'), f('b'), f('c')]), /^a, b, c: 3 files given/);
  throwsUsage(
    () => imageSetFromBytes([f('notes.txt')]),
    /^notes\.txt: is not a data layout uib reads/,
  );
});

test("the two inflaters keep one contract: bytes, 'corrupt' or 'too-large'", async () => {
  const { streamInflate } = await import('../../../src/data/user/from-bytes.ts');
  const { deflateRawSync } = await import('node:zlib');
  const data = Buffer.from('hello, world. '.repeat(80));
  for (const [format, packed] of [
    ['gzip', gzipSync(data)],
    ['deflate-raw', deflateRawSync(data)],
  ] as const) {
    for (const max of [data.length, 10]) {
      const z = zlibInflate(packed, format, max, 'f');
      const s = await streamInflate(packed, format, max);
      assert.deepEqual(
        typeof z === 'string' ? z : Buffer.from(z),
        typeof s === 'string' ? s : Buffer.from(s),
      );
    }
    assert.equal(await streamInflate(packed, format, 10), 'too-large');
    // The first deflate block header (after gzip's 10-byte header) with the reserved type 11.
    const broken = Buffer.from(packed);
    broken[format === 'gzip' ? 10 : 0] = 0xff;
    assert.equal(zlibInflate(broken, format, data.length, 'f'), 'corrupt');
    assert.equal(await streamInflate(broken, format, data.length), 'corrupt');
  }
});
