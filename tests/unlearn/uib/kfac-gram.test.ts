/**
 * The Gram route of the K-FAC prior (docs/method.md §3): where a factor F = scale·XᵀX has fewer
 * rows than dimensions, the prior decomposes the rows × rows Gram scale·XXᵀ and solves with
 * Λ⁻¹R = R/λ + (correction on range(A) ⊗ range(G)). Checked against brute force on tiny cases:
 * the dense eigendecomposition of F (1e-8 relative, float64), the explicit Kronecker matrix, and
 * the rows the curvature pass keeps.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../../src/core/rng.ts';
import { paramGroups } from '../../../src/models/index.ts';
import { computeCurvature } from '../../../src/unlearn/curvature/index.ts';
import { kfacStats, takeKfacFactors } from '../../../src/unlearn/curvature/kfac.ts';
import { Sums } from '../../../src/unlearn/curvature/sums.ts';
import type { FactorRows, KfacFactors, Tap } from '../../../src/unlearn/curvature/types.ts';
import { gramOfRows, matmul, symmetricEigen } from '../../../src/unlearn/uib/linalg.ts';
import {
  factorSpectrum,
  type KfacBlock,
  precisionGroups,
  solveKfacBlock,
} from '../../../src/unlearn/uib/precision.ts';
import { synthetic, tinyCnn, useCpu } from './helpers.ts';

before(useCpu);

/** ‖a − b‖_∞ / ‖b‖_∞. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / Math.max(s, Number.MIN_VALUE);
}

/** Rows of float32 values (what the pass keeps), ReLU-like with some dead columns. */
function randomRows(rows: number, dim: number, rng: Rng, scale: number): FactorRows {
  const x = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < dim; c++) x[r * dim + c] = c % 5 === 3 ? 0 : Math.max(0, rng.normal());
  return { x, rows, scale };
}

/** F = scale·XᵀX in float64, by brute force. */
function gramFactor(r: FactorRows, dim: number): Float64Array {
  const f = new Float64Array(dim * dim);
  for (let k = 0; k < r.rows; k++)
    for (let i = 0; i < dim; i++)
      for (let j = 0; j < dim; j++) f[i * dim + j] += r.scale * r.x[k * dim + i] * r.x[k * dim + j];
  return f;
}

function block(
  p: number,
  q: number,
  A: Float64Array,
  G: Float64Array,
  rowsA?: FactorRows,
  rowsG?: FactorRows,
): KfacBlock {
  return {
    layer: 'l',
    kernel: 0,
    bias: 1,
    A,
    dimA: p,
    G,
    dimG: q,
    eigA: factorSpectrum(A, p, rowsA),
    eigG: factorSpectrum(G, q, rowsG),
  };
}

/** (λI + n_r A⊗G) X with the explicit Kronecker sum: λ X_ij + n_r Σ_kl A_ik G_jl X_kl. */
function applyPrecision(b: KfacBlock, x: Float64Array, lambda: number, nR: number): Float64Array {
  const { dimA: p, dimG: q } = b;
  const out = new Float64Array(p * q);
  for (let i = 0; i < p; i++)
    for (let j = 0; j < q; j++) {
      let s = lambda * x[i * q + j];
      for (let k = 0; k < p; k++)
        for (let l = 0; l < q; l++) s += nR * b.A[i * p + k] * b.G[j * q + l] * x[k * q + l];
      out[i * q + j] = s;
    }
  return out;
}

test('gramOfRows is scale·XXᵀ (brute force; row counts around the 4-row blocks)', () => {
  const rng = new Rng(1);
  for (const [m, n] of [
    [1, 3],
    [3, 5],
    [4, 4],
    [7, 2],
    [9, 13],
  ]) {
    const x = Float64Array.from({ length: m * n }, () => rng.normal());
    const want = matmul(x, x, m, n, m, false, true).map((v) => v * 0.25);
    assert.ok(relErr(gramOfRows(x, m, n, 0.25), want) < 1e-15, `${m}×${n}`);
  }
  assert.throws(() => gramOfRows(new Float64Array(5), 2, 3), /2×3/);
});

test('Gram route spectrum: the non-zero eigenpairs of scale·XᵀX, the rest exactly 0', () => {
  const rng = new Rng(2);
  const [m, dim] = [6, 17];
  const rows = randomRows(m, dim, rng, 1 / 3);
  const f = gramFactor(rows, dim);
  const sp = factorSpectrum(f, dim, rows);
  assert.ok(sp.gram, 'rows < dim takes the Gram route');
  const { x, u, scale } = sp.gram;
  // b_k = Xᵀu_k: F b_k = s_k b_k and ‖b_k‖² = s_k/scale.
  const b = matmul(x, u, dim, m, m, true); // dim × m
  const fb = matmul(f, b, dim, dim, m);
  const top = Math.max(...sp.values);
  for (let k = 0; k < m; k++) {
    let res = 0;
    let norm2 = 0;
    for (let i = 0; i < dim; i++) {
      res = Math.max(res, Math.abs(fb[i * m + k] - sp.values[k] * b[i * m + k]));
      norm2 += b[i * m + k] ** 2;
    }
    assert.ok(res < 1e-12 * top, `F b_${k} − s b_${k}: ${res}`);
    assert.ok(Math.abs(norm2 - sp.values[k] / scale) < 1e-12 * (top / scale), `‖b_${k}‖²`);
  }
  // The dense decomposition: the same m largest eigenvalues, and dim − m zeros.
  const dense = symmetricEigen(f, dim).values;
  const asc = [...sp.values].sort((p, q) => p - q);
  for (let k = 0; k < m; k++)
    assert.ok(Math.abs(dense[dim - m + k] - asc[k]) < 1e-12 * top, `eigenvalue ${k}`);
  for (let k = 0; k < dim - m; k++) assert.ok(Math.abs(dense[k]) < 1e-12 * top, `zero ${k}`);
  // rows ≥ dim: the dense route, whatever rows are given.
  const many = randomRows(dim, dim, rng, 1);
  assert.equal(factorSpectrum(gramFactor(many, dim), dim, many).gram, undefined);
});

test('K-FAC solve, Gram route = dense route to 1e-8 (float64), rows < dim and rows ≥ dim, A and G', () => {
  const rng = new Rng(3);
  const cases: { p: number; q: number; mA: number; mG: number; lambda: number }[] = [
    { p: 9, q: 3, mA: 4, mG: 5, lambda: 0.7 }, // A low-rank, G full
    { p: 4, q: 8, mA: 6, mG: 3, lambda: 0.2 }, // A full, G low-rank
    { p: 11, q: 7, mA: 5, mG: 2, lambda: 1.3 }, // both low-rank
    { p: 10, q: 4, mA: 9, mG: 4, lambda: 1e-3 }, // rows = dim − 1; small λ (large n_r s t/λ)
    { p: 6, q: 3, mA: 6, mG: 3, lambda: 0.5 }, // rows = dim: dense on both sides
    { p: 13, q: 2, mA: 1, mG: 1, lambda: 2 }, // rank 1
  ];
  for (const { p, q, mA, mG, lambda } of cases) {
    const label = `p=${p} q=${q} rows ${mA}/${mG} λ=${lambda}`;
    const rowsA = randomRows(mA, p, rng, 1 / (mA + 1));
    const rowsG = randomRows(mG, q, rng, 0.5);
    const A = gramFactor(rowsA, p);
    const G = gramFactor(rowsG, q);
    const gram = block(p, q, A, G, rowsA, rowsG);
    const dense = block(p, q, A, G);
    assert.equal(gram.eigA.gram !== undefined, mA < p, `${label}: route of A`);
    assert.equal(gram.eigG.gram !== undefined, mG < q, `${label}: route of G`);
    const nR = 7;
    for (let trial = 0; trial < 3; trial++) {
      const R = Float64Array.from({ length: p * q }, () => rng.normal());
      const xGram = solveKfacBlock(gram, R, lambda, nR);
      const xDense = solveKfacBlock(dense, R, lambda, nR);
      assert.ok(relErr(xGram, xDense) < 1e-8, `${label}: ${relErr(xGram, xDense)}`);
      // Λ x = R with the explicit Kronecker matrix, and the quadratic form Rᵀ Λ⁻¹ R.
      assert.ok(relErr(applyPrecision(gram, xGram, lambda, nR), R) < 1e-10, `${label}: Λx = R`);
      let qg = 0;
      let qd = 0;
      for (let i = 0; i < R.length; i++) {
        qg += R[i] * xGram[i];
        qd += R[i] * xDense[i];
      }
      assert.ok(Math.abs(qg - qd) < 1e-8 * Math.abs(qd), `${label}: Rᵀ Λ⁻¹ R`);
    }
  }
});

test('K-FAC solve, Gram route: repeated rows and dead inputs (rank below the row count)', () => {
  const rng = new Rng(4);
  const [p, q, m] = [12, 3, 6];
  const rowsA = randomRows(m, p, rng, 1 / m);
  rowsA.x.copyWithin(3 * p, 0, 3 * p); // rows 3-5 repeat rows 0-2: rank 3, three zero Gram eigenvalues
  const rowsG = randomRows(q + 2, q, rng, 1);
  const A = gramFactor(rowsA, p);
  const G = gramFactor(rowsG, q);
  const gram = block(p, q, A, G, rowsA);
  const dense = block(p, q, A, G);
  assert.ok(gram.eigA.gram);
  const R = Float64Array.from({ length: p * q }, () => rng.normal());
  const xGram = solveKfacBlock(gram, R, 0.3, 11);
  assert.ok(relErr(xGram, solveKfacBlock(dense, R, 0.3, 11)) < 1e-8);
  // A dead input (column 3 of X is 0) is outside range(A): its rows of x are R/λ exactly.
  for (let j = 0; j < q; j++) assert.ok(Math.abs(xGram[3 * q + j] - R[3 * q + j] / 0.3) < 1e-14);
});

/** A fake tap for kfacStats: only the layer's name and whether it has a bias are read. */
const tapOf = (name: string, useBias: boolean): Tap =>
  ({
    layer: { name, useBias },
    kind: 'dense',
    slots: [
      { weight: 'kernel', group: 0, param: 0 },
      { weight: 'bias', group: 0, param: 1 },
    ],
  }) as unknown as Tap;

test('kfacStats keeps the rows while there are fewer than dim, and drops them at dim', () => {
  const rng = new Rng(5);
  const [k, c, pcount] = [7, 2, 3];
  const batches = [2, 1]; // 2·3 + 1·3 = 9 rows of A (dim 8 with the bias): A's rows dropped
  const tap = tapOf('l', true);
  const sums = new Sums();
  const us: Float32Array[] = [];
  const ds: Float32Array[] = [];
  for (const b of batches) {
    const u = Float32Array.from({ length: b * pcount * k }, () => rng.normal());
    const d = Float32Array.from({ length: b * pcount * c }, () => rng.normal());
    us.push(u);
    ds.push(d);
    tf.tidy(() => {
      kfacStats(tap, tf.tensor3d(u, [b, pcount, k]), tf.tensor3d(d, [b, pcount, c]), sums);
    });
  }
  const n = batches.reduce((s, b) => s + b, 0);
  const [f] = takeKfacFactors([tap], sums, n) as KfacFactors[];
  sums.dispose();
  assert.equal(f.rowsA, undefined, '9 rows ≥ dimA 8: no rows kept');
  assert.equal(f.rowsG, undefined, '9 rows ≥ dimG 2');

  // One batch of 2 examples × 3 positions = 6 rows < 8: A's rows are kept, with the bias 1.
  const sums2 = new Sums();
  tf.tidy(() => {
    kfacStats(tap, tf.tensor3d(us[0], [2, pcount, k]), tf.tensor3d(ds[0], [2, pcount, c]), sums2);
  });
  const [g] = takeKfacFactors([tap], sums2, 2);
  sums2.dispose();
  assert.ok(g.rowsA);
  assert.equal(g.rowsA.rows, 6);
  assert.equal(g.rowsA.scale, 1 / 2);
  for (let r = 0; r < 6; r++) {
    assert.deepEqual(
      [...g.rowsA.x.subarray(r * 8, r * 8 + 7)],
      [...us[0].subarray(r * k, r * k + k)],
    );
    assert.equal(g.rowsA.x[r * 8 + 7], 1);
  }
  // The rows reproduce the factor the sums built (float32 sums: 1e-5).
  assert.ok(relErr(gramFactor(g.rowsA, 8), g.A) < 1e-5);
  assert.equal(g.rowsG, undefined, '6 rows ≥ dimG 2');
});

test('kfacStats keeps G rows with weight 1/P where δ has fewer rows than filters', () => {
  const rng = new Rng(6);
  const [k, c, pcount] = [3, 9, 2];
  const tap = tapOf('wide', false);
  const sums = new Sums();
  const u = Float32Array.from({ length: 2 * pcount * k }, () => rng.normal());
  const d = Float32Array.from({ length: 2 * pcount * c }, () => rng.normal());
  tf.tidy(() => {
    kfacStats(tap, tf.tensor3d(u, [2, pcount, k]), tf.tensor3d(d, [2, pcount, c]), sums);
  });
  const [f] = takeKfacFactors([tap], sums, 2);
  sums.dispose();
  assert.equal(f.rowsA, undefined, '4 rows ≥ dimA 3');
  assert.ok(f.rowsG);
  assert.equal(f.rowsG.rows, 4);
  assert.equal(f.rowsG.scale, 1 / (pcount * 2));
  assert.ok(relErr(gramFactor(f.rowsG, c), f.G) < 1e-5);
});

test('prior precision of a CNN from a curvature pass: Gram route = dense route to 1e-8', () => {
  const model = tinyCnn(3);
  const groups = paramGroups(model);
  // Two examples: conv_1 sees 2·9 = 18 patch rows (< 19 inputs + bias), conv_2 2·4 = 8 (< 13).
  const data = synthetic(2, [6, 6, 2], 3, 8);
  const curv = computeCurvature(model, groups, data, {
    labels: 'sampled',
    rng: new Rng(9),
    kfac: true,
  });
  const byLayer = new Map(curv.kfac!.map((f) => [f.layer, f]));
  assert.equal(byLayer.get('conv_1')!.rowsA?.rows, 18);
  assert.equal(byLayer.get('conv_2')!.rowsA?.rows, 8);
  // The dense route on the very factors the rows give (float64), so that only the route differs.
  const exact = curv.kfac!.map((f) => ({
    ...f,
    A: f.rowsA ? gramFactor(f.rowsA, f.dimA) : f.A,
    G: f.rowsG ? gramFactor(f.rowsG, f.dimG) : f.G,
  }));
  const inputs = (kfac: KfacFactors[]) => ({
    kind: 'kfac' as const,
    diagR: curv.diag!,
    retain: { ...curv, kfac },
    dense: null,
    nRetain: 40,
    c: 0.5,
  });
  const viaGram = precisionGroups(groups, inputs(exact));
  const viaDense = precisionGroups(
    groups,
    inputs(exact.map(({ rowsA: _a, rowsG: _g, ...f }) => f)),
  );
  const rng = new Rng(10);
  let gramBlocks = 0;
  viaGram.forEach((pg, gi) => {
    assert.equal(pg.lambda, viaDense[gi].lambda);
    pg.kfac.forEach((b, bi) => {
      if (b.eigA.gram || b.eigG.gram) gramBlocks++;
      const d = viaDense[gi].kfac[bi];
      assert.equal(d.eigA.gram, undefined);
      const R = Float64Array.from({ length: b.dimA * b.dimG }, () => rng.normal());
      const xg = solveKfacBlock(b, R, pg.lambda, 40);
      const xd = solveKfacBlock(d, R, pg.lambda, 40);
      assert.ok(relErr(xg, xd) < 1e-8, `${b.layer}: ${relErr(xg, xd)}`);
    });
  });
  assert.ok(gramBlocks >= 2, 'both convolutions took the Gram route');
  model.dispose();
});
