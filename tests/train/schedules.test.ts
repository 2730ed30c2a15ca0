import assert from 'node:assert/strict';
import { test } from 'node:test';
import { learningRate, parseSchedule } from '../../src/train/schedules.ts';
import type { OptimizerSpec } from '../../src/train/types.ts';

const at = (opt: Partial<OptimizerSpec>, step: number, total = 100) =>
  learningRate({ name: 'sgd', lr: 0.1, ...opt }, step, total);
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} ≠ ${b}`);

test('constant keeps the peak rate', () => {
  for (const s of [0, 50, 99]) close(at({}, s), 0.1);
});

test('cosine: lr at p=0, lr/2 half way, → 0 at the end', () => {
  close(at({ schedule: 'cosine' }, 0), 0.1);
  close(at({ schedule: 'cosine' }, 50), 0.05);
  close(at({ schedule: 'cosine' }, 25), 0.1 * 0.5 * (1 + Math.cos(Math.PI / 4)));
  assert.ok(at({ schedule: 'cosine' }, 99) < 0.0001);
});

test('linear decays to 0 in proportion', () => {
  close(at({ schedule: 'linear' }, 0), 0.1);
  close(at({ schedule: 'linear' }, 40), 0.06);
});

test('step drops ×0.1 at ½ and ¾ of the run', () => {
  close(at({ schedule: 'step' }, 49), 0.1);
  close(at({ schedule: 'step' }, 50), 0.01);
  close(at({ schedule: 'step' }, 74), 0.01);
  close(at({ schedule: 'step' }, 75), 0.001);
});

test('warm-up rises linearly to the peak, then the schedule runs over the rest', () => {
  close(at({ warmupSteps: 10 }, 0), 0.01);
  close(at({ warmupSteps: 10 }, 4), 0.05);
  close(at({ warmupSteps: 10 }, 9), 0.1);
  // cosine over steps 10..109: half way is step 60.
  close(at({ warmupSteps: 10, schedule: 'cosine' }, 10, 110), 0.1);
  close(at({ warmupSteps: 10, schedule: 'cosine' }, 60, 110), 0.05);
});

test('schedules are pure: same step, same value', () => {
  assert.equal(at({ schedule: 'cosine' }, 33), at({ schedule: 'cosine' }, 33));
});

test('unknown schedule names are refused', () => {
  assert.equal(parseSchedule('cosine'), 'cosine');
  assert.throws(
    () => parseSchedule('exp'),
    /--schedule: must be one of constant, cosine, linear, step; got "exp"/,
  );
});
