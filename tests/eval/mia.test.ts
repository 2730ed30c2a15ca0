import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/core/rng.ts';
import { trainSvc } from '../../src/eval/libsvm.ts';
import {
  confidence,
  entropy,
  fitLogistic1d,
  lossLrAttack,
  lossLrAttackOnLosses,
  modifiedEntropy,
  sampleLoss,
  svcMiaEfficacy,
} from '../../src/eval/mia.ts';
import { confidenceSet, near, setOf } from './helpers.ts';

test('per-sample features: confidence, loss, entropy, modified entropy', () => {
  const s = setOf(
    [
      [0.7, 0.2, 0.1],
      [0, 1, 0],
    ],
    [0, 0],
  );
  const f = (x: number) => Math.fround(x); // probs are float32
  near(confidence(s)[0], f(0.7));
  near(sampleLoss(s)[0], -Math.log(f(0.7)));
  // −(0.7 ln 0.7 + 0.2 ln 0.2 + 0.1 ln 0.1) = 0.249672 + 0.321888 + 0.230259 = 0.801819
  near(entropy(s)[0], 0.801819, 1e-6);
  // −(1 − 0.7) ln 0.7 − 0.2 ln 0.8 − 0.1 ln 0.9 = 0.107002 + 0.044629 + 0.010536 = 0.162167
  near(modifiedEntropy(s)[0], 0.162167, 1e-6);
  // p_y = 0: logs are floored at 1e-30 → loss = 30 ln 10; m-entropy = −1·ln 1e-30 − 1·ln 1e-30
  near(sampleLoss(s)[1], 30 * Math.LN10, 1e-9);
  near(entropy(s)[1], 0);
  near(modifiedEntropy(s)[1], 60 * Math.LN10, 1e-9);
});

/** Evenly spread values in [lo, hi]. */
const spread = (n: number, lo: number, hi: number) =>
  Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));

test('MIA-Efficacy on separable confidences: 0 for member-like ΔD, 1 for test-like, ½ for half', async () => {
  const sets = (forget: number[]) => ({
    retain: confidenceSet(spread(80, 0.9, 1)), // members: the first 40 (= |test|) are used
    test: confidenceSet(spread(40, 0, 0.1)),
    forget: confidenceSet(forget),
  });
  const memberLike = await svcMiaEfficacy(sets(spread(10, 0.92, 0.99)));
  assert.equal(memberLike.value.value, 0);
  assert.deepEqual(memberLike.sizes, { members: 40, nonMembers: 40, forget: 10 });
  assert.match(memberLike.meaning, /higher = ΔD looks less like training data/);
  assert.equal((await svcMiaEfficacy(sets(spread(10, 0.01, 0.08)))).value.value, 1);
  const half = [...spread(5, 0.92, 0.99), ...spread(5, 0.01, 0.08)];
  assert.equal((await svcMiaEfficacy(sets(half))).value.value, 0.5);
});

test('MIA-Efficacy uses only the first |test| retain samples as members', async () => {
  // D_r = 20 confident samples, then 20 unconfident ones; test = 20 around 0.5; ΔD unconfident.
  // Members = the first 20 (confident): ΔD sits nearer the test set → all non-member (1).
  const retain = confidenceSet([...spread(20, 0.9, 1), ...spread(20, 0, 0.1)]);
  const forget = confidenceSet(spread(6, 0, 0.1));
  const r = await svcMiaEfficacy({ retain, test: confidenceSet(spread(20, 0.45, 0.55)), forget });
  assert.equal(r.sizes.members, 20);
  assert.equal(r.value.value, 1);
  // Control: a test set twice as long makes all 40 of D_r members, ΔD then looks like them (0).
  const test40 = confidenceSet([...spread(20, 0.45, 0.55), ...spread(20, 0.45, 0.55)]);
  assert.equal((await svcMiaEfficacy({ retain, test: test40, forget })).value.value, 0);
  const small = await svcMiaEfficacy({
    retain: confidenceSet(spread(5, 0.9, 1)),
    test: confidenceSet(spread(20, 0, 0.1)),
    forget: confidenceSet([0.95]),
  });
  assert.equal(small.sizes.members, 5);
  const empty = await svcMiaEfficacy({
    retain: confidenceSet(spread(5, 0.9, 1)),
    test: confidenceSet(spread(5, 0, 0.1)),
    forget: confidenceSet([]),
  });
  assert.equal(empty.value.value, null);
});

/** libsvm's text model → its decision function f(x) = Σ coef_i exp(−γ‖sv_i − x‖²) − ρ. */
function decisionFrom(model: string) {
  const lines = model.trim().split('\n');
  const field = (name: string) =>
    lines
      .find((l) => l.startsWith(`${name} `))!
      .split(' ')
      .slice(1);
  const gamma = Number(field('gamma')[0]);
  const rho = Number(field('rho')[0]);
  const labels = field('label').map(Number);
  const svs = lines.slice(lines.indexOf('SV') + 1).map((l) => {
    const [coef, feat] = l.trim().split(' ');
    return { coef: Number(coef), x: Number(feat.split(':')[1]) };
  });
  const f = (x: number) =>
    svs.reduce((s, sv) => s + sv.coef * Math.exp(-gamma * (sv.x - x) ** 2), 0) - rho;
  return { f, labels, gamma, svs };
}

test('libsvm decisions agree with the RBF decision function of its own support vectors', async () => {
  // Overlapping 1-D classes, so the SVC has many bounded support vectors.
  const rng = new Rng(5);
  const members = Array.from({ length: 60 }, () =>
    Math.min(1, 0.6 + 0.4 * rng.next() + 0.1 * rng.normal()),
  );
  const nonMembers = Array.from({ length: 60 }, () =>
    Math.max(0, 0.5 * rng.next() + 0.2 * rng.normal()),
  );
  const svc = await trainSvc(
    [...members, ...nonMembers].map((x) => [x]),
    [...members.map(() => 1), ...nonMembers.map(() => 0)],
    { C: 3 },
  );
  try {
    const { f, labels, gamma, svs } = decisionFrom(svc.serialize());
    assert.equal(gamma, 1); // 1 / n_features
    assert.deepEqual(labels, [1, 0]); // first label seen first: decision > 0 → member
    // C-SVC box constraint: every |coef| = |y α| ≤ C
    for (const sv of svs) assert.ok(Math.abs(sv.coef) <= 3 + 1e-6);
    const grid = spread(201, -0.2, 1.2);
    const pred = svc.predict(grid.map((x) => [x]));
    let checked = 0;
    grid.forEach((x, i) => {
      const v = f(x);
      if (Math.abs(v) < 1e-4) return; // the text model rounds coefficients; skip the boundary
      assert.equal(pred[i], v > 0 ? labels[0] : labels[1], `x = ${x}, f = ${v}`);
      checked++;
    });
    assert.ok(checked > 190);
    assert.ok(pred.includes(0) && pred.includes(1));
  } finally {
    svc.free();
  }
});

test('logistic fit matches the closed form for a binary feature', () => {
  // x = 0: y mean 1/4 → intercept logit(1/4) = −ln 3; x = 1: y mean 3/4 → slope 2 ln 3
  const fit = fitLogistic1d([0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 0, 1, 1, 1]);
  near(fit.intercept, -Math.log(3), 1e-5);
  near(fit.slope, 2 * Math.log(3), 1e-5);
});

test('logistic fit solves the score equations Σ(y − p) = 0 and Σ(y − p)x = 0', () => {
  const rng = new Rng(11);
  const x = Array.from({ length: 200 }, () => rng.normal(3, 2));
  const y = x.map((v) => (rng.next() < 1 / (1 + Math.exp(-(v - 3))) ? 1 : 0));
  const { intercept, slope } = fitLogistic1d(x, y);
  let g0 = 0;
  let g1 = 0;
  x.forEach((v, i) => {
    const r = y[i] - 1 / (1 + Math.exp(-(intercept + slope * v)));
    g0 += r;
    g1 += r * v;
  });
  near(g0, 0, 1e-6);
  near(g1, 0, 1e-4); // the ridge (1e-6 on the standardised slope) leaves a trace
  assert.equal(fitLogistic1d([2, 2, 2, 2], [0, 1, 0, 1]).slope, 0);
});

test('loss-LR attack: 1 on separable losses, 0.5 when ΔD and test look alike; seeded', () => {
  const lowLoss = Float64Array.from(spread(12, 0.01, 0.2));
  const highLoss = Float64Array.from(spread(12, 1, 3));
  const sep = lossLrAttackOnLosses(lowLoss, highLoss, { rng: new Rng(1) });
  assert.equal(sep.value.value, 1);
  assert.match(sep.meaning, /0\.5 = indistinguishable/);
  const same = lossLrAttackOnLosses(
    new Float64Array(10).fill(0.7),
    new Float64Array(10).fill(0.7),
    {
      rng: new Rng(1),
    },
  );
  assert.equal(same.value.value, 0.5);
  // The larger side is subsampled to the smaller one's size.
  const unbalanced = lossLrAttackOnLosses(Float64Array.from(spread(30, 0, 0.2)), highLoss, {
    rng: new Rng(1),
  });
  assert.equal(unbalanced.sizes.perClass, 12);
  assert.equal(unbalanced.value.value, 1);
  // Same seed, same folds, same answer on overlapping data.
  const rng = new Rng(3);
  const a = Float64Array.from({ length: 40 }, () => rng.normal(0.5, 0.5));
  const b = Float64Array.from({ length: 40 }, () => rng.normal(1, 0.5));
  const r1 = lossLrAttackOnLosses(a, b, { rng: new Rng(9) }).value.value!;
  const r2 = lossLrAttackOnLosses(a, b, { rng: new Rng(9) }).value.value!;
  assert.equal(r1, r2);
  assert.ok(r1 > 0.5 && r1 < 1);
  assert.equal(lossLrAttackOnLosses(a.subarray(0, 1), b, { rng: new Rng(1) }).value.value, null);
});

test('loss-LR attack reads losses from predictions', () => {
  const forget = confidenceSet(spread(8, 0.9, 0.99)); // low loss
  const testSet = confidenceSet(spread(8, 0.1, 0.4)); // high loss
  assert.equal(lossLrAttack({ forget, test: testSet }, { rng: new Rng(2) }).value.value, 1);
});
