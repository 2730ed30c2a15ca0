/**
 * UIB-IF and the `<id>+uib` variants through the registry, on the small bias scenario: each runs,
 * frees every tensor it made, validates its merged hyper-parameters, and a heavy bound (large β)
 * ends nearer the bound's centre than the same variant with β = 0, which is the base method bit for
 * bit (common random numbers).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { UsageError } from '../../src/core/errors.ts';
import { sha256 } from '../../src/core/hash.ts';
import { evaluate } from '../../src/train/evaluate.ts';
import { BASE_METHODS, getMethod, parseParams, unlearn } from '../../src/unlearn/registry.ts';
import { fixture, inputsOf } from './fixtures.ts';

async function run(id: string, params: Record<string, unknown>) {
  const f = await fixture('bias');
  const before = tf.memory().numTensors;
  const r = await unlearn(id, inputsOf(f), params);
  const leaked = tf.memory().numTensors - before - r.model.weights.length;
  return { r, leaked };
}

// Short runs; the prior on a small subsample, so the whole file stays within seconds per variant.
const PRIOR = { priorFisherSamples: 200, priorSearchSamples: 100 };
const BASES: Record<string, Record<string, unknown>> = {
  ft: { epochs: 0.5, lr: 0.01 },
  ga: { epochs: 2, lr: 0.002, batchSize: 8 },
  'neg-grad-plus': { epochs: 0.5, alpha: 0.9 },
  rl: { epochs: 0.5 },
  'l1-sparse': { epochs: 0.5, lr: 0.01 },
  salun: { epochs: 0.5, maskRatio: 0.3 },
  scrub: { epochs: 1, maxEpochs: 1, lr: 0.01 },
  jtt: { epochs: 0.5, lr: 0.01 },
};

test('uib-if is in the registry and runs on the bias scenario: phases, prior record, no leaks', async () => {
  const f = await fixture('bias');
  const { r, leaked } = await run('uib-if', {
    epochs: 0.5,
    fisherSamples: 200,
    searchSamples: 100,
  });
  assert.equal(leaked, 0, `uib-if leaked ${leaked} tensors`);
  for (const phase of ['fisher', 'prior', 'finetune'])
    assert.ok(r.stats.phases[phase] > 0, `phase ${phase}`);
  const prior = r.details.prior as { kind: string; source: string; alpha: number };
  assert.equal(prior.kind, 'fisher-stratified');
  assert.equal(prior.source, 'subsample');
  // The step raised the forget loss at least as much as the retain loss (it targets ΔD).
  const dF =
    (await evaluate(r.model, f.scenario.forget)).loss -
    (await evaluate(f.original, f.scenario.forget)).loss;
  const dR =
    (await evaluate(r.model, f.scenario.retain)).loss -
    (await evaluate(f.original, f.scenario.retain)).loss;
  assert.ok(dF > dR, `forget loss change ${dF} vs retain ${dR}`);
  r.model.dispose();
});

test('+uib variants take the base parameters, β and the prefixed prior parameters, checked', () => {
  const m = getMethod('ft+uib');
  const p = parseParams(m, { lr: 0.02, priorTau: 0.1 });
  assert.equal(p.lr, 0.02);
  assert.equal(p.priorTau, 0.1);
  assert.equal(p.priorFisher, 'fisher-stratified');
  assert.equal(p.beta, 1);
  assert.throws(
    () => parseParams(m, { priorTau: -1 }),
    (e: unknown) => e instanceof UsageError && /ft\+uib\.priorTau.*got -1/.test(e.message),
  );
  assert.throws(
    () => parseParams(m, { tau: 0.1 }),
    (e: unknown) => e instanceof UsageError && /priorTau/.test(e.message),
  );
  assert.throws(
    () => parseParams(m, { priorFisher: 'exact' }),
    (e: unknown) =>
      e instanceof UsageError &&
      /one of fisher, fisher-sampled, fisher-stratified, kfac/.test(e.message),
  );
});

test('every base method with a +uib variant is covered below', () => {
  assert.deepEqual(
    BASE_METHODS.filter((m) => m.supportsUib)
      .map((m) => m.id)
      .sort(),
    Object.keys(BASES).sort(),
  );
});

const weightBits = (m: LayersModel) => m.weights.map((w) => sha256(w.read().dataSync()));

for (const [base, params] of Object.entries(BASES)) {
  test(`${base}+uib runs without leaks; β = 0 is ${base} bit for bit; a heavy bound ends nearer its centre`, async () => {
    const id = `${base}+uib`;
    const plain = await run(base, params);
    const free = await run(id, { ...params, ...PRIOR, beta: 0 });
    const bound = await run(id, { ...params, ...PRIOR, beta: 300 });
    // Common random numbers: the variant draws the base's batches and labels (the prior has a
    // stream of its own), so with the bound's weight at 0 it is the base method exactly.
    assert.deepEqual(
      weightBits(free.r.model),
      weightBits(plain.r.model),
      `${id} at β = 0 differs from ${base}`,
    );
    plain.r.model.dispose();
    assert.equal(free.leaked, 0, `${id} (β = 0) leaked ${free.leaked} tensors`);
    assert.equal(bound.leaked, 0, `${id} leaked ${bound.leaked} tensors`);
    for (const { r } of [free, bound]) {
      assert.ok(r.stats.phases.fisher > 0 && r.stats.phases.prior > 0);
      assert.ok(Number.isFinite(r.details.boundAtEnd as number));
    }
    // Same seed, same prior: only β differs, so the bound alone explains the difference.
    assert.deepEqual(
      (free.r.details.prior as { alpha: number }).alpha,
      (bound.r.details.prior as { alpha: number }).alpha,
    );
    const rFree = free.r.details.boundAtEnd as number;
    const rBound = bound.r.details.boundAtEnd as number;
    assert.ok(rBound < rFree, `${id}: Σ R at the end ${rBound} (β = 300) vs ${rFree} (β = 0)`);
    free.r.model.dispose();
    bound.r.model.dispose();
  });
}
