import assert from 'node:assert/strict';
import { test } from 'node:test';
import { avgGap, jsDivergence, meanJsDivergence, weightDistance } from '../../src/eval/distance.ts';
import { defined, undefinedBecause } from '../../src/eval/types.ts';
import { near } from './helpers.ts';

test('Jensen–Shannon divergence in bits: 0 for equal, 1 for disjoint', () => {
  near(jsDivergence([0.2, 0.8], [0.2, 0.8]), 0);
  near(jsDivergence([1, 0], [0, 1]), 1);
  // P = (½, ½), Q = (1, 0): M = (¾, ¼), JS = H(M) − (H(P) + H(Q))/2
  //   H(M) = −¾ log2 ¾ − ¼ log2 ¼ = 0.811278…, H(P) = 1, H(Q) = 0 → 0.311278…
  const hm = -0.75 * Math.log2(0.75) - 0.25 * Math.log2(0.25);
  near(jsDivergence([0.5, 0.5], [1, 0]), hm - 0.5);
  near(jsDivergence([1, 0], [0.5, 0.5]), hm - 0.5); // symmetric
});

test('mean JS over samples', () => {
  const p = Float32Array.from([0.5, 0.5, 1, 0, 0.3, 0.7]);
  const q = Float32Array.from([0.5, 0.5, 0, 1, 0.3, 0.7]);
  // rows: 0, 1, 0 → mean 1/3
  near(meanJsDivergence(p, q, 2).value, 1 / 3, 1e-7);
  assert.equal(meanJsDivergence(new Float32Array(0), new Float32Array(0), 2).value, null);
  assert.throws(() => meanJsDivergence(p, q.subarray(2), 2));
});

test('ℓ2 weight distance over a list of tensors', () => {
  // (1−1)² + (2−0)² + (3−7)² = 0 + 4 + 16 = 20
  near(weightDistance([[1, 2], [3]], [[1, 0], [7]]), Math.sqrt(20));
  assert.throws(() => weightDistance([[1, 2]], [[1]]));
});

test('Avg. Gap is the mean absolute gap in percentage points', () => {
  const model = {
    ua: defined(0.1),
    ra: defined(0.9),
    ta: defined(0.8),
    'mia-efficacy': defined(0.3),
  };
  const retrain = {
    ua: defined(0.2),
    ra: defined(0.95),
    ta: defined(0.8),
    'mia-efficacy': defined(0.5),
  };
  // |0.1−0.2| + |0.9−0.95| + 0 + |0.3−0.5| = 0.35 → 35 pp / 4 = 8.75 pp
  near(avgGap(model, retrain).value, 8.75, 1e-9);
  const gap = avgGap({ ...model, ua: undefinedBecause('empty set') }, retrain);
  assert.equal(gap.value, null);
  assert.match(gap.reason ?? '', /ua is undefined/);
});
