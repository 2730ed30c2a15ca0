import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { Rng } from '../../../src/core/rng.ts';
import type { Dataset } from '../../../src/data/dataset.ts';
import { buildModel, paramGroups } from '../../../src/models/index.ts';
import { CostCounter } from '../../../src/train/cost.ts';
import {
  computeFisherCache,
  loadFisherCache,
  saveFisherCache,
} from '../../../src/unlearn/uib/fisher-cache.ts';
import { matmul, symmetricEigen } from '../../../src/unlearn/uib/linalg.ts';
import { buildPrior, type PriorGroup, solvePrecision } from '../../../src/unlearn/uib/prior.ts';
import { boundValue } from '../../../src/unlearn/uib/regularizer.ts';
import { logregModel, maxRelErr, synthetic, useCpu } from './helpers.ts';
import { fit, objective, solve } from './logreg.ts';

before(useCpu);

const linearLabel = (x: Float32Array, rng: Rng) =>
  x[0] - 0.7 * x[1] + 0.5 * x[2] + 0.8 * rng.normal() > 0 ? 1 : 0;

/** A 3-class MLP on 3×2 inputs, and a synthetic set it can fit (class 2 a coherent region). */
const tinyMlp = () =>
  buildModel({ arch: 'mlp', inputShape: [3, 2], hidden: [8], numClasses: 3, seed: 2 });
const threeClasses = (n: number) =>
  synthetic(n, [3, 2], 3, 4, (x) => (x[0] > 0.5 ? 2 : x[1] > 0 ? 1 : 0));

function split(data: Dataset, forget: number[]) {
  const f = new Set(forget);
  const retain = Array.from({ length: data.length }, (_, i) => i).filter((i) => !f.has(i));
  return { retain: data.subset(retain, 'retain'), forget: data.subset(forget, 'forget') };
}

test('eigen-decomposition reconstructs a symmetric matrix', () => {
  const rng = new Rng(1);
  const n = 7;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  const { values, vectors } = symmetricEigen(a, n);
  const vd = vectors.map((v, idx) => v * values[idx % n]);
  const back = matmul(vd, vectors, n, n, n, false, true);
  assert.ok(maxRelErr(back, a) < 1e-10);
});

test('K-FAC precision: solvePrecision inverts λI + n_r (A ⊗ G) exactly', () => {
  const rng = new Rng(3);
  const sym = (n: number) => {
    const b = Float64Array.from({ length: n * n }, () => rng.normal());
    return matmul(b, b, n, n, n, false, true); // B Bᵀ ⪰ 0
  };
  const [p, q] = [4, 3];
  const A = sym(p);
  const G = sym(q);
  const group: PriorGroup = {
    name: 'g',
    index: 0,
    isOutput: true,
    lambda: 0.7,
    tensors: [
      {
        layer: 'l',
        role: 'weight',
        shape: [p - 1, q],
        theta: new Float32Array(9),
        mean: new Float32Array(9),
        diag: null,
      },
      {
        layer: 'l',
        role: 'bias',
        shape: [q],
        theta: new Float32Array(3),
        mean: new Float32Array(3),
        diag: null,
      },
    ],
    kfac: [
      {
        layer: 'l',
        kernel: 0,
        bias: 1,
        A,
        dimA: p,
        G,
        dimG: q,
        eigA: symmetricEigen(A, p),
        eigG: symmetricEigen(G, q),
      },
    ],
  };
  const r = [
    Float32Array.from({ length: 9 }, () => rng.normal()),
    Float32Array.from({ length: 3 }, () => rng.normal()),
  ];
  const nR = 5;
  const x = solvePrecision(group, r, nR);
  // Λ x with the explicit Kronecker matrix: (Λx)_{ij} = λ x_ij + n_r Σ_kl A_ik G_jl x_kl.
  const X = [...x[0], ...x[1]];
  const R = [...r[0], ...r[1]];
  for (let i = 0; i < p; i++)
    for (let j = 0; j < q; j++) {
      let s = 0.7 * X[i * q + j];
      for (let k2 = 0; k2 < p; k2++)
        for (let l = 0; l < q; l++) s += nR * A[i * p + k2] * G[j * q + l] * X[k2 * q + l];
      assert.ok(Math.abs(s - R[i * q + j]) < 1e-4 * (1 + Math.abs(R[i * q + j])));
    }
});

test('exact Hessian, no trust region, α = 1: the prior mean is one Newton step on the retained objective', async () => {
  const [d, k, lambda] = [3, 2, 2];
  const data = synthetic(80, [d], k, 21, linearLabel);
  const thetaHat = fit(data, lambda);
  const { retain, forget } = split(
    data,
    Array.from({ length: 12 }, (_, i) => i * 5),
  );
  // Newton step on Σ_{D_r} ℓ + (λ/2)‖θ‖² from θ̂, in float64.
  const { g, H, dim } = objective(retain, thetaHat, lambda);
  const step = solve(H, g, dim);
  const newton = thetaHat.map((v, j) => v - step[j]);
  const model = logregModel(d, k, thetaHat);
  const groups = paramGroups(model);
  const prior = await buildPrior(
    model,
    groups,
    { retain, forget },
    { kind: 'hessian', lambda, tau: 0, alpha: 1, rng: new Rng(1) },
  );
  const mu = [...prior.groups[0].tensors[0].mean, ...prior.groups[0].tensors[1].mean];
  const moved = newton.map((v, j) => v - thetaHat[j]);
  const got = mu.map((v, j) => v - thetaHat[j]);
  assert.ok(Math.sqrt(moved.reduce((s, v) => s + v * v, 0)) > 0.05, 'the step is not trivial');
  assert.ok(maxRelErr(got, moved) < 2e-3, `step error ${maxRelErr(got, moved)}`);
  // And the retain-gradient mean is the same Newton step, without assuming ∇L_D(θ̂) = 0, once the
  // L2 term is part of the gradient (here: exactly −Λ⁻¹Σ_{D_r}∇ℓ, checked against float64).
  const pr = await buildPrior(
    model,
    groups,
    { retain, forget },
    { kind: 'hessian', lambda, tau: 0, alpha: 1, mean: 'retain-gradient', rng: new Rng(1) },
  );
  const gr = objective(retain, thetaHat, 0).g; // Σ_{D_r}∇ℓ
  const expect = solve(H, gr, dim).map((v) => -v);
  const got2 = [...pr.groups[0].tensors[0].mean, ...pr.groups[0].tensors[1].mean].map(
    (v, j) => v - thetaHat[j],
  );
  assert.ok(
    maxRelErr(got2, expect) < 2e-3,
    `retain-gradient step error ${maxRelErr(got2, expect)}`,
  );
  assert.equal(prior.record.alpha, 1);
  assert.equal(prior.record.kind, 'hessian');
  model.dispose();
});

/**
 * Class 1 carries a spurious feature x3 ≈ 2 on 30 % of its samples; the systematic ΔD is those
 * samples, the random ΔD as many samples drawn uniformly.
 */
async function shiftRatio(
  n: number,
  opt: { kind: 'hessian' | 'fisher'; c?: number; lambda?: number },
) {
  const d = 4;
  const data = synthetic(n, [d], 2, 5, (x, rng) => {
    const y = x[0] + 0.5 * x[1] + 0.7 * rng.normal() > 0 ? 1 : 0;
    x[3] = y === 1 && rng.next() < 0.3 ? 2 + 0.1 * rng.normal() : 0.1 * rng.normal();
    return y;
  });
  const all = data.gather(Array.from({ length: n }, (_, i) => i)).x;
  const systematic = Array.from({ length: n }, (_, i) => i).filter((i) => all[i * d + 3] > 1);
  const random = [...new Rng(9).permutation(n).subarray(0, systematic.length)];
  const model = logregModel(d, 2, fit(data, 1));
  const groups = paramGroups(model);
  const shift = async (forget: number[]) => {
    const prior = await buildPrior(model, groups, split(data, forget), {
      ...opt,
      tau: 0,
      alpha: 1,
      rng: new Rng(2),
    });
    return Math.hypot(...prior.record.groups[0].tensors.map((t) => t.stepNorm));
  };
  const sys = await shift(systematic);
  const rnd = await shift(random);
  model.dispose();
  assert.ok(systematic.length > 0.05 * n);
  return { sys, rnd, ratio: rnd / sys };
}

test('a random ΔD moves the prior far less than a systematic ΔD of the same size', async () => {
  // Exact Newton regime (Λ = λ_L2·I + n_r·H) and a lightly damped diagonal Fisher: ratio ≈ 0.14.
  for (const opt of [
    { kind: 'hessian', lambda: 1 },
    { kind: 'fisher', c: 0.01 },
  ] as const) {
    const r = await shiftRatio(400, opt);
    assert.ok(r.ratio < 0.25, `${opt.kind}: random ${r.rnd} vs systematic ${r.sys}`);
  }
  // With the default damping c = 1 the median-scaled λ swamps the spurious weight's small
  // curvature; the separation then needs more data (n = 400 gives ratio ≈ 1.5, n = 1000 ≈ 0.26).
  const r = await shiftRatio(1000, { kind: 'fisher', c: 1 });
  assert.ok(r.ratio < 0.4, `c = 1: random ${r.rnd} vs systematic ${r.sys}`);
});

test('trust region and line search: steps respect τ·‖θ̂‖ per tensor, α is the largest with slice loss rise ≤ ε', async () => {
  const model = tinyMlp();
  const data = threeClasses(300);
  // Forget = all class-2 samples: a coherent request.
  const forget = Array.from({ length: 300 }, (_, i) => i).filter((i) => data.label(i) === 2);
  const { retain, forget: f } = split(data, forget);
  const groups = paramGroups(model);
  const before = model.getWeights().map((w) => w.dataSync().slice());
  const prior = await buildPrior(
    model,
    groups,
    { retain, forget: f },
    {
      kind: 'fisher-sampled',
      fisherSamples: 100,
      searchSamples: 80,
      epsilon: 0.05,
      rng: new Rng(3),
    },
  );
  // θ̂ restored bit for bit after the search.
  model.getWeights().forEach((w, i) => {
    assert.deepEqual(w.dataSync(), before[i]);
  });
  const r = prior.record;
  assert.equal(r.source, 'subsample');
  assert.equal(r.fisherSamples, 100);
  for (const g of r.groups)
    for (const t of g.tensors)
      assert.ok(t.relStep <= 0.3 + 1e-6, `${t.layer}/${t.role} ${t.relStep}`);
  // Bisection: every α tried above the chosen one was rejected, every one at or below accepted,
  // and the grid's next larger α (if any) was tried and rejected.
  assert.ok(r.search.length >= 1);
  for (const t of r.search) {
    const ok = t.sliceLoss - r.baseSliceLoss! <= 0.05;
    assert.equal(
      ok,
      t.alpha <= r.alpha && r.alpha > 0,
      `α ${t.alpha}: rise ${t.sliceLoss - r.baseSliceLoss!}`,
    );
  }
  if (r.alpha > 0) assert.ok(r.search.some((t) => t.alpha === r.alpha));
  // The bound is zero at μ and positive at θ̂ (when the prior moved).
  const hat = boundValue(prior, model);
  if (r.alpha > 0) assert.ok(hat > 0);
  assert.equal(boundValue(prior, model, 'original'), 0);
  model.dispose();
});

test('Fisher cache: saved and loaded beside a checkpoint; F_r from it equals (n·F_D − n_f·F_f)/n_r clipped', async () => {
  const model = buildModel({
    arch: 'mlp',
    inputShape: [3, 2],
    hidden: [4],
    numClasses: 2,
    seed: 5,
  });
  const data = synthetic(60, [3, 2], 2, 8);
  const groups = paramGroups(model);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-fisher-'));
  const cache = computeFisherCache(model, groups, data, { kind: 'fisher' });
  saveFisherCache(dir, groups, cache);
  const loaded = loadFisherCache(dir, groups, model)!;
  assert.equal(loaded.n, 60);
  assert.deepEqual(loaded.diag, cache.diag);
  const { retain, forget } = split(data, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const fromCache = await buildPrior(
    model,
    groups,
    { retain, forget },
    { kind: 'fisher', cache: loaded, tau: 0, alpha: 1, c: 1, rng: new Rng(1) },
  );
  const direct = await buildPrior(
    model,
    groups,
    { retain, forget },
    {
      kind: 'fisher',
      fisherSamples: 1e9,
      tau: 0,
      alpha: 1,
      c: 1,
      rng: new Rng(1),
      searchSamples: 1,
    },
  );
  assert.equal(fromCache.record.source, 'cache');
  // Empirical Fisher is additive, so the cache route equals the direct one on all of D_r.
  fromCache.groups.forEach((g, gi) => {
    g.tensors.forEach((t, ti) => {
      assert.ok(maxRelErr(t.diag!, direct.groups[gi].tensors[ti].diag!) < 1e-4);
    });
  });
  assert.equal(loadFisherCache(path.join(dir, 'missing'), groups, model), null);
  fs.rmSync(dir, { recursive: true, force: true });
  model.dispose();
});

test('forgetSamples: g_f is a mean over a seeded subsample of ΔD, scaled by the true n_f', async () => {
  const model = tinyMlp();
  const data = threeClasses(200);
  // ΔD = one sample repeated 40 times: every subsample has exactly the full mean gradient, so
  // the prior must not change — only the work done for it.
  const k = 7;
  const retain = data.subset(
    Array.from({ length: 200 }, (_, i) => i).filter((i) => i !== k),
    'retain',
  );
  const forget = data.subset(new Array(40).fill(k), 'forget');
  const groups = paramGroups(model);
  const build = (forgetSamples?: number) =>
    buildPrior(
      model,
      groups,
      { retain, forget },
      {
        kind: 'fisher',
        alpha: 0.5,
        tau: 0,
        forgetSamples,
        rng: new Rng(5),
        cost: new CostCounter(),
      },
    );
  const full = await build();
  const sub = await build(10);
  const all = await build(1000);
  assert.equal(full.record.forgetSamples, 40);
  assert.equal(sub.record.forgetSamples, 10);
  assert.equal(all.record.forgetSamples, 40);
  assert.equal(sub.record.nForget, 40);
  assert.equal(full.record.gradEvals - sub.record.gradEvals, 30);
  full.groups.forEach((g, gi) => {
    g.tensors.forEach((t, ti) => {
      const step = t.mean.map((m, j) => m - t.theta[j]);
      const subStep = sub.groups[gi].tensors[ti].mean.map((m, j) => m - t.theta[j]);
      assert.ok(
        step.some((v) => v !== 0),
        `${t.layer}/${t.role} moved`,
      );
      assert.ok(maxRelErr(subStep, step) < 1e-4, `${t.layer}/${t.role}`);
    });
  });
  model.dispose();
});

test('sham: the step of the same norm per tensor, in a random direction; the rest of the prior unchanged', async () => {
  const model = tinyMlp();
  const groups = paramGroups(model);
  const data = threeClasses(120);
  const { retain, forget } = split(
    data,
    Array.from({ length: 120 }, (_, i) => i).filter((i) => i % 4 === 0),
  );
  const opts = { kind: 'fisher' as const, tau: 0, alpha: 1, c: 1, searchSamples: 10 };
  const real = await buildPrior(model, groups, { retain, forget }, { ...opts, rng: new Rng(5) });
  const sham = await buildPrior(
    model,
    groups,
    { retain, forget },
    { ...opts, rng: new Rng(5), sham: true },
  );
  assert.equal(sham.record.sham, true);
  assert.equal(real.record.sham, false);
  real.groups.forEach((g, gi) => {
    g.tensors.forEach((t, ti) => {
      const s = sham.groups[gi].tensors[ti];
      const dReal = t.mean.map((m, j) => m - t.theta[j]);
      const dSham = s.mean.map((m, j) => m - s.theta[j]);
      const norm = (v: ArrayLike<number>) =>
        Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));
      const nr = norm(dReal);
      assert.ok(Math.abs(norm(dSham) - nr) <= 1e-5 * Math.max(nr, 1e-12), 'same norm');
      assert.deepEqual(s.diag, t.diag, 'the same precision');
      if (dReal.length >= 8 && nr > 0) {
        const cos = dReal.reduce((a, x, j) => a + x * dSham[j], 0) / (nr * norm(dSham));
        assert.ok(Math.abs(cos) < 0.9, `a random direction (cos ${cos})`);
      }
    });
  });
  model.dispose();
});
