import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { datasetFromArrays } from '../../../src/data/dataset.ts';
import { loadCsv } from '../../../src/data/user/csv.ts';
import {
  parseForgetWhere,
  readForgetFile,
  resolveForgetRequest,
} from '../../../src/data/user/forget-request.ts';
import { loadImageFolder } from '../../../src/data/user/image-folder.ts';
import { tempDir, throwsUsage } from '../helpers.ts';
import { writePng } from './helpers.ts';

function csvData() {
  const dir = tempDir('uforget');
  const file = path.join(dir, 'd.csv');
  fs.writeFileSync(
    file,
    'id,x,source,k\nu1,1,vendor-7,cat\nu2,2,vendor-1,dog\nu3,3,vendor-7,dog\nu4,4,,cat\nu5,5,vendor-2,eel\n',
  );
  return { dir, ds: loadCsv(file, { label: 'k', id: 'id', drop: ['source'] }) };
}

const write = (dir: string, name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const arr = (a: Uint32Array) => Array.from(a);

test('--forget FILE: JSON ids and row numbers, CSV id column, one-column CSV, text lines', () => {
  const { dir, ds } = csvData();
  const json = write(dir, 'f.json', '["u4", 0, "u4"]');
  const r = resolveForgetRequest(ds, { kind: 'file', file: json });
  assert.deepEqual(arr(r.forget), [0, 3]);
  assert.deepEqual(arr(r.retain), [1, 2, 4]);
  assert.equal(r.records[0].kind, 'file');
  assert.deepEqual(
    { ...r.records[0], sha256: undefined },
    { kind: 'file', file: json, format: 'json', sha256: undefined, count: 2 },
  );
  const csv = write(dir, 'f.csv', 'name,ID\nx,u2\n"y, z",u5\n');
  assert.deepEqual(arr(resolveForgetRequest(ds, { kind: 'file', file: csv }).forget), [1, 4]);
  const one = write(dir, 'g.csv', 'user\nu3\n');
  assert.deepEqual(arr(resolveForgetRequest(ds, { kind: 'file', file: one }).forget), [2]);
  const headless = write(dir, 'h.csv', 'u1\nu3\n');
  throwsUsage(
    () => resolveForgetRequest(ds, { kind: 'file', file: headless }),
    /h\.csv: its first line "u1" is read as the column's header but is an id in the data; add a header line "id"$/,
  );
  const txt = write(dir, 'f.txt', 'u5\r\n\r\nu1\n');
  assert.deepEqual(arr(resolveForgetRequest(ds, { kind: 'file', file: txt }).forget), [0, 4]);
  assert.equal(readForgetFile(txt).format, 'text');
  assert.equal(readForgetFile(txt).sha256.length, 64);
});

test('--forget FILE: unknown ids name the first 5 and the count; bad files are one-line errors', () => {
  const { dir, ds } = csvData();
  const bad = write(dir, 'bad.json', '["u1","a","b","c",99,"d","e","f"]');
  throwsUsage(
    () => resolveForgetRequest(ds, { kind: 'file', file: bad }),
    /bad\.json: 7 of 8 ids are not in the data \(.*d\.csv\): "a", "b", "c", 99, "d", …$/,
  );
  throwsUsage(
    () => resolveForgetRequest(ds, { kind: 'ids', ids: ['zz'], where: '--forget' }),
    /^--forget: 1 of 1 id is not in the data \(.*\): "zz"$/,
  );
  throwsUsage(
    () => readForgetFile(write(dir, 'o.json', '{"a":1}')),
    /o\.json: must be a JSON array/,
  );
  throwsUsage(
    () => readForgetFile(write(dir, 'n.json', '["a", -1]')),
    /n\.json: entry 1 is -1; entries are ids \(strings\) or row numbers \(integers ≥ 0\)$/,
  );
  throwsUsage(
    () => readForgetFile(write(dir, 'two.csv', 'a,b\n1,2\n')),
    /two\.csv: has 2 columns and none is named id \(columns: a, b\)$/,
  );
  throwsUsage(
    () => readForgetFile(write(dir, 'r.csv', 'id,b\n1\n')),
    /r\.csv:2: ragged row: 1 fields, the header has 2$/,
  );
  throwsUsage(
    () => resolveForgetRequest(ds, { kind: 'file', file: write(dir, 'empty.txt', '\n\n') }),
    /empty\.txt: selects no sample of/,
  );
  throwsUsage(
    () => resolveForgetRequest(ds, { kind: 'ids', ids: [0, 1, 2, 3, 4] }),
    /^ids: selects all 5 samples of .*; nothing would be retained$/,
  );
});

test('--forget-class: by name or index; unknown class lists the classes', () => {
  const { ds } = csvData();
  assert.deepEqual(arr(resolveForgetRequest(ds, { kind: 'class', class: 'dog' }).forget), [1, 2]);
  const r = resolveForgetRequest(ds, { kind: 'class', class: '2' });
  assert.deepEqual(arr(r.forget), [4]);
  assert.deepEqual(r.records, [{ kind: 'class', class: 2, className: 'eel', count: 1 }]);
  assert.deepEqual(arr(resolveForgetRequest(ds, { kind: 'class', class: 0 }).forget), [0, 3]);
  throwsUsage(
    () => resolveForgetRequest(ds, { kind: 'class', class: 'fox' }),
    /^--forget-class: unknown class "fox"; classes: 0=cat, 1=dog, 2=eel$/,
  );
  // A class name that looks like an index wins over the index.
  const nums = datasetFromArrays({
    x: new Float32Array(3),
    y: [0, 1, 1],
    sampleShape: [1],
    numClasses: 2,
    classNames: ['1', '0'],
  });
  assert.deepEqual(arr(resolveForgetRequest(nums, { kind: 'class', class: '1' }).forget), [0]);
});

test('--forget-where: a CSV column raw value (dropped or not), missing values, unknown key', () => {
  const { ds } = csvData();
  const w = parseForgetWhere('source=vendor-7');
  assert.deepEqual(w, { kind: 'where', key: 'source', value: 'vendor-7', where: '--forget-where' });
  const r = resolveForgetRequest(ds, w);
  assert.deepEqual(arr(r.forget), [0, 2]);
  assert.deepEqual(r.records, [{ kind: 'where', key: 'source', value: 'vendor-7', count: 2 }]);
  assert.deepEqual(arr(resolveForgetRequest(ds, parseForgetWhere('source=')).forget), [3]);
  assert.deepEqual(arr(resolveForgetRequest(ds, parseForgetWhere('x=2')).forget), [1]);
  throwsUsage(() => parseForgetWhere('vendor-7'), /^--forget-where: expected KEY=VALUE/);
  throwsUsage(
    () => resolveForgetRequest(ds, parseForgetWhere('vendor=7')),
    /^--forget-where: no metadata "vendor" in .*; keys: id, x, source, k$/,
  );
  throwsUsage(
    () => resolveForgetRequest(ds, parseForgetWhere('source=vendor-9')),
    /^--forget-where: selects no sample of/,
  );
  // A union of parts: each part must select something; the whole must leave something.
  const u = resolveForgetRequest(ds, [w, { kind: 'class', class: 'eel' }]);
  assert.deepEqual(arr(u.forget), [0, 2, 4]);
  assert.deepEqual(
    u.records.map((x) => x.count),
    [2, 1],
  );
  throwsUsage(
    () =>
      resolveForgetRequest(ds, [
        { kind: 'class', class: 'cat' },
        { kind: 'class', class: 'dog' },
        { kind: 'class', class: 'eel' },
      ]),
    /^--forget-class \+ --forget-class \+ --forget-class: selects all 5 samples/,
  );
});

test('--forget-where on an image folder: folder=NAME and key=value sub-folders; views', () => {
  const dir = tempDir('uforgetimg');
  const px = (): [number, number, number] => [9, 9, 9];
  for (const f of [
    'cat/a.png',
    'cat/vendor-7/b.png',
    'dog/c.png',
    'dog/vendor-7/d.png',
    'dog/source=x/e.png',
  ])
    writePng(path.join(dir, f), 2, 2, px, true);
  const ds = loadImageFolder(dir);
  // Ids sort depth-first by name: cat/a, cat/vendor-7/b, dog/c, dog/source=x/e, dog/vendor-7/d.
  assert.deepEqual(
    arr(resolveForgetRequest(ds, parseForgetWhere('folder=vendor-7')).forget),
    [1, 4],
  );
  assert.deepEqual(arr(resolveForgetRequest(ds, parseForgetWhere('source=x')).forget), [3]);
  assert.deepEqual(
    arr(resolveForgetRequest(ds, { kind: 'ids', ids: ['dog/c.png', 'cat/a.png'] }).forget),
    [0, 2],
  );
  // On a view, positions are the view's; row numbers are the source's rows.
  const view = ds.subset([2, 3, 4]);
  const r = resolveForgetRequest(view, { kind: 'ids', ids: [3, 'dog/c.png'] });
  assert.deepEqual(arr(r.forget), [0, 1]);
  assert.deepEqual(arr(r.retain), [2]);
  throwsUsage(
    () => resolveForgetRequest(view, { kind: 'ids', ids: [0] }),
    /1 of 1 id is not in the data .*: 0$/,
  );
});
