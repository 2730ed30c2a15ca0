/**
 * The α search's evidence rule (docs/method.md §3): the smallest α at which ΔD's loss reaches
 * that of held-out data of its classes, within a cap on the damage to D_r. Checked on L2-
 * regularised logistic regression that memorises random labels (ΔD fits far better than data it
 * never saw), with the exact Hessian so that the step direction is the Newton step.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { isUsageError } from '../../../src/core/errors.ts';
import { Rng } from '../../../src/core/rng.ts';
import type { Dataset } from '../../../src/data/dataset.ts';
import { fillQuotas, heldOutBeside } from '../../../src/data/subset.ts';
import { paramGroups } from '../../../src/models/index.ts';
import { evaluate } from '../../../src/train/evaluate.ts';
import { buildPrior, type PriorOptions } from '../../../src/unlearn/uib/prior.ts';
import { logregModel, synthetic, useCpu } from './helpers.ts';
import { fit } from './logreg.ts';

before(useCpu);

const [d, k, lambda] = [20, 2, 0.01];
// Random labels: the fit can only memorise them, so held-out data of the same classes is ~chance.
const train = synthetic(40, [d], k, 5);
const heldOut = synthetic(200, [d], k, 6);
const forgetIdx = [0, 3, 7, 12, 18, 25, 31, 36];

function split(data: Dataset, forget: number[]) {
  const f = new Set(forget);
  const retain = Array.from({ length: data.length }, (_, i) => i).filter((i) => !f.has(i));
  return { retain: data.subset(retain, 'retain'), forget: data.subset(forget, 'forget') };
}

const opts = (over: Partial<PriorOptions>): PriorOptions => ({
  kind: 'hessian',
  lambda,
  tau: 0,
  searchSamples: 64,
  rule: 'evidence',
  rng: new Rng(9),
  ...over,
});

test('evidence rule: the smallest α of the grid at which ΔD is no better fit than held-out data, weights restored', async () => {
  const model = logregModel(d, k, fit(train, lambda));
  const { retain, forget } = split(train, forgetIdx);
  const groups = paramGroups(model);
  const before = model.getWeights().map((w) => w.dataSync().slice());
  const prior = await buildPrior(
    model,
    groups,
    { retain, forget, validation: heldOut },
    opts({ damageCap: 100 }),
  );
  model.getWeights().forEach((w, i) => {
    assert.deepEqual(w.dataSync(), before[i]);
  });
  const r = prior.record;
  assert.equal(r.rule, 'evidence');
  assert.equal(r.epsilon, null);
  const e = r.evidence!;
  assert.equal(e.twinSize, 64);
  assert.equal(e.forgetSize, forgetIdx.length);
  // Memorised: ΔD fits far better than its twin at θ̂.
  assert.ok(e.baseForgetLoss + 0.2 < e.baseTwinLoss, `${e.baseForgetLoss} vs ${e.baseTwinLoss}`);
  assert.equal(e.stop, 'evidence');
  const reached = (t: (typeof r.search)[number]) => t.forgetLoss! >= t.twinLoss!;
  const chosen = r.search.find((t) => t.alpha === r.alpha)!;
  assert.ok(chosen && reached(chosen), `α ${r.alpha}`);
  // The grid's next smaller α was tried and had not reached the twin (or α is the smallest).
  const grid = Array.from({ length: 13 }, (_, i) => 2 ** -i);
  const next = grid[grid.indexOf(r.alpha) + 1];
  if (next !== undefined) {
    const t = r.search.find((s) => s.alpha === next);
    assert.ok(t && !reached(t), `α ${next} should have been tried and not reached`);
  }
  // Every α tried is recorded with all three losses.
  for (const t of r.search) {
    assert.ok(Number.isFinite(t.sliceLoss) && Number.isFinite(t.forgetLoss!));
    assert.ok(Number.isFinite(t.twinLoss!));
  }
  // At the prior mean, ΔD's loss is at least the twin's (as the search measured it).
  const mean = logregModel(
    d,
    k,
    Float64Array.from(prior.groups[0].tensors.flatMap((t) => [...t.mean])),
  );
  const fl = (await evaluate(mean, forget)).loss;
  assert.ok(Math.abs(fl - chosen.forgetLoss!) < 1e-5);
  model.dispose();
  mean.dispose();
});

test('evidence rule: the damage cap bounds α; α = 0 when ΔD already looks held out', async () => {
  const model = logregModel(d, k, fit(train, lambda));
  const { retain, forget } = split(train, forgetIdx);
  const groups = paramGroups(model);
  const free = await buildPrior(
    model,
    groups,
    { retain, forget, validation: heldOut },
    opts({ damageCap: 100 }),
  );
  const capped = await buildPrior(
    model,
    groups,
    { retain, forget, validation: heldOut },
    opts({ damageCap: 0 }),
  );
  assert.ok(capped.record.alpha <= free.record.alpha);
  const c = capped.record;
  for (const t of c.search)
    if (t.alpha <= c.alpha && c.alpha > 0) assert.ok(t.sliceLoss - c.baseSliceLoss! <= 0);
  if (c.evidence!.stop === 'cap') {
    const t = c.search.find((s) => s.alpha === c.alpha)!;
    assert.ok(t.forgetLoss! < t.twinLoss!);
  }
  // ΔD = held-out-like samples: the twin is ΔD itself, so it is reached at θ̂.
  const same = await buildPrior(
    model,
    groups,
    { retain, forget, validation: forget },
    opts({ damageCap: 100, searchSamples: forgetIdx.length }),
  );
  assert.equal(same.record.alpha, 0);
  assert.equal(same.record.evidence!.stop, 'evidence');
});

test('evidence rule: refused, naming validation, without held-out data or without ΔD’s classes in it', async () => {
  const model = logregModel(d, k, fit(train, lambda));
  const { retain, forget } = split(train, forgetIdx);
  const groups = paramGroups(model);
  await assert.rejects(
    buildPrior(model, groups, { retain, forget }, opts({})),
    (e: unknown) =>
      isUsageError(e) && e.where === 'validation' && /needs held-out data/.test(e.message),
  );
  const labels = heldOut.labels();
  const otherClass = heldOut.subset(
    Array.from({ length: heldOut.length }, (_, i) => i).filter((i) => labels[i] === 0),
  );
  const oneClass = forget.subset(
    Array.from({ length: forget.length }, (_, i) => i).filter((i) => forget.label(i) === 1),
  );
  await assert.rejects(
    buildPrior(model, groups, { retain, forget: oneClass, validation: otherClass }, opts({})),
    (e: unknown) =>
      isUsageError(e) &&
      e.where === 'validation' &&
      /no sample of the request's classes \(1\)/.test(e.message),
  );
});

test('heldOutBeside: class-balanced, disjoint from the test view, seeded; refused when too few remain', () => {
  const test = heldOut.subset(
    Array.from({ length: 150 }, (_, i) => i),
    'test',
  );
  const v = heldOutBeside(test, 40, 3, 'dataset.validationSubset');
  const a = heldOutBeside(test, 40, 3, 'x').sourceIndices();
  assert.deepEqual(v.sourceIndices(), a);
  const inTest = new Set(test.sourceIndices());
  for (const i of v.sourceIndices()) assert.ok(!inTest.has(i));
  assert.equal(v.length, 40);
  const count = (ys: Int32Array) => [0, 1].map((c) => ys.filter((y) => y === c).length);
  const rest = heldOut.subset(Array.from({ length: 50 }, (_, i) => 150 + i));
  assert.deepEqual(count(v.labels()), fillQuotas(count(rest.labels()), 40));
  assert.throws(
    () => heldOutBeside(test, 51, 3, 'dataset.validationSubset'),
    (e: unknown) =>
      isUsageError(e) &&
      e.where === 'dataset.validationSubset' &&
      /has 50 outside it/.test(e.message),
  );
});
