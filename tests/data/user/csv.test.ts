import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadCsv, parseCsvEncoding } from '../../../src/data/user/csv.ts';
import { parseCsvRecords } from '../../../src/data/user/csv-parse.ts';
import { tempDir, throwsUsage } from '../helpers.ts';

function csv(text: string, name = 'd.csv'): string {
  const file = path.join(tempDir('csv'), name);
  fs.writeFileSync(file, text);
  return file;
}

const TRAIN = [
  'id,age,colour,note,source,y',
  'p1,20,red,"plain",vendor-7,yes',
  'p2,30,"blue, dark","two\nlines",vendor-1,no',
  'p3,,red,"say ""hi""",vendor-7,yes',
  'p4,50,NA,x,vendor-2,no',
  '',
].join('\r\n');

test('RFC 4180 records: quoted commas, line breaks and quotes; the line each starts on', () => {
  const r = parseCsvRecords('a,b\r\n"x, y","1\n2"\n\n"say ""hi""",\n', 'f.csv');
  assert.deepEqual(
    r.map((x) => [x.fields, x.line]),
    [
      [['a', 'b'], 1],
      [['x, y', '1\n2'], 2],
      [['say "hi"', ''], 5],
    ],
  );
  throwsUsage(
    () => parseCsvRecords('a\n"open\n\n', 'f.csv'),
    /^f\.csv:2: unterminated quoted field/,
  );
  throwsUsage(
    () => parseCsvRecords('a,b\n"x"y,1\n', 'f.csv'),
    /^f\.csv:2: unexpected text after a closing quote in field 1/,
  );
  throwsUsage(
    () => parseCsvRecords('a,b\n1,x"y\n', 'f.csv'),
    /^f\.csv:2: stray quote in unquoted field 2/,
  );
});

test('CSV: label, ids, standardised numerics, sorted one-hot vocabulary, raw attributes', () => {
  const file = csv(TRAIN);
  const ds = loadCsv(file, { label: 'y', id: 'id', drop: ['source', 'note'] });
  const s = ds.source;
  assert.deepEqual(s.ids, ['p1', 'p2', 'p3', 'p4']);
  assert.deepEqual(s.classNames, ['no', 'yes']);
  assert.deepEqual(Array.from(ds.labels()), [1, 0, 1, 0]);
  assert.deepEqual(s.featureNames, ['age', 'colour=blue, dark', 'colour=red']);
  assert.deepEqual(ds.sampleShape, [3]);
  const mean = (20 + 30 + 50) / 3;
  const sd = Math.sqrt(((20 - mean) ** 2 + (30 - mean) ** 2 + (50 - mean) ** 2) / 3);
  const row = (i: number) => Array.from(s.x.subarray(i * 3, i * 3 + 3));
  assert.ok(Math.abs(row(0)[0] - (20 - mean) / sd) < 1e-6);
  assert.deepEqual(row(2), [0, 0, 1], 'missing age → 0 (the mean)');
  assert.deepEqual(row(1).slice(1), [1, 0]);
  assert.deepEqual(row(3).slice(1), [0, 0], 'NA colour → no category');
  assert.deepEqual(s.attributes.source, ['vendor-7', 'vendor-1', 'vendor-7', 'vendor-2']);
  assert.deepEqual(s.attributes.note, ['plain', 'two\nlines', 'say "hi"', 'x']);
  assert.deepEqual(s.encoding.columns[0], { name: 'age', kind: 'numeric', mean, sd });
  assert.deepEqual(s.encoding.drop, ['source', 'note']);
  // Without --id: ids are the 0-based data-row numbers; integer classes sort numerically.
  const b = loadCsv(csv('a,k\n1,10\n2,2\n3,1\n'), { label: 'k' });
  assert.deepEqual(b.source.ids, ['0', '1', '2']);
  assert.deepEqual(b.source.classNames, ['1', '2', '10']);
  assert.deepEqual(Array.from(b.labels()), [2, 1, 0]);
  assert.equal(loadCsv(csv('a,k\n1,x\n3,y\n'), { label: 'k', standardize: false }).source.x[1], 3);
});

test('CSV: a held-out file encoded with the training encoding (also through JSON)', () => {
  const train = loadCsv(csv(TRAIN), { label: 'y', id: 'id', drop: ['source', 'note'] });
  const enc = parseCsvEncoding(JSON.parse(JSON.stringify(train.source.encoding)), 'enc.json');
  const held = csv('y,colour,age,id,source,note\nno,red,40,q1,v,n\nno,,20,q2,v,n\n');
  const ds = loadCsv(held, { encoding: enc });
  assert.deepEqual(ds.source.featureNames, train.source.featureNames);
  const { mean, sd } = enc.columns[0] as { mean: number; sd: number };
  assert.ok(Math.abs(ds.source.x[0] - (40 - mean) / sd) < 1e-6);
  assert.deepEqual(Array.from(ds.source.x.subarray(1, 3)), [0, 1]);
  assert.deepEqual(Array.from(ds.labels()), [0, 0]);
  assert.deepEqual(ds.source.ids, ['q1', 'q2']);
  const noIds = loadCsv(csv('y,colour,age\nno,red,40\n'), { encoding: enc });
  assert.deepEqual(noIds.source.ids, ['0']);
  assert.equal(noIds.source.encoding.id, null);
  throwsUsage(
    () => loadCsv(csv('y,colour,age,id\nno,green,40,q1\n', 'h.csv'), { encoding: enc }),
    /h\.csv:2: column colour: unknown value "green" \(the encoding has blue, dark, red\)$/,
  );
  throwsUsage(
    () => loadCsv(csv('y,colour,age,id\nno,red,forty,q1\n', 'h.csv'), { encoding: enc }),
    /h\.csv:2: column age: "forty" is not a number$/,
  );
  throwsUsage(
    () => loadCsv(csv('y,colour,age,id\nmaybe,red,4,q1\n', 'h.csv'), { encoding: enc }),
    /h\.csv:2: unknown class "maybe" in column y; classes: no, yes$/,
  );
  throwsUsage(
    () => loadCsv(csv('y,colour,age,id,extra\nno,red,4,q1,1\n', 'h.csv'), { encoding: enc }),
    /h\.csv: column "extra" is not in the encoding/,
  );
  throwsUsage(
    () => loadCsv(held, { encoding: enc, label: 'age' }),
    /^--label: is "age" but the encoding's label column is "y"$/,
  );
  throwsUsage(
    () => parseCsvEncoding({ ...enc, featureNames: ['age'] }, 'enc.json'),
    /^enc\.json: featureNames do not match the columns$/,
  );
});

test('CSV: hash of the file bytes, stable and different for different bytes', () => {
  const a = loadCsv(csv('a,k\n1,x\n2,y\n'), { label: 'k' }).source;
  assert.equal(loadCsv(csv('a,k\n1,x\n2,y\n'), { label: 'k' }).source.sha256, a.sha256);
  assert.notEqual(loadCsv(csv('a,k\n1,x\n3,y\n'), { label: 'k' }).source.sha256, a.sha256);
  // The file's hash is what `sha256sum` prints; the set's hash is of that listing.
  assert.equal(a.files[0].sha256, createHash('sha256').update('a,k\n1,x\n2,y\n').digest('hex'));
  assert.equal(
    a.sha256,
    createHash('sha256').update(`${a.files[0].sha256}  d.csv\n`).digest('hex'),
  );
});

test('CSV: bad rows are one-line errors naming file:line and the column', () => {
  const f = (text: string) => csv(text, 'bad.csv');
  throwsUsage(
    () => loadCsv(f('a,k\n1,x\n2\n'), { label: 'k' }),
    /bad\.csv:3: ragged row: 1 fields, the header has 2$/,
  );
  throwsUsage(
    () => loadCsv(f('a,k\n1,x\n2,\n'), { label: 'k' }),
    /bad\.csv:3: missing label in column k$/,
  );
  throwsUsage(
    () => loadCsv(f('a,k\n1,x\nabc,y\n'), { label: 'k', numeric: ['a'] }),
    /bad\.csv:3: column a: "abc" is not a number$/,
  );
  const many = [
    'a,k',
    ...Array.from({ length: 300 }, (_, i) => `${i === 7 ? 'oops' : i},c${i % 2}`),
  ];
  throwsUsage(
    () => loadCsv(f(many.join('\n')), { label: 'k' }),
    /bad\.csv:9: column a: "oops" is not a number$/,
  );
  throwsUsage(
    () => loadCsv(f('id,k\n1,x\n1,y\n'), { label: 'k', id: 'id' }),
    /bad\.csv:3: id "1" in column id repeats line 2$/,
  );
  throwsUsage(
    () => loadCsv(f('a,k\n1,x\n'), { label: 'z' }),
    /bad\.csv: no column "z" \(--label\); columns: a, k$/,
  );
  throwsUsage(
    () => loadCsv(f('a,k\n1,x\n'), {}),
    /^--label: a CSV needs the name of its label column$/,
  );
  throwsUsage(
    () => loadCsv(f('a,k\n1,x\n2,x\n'), { label: 'k' }),
    /bad\.csv: label column k has 1 class; at least 2 are needed$/,
  );
  throwsUsage(
    () => loadCsv(f('a,a\n1,x\n'), { label: 'a' }),
    /bad\.csv:1: column "a" appears twice in the header$/,
  );
  throwsUsage(() => loadCsv(f('k\nx\ny\n'), { label: 'k' }), /bad\.csv: has no feature columns/);
});
