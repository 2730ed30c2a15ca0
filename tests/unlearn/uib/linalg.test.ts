/**
 * symmetricEigen (Householder + implicit QL), and LAPACK's dsyevd through the native addon where
 * it is built with OpenBLAS (the K-FAC prior's fast path), against what an eigendecomposition must satisfy:
 * A = V diag(w) Vᵀ, VᵀV = I, A v_j = w_j v_j for column j of V, ascending w, the invariants
 * Σw = tr A and Σw² = ‖A‖_F², and closed forms where they exist.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nativeMatmul64, nativeSymmetricEigen } from '../../../src/backend/native/linalg.ts';
import { Rng } from '../../../src/core/rng.ts';
import { matmul, symmetricEigen } from '../../../src/unlearn/uib/linalg.ts';

type Eigen = typeof symmetricEigen;
const lapack: Eigen = (a, n) => {
  const got = nativeSymmetricEigen(a, n);
  if (!got) throw new Error('the native solver declined a finite matrix');
  return got;
};
const SOLVERS: { name: string; eigen: Eigen }[] = [
  { name: 'JS', eigen: symmetricEigen },
  ...(nativeSymmetricEigen(Float64Array.of(1), 1) ? [{ name: 'LAPACK', eigen: lapack }] : []),
];
/** The solver the running test checks (the tests are synchronous). */
let solve: Eigen = symmetricEigen;
/** One test per solver. */
function eigenTest(name: string, fn: () => void): void {
  for (const s of SOLVERS)
    test(`${s.name}: ${name}`, () => {
      solve = s.eigen;
      fn();
    });
}

const TOL = 1e-9;

function randomSymmetric(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

/** Xᵀ X / m for an m×n X: positive semi-definite, rank ≤ m (what K-FAC's factors are). */
function gram(x: Float64Array, m: number, n: number): Float64Array {
  return matmul(x, x, n, m, n, true, false).map((v) => v / m);
}

function maxAbs(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]));
  return s;
}

/** Asserts every defining property; returns the decomposition for case-specific checks. */
function checkEigen(a: Float64Array, n: number, label: string) {
  const { values, vectors } = solve(a, n);
  assert.equal(values.length, n, label);
  assert.equal(vectors.length, n * n, label);
  const scale = Math.max(maxAbs(a), Number.MIN_VALUE);
  for (let j = 1; j < n; j++) assert.ok(values[j - 1] <= values[j], `${label}: values ascending`);
  // Reconstruction A = V diag(w) Vᵀ.
  const vw = vectors.map((v, idx) => v * values[idx % n]);
  const back = matmul(vw, vectors, n, n, n, false, true);
  let err = 0;
  for (let i = 0; i < n * n; i++) err = Math.max(err, Math.abs(back[i] - a[i]));
  assert.ok(err <= TOL * scale, `${label}: reconstruction error ${err / scale}`);
  // Orthonormal columns.
  const vtv = matmul(vectors, vectors, n, n, n, true, false);
  let orth = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) orth = Math.max(orth, Math.abs(vtv[i * n + j] - (i === j ? 1 : 0)));
  assert.ok(orth <= TOL, `${label}: VᵀV − I = ${orth}`);
  // Columns are the eigenvectors: A v_j = w_j v_j.
  const av = matmul(a, vectors, n, n, n);
  let res = 0;
  for (let i = 0; i < n * n; i++) res = Math.max(res, Math.abs(av[i] - vectors[i] * values[i % n]));
  assert.ok(res <= TOL * scale, `${label}: ‖A v − w v‖ = ${res / scale}`);
  // Invariants: trace and Frobenius norm.
  let trace = 0;
  let frob = 0;
  for (let i = 0; i < n; i++) trace += a[i * n + i];
  for (let i = 0; i < n * n; i++) frob += a[i] * a[i];
  const sumW = values.reduce((s, w) => s + w, 0);
  const sumW2 = values.reduce((s, w) => s + w * w, 0);
  assert.ok(Math.abs(sumW - trace) <= TOL * n * scale, `${label}: Σw ${sumW} vs tr ${trace}`);
  assert.ok(Math.abs(sumW2 - frob) <= TOL * Math.max(frob, scale * scale), `${label}: Σw²`);
  return { values, vectors };
}

eigenTest('random symmetric matrices of several sizes decompose to 1e-9', () => {
  const rng = new Rng(11);
  // 9-11 and 17-18 straddle the blocks of 8 reflectors that Q is built from (the first is 2..9).
  for (const n of [1, 2, 3, 7, 9, 10, 11, 17, 18, 50, 200])
    checkEigen(randomSymmetric(n, rng), n, `random n=${n}`);
});

test('matmul: every transpose, ragged shapes around its 4×2 blocks, against the triple loop', () => {
  const rng = new Rng(17);
  for (const [r, k, c] of [
    [1, 1, 1],
    [3, 5, 2],
    [4, 2, 3],
    [5, 7, 1],
    [9, 4, 6],
    [2, 0, 3],
    [0, 3, 2],
  ])
    for (const transA of [false, true])
      for (const transB of [false, true]) {
        const a = Float64Array.from({ length: r * k }, () => rng.normal());
        const b = Float64Array.from({ length: k * c }, () => rng.normal());
        const want = new Float64Array(r * c);
        for (let i = 0; i < r; i++)
          for (let j = 0; j < c; j++)
            for (let l = 0; l < k; l++)
              want[i * c + j] +=
                (transA ? a[l * r + i] : a[i * k + l]) * (transB ? b[j * k + l] : b[l * c + j]);
        const got = matmul(a, b, r, k, c, transA, transB);
        assert.equal(got.length, r * c);
        // Summed in the same order as the loop: equal, not merely close.
        assert.deepEqual([...got], [...want], `${r}×${k}×${c} ${transA} ${transB}`);
      }
});

eigenTest(
  '2×2 and 3×3: eigenvalues match the closed form and the characteristic polynomial',
  () => {
    const rng = new Rng(12);
    for (let trial = 0; trial < 20; trial++) {
      const [p, q, r] = [rng.normal(), rng.normal(), rng.normal()];
      const { values } = checkEigen(Float64Array.of(p, q, q, r), 2, '2×2');
      const mid = (p + r) / 2;
      const rad = Math.hypot((p - r) / 2, q);
      assert.ok(Math.abs(values[0] - (mid - rad)) < 1e-12 * (1 + rad));
      assert.ok(Math.abs(values[1] - (mid + rad)) < 1e-12 * (1 + rad));

      const a = randomSymmetric(3, rng);
      const w = checkEigen(a, 3, '3×3').values;
      // det(A − wI) by cofactors, relative to the scale of its terms (‖A‖³).
      const s = maxAbs(a) + Math.max(...w.map(Math.abs));
      for (const x of w) {
        const m = Float64Array.from(a);
        for (let i = 0; i < 3; i++) m[i * 4] -= x;
        const det =
          m[0] * (m[4] * m[8] - m[5] * m[7]) -
          m[1] * (m[3] * m[8] - m[5] * m[6]) +
          m[2] * (m[3] * m[7] - m[4] * m[6]);
        assert.ok(Math.abs(det) < 1e-12 * s ** 3, `det(A − ${x}I) = ${det}`);
      }
    }
  },
);

eigenTest('repeated eigenvalues: identity, zero, and identity + rank 1', () => {
  const n = 9;
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  assert.deepEqual([...checkEigen(eye, n, 'identity').values], Array(n).fill(1));
  assert.deepEqual([...checkEigen(new Float64Array(n * n), n, 'zero').values], Array(n).fill(0));

  const rng = new Rng(13);
  const x = Float64Array.from({ length: n }, () => rng.normal());
  const a = Float64Array.from(eye);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += x[i] * x[j];
  const { values, vectors } = checkEigen(a, n, 'I + xxᵀ');
  const xx = x.reduce((s, v) => s + v * v, 0);
  for (let j = 0; j < n - 1; j++) assert.ok(Math.abs(values[j] - 1) < 1e-12 * xx);
  assert.ok(Math.abs(values[n - 1] - (1 + xx)) < 1e-12 * xx);
  // The top eigenvector is ±x/‖x‖.
  let dot = 0;
  for (let i = 0; i < n; i++) dot += vectors[i * n + n - 1] * x[i];
  assert.ok(Math.abs(Math.abs(dot) - Math.sqrt(xx)) < 1e-10 * Math.sqrt(xx));
});

eigenTest('a diagonal matrix: the sorted diagonal, unit vectors', () => {
  const diag = [3, -1, 0, 3, 2.5, -7, 1e-3];
  const n = diag.length;
  const a = new Float64Array(n * n);
  diag.forEach((v, i) => {
    a[i * n + i] = v;
  });
  const { values, vectors } = checkEigen(a, n, 'diagonal');
  assert.deepEqual(
    [...values],
    [...diag].sort((p, q) => p - q),
  );
  for (const v of vectors) assert.ok(v === 0 || Math.abs(Math.abs(v) - 1) < 1e-15);
});

eigenTest('K-FAC-like PSD factors: rank-deficient XᵀX/m, dead inputs, extreme scales', () => {
  const rng = new Rng(14);
  const [n, m] = [60, 25];
  // Non-negative inputs with constant-zero columns (like MNIST's always-blank border pixels).
  const dead = new Set([0, 1, 2, 30, 59]);
  const x = new Float64Array(m * n);
  for (let r = 0; r < m; r++)
    for (let c = 0; c < n; c++) x[r * n + c] = dead.has(c) ? 0 : Math.max(0, rng.normal());
  const a = gram(x, m, n);
  const { values, vectors } = checkEigen(a, n, 'XᵀX/m');
  const top = values[n - 1];
  assert.ok(values[0] > -1e-12 * top, `PSD: smallest ${values[0]}`);
  // rank ≤ m: at least n − m eigenvalues vanish to rounding, and the rest do not.
  const zeros = values.filter((w) => Math.abs(w) < 1e-12 * top).length;
  assert.equal(zeros, n - m);
  // A dead input's unit vector is in the null space: it is spanned by the zero eigenvectors.
  for (const c of dead) {
    let inNull = 0;
    for (let j = 0; j < zeros; j++) inNull += vectors[c * n + j] ** 2;
    assert.ok(Math.abs(inNull - 1) < 1e-9, `dead input ${c}: ${inNull}`);
  }
  // Scaling A scales the eigenvalues exactly, far from 1 in both directions.
  for (const s of [1e-150, 1e150]) {
    const got = checkEigen(
      a.map((v) => v * s),
      n,
      `XᵀX/m × ${s}`,
    ).values;
    for (let j = 0; j < n; j++) assert.ok(Math.abs(got[j] / s - values[j]) < 1e-10 * top);
  }
});

eigenTest(
  'XᵀX of rank 13 in 400 dimensions: nested null blocks neither stall QL nor underflow',
  () => {
    // Rows are shifts of one 12-periodic sequence (and a bias 1): reducing the null space leaves
    // blocks at ε, ε², … of ‖A‖ (down to subnormal numbers), which QL with a convergence test
    // relative to the rows seen so far could not deflate (it threw), and which took tridiagonalising
    // 10× as long as a full-rank matrix of the size.
    const rng = new Rng(18);
    const [n, m, period] = [400, 250, 12];
    const cycle = Float64Array.from({ length: period }, () => Math.max(0, rng.normal()));
    const x = new Float64Array(m * n);
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n - 1; c++) x[r * n + c] = cycle[(r * (n - 1) + c) % period];
      x[r * n + n - 1] = 1;
    }
    const { values } = checkEigen(gram(x, m, n), n, 'periodic XᵀX/m');
    const top = values[n - 1];
    assert.ok(values.filter((w) => w > 1e-10 * top).length <= period + 1, 'rank ≤ period + 1');
  },
);

eigenTest('a graded tridiagonal and a matrix with zero rows in the middle', () => {
  const n = 12;
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    t[i * n + i] = 10 ** (i - 6);
    if (i > 0) t[i * n + i - 1] = t[(i - 1) * n + i] = 10 ** (i - 7);
  }
  checkEigen(t, n, 'graded tridiagonal');
  const rng = new Rng(15);
  const a = randomSymmetric(n, rng);
  for (const z of [3, 7]) for (let k = 0; k < n; k++) a[z * n + k] = a[k * n + z] = 0;
  const { values } = checkEigen(a, n, 'zero rows');
  assert.ok(values.filter((w) => w === 0 || Math.abs(w) < 1e-14).length >= 2);
});

test('only the symmetric part is used; bad input is refused', () => {
  const rng = new Rng(16);
  const n = 6;
  const a = Float64Array.from({ length: n * n }, () => rng.normal());
  const sym = a.map((_, idx) => (a[idx] + a[(idx % n) * n + Math.floor(idx / n)]) / 2);
  assert.deepEqual(symmetricEigen(a, n), symmetricEigen(sym, n));
  assert.throws(() => symmetricEigen(new Float64Array(5), 2), /2×2|n×n/);
  const bad = new Float64Array(4);
  bad[1] = Number.NaN;
  assert.throws(() => symmetricEigen(bad, 2), /not finite/);
  assert.deepEqual(symmetricEigen(new Float64Array(0), 0), {
    values: new Float64Array(0),
    vectors: new Float64Array(0),
  });
});

test('LAPACK (when built): only the symmetric part; declines what the JS solver refuses; agrees with it on a K-FAC Gram matrix', (t) => {
  if (SOLVERS.length === 1) {
    t.skip('the native addon is absent or built without OpenBLAS: the JS solver only');
    return;
  }
  const rng = new Rng(19);
  const n = 6;
  const a = Float64Array.from({ length: n * n }, () => rng.normal());
  const sym = a.map((_, idx) => (a[idx] + a[(idx % n) * n + Math.floor(idx / n)]) / 2);
  assert.deepEqual(lapack(a, n), lapack(sym, n));
  const bad = new Float64Array(4);
  bad[1] = Number.NaN;
  assert.equal(nativeSymmetricEigen(bad, 2), undefined);
  assert.equal(nativeSymmetricEigen(new Float64Array(5), 2), undefined);
  assert.deepEqual(lapack(new Float64Array(0), 0), {
    values: new Float64Array(0),
    vectors: new Float64Array(0),
  });
  // A Gram matrix of non-negative, partly dead inputs, as the prior decomposes: the same spectrum
  // and the same projector onto the top eigenvectors (vectors themselves are defined up to sign).
  const [m, d] = [300, 120];
  const x = Float64Array.from({ length: m * d }, (_, i) =>
    i % d < 7 ? 0 : Math.max(0, rng.normal()),
  );
  const g = gram(x, m, d);
  const js = symmetricEigen(g, d);
  const nat = lapack(g, d);
  const top = js.values[d - 1];
  for (let j = 0; j < d; j++) assert.ok(Math.abs(js.values[j] - nat.values[j]) < 1e-11 * top);
  for (let j = d - 10; j < d; j++) {
    let dot = 0;
    for (let k = 0; k < d; k++) dot += js.vectors[k * d + j] * nat.vectors[k * d + j];
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-9, `eigenvector ${j}: |cos| ${Math.abs(dot)}`);
  }
});

test('BLAS dgemm (when built): linalg.ts matmul for every transpose and ragged shapes, to rounding', (t) => {
  if (nativeMatmul64(Float64Array.of(1), Float64Array.of(1), 1, 1, 1, false, false) === undefined) {
    t.skip('the native addon is absent or built without OpenBLAS: the JS product only');
    return;
  }
  const rng = new Rng(20);
  for (const [r, k, c] of [
    [1, 1, 1],
    [3, 5, 2],
    [9, 4, 6],
    [37, 130, 21],
  ])
    for (const transA of [false, true])
      for (const transB of [false, true]) {
        const a = Float64Array.from({ length: r * k }, () => rng.normal());
        const b = Float64Array.from({ length: k * c }, () => rng.normal());
        const want = matmul(a, b, r, k, c, transA, transB);
        const got = nativeMatmul64(a, b, r, k, c, transA, transB);
        assert.ok(got, `${r}×${k}×${c}`);
        for (let i = 0; i < want.length; i++)
          assert.ok(Math.abs(got[i] - want[i]) < 1e-12 * k, `${r}×${k}×${c} ${transA} ${transB}`);
      }
  // Empty dimensions and mismatched lengths are left to the JS product.
  assert.equal(
    nativeMatmul64(new Float64Array(0), new Float64Array(3), 2, 0, 3, false, false),
    undefined,
  );
  assert.equal(
    nativeMatmul64(new Float64Array(5), new Float64Array(3), 2, 2, 1, false, false),
    undefined,
  );
});
