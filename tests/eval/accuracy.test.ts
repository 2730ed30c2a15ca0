import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accuracy,
  argmaxRows,
  confusionMatrix,
  macroF1,
  perClassAccuracy,
  perClassF1,
  unlearningAccuracy,
} from '../../src/eval/accuracy.ts';
import { near } from './helpers.ts';

test('argmaxRows picks the largest entry; a tie goes to the lowest class', () => {
  const p = [0.1, 0.7, 0.2, 0.5, 0.5, 0, 0.2, 0.3, 0.5];
  assert.deepEqual([...argmaxRows(p, 3)], [1, 0, 2]);
  assert.throws(() => argmaxRows([1, 2, 3, 4], 3));
});

// labels    0 1 2 2 1
// predicted 0 2 2 2 1   → 4 of 5 right
const labels = [0, 1, 2, 2, 1];
const predicted = [0, 2, 2, 2, 1];

test('accuracy and UA = 1 − accuracy', () => {
  near(accuracy(predicted, labels).value, 4 / 5);
  near(unlearningAccuracy(predicted, labels).value, 1 / 5);
  assert.equal(accuracy([], []).value, null);
  assert.match(unlearningAccuracy([], []).reason ?? '', /empty/);
  assert.throws(() => accuracy([0, 1], [0]));
});

test('confusion matrix rows are true classes, columns predictions', () => {
  // true 0 → 0 once; true 1 → 2 once, → 1 once; true 2 → 2 twice
  assert.deepEqual([...confusionMatrix(predicted, labels, 3)], [1, 0, 0, 0, 1, 1, 0, 0, 2]);
  assert.throws(() => confusionMatrix([3], [0], 3));
});

test('per-class accuracy; a class with no samples is null', () => {
  // class 0: 1/1, class 1: 1/2, class 2: 2/2, class 3: none
  assert.deepEqual(perClassAccuracy(predicted, labels, 4), [1, 0.5, 1, null]);
});

test('macro-F1 averages over classes present in labels or predictions', () => {
  // class 0: tp 1 fp 0 fn 0 → F1 = 2/2 = 1
  // class 1: tp 1 fp 0 fn 1 → F1 = 2/(2+0+1) = 2/3
  // class 2: tp 2 fp 1 fn 0 → F1 = 4/(4+1+0) = 4/5
  // class 3: no samples, no predictions → 0/0, left out
  assert.deepEqual(perClassF1(predicted, labels, 4), [1, 2 / 3, 4 / 5, null]);
  near(macroF1(predicted, labels, 4).value, (1 + 2 / 3 + 4 / 5) / 3);
});

test('macro-F1: a never-predicted class counts 0, a predicted-only class counts 0', () => {
  // labels 0 0 1 1, always predicts 0: class 0 tp 2 fp 2 → 4/6; class 1 tp 0 fn 2 → 0
  near(macroF1([0, 0, 0, 0], [0, 0, 1, 1], 2).value, (2 / 3 + 0) / 2);
  // labels 0 0, predicts 0 1: class 0 tp 1 fn 1 → 2/3; class 1 has only a false positive → 0
  near(macroF1([0, 1], [0, 0], 2).value, (2 / 3 + 0) / 2);
  assert.equal(macroF1([], [], 3).value, null);
});
