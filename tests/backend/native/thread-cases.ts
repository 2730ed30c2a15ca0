/**
 * Every native kernel called directly on a plain Float32Array standing in for the wasm heap, on
 * seeded inputs, so that its outputs can be compared bit for bit across thread counts
 * (tests/backend/native/kernels.test.ts; bench/thread-invariance.ts). The shapes are the ones
 * where the work is split: batches and rows of at least 4 parts, products above the size at which
 * the addon tiles them, batch sums over several parts of the fixed partition.
 */
import type { NativeAddon } from '../../../src/backend/native/addon.ts';
import { Rng } from '../../../src/core/rng.ts';

export interface ThreadCase {
  name: string;
  /** Floats of each input (seeded normal values; `positive`: |value| + 0.5). */
  inputs: Record<string, number>;
  positive?: string[];
  /**
   * Inputs seen as rows of the given width where every other row is ±2⁴⁰ in turn: the large terms
   * cancel, and a double sum across them rounds the small ones, so where a sum over rows is cut
   * shows in its float result.
   */
  cancelling?: Record<string, number>;
  /** Floats of each output; inputs changed in place are listed here too. */
  outputs: Record<string, number>;
  call: (addon: NativeAddon, heap: Float32Array, at: Record<string, number>) => void;
}

/** [B, H, W, Ci, OH, OW, Co, KH, KW, sh, sw, dh, dw, pt, pl] as readConv takes it. */
type Geometry = number[];

function conv(
  b: number,
  h: number,
  w: number,
  ci: number,
  k: number,
  co: number,
  stride: number,
  pad: number,
): Geometry {
  const out = (n: number) => Math.floor((n + 2 * pad - k) / stride) + 1;
  return [b, h, w, ci, out(h), out(w), co, k, k, stride, stride, 1, 1, pad, pad];
}

const xSize = (g: Geometry) => g[0] * g[1] * g[2] * g[3];
const ySize = (g: Geometry) => g[0] * g[4] * g[5] * g[6];
const fSize = (g: Geometry) => g[7] * g[8] * g[3] * g[6];

function convCases(label: string, g: Geometry): ThreadCase[] {
  const [x, f, y] = [xSize(g), fSize(g), ySize(g)];
  return [
    {
      name: `conv2d (bias, relu), ${label}`,
      inputs: { x, f, bias: g[6] },
      outputs: { y },
      call: (a, heap, at) => a.conv2d(heap, at.x, at.f, at.y, at.bias, 1, ...g),
    },
    {
      name: `conv2dBackpropInput, ${label}`,
      inputs: { dy: y, f },
      outputs: { dx: x },
      call: (a, heap, at) => a.conv2dBackpropInput(heap, at.dy, at.f, at.dx, ...g),
    },
    {
      name: `conv2dBackpropFilter, ${label}`,
      inputs: { x, dy: y },
      outputs: { dw: f },
      call: (a, heap, at) => a.conv2dBackpropFilter(heap, at.x, at.dy, at.dw, ...g),
    },
    {
      name: `convSquaredGrad, ${label}`,
      inputs: { x, dy: y },
      outputs: { out: f },
      call: (a, heap, at) => a.convSquaredGrad(heap, at.x, at.dy, at.out, ...g),
    },
  ];
}

function matMulCase(
  label: string,
  ta: boolean,
  tb: boolean,
  batch: number,
  m: number,
  n: number,
  k: number,
  broadcastB = false,
): ThreadCase {
  return {
    name: `matMul ${label}: ${batch}×${m}×${n}×${k}${ta ? ', aᵀ' : ''}${tb ? ', bᵀ' : ''}`,
    inputs: { a: batch * m * k, b: (broadcastB ? 1 : batch) * k * n, bias: n },
    outputs: { c: batch * m * n },
    call: (addon, heap, at) =>
      addon.matMul(
        heap,
        ta ? 1 : 0,
        tb ? 1 : 0,
        batch,
        m,
        n,
        k,
        at.a,
        at.b,
        at.c,
        m * k,
        broadcastB ? 0 : k * n,
        at.bias,
        1,
      ),
  };
}

// Column sums are cut into pieces of at least 2¹⁶ element visits: 12 pieces here.
const ROWS = 32768;
const COLS = 24;
const RC = ROWS * COLS;
// Elementwise passes split over the threads directly.
const SHORT = 3000;
const N = SHORT * COLS;

export const THREAD_CASES: ThreadCase[] = [
  matMulCase('rows split (a dense layer)', false, false, 1, 192, 128, 300),
  matMulCase('four tiles', false, false, 1, 256, 128, 512),
  matMulCase('columns split (few rows)', false, false, 1, 8, 1024, 600),
  matMulCase('transposed (a weight gradient)', true, false, 1, 300, 128, 128),
  matMulCase('both transposed', true, true, 1, 200, 160, 144),
  matMulCase('batched, b broadcast', false, true, 3, 130, 100, 330, true),
  ...convCases('small window (CNN conv_1)', conv(7, 20, 20, 1, 3, 32, 1, 0)),
  ...convCases('im2col (CNN conv_2)', conv(9, 13, 13, 32, 3, 64, 1, 0)),
  ...convCases('im2col, one sample a chunk', conv(7, 24, 24, 64, 3, 24, 1, 1)),
  ...convCases('direct, 16 channels out', conv(7, 10, 10, 8, 3, 16, 1, 1)),
  ...convCases('direct input gradient, 32 channels in', conv(7, 9, 9, 32, 3, 24, 1, 1)),
  ...convCases('stride 2', conv(7, 15, 15, 12, 3, 20, 2, 1)),
  ...convCases('pointwise', conv(7, 8, 8, 40, 1, 24, 1, 0)),
  {
    name: 'maxPoolGrad 3×3 stride 2 (overlapping windows)',
    inputs: { x: 7 * 15 * 15 * 16, dy: 7 * 7 * 7 * 16 },
    outputs: { dx: 7 * 15 * 15 * 16 },
    call: (a, heap, at) =>
      a.maxPoolGrad(heap, at.x, at.dy, at.dx, 7, 15, 15, 16, 7, 7, 3, 3, 2, 2, 0, 0),
  },
  {
    name: 'maxPool 3×3 stride 2, padding 1 (overlapping windows)',
    inputs: { x: 7 * 15 * 15 * 16 },
    outputs: { out: 7 * 8 * 8 * 16 },
    call: (a, heap, at) => a.maxPool(heap, at.x, at.out, 7, 15, 15, 16, 8, 8, 3, 3, 2, 2, 1, 1),
  },
  {
    name: `elementwise ${N} (÷)`,
    inputs: { x: N, y: N },
    positive: ['y'],
    outputs: { out: N },
    call: (a, heap, at) => a.elementwise(heap, 3, at.x, at.y, at.out, N),
  },
  {
    name: `relu ${N}`,
    inputs: { x: N },
    outputs: { out: N },
    call: (a, heap, at) => a.relu(heap, at.x, at.out, N),
  },
  {
    name: `sumRows ${ROWS}×${COLS}`,
    inputs: { x: RC },
    cancelling: { x: COLS },
    outputs: { out: COLS },
    call: (a, heap, at) => a.sumRows(heap, at.x, at.out, ROWS, COLS, 1 / ROWS),
  },
  {
    name: `broadcastRows ${SHORT}×${COLS} (÷, vector first)`,
    inputs: { x: N, v: COLS },
    positive: ['x'],
    outputs: { out: N },
    call: (a, heap, at) => a.broadcastRows(heap, 3, at.x, at.v, at.out, SHORT, COLS, 1),
  },
  {
    name: `moments ${ROWS}×${COLS}`,
    inputs: { x: RC },
    cancelling: { x: COLS },
    outputs: { mean: COLS, variance: COLS },
    call: (a, heap, at) => a.moments(heap, at.x, at.mean, at.variance, ROWS, COLS),
  },
  {
    name: `momentsGrad ${SHORT}×${COLS}`,
    inputs: { dmean: COLS, dvar: COLS, x: N, mean: COLS },
    outputs: { dx: N },
    call: (a, heap, at) =>
      a.momentsGrad(heap, at.dmean, at.dvar, at.x, at.mean, at.dx, SHORT, COLS),
  },
  {
    name: `batchNorm ${SHORT}×${COLS}`,
    inputs: { x: N, mean: COLS, variance: COLS, offset: COLS, scale: COLS },
    positive: ['variance'],
    outputs: { y: N },
    call: (a, heap, at) =>
      a.batchNorm(heap, at.x, at.mean, at.variance, at.offset, at.scale, at.y, SHORT, COLS, 1e-3),
  },
  {
    name: `batchNormGrad ${ROWS}×${COLS}`,
    inputs: { dy: RC, x: RC, mean: COLS, variance: COLS, scale: COLS },
    positive: ['variance'],
    cancelling: { dy: COLS },
    outputs: { dx: RC, dmean: COLS, dvar: COLS, dscale: COLS, doffset: COLS },
    call: (a, heap, at) =>
      a.batchNormGrad(
        heap,
        at.dy,
        at.x,
        at.mean,
        at.variance,
        at.scale,
        at.dx,
        at.dmean,
        at.dvar,
        at.dscale,
        at.doffset,
        ROWS,
        COLS,
        1e-3,
      ),
  },
  {
    name: `reluGrad ${N}`,
    inputs: { dy: N, x: N },
    outputs: { out: N },
    call: (a, heap, at) => a.reluGrad(heap, at.dy, at.x, at.out, N),
  },
  {
    name: `optimizerStep Adam ${N}, weight decay`,
    inputs: { theta: N, grad: N },
    positive: ['v'],
    outputs: { m: N, v: N, out: N },
    call: (a, heap, at) =>
      a.optimizerStep(
        heap,
        0,
        N,
        at.theta,
        at.grad,
        at.m,
        at.v,
        at.out,
        -1,
        1e-3,
        1e-2,
        0.9,
        0.999,
        0.1,
        0.002,
        1e-7,
      ),
  },
  {
    name: `optimizerStep SGD momentum ${N}, mask`,
    inputs: { theta: N, grad: N, mask: N / 4 },
    outputs: { m: N, out: N },
    call: (a, heap, at) =>
      a.optimizerStep(
        heap,
        1,
        N,
        at.theta,
        at.grad,
        at.m,
        -1,
        at.out,
        at.mask * 4,
        0.05,
        0,
        0.9,
        0,
        1,
        1,
        0,
      ),
  },
];

/**
 * Runs `c` once per thread count (minParallelWork 0: every case is split as far as it goes) from
 * the same seeded heap; the output floats (every output, in order, concatenated) per thread count.
 * The caller restores the addon's thread setting.
 */
export function runThreadCase(
  addon: NativeAddon,
  c: ThreadCase,
  threads: number[],
  seed = 1,
): Float32Array[] {
  const at: Record<string, number> = {};
  let end = 0;
  // Each tensor 64-byte aligned, as tfjs-wasm's allocator leaves them.
  const place = (name: string, n: number) => {
    at[name] = end;
    end += Math.ceil(n / 16) * 16 + 16;
  };
  for (const [name, n] of Object.entries(c.inputs)) place(name, n);
  for (const [name, n] of Object.entries(c.outputs)) if (!(name in at)) place(name, n);
  const start = new Float32Array(end);
  const rng = new Rng(seed);
  for (const [name, n] of Object.entries({ ...c.outputs, ...c.inputs })) {
    const pos = c.positive?.includes(name) === true;
    for (let i = 0; i < n; i++) {
      const v = rng.normal();
      start[at[name] + i] = pos ? Math.abs(v) + 0.5 : v;
    }
    const width = c.cancelling?.[name];
    if (width !== undefined)
      for (let i = 0; i < n; i++) {
        const row = Math.floor(i / width) % 4;
        if (row % 2 === 0) start[at[name] + i] = row === 0 ? 2 ** 40 : -(2 ** 40);
      }
  }
  if ('mask' in c.inputs) {
    // A bool mask: one byte a flag, about half of them set.
    const bytes = new Uint8Array(start.buffer, at.mask * 4, c.inputs.mask * 4);
    for (let i = 0; i < bytes.length; i++) bytes[i] = rng.normal() > 0 ? 1 : 0;
  }
  return threads.map((t) => {
    const heap = start.slice();
    addon.setThreads(t, 0);
    c.call(addon, heap, at);
    const parts = Object.entries(c.outputs).map(([name, n]) => heap.slice(at[name], at[name] + n));
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  });
}

/** How many floats of `b` differ from `a` in their bits. */
export function bitsDiffer(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let n = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) n++;
  return n;
}
