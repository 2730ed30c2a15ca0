/**
 * The addon's single-threaded matrix product (`sgemm`: OpenBLAS's, or uib's own GEMM,
 * native/sgemm.cc, in a build without OpenBLAS) against a brute-force triple loop in double, over
 * odd shapes, both transposes, beta 0 and 1 and leading dimensions wider than the rows, as the
 * kernels in native/uib_native.cc call it. On uib's own GEMM, every micro-kernel this CPU runs is
 * checked, the FMA kernels (AVX-512, AVX2) must agree bit for bit, and an entry's bits must not
 * depend on the shape of the call. Runs on whichever build loads: native/build/ (`npm ci`), or
 * another named by UIB_NATIVE_ADDON (e.g. the built-in GEMM beside OpenBLAS:
 * `UIB_BLAS=builtin node native/build.mjs --out native/build-builtin`, then
 * `UIB_NATIVE_ADDON=native/build-builtin/build/Release/uib_native.node npm test -- tests/backend`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  computeEnvironment,
  describeEnvironment,
  describeRoute,
} from '../../../src/backend/environment.ts';
import { initBackend } from '../../../src/backend/index.ts';
import type { NativeAddon } from '../../../src/backend/native/addon.ts';
import { nativeBlas, nativeUnavailableReason } from '../../../src/backend/native/addon.ts';
import { useNativeKernels } from '../../../src/backend/native/route.ts';
import { Rng } from '../../../src/core/rng.ts';
import { nativeRoutes } from './routes.ts';
import { bitsDiffer } from './thread-cases.ts';

const { addon } = nativeRoutes();

/** [M, N, K]: tiny, odd, around the micro-tiles (12×32, 6×16, 4×8) and the K block (256). */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [17, 33, 5],
  [5, 17, 33],
  [12, 32, 256],
  [13, 33, 257],
  [25, 65, 300],
  [1, 100, 3],
  [100, 1, 3],
  [31, 7, 600],
  [3, 70, 9],
  [9, 45, 17],
  [64, 10, 128],
];

interface Case {
  m: number;
  n: number;
  k: number;
  ta: boolean;
  tb: boolean;
  beta: 0 | 1;
  lda: number;
  ldb: number;
  ldc: number;
}

const CASES: Case[] = SHAPES.flatMap(([m, n, k]) =>
  [false, true].flatMap((ta) =>
    [false, true].flatMap((tb) =>
      ([0, 1] as const).map((beta) => ({
        m,
        n,
        k,
        ta,
        tb,
        beta,
        // Rows wider than op's: the padding must be skipped (and, in C, left alone).
        lda: (ta ? m : k) + 3,
        ldb: (tb ? k : n) + 2,
        ldc: n + 5,
      })),
    ),
  ),
);

const GUARD = 12345.5;

/** The heap and where A, B and C lie in it: seeded A, B and C, C's row padding set to GUARD. */
function layout(c: Case, seed: number) {
  const aFloats = (c.ta ? c.k : c.m) * c.lda;
  const bFloats = (c.tb ? c.n : c.k) * c.ldb;
  const cFloats = c.m * c.ldc;
  const at = { a: 3, b: 3 + aFloats + 1, c: 3 + aFloats + 1 + bFloats + 1 };
  const heap = new Float32Array(at.c + cFloats + 4).fill(GUARD);
  const rng = new Rng(seed);
  for (let i = 0; i < aFloats; i++) heap[at.a + i] = rng.normal();
  for (let i = 0; i < bFloats; i++) heap[at.b + i] = rng.normal();
  for (let i = 0; i < c.m; i++)
    for (let j = 0; j < c.n; j++)
      // beta 0 must not read C: NaN there would show.
      heap[at.c + i * c.ldc + j] = c.beta === 0 ? Number.NaN : rng.normal();
  return { heap, at };
}

function run(
  addon: NativeAddon,
  c: Case,
  heap: Float32Array,
  at: { a: number; b: number; c: number },
) {
  addon.sgemm(heap, +c.ta, +c.tb, c.m, c.n, c.k, at.a, c.lda, at.b, c.ldb, c.beta, at.c, c.ldc);
}

/** Checks one case against the triple loop; returns C (M×N, padding dropped). */
function checkCase(addon: NativeAddon, c: Case, label: string): Float32Array {
  const { heap, at } = layout(c, 1000 + c.m * 7 + c.n * 13 + c.k);
  const before = heap.slice();
  run(addon, c, heap, at);
  const A = (i: number, p: number) => before[at.a + (c.ta ? p * c.lda + i : i * c.lda + p)];
  const B = (p: number, j: number) => before[at.b + (c.tb ? j * c.ldb + p : p * c.ldb + j)];
  const out = new Float32Array(c.m * c.n);
  const name = `${label} ${c.m}×${c.n}×${c.k} ta=${+c.ta} tb=${+c.tb} beta=${c.beta}`;
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      let want = c.beta === 0 ? 0 : before[at.c + i * c.ldc + j];
      let size = Math.abs(want);
      for (let p = 0; p < c.k; p++) {
        want += A(i, p) * B(p, j);
        size += Math.abs(A(i, p) * B(p, j));
      }
      const got = heap[at.c + i * c.ldc + j];
      // float32 rounding of up to k + 1 terms, relative to their magnitudes.
      const tol = 2 ** -22 * (c.k + 2) * size + 1e-30;
      if (!(Math.abs(got - want) <= tol))
        assert.fail(`${name}: C[${i}][${j}] = ${got}, want ${want} (±${tol.toExponential(1)})`);
      out[i * c.n + j] = got;
    }
  }
  // Nothing outside C's M×N entries was written: not the row padding, nor A, B or the guards.
  for (let x = 0; x < heap.length; x++) {
    const inC = x >= at.c && x < at.c + c.m * c.ldc && (x - at.c) % c.ldc < c.n;
    if (!inC && !Object.is(heap[x], before[x])) assert.fail(`${name}: wrote heap[${x}] outside C`);
  }
  return out;
}

/** The micro-kernels to check: uib's that this CPU runs, or OpenBLAS's one. */
function kernels(addon: NativeAddon): string[] {
  if (addon.blas() !== 'builtin') return [addon.gemmKernel()];
  const initial = addon.gemmKernel();
  const runs = ['avx512', 'avx2', 'portable'].filter((k) => addon.selectGemmKernel(k));
  addon.selectGemmKernel(initial);
  return runs;
}

test('sgemm matches a triple loop: odd shapes, transposes, beta 0 and 1, wide rows', (t) => {
  if (addon === undefined) return t.skip(`native addon absent (${nativeUnavailableReason()})`);
  const initial = addon.gemmKernel();
  const results = new Map<string, Float32Array[]>();
  try {
    for (const kernel of kernels(addon)) {
      if (addon.blas() === 'builtin') assert.ok(addon.selectGemmKernel(kernel), kernel);
      results.set(
        kernel,
        CASES.map((c) => checkCase(addon, c, `${addon.blas()} ${kernel}`)),
      );
    }
  } finally {
    if (addon.blas() === 'builtin') addon.selectGemmKernel(initial);
  }
  // uib's FMA kernels compute each entry as the same chain of fused multiply-adds.
  const fused = ['avx512', 'avx2'].filter((k) => results.has(k));
  if (fused.length === 2) {
    const [x, y] = fused.map((k) => results.get(k) as Float32Array[]);
    CASES.forEach((c, i) => {
      const n = bitsDiffer(x[i], y[i]);
      assert.equal(n, 0, `${c.m}×${c.n}×${c.k} ta=${+c.ta} tb=${+c.tb}: ${n} floats differ`);
    });
  }
});

test("uib's GEMM: an entry's bits do not depend on the shape of the call", (t) => {
  if (addon === undefined) return t.skip(`native addon absent (${nativeUnavailableReason()})`);
  if (addon.blas() !== 'builtin') return t.skip('the addon is built with OpenBLAS');
  // C = A·B in one call (M = 75), then rows 13-49 alone (one partial micro-panel at each end)
  // and columns 5-70: the same bits.
  const [m, n, k] = [75, 80, 530];
  const rng = new Rng(9);
  const heap = new Float32Array(m * k + k * n + 3 * m * n);
  for (let i = 0; i < m * k + k * n; i++) heap[i] = rng.normal();
  const [a, b, full, part] = [0, m * k, m * k + k * n, m * k + k * n + m * n];
  addon.sgemm(heap, 0, 0, m, n, k, a, k, b, n, 0, full, n);
  addon.sgemm(heap, 0, 0, 37, n, k, a + 13 * k, k, b, n, 0, part + 13 * n, n);
  const rows = (at: number) => heap.slice(at + 13 * n, at + 50 * n);
  assert.equal(bitsDiffer(rows(full), rows(part)), 0, 'rows 13-49');
  addon.sgemm(heap, 0, 0, m, 66, k, a, k, b + 5, n, 0, part + 5, n);
  for (let i = 0; i < m; i++) {
    const cols = (at: number) => heap.slice(at + i * n + 5, at + i * n + 71);
    assert.equal(bitsDiffer(cols(full), cols(part)), 0, `row ${i}, columns 5-70`);
  }
});

test('the environment block names the BLAS of the native route', async (t) => {
  if (addon === undefined) return t.skip(`native addon absent (${nativeUnavailableReason()})`);
  const blas = addon.blas();
  assert.ok(blas === 'openblas' || blas === 'builtin', blas);
  assert.equal(nativeBlas(), blas);
  assert.match(addon.config(), blas === 'builtin' ? /uib built-in GEMM/ : /OpenBLAS/);
  await initBackend('wasm');
  useNativeKernels(true);
  const env = computeEnvironment();
  assert.deepEqual([env.route, env.blas], ['native', blas]);
  const name = blas === 'openblas' ? 'OpenBLAS' : 'built-in GEMM';
  assert.equal(describeRoute(env), `wasm with the native addon (${name})`);
  assert.match(
    describeEnvironment(env),
    new RegExp(`^wasm with the native addon \\(${name}\\), \\d+ threads?$`),
  );
  useNativeKernels(false);
  assert.deepEqual([computeEnvironment().route, computeEnvironment().blas], ['wasm', null]);
  useNativeKernels(true);
  // A block written before `blas` existed still reads.
  assert.equal(describeRoute({ backend: 'wasm', route: 'native' }), 'wasm with the native addon');
  assert.equal(describeRoute({ backend: 'wasm', route: 'wasm' }), 'wasm with the wasm kernels');
  assert.equal(describeRoute({ backend: 'cpu', route: 'cpu' }), 'cpu');
  await initBackend('cpu');
  assert.deepEqual([computeEnvironment().route, computeEnvironment().blas], ['cpu', null]);
});
