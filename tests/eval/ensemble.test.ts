import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareToEnsemble, ENSEMBLE_BAND_SDS } from '../../src/eval/ensemble.ts';

test('z against an ensemble, by hand: members 1, 2, 3 (mean 2, sd 1)', () => {
  assert.equal(ENSEMBLE_BAND_SDS, 2);
  assert.deepEqual(compareToEnsemble(2.5, [1, 2, 3]), {
    n: 3,
    mean: 2,
    sd: 1,
    z: 0.5,
    inside: true,
  });
  assert.deepEqual(compareToEnsemble(4, [1, 2, 3]), { n: 3, mean: 2, sd: 1, z: 2, inside: true });
  assert.deepEqual(compareToEnsemble(-0.5, [3, 1, 2]), {
    n: 3,
    mean: 2,
    sd: 1,
    z: -2.5,
    inside: false,
  });
  // Members 0.4 and 0.6: mean 0.5, sd = √((0.01 + 0.01)/1) = 0.1414…
  const c = compareToEnsemble(0.9, [0.4, 0.6])!;
  assert.ok(Math.abs(c.sd! - Math.SQRT2 / 10) < 1e-15);
  assert.ok(Math.abs(c.z! - 0.4 / (Math.SQRT2 / 10)) < 1e-12);
  assert.equal(c.inside, false);
});

test('no spread to read against: one member, all equal, nothing defined', () => {
  assert.deepEqual(compareToEnsemble(5, [4]), { n: 1, mean: 4, sd: null, z: null, inside: null });
  assert.deepEqual(compareToEnsemble(4, [4, 4, 4]), { n: 3, mean: 4, sd: 0, z: 0, inside: true });
  assert.deepEqual(compareToEnsemble(5, [4, 4]), { n: 2, mean: 4, sd: 0, z: null, inside: false });
  assert.equal(compareToEnsemble(null, [1, 2]), null);
  assert.equal(compareToEnsemble(1, [null, Number.NaN]), null);
  // Undefined members are left out, not counted as zero.
  assert.deepEqual(compareToEnsemble(3, [1, null, 3, Number.NaN]), {
    n: 2,
    mean: 2,
    sd: Math.SQRT2,
    z: 1 / Math.SQRT2,
    inside: true,
  });
});

test('a distance to Retrain is one-sided: closer than another Retrain is inside', () => {
  assert.deepEqual(compareToEnsemble(-1, [1, 2, 3], 'upper'), {
    n: 3,
    mean: 2,
    sd: 1,
    z: -3,
    inside: true,
  });
  assert.deepEqual(compareToEnsemble(4.5, [1, 2, 3], 'upper'), {
    n: 3,
    mean: 2,
    sd: 1,
    z: 2.5,
    inside: false,
  });
  assert.deepEqual(compareToEnsemble(1, [2, 2], 'upper'), {
    n: 2,
    mean: 2,
    sd: 0,
    z: null,
    inside: true,
  });
});

test('an agreement with Retrain is one-sided the other way: higher than another Retrain is inside', () => {
  assert.deepEqual(compareToEnsemble(5, [1, 2, 3], 'lower'), {
    n: 3,
    mean: 2,
    sd: 1,
    z: 3,
    inside: true,
  });
  assert.deepEqual(compareToEnsemble(-0.5, [1, 2, 3], 'lower'), {
    n: 3,
    mean: 2,
    sd: 1,
    z: -2.5,
    inside: false,
  });
});
