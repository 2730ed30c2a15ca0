/**
 * The native kernels (src/backend/native/) against the cpu backend, values and gradients through
 * the ops. Every case runs on each route this machine has: the wasm kernels alone, and, when the
 * addon is built, the native kernels with 1 and with 2 threads (uneven batch splits included; the
 * work threshold for splitting set to 0 so that these small cases are split). And every native
 * kernel, called directly (./thread-cases.ts), gives the same bits with 1, 2, 3 and 4 threads.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../../src/backend/index.ts';
import { nativeUnavailableReason, threadsFromEnv } from '../../../src/backend/native/addon.ts';
import { useNativeKernels } from '../../../src/backend/native/route.ts';
import { profileKernels } from '../../../src/backend/profile.ts';
import { type BackendWasm, heap } from '../../../src/backend/wasm/base.ts';
import { nativeKernelsActive } from '../../../src/backend/wasm/kernels.ts';
import { assertMatchesCpu, convOutSize, type Inputs, runKernel } from '../wasm/compare.ts';
import { nativeRoutes } from './routes.ts';
import { bitsDiffer, runThreadCase, THREAD_CASES } from './thread-cases.ts';

const { addon, routes: ROUTES } = nativeRoutes();

/** assertMatchesCpu on every route. */
async function onEveryRoute(
  inputs: Inputs,
  f: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[],
  tol = 1e-5,
): Promise<void> {
  for (const route of ROUTES) {
    await initBackend('wasm');
    useNativeKernels(route.native);
    assert.equal(nativeKernelsActive(), route.native, `${route.name}: route registered`);
    addon?.setThreads(route.threads, 0); // split even these small cases
    await assertMatchesCpu(inputs, f, { tol }).catch((e: Error) => {
      throw new Error(`${route.name}: ${e.message}`);
    });
  }
}

/**
 * Inputs created on the cpu backend move onto the wasm heap only when a kernel first indexes them;
 * one bigger than the whole heap grows it, which detaches any heap view taken before (the native
 * kernels once took theirs first and failed with "tensor lies outside the wasm heap"). Each case
 * grows the heap to twice its size, so only the native route with one thread runs this, first.
 */
test('inputs still on the cpu backend, moved onto a growing wasm heap: Add, Sum, MatMul match cpu', async (t) => {
  if (addon === undefined) return t.skip(`native addon absent (${nativeUnavailableReason()})`);
  const heapFloats = () => heap(tf.backend() as BackendWasm).length;
  const cases: [string, (big: tf.Tensor2D, small: tf.Tensor) => tf.Tensor, number[]][] = [
    ['Sub, per-channel operand first', (big, c) => tf.sub(c, big), [1, 8]],
    ['Sum over the leading axis', (big) => tf.sum(big, 0), [1]],
    ['MatMul', (big, w) => tf.matMul(big, w), [8, 3]],
  ];
  for (const [name, op, smallShape] of cases) {
    await initBackend('wasm');
    useNativeKernels(true);
    addon.setThreads(1);
    const before = heapFloats();
    const before0 = tf.memory().numTensors;
    await initBackend('cpu');
    // More floats than the whole wasm heap: moving it there must grow the heap.
    const big = tf.randomUniform([before / 8 + 8, 8], -1, 1, 'float32', 1) as tf.Tensor2D;
    const small = tf.randomUniform(smallShape, 0.5, 1.5, 'float32', 2);
    const want = op(big, small);
    await initBackend('wasm');
    const got = op(big, small);
    assert.ok(heapFloats() > before, `${name}: the heap grew`);
    assert.deepEqual(got.shape, want.shape, name);
    const [g, w] = [got.dataSync(), want.dataSync()];
    let err = 0;
    for (let i = 0; i < w.length; i++)
      err = Math.max(err, Math.abs(g[i] - w[i]) / (1 + Math.abs(w[i])));
    assert.ok(err < 1e-5, `${name}: max relative error ${err}`);
    tf.dispose([big, small, want, got]);
    assert.equal(tf.memory().numTensors, before0, `${name}: no tensor leaked`);
  }
});

test('every native kernel gives bit-identical outputs with 1, 2, 3 and 4 threads', (t) => {
  if (addon === undefined) return t.skip(`native addon absent (${nativeUnavailableReason()})`);
  // Not kernels: settings and facts, sgemm, the single-threaded product the kernels call
  // (./gemm.test.ts), and symmetricEigen and dgemm, single-threaded LAPACK and BLAS on float64
  // arrays (tests/unlearn/uib/linalg.test.ts).
  const notKernels = [
    ...['setThreads', 'config', 'blas', 'gemmKernel', 'selectGemmKernel', 'sgemm'],
    ...['symmetricEigen', 'dgemm'],
  ];
  const kernels = Object.keys(addon).filter((k) => !notKernels.includes(k));
  const untested = kernels.filter(
    (k) => !THREAD_CASES.some((c) => c.name.match(/^\w+/)?.[0] === k),
  );
  assert.deepEqual(untested, [], 'kernels without a thread-count case');
  try {
    for (const c of THREAD_CASES) {
      const [one, ...more] = runThreadCase(addon, c, [1, 2, 3, 4]);
      more.forEach((out, i) => {
        const n = bitsDiffer(one, out);
        assert.equal(n, 0, `${c.name}: ${n} of ${one.length} floats differ, ${i + 2} threads`);
      });
    }
  } finally {
    addon.setThreads(threadsFromEnv());
  }
});

// [batch, h, w, ci, kh, kw, co, stride, pad, dilation]
const CONVS: [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  'valid' | 'same',
  number,
][] = [
  [3, 7, 7, 1, 3, 3, 4, 1, 'valid', 1], // first CNN layer, odd batch (uneven thread split)
  [3, 6, 6, 5, 3, 3, 6, 1, 'same', 1], // ResNet 3×3
  [2, 9, 9, 4, 3, 3, 8, 2, 'same', 1], // stride 2, odd input
  [3, 8, 8, 4, 1, 1, 8, 2, 'same', 1], // 1×1 stride-2 projection
  [3, 5, 5, 4, 1, 1, 6, 1, 'valid', 1], // 1×1 stride 1: no im2col
  [2, 9, 7, 3, 2, 3, 5, 2, 'valid', 1], // non-square, even filter
  [1, 6, 6, 2, 3, 3, 3, 1, 'same', 1], // batch 1: one thread's worth
  [2, 9, 9, 2, 3, 3, 3, 1, 'valid', 2], // dilation 2 (forward only)
  [3, 32, 32, 64, 3, 3, 8, 1, 'same', 1], // im2col of 1 sample per chunk: several chunks a thread
  // Small windows (K ≤ 32) with 16k output channels: the native direct loop, not im2col + sgemm.
  [3, 7, 7, 1, 3, 3, 32, 1, 'valid', 1], // first CNN layer
  [3, 6, 6, 1, 3, 3, 16, 1, 'same', 1], // ResNet stem
  [2, 8, 9, 3, 3, 3, 16, 2, 'same', 1], // 3 channels (K = 27), stride 2, padding on the left
  [2, 7, 7, 2, 2, 3, 48, 2, 'valid', 1], // even filter, stride 2, three channel blocks
  [2, 9, 9, 2, 3, 3, 16, 1, 'same', 2], // dilation 2 (forward only)
  // 16 or 32 output channels at stride 1, larger windows: the native direct forward loop.
  [3, 6, 6, 5, 3, 3, 16, 1, 'same', 1], // 4 + 2 pixels a row
  [2, 7, 9, 8, 3, 3, 32, 1, 'valid', 1], // two channel blocks, 4 + 3 pixels a row
  [3, 5, 6, 6, 2, 3, 16, 1, 'same', 1], // even filter: padding after only
  // 16 or 32 input channels at stride 1: the input gradient through the direct loop.
  [2, 6, 7, 16, 3, 3, 8, 1, 'same', 1],
  [3, 6, 6, 32, 3, 3, 4, 1, 'valid', 1],
  [2, 5, 6, 16, 2, 3, 5, 1, 'same', 1], // even filter: the turned padding is before only
];

for (const [b, h, w, ci, kh, kw, co, s, pad, d] of CONVS) {
  const name = `x ${b}×${h}×${w}×${ci}, filter ${kh}×${kw}×${ci}×${co}, stride ${s}, ${pad}, dilation ${d}`;
  const dyShape = [b, convOutSize(h, kh, s, pad, d), convOutSize(w, kw, s, pad, d), co];
  test(`Conv2D and FusedConv2D (bias, relu) match cpu: ${name}`, async () => {
    await onEveryRoute(
      { x: { shape: [b, h, w, ci] }, f: { shape: [kh, kw, ci, co] }, bias: { shape: [co] } },
      (t) => [
        tf.conv2d(t.x as tf.Tensor4D, t.f as tf.Tensor4D, s, pad, 'NHWC', d),
        tf.fused.conv2d({
          x: t.x as tf.Tensor4D,
          filter: t.f as tf.Tensor4D,
          strides: s,
          pad,
          dilations: d,
          bias: t.bias,
          activation: 'relu',
        }),
      ],
    );
  });
  if (d !== 1) continue;
  test(`Conv2DBackpropInput and Conv2DBackpropFilter match cpu: ${name}`, async () => {
    await onEveryRoute(
      { x: { shape: [b, h, w, ci] }, f: { shape: [kh, kw, ci, co] }, dy: { shape: dyShape } },
      (t) => [
        runKernel(
          tf.Conv2DBackpropInput,
          { dy: t.dy, filter: t.f },
          { strides: [s, s], pad, dataFormat: 'NHWC', inputShape: [b, h, w, ci] },
        ),
        runKernel(
          tf.Conv2DBackpropFilter,
          { x: t.x, dy: t.dy },
          { strides: [s, s], pad, dataFormat: 'NHWC', filterShape: [kh, kw, ci, co] },
        ),
      ],
    );
  });
}

test('gradients through a fused conv2d (bias, relu) and max-pool match cpu', async () => {
  await onEveryRoute(
    {
      x: { shape: [3, 8, 8, 3] },
      f: { shape: [3, 3, 3, 5] },
      bias: { shape: [5] },
      dy: { shape: [3, 4, 4, 5] },
    },
    (t) =>
      tf.grads((x: tf.Tensor, f: tf.Tensor, bias: tf.Tensor) =>
        tf.maxPool(
          tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: f as tf.Tensor4D,
            strides: 1,
            pad: 'same',
            bias,
            activation: 'relu',
          }),
          2,
          2,
          'valid',
        ),
      )([t.x, t.f, t.bias], t.dy),
  );
});

test('gradients through a fused conv2d, linear, stride 2, with and without bias, match cpu', async () => {
  await onEveryRoute(
    {
      x: { shape: [3, 9, 9, 2] },
      f: { shape: [3, 3, 2, 4] },
      bias: { shape: [4] },
      dy: { shape: [3, 5, 5, 4] },
    },
    (t) => {
      const conv = (x: tf.Tensor, f: tf.Tensor, bias?: tf.Tensor) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: f as tf.Tensor4D,
          strides: 2,
          pad: 'same',
          bias,
          activation: 'linear',
        });
      return [
        ...tf.grads((x: tf.Tensor, f: tf.Tensor, b: tf.Tensor) => conv(x, f, b))(
          [t.x, t.f, t.bias],
          t.dy,
        ),
        ...tf.grads((x: tf.Tensor, f: tf.Tensor) => conv(x, f))([t.x, t.f], t.dy),
      ];
    },
  );
});

test('fused conv2d: no input gradient (Conv2DBackpropInput) for an input that needs none', async () => {
  await initBackend('wasm');
  const x = tf.randomNormal([2, 6, 6, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const f = tf.variable(tf.randomNormal([3, 3, 1, 4], 0, 1, 'float32', 2));
  const b = tf.variable(tf.zeros([4]));
  const before = tf.memory().numTensors;
  const p = profileKernels(
    'wasm',
    () => {
      const { grads, value } = tf.variableGrads(() =>
        tf.sum(tf.fused.conv2d({ x, filter: f as tf.Tensor4D, strides: 1, pad: 'valid', bias: b })),
      );
      tf.dispose([value, ...Object.values(grads)]);
    },
    1,
  );
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  const calls = (name: string) => p.kernels.find((k) => k.kernelName === name)?.calls ?? 0;
  assert.equal(calls('Conv2DBackpropFilter'), 1);
  assert.equal(calls('Conv2DBackpropInput'), 0);
  tf.dispose([x, f, b]);
});

// [a shape, b shape, transposeA, transposeB]
const MATMULS: [number[], number[], boolean, boolean][] = [
  [[5, 7], [7, 3], false, false],
  [[7, 5], [7, 3], true, false],
  [[5, 7], [3, 7], false, true],
  [[7, 5], [3, 7], true, true],
  [[4, 5, 7], [4, 7, 3], false, false], // batched
  [[4, 7, 5], [1, 3, 7], true, true], // b broadcast over the batch
  // Over 4M multiply-adds: in tiles (of rows where C is tall, else of columns) shared by threads.
  [[256, 300], [300, 64], false, false],
  [[8, 1200], [1200, 512], false, false],
  [[300, 128], [160, 300], true, true],
];

for (const [as, bs, ta, tb] of MATMULS) {
  test(`BatchMatMul matches cpu: ${as.join('×')}${ta ? 'ᵀ' : ''} · ${bs.join('×')}${tb ? 'ᵀ' : ''}`, async () => {
    await onEveryRoute({ a: { shape: as }, b: { shape: bs } }, (t) => tf.matMul(t.a, t.b, ta, tb));
  });
}

test('_FusedMatMul (bias, relu / linear) and its gradients match cpu', async () => {
  await onEveryRoute(
    { a: { shape: [6, 9] }, b: { shape: [9, 4] }, bias: { shape: [4] }, dy: { shape: [6, 4] } },
    (t) => {
      const relu = tf.fused.matMul({ a: t.a, b: t.b, bias: t.bias, activation: 'relu' });
      const linearT = tf.fused.matMul({
        a: tf.transpose(t.a),
        b: tf.transpose(t.b),
        transposeA: true,
        transposeB: true,
        bias: t.bias,
      });
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
        tf.fused.matMul({ a, b, bias, activation: 'relu' }),
      )([t.a, t.b, t.bias], t.dy);
      return [relu, linearT, ...grads];
    },
  );
});

test('MaxPoolGrad matches cpu, ties going to the first maximum', async () => {
  const tied = Array.from({ length: 3 * 6 * 6 * 2 }, (_, i) => (i % 5 === 0 ? 1 : (i % 3) / 4));
  await onEveryRoute(
    { x: { shape: [3, 6, 6, 2], values: tied }, dy: { shape: [3, 3, 3, 2] } },
    (t) => tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'))(t.x, t.dy),
  );
  await onEveryRoute({ x: { shape: [3, 7, 7, 4] }, dy: { shape: [3, 4, 4, 4] } }, (t) =>
    tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'))(t.x, t.dy),
  );
});

test('MaxPool matches cpu: valid and same padding, overlapping windows, NaN never the maximum', async () => {
  const x = Array.from({ length: 3 * 7 * 7 * 4 }, (_, i) =>
    i % 13 === 0 ? Number.NaN : Math.sin(i),
  );
  await onEveryRoute({ x: { shape: [3, 7, 7, 4], values: x } }, (t) => [
    tf.maxPool(t.x as tf.Tensor4D, 2, 2, 'valid'),
    tf.maxPool(t.x as tf.Tensor4D, 3, 2, 'same'),
    tf.maxPool(t.x as tf.Tensor4D, 3, 1, 'same'),
    tf.maxPool(t.x as tf.Tensor4D, [2, 3], [1, 2], 'valid'),
  ]);
  // Large enough for the native kernel (≥ 4,096 floats) and split over threads.
  await onEveryRoute({ x: { shape: [5, 26, 26, 8] } }, (t) =>
    tf.maxPool(t.x as tf.Tensor4D, 2, 2, 'valid'),
  );
});

test('Relu matches cpu: negative, zero, −0 and NaN (on the native route)', async (t) => {
  const specials = [-2, -0, 0, 5, 3, -1e-30, 1e-30];
  const v = Array.from({ length: 4 * 9 * 9 * 16 }, (_, i) =>
    i < 7 ? specials[i] : Math.sin(i * 7),
  );
  await onEveryRoute({ x: { shape: [4, 9, 9, 16], values: v } }, (x) => [tf.relu(x.x)]);
  // As on cpu (Math.max): NaN stays NaN, −0 becomes 0 (the stock wasm kernel gives 0 for NaN:
  // checked on the native route only).
  if (addon === undefined) return t.skip(`native addon absent (${nativeUnavailableReason()})`);
  v[3] = Number.NaN;
  await initBackend('cpu');
  const want = tf.relu(tf.tensor(v, [4, 9, 9, 16]));
  const w = want.dataSync();
  await initBackend('wasm');
  useNativeKernels(true);
  const out = tf.relu(tf.tensor(v, [4, 9, 9, 16]));
  const got = out.dataSync();
  assert.ok(Object.is(got[1], 0) && Object.is(w[1], 0), 'relu(−0) is +0');
  assert.ok(Number.isNaN(got[3]) && Number.isNaN(w[3]), 'relu(NaN) is NaN');
  tf.dispose([want, out]);
});

test('Add, Sub, Multiply, RealDiv of one shape match cpu (native from 4,096 floats)', async () => {
  await onEveryRoute({ x: { shape: [4, 16, 16, 8] }, y: { shape: [4, 16, 16, 8] } }, (t) => {
    const pos = tf.add(tf.abs(t.y), 0.5);
    return [tf.add(t.x, t.y), tf.sub(t.x, t.y), tf.mul(t.x, t.y), tf.div(t.x, pos)];
  });
});

test('Sum matches cpu over leading axes (native) and others (wasm)', async () => {
  await onEveryRoute({ x: { shape: [5, 4, 3, 6] } }, (t) => [
    tf.sum(t.x, [0, 1, 2]),
    tf.sum(t.x, [2, 0, 1], true),
    tf.sum(t.x, 0),
    tf.sum(t.x, -1),
    tf.sum(t.x, [1, 2]),
    tf.sum(t.x),
  ]);
  await onEveryRoute({ x: { shape: [300, 400] } }, (t) => tf.sum(t.x, 0)); // split over threads
});

test('Mean matches cpu over leading axes (native) and others (wasm)', async () => {
  await onEveryRoute({ x: { shape: [5, 4, 3, 6] } }, (t) => [
    tf.mean(t.x, [0, 1, 2]),
    tf.mean(t.x, [0, 1], true),
    tf.mean(t.x, -1),
    tf.mean(t.x),
  ]);
});

test('Add, Sub, Multiply, RealDiv with a per-channel operand match cpu, either order', async () => {
  await onEveryRoute(
    {
      x: { shape: [4, 8, 8, 32] },
      c: { shape: [32] },
      c4: { shape: [1, 1, 1, 32] },
      m: { shape: [8, 32] },
    },
    (t) => {
      const pos = tf.add(tf.abs(t.c), 0.5); // divisors away from 0
      return [
        tf.add(t.x, t.c),
        tf.sub(t.c4, t.x),
        tf.sub(t.x, t.c4),
        tf.mul(t.c, t.x),
        tf.div(t.x, pos),
        tf.div(pos, tf.add(tf.abs(t.x), 0.5)),
        tf.mul(t.x, t.m), // broadcast over the two leading axes
        tf.mul(t.x, t.x), // same shape (native elementwise)
        tf.add(tf.reshape(t.x, [1, 4, 8, 8, 32]), t.c), // rank 5 full operand
        tf.add(tf.reshape(t.c4, [1, 1, 1, 1, 32]), t.x), // the vector has more axes: output gains one
      ];
    },
  );
});

test('Identity shares data: a clone outlives its source, and gradients pass through', async () => {
  await onEveryRoute({ x: { shape: [3, 4] }, dy: { shape: [3, 4] } }, (t) => {
    const src = tf.add(t.x, 1);
    const copy = tf.clone(src);
    src.dispose();
    const g = tf.grad((x: tf.Tensor) => tf.mul(tf.clone(x), 2))(t.x, t.dy);
    return [copy, g];
  });
});

test('Cast to its own dtype shares data (a cast outlives its source); conversions (to bool: x ≠ 0) match cpu', async () => {
  await onEveryRoute(
    { x: { shape: [3, 4] }, n: { shape: [5], dtype: 'int32', values: [-2, 0, 1, 7, 3] } },

    (t) => {
      const src = tf.add(t.x, 1);
      const same = tf.cast(src, 'float32');
      src.dispose();
      return [
        same,
        tf.cast(t.n, 'float32'),
        tf.cast(tf.mul(t.x, 3), 'int32'),
        tf.cast(t.x, 'bool'),
        tf.cast(tf.mul(t.x, 0.1), 'bool'),
        tf.cast(t.n, 'bool'),
      ];
    },
  );
});

test('relu gradient (UibReluGrad) matches cpu, zeros included', async () => {
  await onEveryRoute(
    {
      x: {
        shape: [4, 9, 9, 8],
        values: Array.from({ length: 2592 }, (_, i) => ((i * 37) % 11) - 5),
      },
      dy: { shape: [4, 9, 9, 8] },
    },
    (t) => [
      tf.grad((x: tf.Tensor) => tf.relu(x))(t.x, t.dy),
      tf.grad((x: tf.Tensor) => tf.relu(tf.mul(x, 0.5)))(t.x, t.dy),
    ],
  );
});

/** tfjs-core as tfjs-layers sees it (CommonJS): where uib's native `moments` is installed. */
const coreCjs = createRequire(import.meta.url)('@tensorflow/tfjs-core') as typeof tf;

test('moments (as tfjs-layers calls it) and batchNorm, values and gradients, match cpu', async () => {
  await onEveryRoute(
    {
      x: { shape: [4, 5, 5, 6] },
      scale: { shape: [6] },
      offset: { shape: [6] },
      dy: { shape: [4, 5, 5, 6] },
    },
    (t) => {
      const bn = (x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor) => {
        const { mean, variance } = coreCjs.moments(x, [0, 1, 2]);
        return tf.batchNorm(x, mean, variance, offset, scale, 1e-3);
      };
      const { mean, variance } = coreCjs.moments(t.x, [0, 1, 2]);
      const kept = coreCjs.moments(t.x, [0, 1, 2], true);
      return [
        mean,
        variance,
        kept.variance,
        bn(t.x, t.scale, t.offset),
        ...tf.grads(bn)([t.x, t.scale, t.offset], t.dy),
        // Moments over other axes: tfjs's own. (tfjs's batchNorm gradient fails on cpu too
        // without scale and offset, or with [1, 1, 1, C] statistics: not compared.)
        ...tf.grads((x: tf.Tensor) => coreCjs.moments(x, [1, 2]).variance)([t.x], tf.ones([4, 6])),
      ];
    },
    1e-4,
  );
});

test('a BatchNormalization layer in training (values, gradients, moving statistics) matches cpu', async () => {
  await onEveryRoute(
    {
      x: { shape: [8, 3, 3, 4] },
      gamma: { shape: [4] },
      beta: { shape: [4] },
      dy: { shape: [8, 3, 3, 4] },
    },
    (t) => {
      const layer = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
      layer.build(t.x.shape);
      layer.setWeights([t.gamma, t.beta, tf.zeros([4]), tf.ones([4])]);
      const f = () => tf.sum(tf.mul(layer.apply(t.x, { training: true }) as tf.Tensor, t.dy));
      const dx = tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, t.dy)),
      )(t.x);
      const { value, grads } = tf.variableGrads(f as () => tf.Scalar);
      const out = [
        dx,
        value,
        ...Object.values(grads),
        ...layer
          .getWeights()
          .slice(2)
          .map((w) => tf.clone(w)),
      ];
      for (const w of layer.weights) w.dispose(); // never part of a model: no layer.dispose()
      return out;
    },
    1e-4,
  );
});

test('Tile matches cpu: float and int, every axis repeated or not', async () => {
  const ints = Array.from({ length: 6 }, (_, i) => i - 2);
  await onEveryRoute(
    { x: { shape: [2, 1, 3] }, n: { shape: [2, 3], dtype: 'int32', values: ints } },
    (t) => [
      tf.tile(t.x, [3, 4, 2]),
      tf.tile(t.x, [1, 1, 1]),
      tf.tile(t.x, [1, 5, 1]),
      tf.tile(tf.reshape(t.x, [1, 1, 1, 6]), [2, 3, 2, 1]),
      tf.cast(tf.tile(t.n, [3, 2]), 'float32'),
    ],
  );
});

test('gradients through batch normalisation (Tile, Sum) match cpu', async () => {
  await onEveryRoute(
    {
      x: { shape: [4, 5, 5, 3] },
      scale: { shape: [3] },
      offset: { shape: [3] },
      dy: { shape: [4, 5, 5, 3] },
    },
    (t) =>
      tf.grads((x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        return tf.batchNorm(x, mean, variance, offset, scale, 1e-3);
      })([t.x, t.scale, t.offset], t.dy),
    1e-4,
  );
});
