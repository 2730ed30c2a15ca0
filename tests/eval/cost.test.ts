import assert from 'node:assert/strict';
import { test } from 'node:test';
import { costMetrics, speedUp } from '../../src/eval/cost.ts';

test('speed-up = T_retrain / T_unlearn; undefined for a non-positive time', () => {
  assert.equal(speedUp(1000, 250).value, 4);
  assert.equal(speedUp(1000, 0).value, null);
  assert.equal(speedUp(0, 10).value, null);
});

test('cost metrics pass the counter through', () => {
  const c = costMetrics({ timeMs: 200, gradEvals: 1234, epochsTouched: 0.5 }, 5000);
  assert.equal(c.timeMs.value, 200);
  assert.equal(c.speedUp.value, 25);
  assert.equal(c.gradEvals.value, 1234);
  assert.equal(c.epochsTouched.value, 0.5);
  assert.equal(costMetrics({ timeMs: 1, gradEvals: 0, epochsTouched: 0 }).speedUp.value, null);
});
