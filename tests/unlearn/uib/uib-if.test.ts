import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { Rng, rngFor } from '../../../src/core/rng.ts';
import type { Dataset } from '../../../src/data/dataset.ts';
import { buildModel, paramGroups } from '../../../src/models/index.ts';
import { CostCounter } from '../../../src/train/cost.ts';
import { trainLoop } from '../../../src/train/loop.ts';
import { uibIf } from '../../../src/unlearn/methods/uib-if.ts';
import type { UnlearnContext } from '../../../src/unlearn/types.ts';
import { buildPrior } from '../../../src/unlearn/uib/prior.ts';
import { buildUibPlugin, uibRegularizer } from '../../../src/unlearn/uib/regularizer.ts';
import { logregModel, maxRelErr, synthetic, tinyCnn, useCpu } from './helpers.ts';
import { fit } from './logreg.ts';

before(useCpu);

function ctxFor(original: LayersModel, retain: Dataset, forget: Dataset): UnlearnContext {
  return {
    original,
    spec: {
      arch: 'mlp',
      inputShape: [...retain.sampleShape],
      numClasses: retain.numClasses,
      seed: 0,
    },
    recipe: { optimizer: { name: 'sgd', lr: 0.1 }, epochs: 1, batchSize: 32, seed: 0 },
    data: { retain, forget },
    numTrain: retain.length + forget.length,
    rng: new Rng(1),
    stream: (label) => rngFor(1, label),
    cost: new CostCounter(),
    train: trainLoop,
    quiet: true,
  };
}

function split(data: Dataset, forget: number[]) {
  const f = new Set(forget);
  const retain = Array.from({ length: data.length }, (_, i) => i).filter((i) => !f.has(i));
  return { retain: data.subset(retain, 'retain'), forget: data.subset(forget, 'forget') };
}

const params = (over: Record<string, unknown>) => uibIf.params.parse(over);

test('UIB-IF with β → 0 converges to the retrained optimum of L2-regularised logistic regression (1e-4 relative)', async () => {
  const [d, k, lambda] = [3, 2, 2];
  const data = synthetic(80, [d], k, 21, (x, rng) =>
    x[0] - 0.7 * x[1] + 0.5 * x[2] + 0.8 * rng.normal() > 0 ? 1 : 0,
  );
  const { retain, forget } = split(
    data,
    Array.from({ length: 16 }, (_, i) => i * 5),
  );
  const original = logregModel(d, k, fit(data, lambda));
  const retrained = fit(retain, lambda); // argmin Σ_{D_r} ℓ + (λ/2)‖θ‖², float64 Newton
  for (const beta of [0, 1e-6]) {
    const out = await uibIf.run(
      ctxFor(original, retain, forget),
      params({
        fisher: 'hessian',
        lambda,
        tau: 0,
        alpha: 1,
        beta,
        l2: lambda / retain.length,
        epochs: 400,
        batchSize: retain.length,
        lr: 1,
        momentum: 0.5,
      }),
    );
    const got = out.model.getWeights().flatMap((w) => [...w.dataSync()]);
    assert.ok(maxRelErr(got, retrained) < 1e-4, `β = ${beta}: ${maxRelErr(got, retrained)}`);
    assert.ok(out.phases!.fisher >= 0 && out.phases!.prior >= 0 && out.phases!.finetune > 0);
    out.model.dispose();
  }
  original.dispose();
});

test('E = 0 returns the prior mean; the original model is untouched', async () => {
  const original = buildModel({
    arch: 'mlp',
    inputShape: [3, 2],
    hidden: [6],
    numClasses: 3,
    seed: 1,
  });
  const before = original.getWeights().map((w) => w.dataSync().slice());
  const data = synthetic(120, [3, 2], 3, 2, (x) => (x[0] > 0.5 ? 2 : x[1] > 0 ? 1 : 0));
  const { retain, forget } = split(
    data,
    Array.from({ length: 120 }, (_, i) => i).filter((i) => data.label(i) === 2),
  );
  const p = params({ epochs: 0, fisher: 'fisher', searchSamples: 30, epsilon: 1 });
  const out = await uibIf.run(ctxFor(original, retain, forget), p);
  const prior = await buildPrior(
    original,
    paramGroups(original),
    { retain, forget },
    {
      kind: 'fisher',
      searchSamples: 30,
      epsilon: 1,
      fisherSamples: 1000,
      rng: new Rng(1).fork('uib-prior'),
    },
  );
  const mu = prior.groups.flatMap((g) => g.tensors.flatMap((t) => [...t.mean]));
  assert.deepEqual(
    out.model.getWeights().flatMap((w) => [...w.dataSync()]),
    mu,
  );
  assert.ok((out.details!.prior as { alpha: number }).alpha > 0);
  original.getWeights().forEach((w, i) => {
    assert.deepEqual(w.dataSync(), before[i]);
  });
  out.model.dispose();
  original.dispose();
});

test('regulariser: ½ Σ (θ − μ)ᵀ Λ (θ − μ) · β/n_r for diagonal and K-FAC precisions, by hand', async () => {
  const model = buildModel({
    arch: 'mlp',
    inputShape: [2, 2],
    hidden: [3],
    numClasses: 2,
    seed: 3,
  });
  const data = synthetic(50, [2, 2], 2, 6);
  const { retain, forget } = split(data, [0, 1, 2, 3, 4, 5]);
  const groups = paramGroups(model);
  for (const kind of ['fisher', 'kfac'] as const) {
    const prior = await buildPrior(
      model,
      groups,
      { retain, forget },
      { kind, tau: 0, alpha: 1, rng: new Rng(4) },
    );
    // Move the weights away from μ and evaluate the penalty there.
    const rng = new Rng(5);
    tf.tidy(() =>
      groups.forEach((g) => {
        g.params.forEach((p) => {
          const v = p.variable.read() as tf.Variable;
          v.assign(
            tf.add(
              v,
              tf.tensor(
                Float32Array.from({ length: v.size }, () => 0.1 * rng.normal()),
                v.shape,
              ),
            ),
          );
        });
      }),
    );
    const pen = uibRegularizer(prior, model, { beta: 3, nRetain: retain.length });
    const got = tf.tidy(
      () => pen.value({ step: 0, epoch: 0, totalSteps: 1, progress: 0 }).dataSync()[0],
    );
    pen.dispose();
    let expected = 0;
    prior.groups.forEach((pg, gi) => {
      const d = groups[gi].params.map((p, pi) =>
        (p.variable.read() as tf.Tensor).dataSync().map((v, j) => v - pg.tensors[pi].mean[j]),
      );
      pg.tensors.forEach((t, ti) => {
        if (t.diag)
          d[ti].forEach((x, j) => {
            expected += 0.5 * (pg.lambda + t.diag![j]) * x * x;
          });
      });
      for (const b of pg.kfac) {
        const D = [...d[b.kernel], ...(b.bias !== undefined ? d[b.bias] : [])];
        for (let i = 0; i < b.dimA; i++)
          for (let j = 0; j < b.dimG; j++) {
            expected += 0.5 * pg.lambda * D[i * b.dimG + j] ** 2;
            for (let i2 = 0; i2 < b.dimA; i2++)
              for (let j2 = 0; j2 < b.dimG; j2++)
                expected +=
                  0.5 *
                  retain.length *
                  D[i * b.dimG + j] *
                  b.A[i * b.dimA + i2] *
                  b.G[j * b.dimG + j2] *
                  D[i2 * b.dimG + j2];
          }
      }
    });
    expected *= 3 / retain.length;
    assert.ok(
      Math.abs(got - expected) < 1e-4 * Math.abs(expected),
      `${kind}: ${got} vs ${expected}`,
    );
    tf.tidy(() =>
      groups.forEach((g, gi) => {
        g.params.forEach((p, pi) => {
          (p.variable.read() as tf.Variable).assign(
            tf.tensor(prior.groups[gi].tensors[pi].theta, prior.groups[gi].tensors[pi].shape),
          );
        });
      }),
    );
  }
  model.dispose();
});

test('no tensor leaks: prior + E = 0 runs, the bound inside a gradient loop, and the plug-in', async () => {
  const original = tinyCnn(3);
  const data = synthetic(60, [6, 6, 2], 3, 3);
  const { retain, forget } = split(
    data,
    Array.from({ length: 10 }, (_, i) => i),
  );
  const run = async (fisher: string) => {
    const out = await uibIf.run(
      ctxFor(original, retain, forget),
      params({ fisher, epochs: 0, searchSamples: 16, alphaGrid: [1, 0.5] }),
    );
    out.model.dispose();
  };
  await run('kfac');
  const start = tf.memory().numTensors;
  await run('kfac');
  await run('fisher-sampled');
  const { penalty: factory } = await buildUibPlugin(ctxFor(original, retain, forget), {
    ...params({ searchSamples: 16, fisher: 'kfac' }),
    beta: 2,
  });
  const pen = factory(original);
  const vars = original.trainableWeights.map((w) => w.read() as tf.Variable);
  for (let i = 0; i < 3; i++) {
    const { value, grads } = tf.variableGrads(
      () => pen.value({ step: i, epoch: 0, totalSteps: 3, progress: i / 3 }),
      vars,
    );
    tf.dispose([value, ...Object.values(grads)]);
  }
  pen.dispose();
  assert.equal(tf.memory().numTensors, start);
  original.dispose();
});

test('no tensor leaks across a full UIB-IF run with fine-tuning', async () => {
  const original = tinyCnn(3);
  const data = synthetic(60, [6, 6, 2], 3, 3);
  const { retain, forget } = split(
    data,
    Array.from({ length: 10 }, (_, i) => i),
  );
  const run = async () => {
    const out = await uibIf.run(
      ctxFor(original, retain, forget),
      params({ fisher: 'kfac', steps: 3, batchSize: 16, searchSamples: 16 }),
    );
    out.model.dispose();
  };
  await run();
  const start = tf.memory().numTensors;
  await run();
  assert.equal(tf.memory().numTensors, start);
  original.dispose();
});
