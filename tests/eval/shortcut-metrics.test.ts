/**
 * The shortcut protocol's metrics against hand-computed answers: accuracy on the aligned and on
 * the conflicting test samples, their gap, the accuracy on ΔD's classes; worst-group accuracy on
 * the same test set; "not applicable" where the test set has no bias-aligned attribute.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  alignmentAccuracy,
  alignmentGap,
  classAccuracy,
  worstGroupAccuracy,
} from '../../src/eval/bias.ts';
import { evaluateAll } from '../../src/eval/evaluate.ts';
import type { EvalInput } from '../../src/eval/types.ts';
import { near, setOf } from './helpers.ts';

// Ten test samples of 3 classes; b = 1[aligned].
//  i        0 1 2 3 4 5 6 7 8 9
//  label    0 0 1 1 2 2 0 1 2 2
//  b        1 1 1 1 1 0 0 0 0 0
//  ŷ        0 0 1 1 2 1 1 0 2 0
//  right    ✓ ✓ ✓ ✓ ✓ ✗ ✗ ✗ ✓ ✗
const labels = [0, 0, 1, 1, 2, 2, 0, 1, 2, 2];
const bias = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const predicted = [0, 0, 1, 1, 2, 1, 1, 0, 2, 0];

test('aligned and conflicting accuracy, and their gap', () => {
  near(alignmentAccuracy(predicted, labels, bias, 1).value, 5 / 5); // 0-4 all right
  near(alignmentAccuracy(predicted, labels, bias, 0).value, 1 / 5); // only 8 right
  near(alignmentGap(predicted, labels, bias).value, 1 - 1 / 5);
  // A model that ignores the shortcut: the same accuracy on both, gap 0; one that reads only
  // the shortcut gets the conflicting samples all wrong: gap 1.
  near(alignmentGap([0, 1], [0, 1], [1, 0]).value, 0);
  near(alignmentGap([0, 0], [0, 1], [1, 0]).value, 1);
  // Negative when the model does better against the shortcut.
  near(alignmentGap([1, 1], [0, 1], [1, 0]).value, -1);
  const none = alignmentGap([0, 1], [0, 1], [1, 1]);
  assert.equal(none.value, null);
  assert.match(none.reason!, /no bias-conflicting sample/);
  assert.match(alignmentAccuracy([0], [0], [0], 1).reason!, /no bias-aligned sample/);
  assert.throws(() => alignmentAccuracy([0, 1], [0, 1], [1, 2], 1), /b = 2; must be 0 or 1/);
  assert.throws(() => alignmentAccuracy([0, 1], [0], [1, 0], 1), /must match/);
});

test('class accuracy: over the samples of the given classes, aligned and conflicting alike', () => {
  // Class 2: samples 4 5 8 9 → right 4, 8 → 2/4.
  near(classAccuracy(predicted, labels, [2]).value, 2 / 4);
  // Classes {0, 1} (repeats in the list do not count twice): 0 1 2 3 6 7 → right 0 1 2 3 → 4/6.
  near(classAccuracy(predicted, labels, [1, 0, 1, 1]).value, 4 / 6);
  const none = classAccuracy(predicted, labels, [7]);
  assert.equal(none.value, null);
  assert.match(none.reason!, /no sample of class 7/);
});

test('worst-group accuracy fits the protocol: the lowest of label × aligned', () => {
  // Groups (y, b): (0,1) 2/2, (1,1) 2/2, (2,1) 1/1, (2,0) 1/3 (5 ✗ 8 ✓ 9 ✗), (0,0) 0/1, (1,0) 0/1.
  near(worstGroupAccuracy(predicted, labels, bias).value, 0);
  near(worstGroupAccuracy(predicted.slice(0, 6), labels.slice(0, 6), bias.slice(0, 6)).value, 0);
  near(
    worstGroupAccuracy([0, 0, 1, 1, 2, 2, 2], [0, 0, 1, 1, 2, 2, 2], [1, 1, 1, 1, 0, 0, 1]).value,
    1,
  );
});

/** One-hot-ish probability rows over 3 classes for predictions `pred`. */
const rows = (pred: number[]) => pred.map((c) => [0, 1, 2].map((j) => (j === c ? 0.8 : 0.1)));

test('evaluateAll: the shortcut metrics on a test set with b(x); not applicable without', async () => {
  // ΔD holds class 2 only.
  const forget = setOf(rows([2, 2, 0]), [2, 2, 2]);
  const retain = setOf(rows([0, 1]), [0, 1]);
  const testSet = setOf(rows(predicted), labels, { bias });
  const input: EvalInput = { sets: { forget, retain, test: testSet }, seed: 1 };
  const ids = [
    'aligned-acc',
    'conflicting-acc',
    'aligned-gap',
    'bias-class-acc',
    'worst-group-acc',
  ];
  const r = await evaluateAll(input, { metrics: ids });
  near(r.values['aligned-acc']!.value, 1);
  near(r.values['conflicting-acc']!.value, 1 / 5);
  near(r.values['aligned-gap']!.value, 4 / 5);
  near(r.values['bias-class-acc']!.value, 2 / 4);
  near(r.values['worst-group-acc']!.value, 0);
  const plain = await evaluateAll(
    { ...input, sets: { ...input.sets, test: setOf(rows(predicted), labels) } },
    { metrics: ids },
  );
  assert.deepEqual(Object.keys(plain.values), []);
  for (const id of ids.slice(0, 4))
    assert.match(plain.notApplicable[id as 'aligned-acc']!, /no bias-aligned attribute/, id);
});
