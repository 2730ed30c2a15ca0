import assert from 'node:assert/strict';
import { test } from 'node:test';
import { studentTCdf, studentTQuantile, summarize } from '../../src/eval/stats.ts';
import { defined, undefinedBecause } from '../../src/eval/types.ts';
import { near } from './helpers.ts';

test('t quantiles match the tables', () => {
  near(studentTQuantile(0.975, 1), 12.706, 5e-4);
  near(studentTQuantile(0.975, 2), 4.303, 5e-4);
  near(studentTQuantile(0.975, 4), 2.776, 5e-4);
  near(studentTQuantile(0.975, 10), 2.228, 5e-4);
  near(studentTQuantile(0.975, 30), 2.042, 5e-4);
  near(studentTQuantile(0.95, 5), 2.015, 5e-4);
  near(studentTQuantile(0.025, 4), -2.776, 5e-4);
});

test('t quantiles match closed forms for 1 and 2 degrees of freedom, and the normal limit', () => {
  // dof 1 (Cauchy): tan(π(p − ½)); dof 2: (2p − 1)/√(2p(1 − p))
  for (const p of [0.6, 0.9, 0.975, 0.995]) {
    near(
      studentTQuantile(p, 1),
      Math.tan(Math.PI * (p - 0.5)),
      1e-9 * Math.tan(Math.PI * (p - 0.5)),
    );
    near(studentTQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 1e-9);
  }
  near(studentTQuantile(0.975, 1e7), 1.959964, 1e-5);
  near(studentTCdf(0, 3), 0.5);
  near(studentTCdf(1, 1), 0.75); // Cauchy: ½ + atan(1)/π
});

test('mean ± 95 % interval over seeds', () => {
  // 1, 2, 3: mean 2, s = 1, half-width = t_{0.975,2} · 1/√3 = 4.302653/1.732051 = 2.484138
  const s = summarize([1, 2, 3]);
  near(s.mean, 2);
  near(s.sd, 1);
  near(s.halfWidth, 4.302652729749464 / Math.sqrt(3), 1e-9);
  near(s.lo, 2 - 4.302652729749464 / Math.sqrt(3), 1e-9);
  assert.equal(s.n, 3);
});

test('one seed: no interval; undefined values are counted, not averaged', () => {
  const one = summarize([0.7]);
  assert.equal(one.mean, 0.7);
  assert.equal(one.halfWidth, null);
  const mixed = summarize([defined(0.2), undefinedBecause('never predicts k'), defined(0.4), null]);
  assert.equal(mixed.n, 2);
  assert.equal(mixed.undefinedCount, 2);
  near(mixed.mean, 0.3);
  assert.equal(summarize([]).mean, null);
});
