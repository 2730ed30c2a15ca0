import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  attackSuccessRate,
  biasCorrelation,
  biasDeltaP,
  demographicParityGap,
  equalisedOddsGap,
  groupAccuracyGap,
  predictedShare,
  recallOf,
  worstGroupAccuracy,
} from '../../src/eval/bias.ts';
import { near } from './helpers.ts';

/** Pearson correlation by its definition, for cross-checking phi. */
function pearson(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

test('bias correlation = phi of the 2×2 table = Pearson of the indicators; ΔP', () => {
  const predicted = [3, 3, 1, 3, 2, 0, 1, 3];
  const bias = [1, 1, 1, 0, 0, 0, 0, 1];
  // a = 1[ŷ = 3] = 1 1 0 1 0 0 0 1
  // n11 = 3 (0,1,7), n10 = 1 (3), n01 = 1 (2), n00 = 3 (4,5,6)
  // phi = (3·3 − 1·1) / √(4·4·4·4) = 8/16 = 0.5
  near(biasCorrelation(predicted, bias, 3).value, 0.5);
  near(pearson([1, 1, 0, 1, 0, 0, 0, 1], bias), 0.5);
  // ΔP = P(ŷ=3 | b=1) − P(ŷ=3 | b=0) = 3/4 − 1/4
  near(biasDeltaP(predicted, bias, 3).value, 0.5);
});

test('a model that learnt "pattern ⇒ not k" has negative ρ', () => {
  // a = 1 0 1 0, b = 0 1 0 1: phi = (0·0 − 2·2)/√(2·2·2·2) = −1
  near(biasCorrelation([5, 0, 5, 0], [0, 1, 0, 1], 5).value, -1);
  near(biasDeltaP([5, 0, 5, 0], [0, 1, 0, 1], 5).value, -1);
});

test('ρ is undefined, with a reason, when ŷ = k or b is constant', () => {
  const never = biasCorrelation([0, 1, 2], [0, 1, 1], 3);
  assert.equal(never.value, null);
  assert.match(never.reason ?? '', /never predicts class 3/);
  assert.match(biasCorrelation([3, 3], [0, 1], 3).reason ?? '', /always predicts/);
  assert.match(biasCorrelation([3, 0], [1, 1], 3).reason ?? '', /b\(x\) is constant/);
  assert.equal(biasDeltaP([3, 0], [1, 1], 3).value, null);
  assert.throws(() => biasCorrelation([3], [2], 3));
});

test('recall(k) and P(ŷ = k)', () => {
  // labels 3 3 0 3, predicted 3 0 0 3: of the three 3s, two are predicted 3
  near(recallOf([3, 0, 0, 3], [3, 3, 0, 3], 3).value, 2 / 3);
  near(predictedShare([3, 0, 0, 3], 3).value, 2 / 4);
  assert.equal(recallOf([1], [1], 3).value, null);
});

test('attack success rate counts only stamped samples outside the target class', () => {
  // labels 0 1 2 7 7, predicted 7 1 7 7 0, target 7: non-target samples 0,1,2 → 0 and 2 hit
  near(attackSuccessRate([7, 1, 7, 7, 0], [0, 1, 2, 7, 7], 7).value, 2 / 3);
  assert.equal(attackSuccessRate([7], [7], 7).value, null);
});

test('group accuracy, demographic-parity and equalised-odds gaps', () => {
  const group = [0, 0, 1, 1, 1];
  const labels = [1, 0, 1, 1, 0];
  const predicted = [1, 1, 1, 0, 0];
  // accuracy: g0 = 1/2, g1 = 2/3 → gap 1/6
  near(groupAccuracyGap(predicted, labels, group).value, 2 / 3 - 1 / 2);
  // P(ŷ = 1 | g): g0 = 2/2, g1 = 1/3 → 2/3
  near(demographicParityGap(predicted, group, 1).value, 1 - 1 / 3);
  // TPR: g0 = 1/1, g1 = 1/2 → 0.5; FPR: g0 = 1/1, g1 = 0/1 → 1; EO gap = max = 1
  near(equalisedOddsGap(predicted, labels, group, 1).value, 1);
  // one group only: no gap to take
  assert.equal(groupAccuracyGap([1, 0], [1, 1], [2, 2]).value, null);
  assert.equal(demographicParityGap([1, 0], [2, 2], 1).value, null);
});

test('worstGroupAccuracy: the lowest accuracy over label × attribute groups that have samples', () => {
  // Groups (y, a): (0,0) 2/2, (0,1) 1/2, (1,1) 0/1 → 0; (1,0) has no sample and does not count.
  const r = worstGroupAccuracy([0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 1, 1, 1]);
  assert.equal(r.value, 0);
  assert.equal(worstGroupAccuracy([0, 1, 1], [0, 1, 1], [1, 0, 1]).value, 1);
  assert.equal(worstGroupAccuracy([0, 1, 0, 1], [0, 1, 1, 1], [0, 0, 0, 1]).value, 0.5);
  assert.equal(worstGroupAccuracy([], [], []).value, null);
});
