/** The shadow-model privacy metrics and ToW against hand-computed cases. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  binnedKl,
  challengeBin,
  challengeEpsilon,
  challengeFromShadows,
  challengeScore,
  forgettingQuality,
  klom,
  klomFromShadows,
  margin,
  marginFromProbability,
  rocAuc,
  thresholdAttacks,
  tprAtFpr,
  ulira,
  uliraFromShadows,
} from '../../src/eval/shadow.ts';
import { tugOfWar } from '../../src/eval/tug-of-war.ts';

const near = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

test('margin: z_y − logsumexp of the others = the log-odds of p_y', () => {
  near(margin([2, 0, 0], 0), 2 - Math.LN2);
  const p = Math.exp(2) / (Math.exp(2) + 2);
  near(marginFromProbability(p), 2 - Math.LN2, 1e-12);
  near(margin([0, 1000, 1000], 0), -1000 - Math.LN2); // no overflow
});

test('ROC: AUC with ties counted half; TPR at a fixed FPR', () => {
  near(rocAuc([3, 2], [1, 2]), 3.5 / 4);
  near(rocAuc([1], [1]), 0.5);
  assert.ok(Number.isNaN(rocAuc([], [1])));
  assert.equal(tprAtFpr([3, 2], [1, 2], 0), 0.5);
  assert.equal(tprAtFpr([3, 2], [1, 2], 0.5), 1);
  assert.equal(
    tprAtFpr([0], [1], 0),
    0,
    'no threshold at FPR 0 catches a positive below every negative',
  );
});

test('U-LiRA: Gaussian likelihood ratios by hand; accuracy, AUC, TPR at 1 % FPR', () => {
  // Example 0: unlearned shadows φ ∈ {1, 3} (mean 2, sd √2), retrained {−1, −3} (mean −2, sd √2).
  const u = [[1, 3]];
  const r = [[-1, -3]];
  const res = ulira(u, r, [
    { example: 0, phi: 2, world: 'unlearned' }, // log Λ = 0 − (−½ (4/√2)²) = 4
    { example: 0, phi: 0, world: 'unlearned' }, // equidistant: log Λ = 0, called retrained
    { example: 0, phi: -2, world: 'retrained' }, // −4
  ]);
  near(res.logRatios[0], 4);
  near(res.logRatios[1], 0);
  near(res.logRatios[2], -4);
  near(res.accuracy, (0.5 + 1) / 2);
  near(res.auc, 1);
  near(res.tprAt1Fpr, 1);
  // Indistinguishable worlds: every ratio is 1 and the attack is at chance.
  const same = ulira(
    [[0, 2]],
    [[0, 2]],
    [
      { example: 0, phi: 1, world: 'unlearned' },
      { example: 0, phi: 1, world: 'retrained' },
    ],
  );
  near(same.accuracy, 0.5);
  near(same.auc, 0.5);
  // Pooled variance: example 1's wide spread widens example 0's fit too.
  const pooled = ulira(
    [
      [1, 3],
      [0, 8],
    ],
    [
      [-1, -3],
      [0, -8],
    ],
    [{ example: 0, phi: 2, world: 'unlearned' }],
    { variance: 'global' },
  );
  // Pooled sd² = (2 + 32)/2 = 17 in both worlds: log Λ = ½·((2 + 2)² − 0)/17 = 8/17.
  near(pooled.logRatios[0], 8 / 17);
});

test('challenge: ε per attack, the perfect attack is ∞, bins of 0.5, F and the score', () => {
  // FPR 0.2, FNR 0.3, δ 0.01: max(ln 0.79 − ln 0.3, ln 0.69 − ln 0.2) = ln(0.69/0.2).
  near(challengeEpsilon([{ fpr: 0.2, fnr: 0.3 }]), Math.log(0.69 / 0.2));
  assert.equal(challengeEpsilon([{ fpr: 0, fnr: 0 }]), Number.POSITIVE_INFINITY);
  assert.equal(challengeEpsilon([{ fpr: 0, fnr: 0.5 }]), 0, 'one-sided zero: discarded');
  assert.equal(challengeEpsilon([{ fpr: 1, fnr: 1 }]), Number.POSITIVE_INFINITY, 'flipped perfect');
  assert.deepEqual([0, 0.49, 0.5, 1.238, 5.99, 6, 1e9].map(challengeBin), [1, 1, 2, 3, 12, 13, 13]);
  assert.equal(challengeBin(Number.POSITIVE_INFINITY), 13);
  near(forgettingQuality([0.1, Math.log(0.69 / 0.2)]), (1 + 0.25) / 2);
  near(forgettingQuality([Number.POSITIVE_INFINITY]), 2 / 2 ** 13);
  // Threshold attacks over the pooled samples, both directions; unlearned [1, 2] vs retrained
  // [3, 4] separate: "unlearned when s ≤ 2" has FPR = FNR = 0.
  assert.deepEqual(thresholdAttacks([1, 2], [3, 4]), [
    { fpr: 1, fnr: 0.5 },
    { fpr: 0, fnr: 0.5 },
    { fpr: 1, fnr: 1 },
    { fpr: 0, fnr: 0 },
    { fpr: 0.5, fnr: 1 },
    { fpr: 0.5, fnr: 0 },
    { fpr: 0, fnr: 1 },
    { fpr: 1, fnr: 0 },
  ]);
  // Lower losses under the unlearned models, with one overlap: the one-direction attack alone
  // sees nothing (ε 0); the other direction finds ε = ln((1 − δ − 1/4) / 1/4).
  const under = thresholdAttacks([0.1, 0.2, 0.3, 2.5], [1, 2, 3, 4]);
  near(challengeEpsilon(under), Math.log((0.99 - 0.25) / 0.25));
  const s = challengeScore(
    [
      [1, 2],
      [0, 1, 2, 3],
    ],
    [
      [3, 4],
      [0, 1, 2, 3],
    ],
    { ra: 0.9, ta: 0.8, raRetrain: 1, taRetrain: 0.8 },
  );
  assert.equal(s.epsilons[0], Number.POSITIVE_INFINITY);
  // Identical samples: every threshold gives FPR + FNR = 1 (t = 0: 3/4 and 1/4, so ε =
  // max(ln 0.24 − ln 0.25, ln 0.74 − ln 0.75) < 0), and ε is floored at 0: bin 1, h = 1.
  near(s.epsilons[1], 0);
  near(s.F, (2 / 2 ** 13 + 1) / 2);
  near(s.score, s.F * 0.9);
});

test('KLoM: binned KL on the common range, the retrained side floored, the maximum kept', () => {
  near(binnedKl([0, 0, 1, 1], [0, 1, 0, 1]), 0);
  // All mass in opposite bins: ln((1 + 1e-5)/1e-5).
  near(binnedKl([0, 0, 0, 0], [1, 1, 1, 1]), Math.log((1 + 1e-5) / 1e-5), 1e-9);
  // Half the unlearned mass where Retrain has none.
  const z = 1 + 1e-5;
  near(binnedKl([0, 1], [0, 0]), 0.5 * Math.log(0.5 * z) + 0.5 * Math.log((0.5 * z) / 1e-5), 1e-9);
  assert.deepEqual(klom([[5], [1, 2]], [[5], [1, 2]]), [0, 0]);
  // Margins clipped to ±100 before binning: 1e6 and 101 are the same bin.
  near(binnedKl([1e6], [101]), 0);
});

test('ToW: Π (1 − |acc − acc_Retrain|) over forget, retain, test; undefined where either is', () => {
  const v = (value: number) => ({ value });
  near(
    tugOfWar(
      { forget: v(0.6), retain: v(0.9), test: v(0.8) },
      { forget: v(0.5), retain: v(1), test: v(0.8) },
    ).value!,
    0.81,
  );
  const und = tugOfWar(
    { forget: { value: null, reason: 'empty' }, retain: v(1), test: v(1) },
    { forget: v(1), retain: v(1), test: v(1) },
  );
  assert.equal(und.value, null);
});

/** A shadow run: members, and per target φ and loss under the unlearned and retrained models. */
const shadowOf = (
  members: boolean[],
  u: { phi: number[]; loss: number[] },
  r: { phi: number[]; loss: number[] },
  acc = { ua: [0.9, 0.8], ra: [1, 0.8] },
) => ({
  members,
  unlearned: { ...u, ra: acc.ua[0], ta: acc.ua[1] },
  retrained: { ...r, ra: acc.ra[0], ta: acc.ra[1] },
});

test('from shadow runs: U-LiRA leave-one-out, the challenge from losses, KLoM from margins', () => {
  // One target, trained on by all 4 shadows; unlearned φ ≈ 5, retrained φ ≈ 0: fully separable.
  const sep = {
    shadows: [5, 5.2, 4.8, 5.1].map((p, k) =>
      shadowOf([true], { phi: [p], loss: [0.1] }, { phi: [k * 0.1], loss: [2 + k * 0.1] }),
    ),
  };
  const u = uliraFromShadows(sep);
  assert.equal(u.targets, 4, 'each shadow tested once per world on its one target');
  near(u.accuracy, 1);
  near(u.auc, 1);
  const c = challengeFromShadows(sep);
  assert.deepEqual(c.epsilons, [Number.POSITIVE_INFINITY], 'losses 0.1 vs ≥ 2 separate perfectly');
  near(c.F, 2 / 2 ** 13);
  near(c.score, c.F * 0.9);
  assert.ok(klomFromShadows(sep)[0] > 5, 'disjoint margins: a large KL');
  // Non-members are left out: a target no shadow trained on contributes nothing.
  const withOut = {
    shadows: sep.shadows.map((s) => ({
      members: [true, false],
      unlearned: { ...s.unlearned, phi: [s.unlearned.phi[0], 99], loss: [0.1, 99] },
      retrained: { ...s.retrained, phi: [s.retrained.phi[0], -99], loss: [2, -99] },
    })),
  };
  assert.equal(uliraFromShadows(withOut).targets, 4);
  assert.equal(klomFromShadows(withOut).length, 1);
  // The same values in both worlds: chance, ε = 0 (F = 1), KLoM 0.
  const same = {
    shadows: [1, 2, 3, 4].map((p) =>
      shadowOf([true], { phi: [p], loss: [p] }, { phi: [p], loss: [p] }),
    ),
  };
  near(uliraFromShadows(same).accuracy, 0.5);
  near(challengeFromShadows(same).F, 1);
  near(klomFromShadows(same)[0], 0);
});
