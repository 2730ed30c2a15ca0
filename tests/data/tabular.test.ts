import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/registry.ts';
import { encodeTable, parseArff, parseCsv, type TabularSource } from '../../src/data/tabular.ts';
import { GERMAN_CREDIT_DIR } from '../../src/data/tabular-sets.ts';
import { throwsUsage } from './helpers.ts';

test('CPS wages: one-hot categoricals, standardised numerics, fixed split, groups', () => {
  const train = loadDataset('cps-wages', 'train') as TabularSource;
  const testSplit = loadDataset('cps-wages', 'test') as TabularSource;
  assert.equal(train.y.length + testSplit.y.length, 534);
  assert.equal(testSplit.y.length, 107);
  const d = train.sampleShape[0];
  assert.equal(d, train.featureNames.length);
  const col = (name: string) => train.featureNames.indexOf(name);
  // Standardised with the training rows: mean 0, (population) sd 1.
  const edu = Array.from({ length: train.y.length }, (_, i) => train.x[i * d + col('education')]);
  const mean = edu.reduce((a, b) => a + b, 0) / edu.length;
  const sd = Math.sqrt(edu.reduce((a, b) => a + (b - mean) ** 2, 0) / edu.length);
  assert.ok(Math.abs(mean) < 1e-5 && Math.abs(sd - 1) < 1e-4, `${mean} ${sd}`);
  // One-hot: each row has exactly one race.
  for (let i = 0; i < train.y.length; i++) {
    const s = ['race=hispanic', 'race=other', 'race=white'].reduce(
      (a, c) => a + train.x[i * d + col(c)],
      0,
    );
    assert.equal(s, 1);
  }
  // Groupings agree with the one-hot gender column.
  const g = train.groupings.gender;
  for (let i = 0; i < train.y.length; i++) {
    assert.equal(train.x[i * d + col('gender=female')], g.ids[i] === 0 ? 1 : 0);
  }
  // Label = wage above the median: about half each.
  const high = Array.from(train.y).reduce((a, b) => a + b, 0);
  assert.ok(high > 150 && high < 280, String(high));
  assert.equal(loadDataset('cps-wages', 'train'), train, 'cached: one buffer for every view');
});

test('CSV: quotes, NA; ragged row and unknown class are one-line errors naming the file', () => {
  const t = parseCsv('a,b,label\n1,"x, y",p\nNA,z,n\n', 'f.csv');
  assert.deepEqual(t.rows, [
    ['1', 'x, y', 'p'],
    [null, 'z', 'n'],
  ]);
  assert.ok(t.numeric.has('a') && !t.numeric.has('b'));
  throwsUsage(
    () => parseCsv('a,b\n1,2\n3\n', 'f.csv'),
    /^f\.csv:3: ragged row: 1 fields, the header has 2/,
  );
  const spec = { id: 't', label: { column: 'label', classes: ['p', 'n'] } };
  throwsUsage(
    () => encodeTable(parseCsv('a,label\n1,p\n2,q\n', 'f.csv'), spec),
    /^f\.csv:3: unknown class "q" in column label; allowed: p, n/,
  );
  throwsUsage(
    () => encodeTable(parseCsv('a,lab\n1,p\n', 'f.csv'), spec),
    /^f\.csv: no column "label"/,
  );
});

test('ARFF: nominal and numeric attributes, ragged row, unknown value', () => {
  const arff = [
    '% comment',
    '@relation r',
    "@attribute 'sex' { female, 'male x'}",
    '@attribute age numeric',
    '@attribute class {good,bad}',
    '@data',
    'female,30,good',
    "'male x',20,bad",
    'female,?,bad',
    "'male x',50,good",
    'female,40,good',
  ].join('\n');
  const t = parseArff(arff, 'c.arff');
  assert.deepEqual(t.columns, ['sex', 'age', 'class']);
  assert.deepEqual(t.nominal.get('sex'), ['female', 'male x']);
  const { train, test: te } = encodeTable(t, {
    id: 'c',
    label: { column: 'class' },
    testFraction: 0.2,
  });
  assert.equal(train.y.length + te.y.length, 5);
  assert.deepEqual(train.featureNames, ['sex=female', 'sex=male x', 'age']);
  assert.deepEqual(train.classNames, ['good', 'bad']);
  throwsUsage(
    () => parseArff(`${arff}\nfemale,30`, 'c.arff'),
    /^c\.arff:12: ragged row: 2 fields, 3 attributes declared/,
  );
  throwsUsage(
    () => parseArff(`${arff}\nfemale,30,ugly`, 'c.arff'),
    /^c\.arff:12: unknown value "ugly" for attribute class; allowed: good, bad/,
  );
  throwsUsage(
    () => parseArff(`${arff}\nfemale,old,good`, 'c.arff'),
    /^c\.arff:12: attribute age is numeric; got "old"/,
  );
});

test('German credit: missing file says how to fetch it', () => {
  throwsUsage(
    () => loadDataset('german-credit', 'train', { dir: '/nonexistent' }),
    /credit-g\.arff: .*scripts\/get-german-credit\.sh/,
  );
});

const credit = path.join(GERMAN_CREDIT_DIR, 'credit-g.arff');
test('German credit from scripts/get-german-credit.sh, when fetched', {
  skip: !fs.existsSync(credit),
}, () => {
  const train = loadDataset('german-credit', 'train') as TabularSource;
  assert.equal(train.y.length, 800);
  const sex = train.groupings.sex;
  const allFemale = loadDataset('german-credit', 'test') as TabularSource;
  const females = [...sex.ids, ...allFemale.groupings.sex.ids].filter((g) => g === 0).length;
  assert.equal(females, 310); // datasets.md: personal_status female, 310 rows
});
