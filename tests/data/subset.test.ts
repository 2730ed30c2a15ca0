import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Dataset } from '../../src/data/dataset.ts';
import { loadMnist } from '../../src/data/mnist.ts';
import { balancedSubset, fillQuotas } from '../../src/data/subset.ts';
import { throwsUsage } from './helpers.ts';

test('balancedSubset: n/numClasses per class, sorted, reproducible from the seed', () => {
  const all = new Dataset(loadMnist('train'));
  const a = balancedSubset(all, 2000, 7);
  const b = balancedSubset(all, 2000, 7);
  const c = balancedSubset(all, 2000, 8);
  assert.deepEqual(a.indices, b.indices);
  assert.notDeepEqual(a.indices, c.indices);
  const counts = new Array(10).fill(0);
  for (const y of a.labels()) counts[y]++;
  assert.deepEqual(counts, new Array(10).fill(200));
  for (let i = 1; i < a.length; i++) assert.ok(a.at(i) > a.at(i - 1));
  assert.equal(a.source, all.source, 'a view, not a copy');
  throwsUsage(
    () => balancedSubset(all, 0, 1),
    /subset size must be an integer in \[1, 60000\]; got 0/,
  );
});

test('fillQuotas: short classes give all they have, the rest is spread evenly', () => {
  assert.deepEqual(fillQuotas([100, 100, 100], 10), [4, 3, 3]);
  assert.deepEqual(fillQuotas([2, 100, 100], 10), [2, 4, 4]);
  assert.deepEqual(fillQuotas([300, 700], 800), [300, 500]);
  for (const [avail, n] of [
    [[5, 1, 9, 3], 12],
    [[10, 10], 20],
  ] as const) {
    const q = fillQuotas(avail, n);
    assert.equal(
      q.reduce((s, v) => s + v, 0),
      n,
    );
    for (let i = 0; i < q.length; i++) assert.ok(q[i] <= avail[i]);
  }
});
