/**
 * The evidence record of a deletion on the user's own model: before / after on the three sets,
 * losses and accuracies by hand, the metrics that need a reference listed as missing without
 * one and computed with one, and a page that loads nothing from anywhere.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EvalSets } from '../../src/eval/types.ts';
import {
  buildEvidence,
  EvidenceSchema,
  renderEvidenceHtml,
} from '../../src/experiments/evidence.ts';
import { setOf } from '../eval/helpers.ts';

const R = (p0: number) => [p0, 1 - p0];
function sets(forget: number[], retain: number[], testP: number[]): EvalSets {
  return {
    forget: setOf(
      forget.map(R),
      forget.map(() => 0),
    ),
    retain: setOf(
      retain.map(R),
      retain.map(() => 0),
    ),
    test: setOf(
      testP.map(R),
      testP.map(() => 0),
    ),
  };
}

test('buildEvidence: accuracy and mean loss per set, before and after; reference metrics missing without one', async () => {
  const before = sets([0.9, 0.9], [0.9, 0.8, 0.7, 0.6], [0.8, 0.4, 0.7, 0.3]);
  const after = sets([0.6, 0.4], [0.9, 0.8, 0.7, 0.6], [0.8, 0.4, 0.7, 0.3]);
  const e = await buildEvidence({
    method: 'ft',
    classNames: ['a', 'b'],
    before,
    after,
    seed: 1,
    facts: { kind: 'random' },
  });
  EvidenceSchema.parse(e);
  assert.equal(e.before.sets.forget.accuracy, 1);
  assert.equal(e.after.sets.forget.accuracy, 0.5);
  assert.ok(
    Math.abs((e.after.sets.forget.loss as number) - -(Math.log(0.6) + Math.log(0.4)) / 2) < 1e-6,
  );
  assert.equal(e.after.sets.test.accuracy, 0.5);
  assert.equal(e.reference, null);
  assert.match(e.missing['avg-gap'], /no retrained reference/);
  assert.equal(typeof e.after.metrics.selection.value, 'number');
  // ΔD now looks like the test set: the forget term of the selection score shrinks.
  assert.ok(
    (e.after.metrics.selection.value as number) < (e.before.metrics.selection.value as number),
  );
  const html = renderEvidenceHtml(e);
  assert.doesNotMatch(html, /https?:\/\//);
  assert.match(html, /accuracy on the forget set ΔD/);
  assert.match(html, /avg-gap: no retrained reference/);
});

test('buildEvidence with a reference: the match-Retrain metrics are read against it', async () => {
  const before = sets([0.9, 0.9], [0.9, 0.8], [0.8, 0.4]);
  const after = sets([0.6, 0.4], [0.9, 0.8], [0.8, 0.4]);
  const e = await buildEvidence({
    method: 'ft',
    classNames: ['a', 'b'],
    before,
    after,
    reference: after,
    seed: 1,
    facts: { kind: 'random' },
  });
  assert.equal(e.after.metrics['avg-gap'].value, 0, 'the reference itself: no gap');
  assert.ok((e.before.metrics['avg-gap'].value as number) > 0);
  assert.equal(e.missing['avg-gap'], undefined);
});
