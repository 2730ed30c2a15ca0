/**
 * The Retrain-free selection score against hand-computed cases: the held-out twin per scenario
 * kind, the twin and zero targets, the pattern term and the drops against the original.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forgetTwin, selectionScore } from '../../src/eval/selection.ts';
import type { EvalSets } from '../../src/eval/types.ts';
import { near, setOf } from './helpers.ts';

// Two classes. Rows are [p0, p1].
const HIT0 = [0.8, 0.2]; // predicts 0, p(0) = 0.8
const MISS0 = [0.4, 0.6]; // predicts 1, p(0) = 0.4
const HIT1 = [0.1, 0.9];

function sets(forget: number[][], test: number[][], retain: number[][] = [HIT0, HIT1]): EvalSets {
  return {
    forget: setOf(
      forget,
      forget.map(() => 0),
    ),
    retain: setOf(retain, [0, 1]),
    test: setOf(test, [0, 0, 1, 1]),
  };
}

test('random: ΔD against the whole test set, accuracy and confidence gaps', () => {
  const original = sets([HIT0, HIT0], [HIT0, MISS0, HIT1, HIT1]);
  // ΔD acc 1, conf 0.8; test acc 3/4, conf (0.8 + 0.4 + 0.9 + 0.9)/4 = 0.75.
  const r = selectionScore(original, original, { kind: 'random' });
  assert.equal(r.terms?.target, 'twin');
  near(r.terms!.forget, 0.25 + 0.05, 1e-6);
  near(r.value.value, 0.3, 1e-6);
  // Under-shooting costs as over-shooting does: ΔD acc 0.5, conf 0.6 → 0.25 + 0.15.
  const u = sets([HIT0, MISS0], [HIT0, MISS0, HIT1, HIT1]);
  near(selectionScore(u, original, { kind: 'random' }).terms!.forget, 0.4, 1e-6);
  // ΔD exactly like the test set (every sample right at 0.8): 0.
  const same = sets([HIT0], [HIT0, HIT0, [0.2, 0.8], [0.2, 0.8]]);
  near(selectionScore(same, same, { kind: 'random' }).terms!.forget, 0, 1e-6);
});

test('class: twin = test samples of the forgotten class; target zero for both', () => {
  const original = sets([HIT0, HIT0], [HIT0, HIT0, HIT1, HIT1]);
  const twin = forgetTwin(original, { kind: 'class' })!;
  assert.deepEqual(Array.from(twin.mask), [1, 1, 0, 0]);
  // ΔD acc 1 conf 0.8, twin acc 1 conf 0.8: (1 + 1)/2 + (0.8 + 0.8)/2 = 1.8.
  near(selectionScore(original, original, { kind: 'class' }).value.value, 1.8, 1e-6);
  // Forgotten: class 0 never predicted, p(0) = 0.4 → (0 + 0)/2 + (0.4 + 0.4)/2 = 0.4; class 1 kept.
  const u = sets([MISS0, MISS0], [MISS0, MISS0, HIT1, HIT1]);
  const r = selectionScore(u, original, { kind: 'class' });
  near(r.terms!.forget, 0.4, 1e-6);
  near(r.terms!.testDrop, 0, 1e-12);
  near(r.value.value, 0.4, 1e-6);
});

test('drops: only losses against the original count, on D_r and on the test samples outside the twin', () => {
  const original = sets([HIT0], [HIT0, HIT0, HIT1, HIT1]);
  // The class-1 test samples lost: kept test accuracy 1 → 0; D_r lost its class-1 sample: 1 → 0.5.
  const u = sets([MISS0], [MISS0, MISS0, [0.6, 0.4], [0.6, 0.4]], [HIT0, [0.6, 0.4]]);
  const r = selectionScore(u, original, { kind: 'class' });
  near(r.terms!.testDrop, 1, 1e-12);
  near(r.terms!.retainDrop, 0.5, 1e-12);
  // A gain is not a negative cost.
  const better = selectionScore(original, u, { kind: 'class' });
  near(better.terms!.testDrop, 0, 1e-12);
  near(better.terms!.retainDrop, 0, 1e-12);
});

test('bias: twin = patterned test samples of ΔD’s class; |ρ| of the pattern on the biased test set', () => {
  // Biased test: labels 0,0,1,1 with b = 1,0,1,0. Predictions: 0,0,0,1 → ŷ=0 on (b=1: 2/2, b=0: 1/2).
  const biased = setOf([HIT0, HIT0, [0.7, 0.3], HIT1], [0, 0, 1, 1], { bias: [1, 0, 1, 0] });
  const s: EvalSets = { ...sets([HIT0, HIT0], [HIT0, HIT0, HIT1, HIT1]), biasedTest: biased };
  const twin = forgetTwin(s, { kind: 'bias', biasClass: 0 })!;
  assert.deepEqual(Array.from(twin.mask), [1, 0, 0, 0], 'patterned and of class 0');
  const r = selectionScore(s, s, { kind: 'bias', biasClass: 0 });
  // phi: n11 = 2 (ŷ=0,b=1), n10 = 1 (ŷ=0,b=0), n01 = 0, n00 = 1 → (2·1 − 0)/sqrt(3·1·2·2) = 0.5774.
  near(r.terms!.pattern, 2 / Math.sqrt(12), 1e-9);
  near(r.terms!.forget, 0, 1e-6);
  near(r.value.value, 2 / Math.sqrt(12), 1e-6);
});

test('backdoor: the twin is the stamped test set scored on the target label; target zero', () => {
  const stamped = setOf([HIT1, HIT1], [0, 0]); // stamped class-0 samples, target 1: ASR 1
  const s: EvalSets = {
    forget: setOf([HIT1, HIT1], [1, 1]), // poisoned ΔD, relabelled 1
    retain: setOf([HIT0, HIT1], [0, 1]),
    test: setOf([HIT0, HIT0, HIT1, HIT1], [0, 0, 1, 1]),
    stampedTest: stamped,
  };
  const r = selectionScore(s, s, { kind: 'backdoor', backdoorTarget: 1 });
  // (acc 1 + ASR 1)/2 + (0.9 + 0.9)/2 = 1.9.
  near(r.value.value, 1.9, 1e-6);
  assert.equal(r.terms?.twinSize, 2);
});

test('undefined where the scenario has no twin, or its kind is unknown', () => {
  const s = sets([HIT0], [HIT0, HIT0, HIT1, HIT1]);
  assert.equal(selectionScore(s, s, {}).value.value, null);
  assert.match(
    String(selectionScore(s, s, { kind: 'bias', biasClass: 0 }).value.reason),
    /no held-out twin of ΔD for a bias scenario/,
  );
});

test('the kept test set is the clean one where the twin is a patterned copy or all of it', () => {
  const original = sets([HIT0], [HIT0, HIT0, HIT1, HIT1]);
  // Random: the twin is the whole test set, and a loss on it is still a loss.
  const worse = sets([HIT0], [MISS0, HIT0, HIT1, HIT1]);
  near(selectionScore(worse, original, { kind: 'random' }).terms!.testDrop, 0.25, 1e-12);
  // Bias: the clean test's class-0 sample lost counts even where the biased copy gained.
  const biasedO = setOf([HIT0, HIT0, [0.7, 0.3], HIT1], [0, 0, 1, 1], { bias: [1, 0, 1, 0] });
  const biasedU = setOf([MISS0, HIT0, HIT1, HIT1], [0, 0, 1, 1], { bias: [1, 0, 1, 0] });
  const o: EvalSets = { ...original, biasedTest: biasedO };
  const u: EvalSets = { ...worse, biasedTest: biasedU };
  near(selectionScore(u, o, { kind: 'bias', biasClass: 0 }).terms!.testDrop, 0.25, 1e-12);
});
