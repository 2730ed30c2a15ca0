import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../../src/core/rng.ts';
import { buildModel, paramGroups } from '../../../src/models/index.ts';
import { CostCounter } from '../../../src/train/cost.ts';
import {
  computeCurvature,
  gaussNewtonVectorProduct,
  groupVariables,
  hessianVectorProduct,
  meanLossGradient,
  unfoldPatches,
} from '../../../src/unlearn/curvature/index.ts';
import {
  bruteStats,
  checkAgainstBrute,
  maxRelErr,
  perExampleGrads,
  synthetic,
  tinyCnn,
  useCpu,
} from '../uib/helpers.ts';

before(useCpu);

test('MLP: mean gradient and empirical diagonal Fisher match a loop of single-example grads', () => {
  const model = buildModel({
    arch: 'mlp',
    inputShape: [3, 2],
    hidden: [5, 4],
    numClasses: 3,
    seed: 3,
  });
  checkAgainstBrute(model);
  model.dispose();
});

test('CNN (strided same-padded conv, BatchNorm, valid conv, dense): gradient and diagonal Fisher exact', () => {
  const model = tinyCnn(2);
  checkAgainstBrute(model, synthetic(11, [6, 6, 2], 3, 5), 4);
  model.dispose();
});

test('project CNN on 12x12 inputs: diagonal Fisher exact', () => {
  const model = buildModel({ arch: 'cnn', inputShape: [12, 12, 1], numClasses: 3, seed: 1 });
  checkAgainstBrute(model, synthetic(5, [12, 12, 1], 3, 9), 3);
  model.dispose();
});

test('sampled-label Fisher equals the empirical Fisher at the labels drawn, and is seeded', () => {
  const model = buildModel({
    arch: 'mlp',
    inputShape: [3, 2],
    hidden: [5],
    numClasses: 3,
    seed: 4,
  });
  const groups = paramGroups(model);
  const data = synthetic(9, [3, 2], 3, 2);
  const a = computeCurvature(model, groups, data, {
    labels: 'sampled',
    rng: new Rng(5),
    batchSize: 100,
  });
  const b = computeCurvature(model, groups, data, {
    labels: 'sampled',
    rng: new Rng(5),
    batchSize: 100,
  });
  assert.deepEqual(a.diag, b.diag);
  // Redraw the same labels by hand from the model's softmax.
  const probs = tf
    .tidy(() => tf.softmax(model.apply(data.tensors().xs, { training: false }) as tf.Tensor))
    .arraySync() as number[][];
  const rng = new Rng(5);
  const labels = Int32Array.from(probs, (p) => {
    let u = rng.next();
    let c = 0;
    for (; c < p.length - 1; c++) {
      u -= p[c];
      if (u < 0) break;
    }
    return c;
  });
  assert.notDeepEqual([...labels], [...data.labels()], 'draws differ from the true labels here');
  const { sq } = bruteStats(perExampleGrads(model, groupVariables(groups).flat(), data, labels));
  a.diag!.flat().forEach((f, t) => {
    assert.ok(maxRelErr(f, sq[t]) < 1e-4);
  });
  model.dispose();
});

/** A sub-model from the inputs to a layer's input. */
function inputOf(model: tfl.LayersModel, layer: string, xs: tf.Tensor): tf.Tensor {
  const sub = tfl.model({
    inputs: model.inputs,
    outputs: model.getLayer(layer).input as tfl.SymbolicTensor,
  });
  return sub.predict(xs) as tf.Tensor;
}

test('K-FAC factors of Dense layers match per-example inputs and bias gradients', () => {
  const model = buildModel({
    arch: 'mlp',
    inputShape: [3, 2],
    hidden: [5, 4],
    numClasses: 3,
    seed: 8,
  });
  const groups = paramGroups(model);
  const data = synthetic(10, [3, 2], 3, 3);
  const curv = computeCurvature(model, groups, data, { kfac: true, batchSize: 4 });
  const per = perExampleGrads(model, groupVariables(groups).flat(), data);
  const n = data.length;
  const flatIndex = new Map<string, number>();
  let t = 0;
  groups.forEach((g) => {
    g.params.forEach((p) => {
      flatIndex.set(`${p.layer}:${p.role}`, t++);
    });
  });
  assert.equal(curv.kfac!.length, 3);
  for (const f of curv.kfac!) {
    const a = tf.tidy(() => inputOf(model, f.layer, data.tensors().xs)).arraySync() as number[][];
    const A = new Float64Array(f.dimA * f.dimA);
    const G = new Float64Array(f.dimG * f.dimG);
    for (let i = 0; i < n; i++) {
      const ai = [...a[i], 1];
      const di = per[i][flatIndex.get(`${f.layer}:bias`)!]; // ∂ℓ_i/∂b = δ_i for a Dense layer
      for (let r = 0; r < f.dimA; r++)
        for (let c = 0; c < f.dimA; c++) A[r * f.dimA + c] += (ai[r] * ai[c]) / n;
      for (let r = 0; r < f.dimG; r++)
        for (let c = 0; c < f.dimG; c++) G[r * f.dimG + c] += (di[r] * di[c]) / n;
    }
    assert.equal(f.dimA, a[0].length + 1);
    assert.ok(maxRelErr(f.A, A) < 1e-5, `A of ${f.layer}`);
    assert.ok(maxRelErr(f.G, G) < 1e-4, `G of ${f.layer}`);
  }
  model.dispose();
});

test('K-FAC factors of Conv layers match hand-unfolded patches and per-position δ', () => {
  const model = tinyCnn(4);
  const groups = paramGroups(model);
  const data = synthetic(6, [6, 6, 2], 3, 7);
  const curv = computeCurvature(model, groups, data, { kfac: true, batchSize: 4 });
  const f = curv.kfac!.find((k) => k.layer === 'conv_1')!;
  const [conv1, bn, act1, conv2, act2, flat, out] = [
    'conv_1',
    'bn_1',
    'act_1',
    'conv_2',
    'act_2',
    'flatten',
    'output',
  ].map((l) => model.getLayer(l));
  const tail = (z: tf.Tensor) =>
    [bn, act1, conv2, act2, flat, out].reduce((h, l) => l.apply(h) as tf.Tensor, z);
  const n = data.length;
  const A = new Float64Array(f.dimA * f.dimA);
  const G = new Float64Array(f.dimG * f.dimG);
  const x = data.gather(Array.from({ length: n }, (_, i) => i)).x;
  for (let i = 0; i < n; i++) {
    // Patches by hand: 3x3 kernel, stride 2, 'same' padding on 6x6 → 3x3 outputs, pad top/left 0.
    const { xs, ys } = data.tensors([i]);
    const z = conv1.apply(xs) as tf.Tensor;
    const d = tf
      .grads((zz: tf.Tensor) => {
        const logits = tail(zz);
        return tf.sum(tf.neg(tf.sum(tf.mul(tf.oneHot(ys, 3), tf.logSoftmax(logits)), -1)));
      })([z])[0]
      .arraySync() as number[][][][];
    tf.dispose([xs, ys, z]);
    for (let oy = 0; oy < 3; oy++) {
      for (let ox = 0; ox < 3; ox++) {
        const patch: number[] = [];
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            for (let c = 0; c < 2; c++) {
              const iy = oy * 2 + ky;
              const ix = ox * 2 + kx;
              patch.push(iy < 6 && ix < 6 ? x[i * 72 + (iy * 6 + ix) * 2 + c] : 0);
            }
          }
        }
        patch.push(1);
        const dp = d[0][oy][ox];
        for (let r = 0; r < f.dimA; r++)
          for (let c = 0; c < f.dimA; c++) A[r * f.dimA + c] += (patch[r] * patch[c]) / n;
        for (let r = 0; r < f.dimG; r++)
          for (let c = 0; c < f.dimG; c++) G[r * f.dimG + c] += (dp[r] * dp[c]) / (9 * n);
      }
    }
  }
  assert.equal(f.dimA, 19);
  assert.ok(maxRelErr(f.A, A) < 1e-5, `A: ${maxRelErr(f.A, A)}`);
  assert.ok(maxRelErr(f.G, G) < 1e-4, `G: ${maxRelErr(f.G, G)}`);
  model.dispose();
});

/** Multinomial logistic regression: one Dense layer; analytic Hessian of the mean CE. */
function logisticHessian(
  model: tfl.LayersModel,
  xs: Float32Array,
  n: number,
  d: number,
  k: number,
) {
  const probs = tf
    .tidy(() => tf.softmax(model.predict(tf.tensor2d(xs, [n, d])) as tf.Tensor))
    .arraySync() as number[][];
  // Parameter order: kernel [d, k] row-major (index j*k + c), then bias [k] (index d*k + c).
  const dim = (d + 1) * k;
  const H = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    const xa = [...xs.subarray(i * d, (i + 1) * d), 1];
    const p = probs[i];
    for (let j1 = 0; j1 <= d; j1++)
      for (let c1 = 0; c1 < k; c1++)
        for (let j2 = 0; j2 <= d; j2++)
          for (let c2 = 0; c2 < k; c2++) {
            const s = (c1 === c2 ? p[c1] : 0) - p[c1] * p[c2];
            H[(j1 * k + c1) * dim + j2 * k + c2] += (s * xa[j1] * xa[j2]) / n;
          }
  }
  return { H, dim };
}

test('Hessian-vector products (central differences, Gauss-Newton) match the analytic Hessian of logistic regression', () => {
  const d = 4;
  const k = 3;
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({
        units: k,
        inputShape: [d],
        name: 'output',
        kernelInitializer: tfl.initializers.randomNormal({ seed: 1 }),
      }),
    ],
  });
  const data = synthetic(40, [d], k, 11);
  const groups = paramGroups(model);
  const vars = groupVariables(groups).flat();
  const { H, dim } = logisticHessian(
    model,
    data.gather(Array.from({ length: 40 }, (_, i) => i)).x,
    40,
    d,
    k,
  );
  const rng = new Rng(2);
  for (let trial = 0; trial < 3; trial++) {
    const v = Float32Array.from({ length: dim }, () => rng.normal());
    const vt = [v.slice(0, d * k), v.slice(d * k)];
    const expected = new Float64Array(dim);
    for (let r = 0; r < dim; r++)
      for (let c = 0; c < dim; c++) expected[r] += H[r * dim + c] * v[c];
    const hv = hessianVectorProduct(model, vars, data, vt);
    const gv = gaussNewtonVectorProduct(model, vars, data, vt);
    const flat = (a: Float32Array[]) => Float32Array.from([...a[0], ...a[1]]);
    assert.ok(maxRelErr(flat(hv), expected) < 2e-3, `HVP error ${maxRelErr(flat(hv), expected)}`);
    assert.ok(maxRelErr(flat(gv), expected) < 2e-3, `GNVP error ${maxRelErr(flat(gv), expected)}`);
  }
  // The weights are restored bit for bit.
  const before = vars.map((x) => x.dataSync().slice());
  hessianVectorProduct(model, vars, data, [
    new Float32Array(d * k).fill(1),
    new Float32Array(k).fill(1),
  ]);
  vars.forEach((x, i) => {
    assert.deepEqual(x.dataSync(), before[i]);
  });
  model.dispose();
});

test('no tensor leaks: the curvature pass and the vector products leave numTensors flat', () => {
  const model = tinyCnn(1);
  const groups = paramGroups(model);
  const vars = groupVariables(groups).flat();
  const data = synthetic(7, [6, 6, 2], 3, 1);
  computeCurvature(model, groups, data, {
    kfac: true,
    labels: 'sampled',
    rng: new Rng(1),
    batchSize: 3,
  });
  const start = tf.memory().numTensors;
  computeCurvature(model, groups, data, {
    kfac: true,
    labels: 'sampled',
    rng: new Rng(1),
    batchSize: 3,
  });
  computeCurvature(model, groups, data, { batchSize: 3 });
  const v = vars.map((x) => new Float32Array(x.size).fill(0.1));
  hessianVectorProduct(model, vars, data, v);
  gaussNewtonVectorProduct(model, vars, data, v);
  meanLossGradient(model, vars, data);
  assert.equal(tf.memory().numTensors, start);
  model.dispose();
});

test('unfoldPatches equals patches cut out by hand (strides, same/valid padding, dilation)', () => {
  const rng = new Rng(11);
  const cases: [
    number,
    number,
    [number, number],
    'same' | 'valid',
    [number, number],
    number,
    number,
  ][] = [
    [3, 3, [1, 1], 'same', [1, 1], 7, 2],
    [3, 3, [2, 2], 'same', [1, 1], 8, 3],
    [3, 2, [2, 1], 'valid', [1, 1], 9, 1],
    [3, 3, [1, 1], 'valid', [2, 2], 9, 2],
    [5, 5, [3, 3], 'same', [1, 1], 11, 1],
  ];
  for (const [kh, kw, [sh, sw], padding, [dh, dw], h, cin] of cases) {
    const w = h + 1;
    const x = Float32Array.from({ length: 2 * h * w * cin }, () => rng.normal());
    const spanH = (kh - 1) * dh + 1;
    const spanW = (kw - 1) * dw + 1;
    const oh = padding === 'same' ? Math.ceil(h / sh) : Math.ceil((h - spanH + 1) / sh);
    const ow = padding === 'same' ? Math.ceil(w / sw) : Math.ceil((w - spanW + 1) / sw);
    // TensorFlow's 'same': the odd padding row/column goes at the bottom/right.
    const top = padding === 'same' ? Math.floor(Math.max((oh - 1) * sh + spanH - h, 0) / 2) : 0;
    const left = padding === 'same' ? Math.floor(Math.max((ow - 1) * sw + spanW - w, 0) / 2) : 0;
    const k = kh * kw * cin;
    const want = new Float32Array(2 * oh * ow * k);
    for (let b = 0; b < 2; b++)
      for (let r = 0; r < oh; r++)
        for (let q = 0; q < ow; q++)
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++)
              for (let c = 0; c < cin; c++) {
                const y = r * sh + i * dh - top;
                const z = q * sw + j * dw - left;
                const inside = y >= 0 && y < h && z >= 0 && z < w;
                want[((b * oh + r) * ow + q) * k + (i * kw + j) * cin + c] = inside
                  ? x[((b * h + y) * w + z) * cin + c]
                  : 0;
              }
    const got = tf.tidy(() =>
      unfoldPatches(tf.tensor4d(x, [2, h, w, cin]), kh, kw, [sh, sw], padding, [dh, dw]).dataSync(),
    );
    assert.equal(got.length, want.length, `size for ${kh}x${kw} s${sh} ${padding} d${dh}`);
    assert.ok(maxRelErr(got, want) < 1e-6, `values for ${kh}x${kw} s${sh} ${padding} d${dh}`);
  }
});

/** The true diagonal Fisher E_x Σ_y p(y|x)·g_y² by brute force: every example with every label. */
function trueFisherBrute(model: tfl.LayersModel, data: ReturnType<typeof synthetic>, k: number) {
  const vars = groupVariables(paramGroups(model)).flat();
  const probs = tf
    .tidy(() => tf.softmax(model.apply(data.tensors().xs, { training: false }) as tf.Tensor))
    .arraySync() as number[][];
  const out = vars.map((v) => new Float64Array(v.size));
  for (let y = 0; y < k; y++) {
    const per = perExampleGrads(model, vars, data, new Int32Array(data.length).fill(y));
    per.forEach((ex, i) => {
      ex.forEach((g, t) => {
        for (let j = 0; j < g.length; j++) out[t][j] += (probs[i][y] * g[j] * g[j]) / data.length;
      });
    });
  }
  return out;
}

test('stratified Fisher is the exact true Fisher with two classes (no draw left to chance)', () => {
  const model = buildModel({
    arch: 'mlp',
    inputShape: [3, 2],
    hidden: [5],
    numClasses: 2,
    seed: 6,
  });
  const data = synthetic(7, [3, 2], 2, 3);
  const curv = computeCurvature(model, paramGroups(model), data, {
    labels: 'stratified',
    rng: new Rng(1),
    batchSize: 4, // two batches: the second is partial
  });
  assert.equal(curv.grad, undefined); // two rows per example: no gradient is returned
  const exact = trueFisherBrute(model, data, 2);
  curv.diag!.flat().forEach((d, t) => {
    assert.ok(maxRelErr(d, exact[t]) < 1e-4, `tensor ${t}: ${maxRelErr(d, exact[t])}`);
  });
  model.dispose();
});

test('stratified Fisher: unbiased for the true Fisher, and less variable than one sampled label', () => {
  const model = buildModel({ arch: 'mlp', inputShape: [4], hidden: [6], numClasses: 4, seed: 8 });
  // A confident model, as at a well-fit θ̂: the output bias favours class 0 strongly.
  const [kernel] = model.getLayer('output').getWeights(); // the layer's own tensor: not disposed
  const bias = tf.tensor1d([6, 0, 0, 0]);
  model.getLayer('output').setWeights([kernel, bias]);
  bias.dispose();
  const groups = paramGroups(model);
  const data = synthetic(6, [4], 4, 2);
  const exact = trueFisherBrute(model, data, 4);
  const draws = 300;
  const stats = (labels: 'sampled' | 'stratified') => {
    const rng = new Rng(11);
    const sum = exact.map((e) => new Float64Array(e.length));
    const sq = exact.map((e) => new Float64Array(e.length));
    for (let r = 0; r < draws; r++) {
      const d = computeCurvature(model, groups, data, { labels, rng, batchSize: 6 }).diag!.flat();
      d.forEach((t, i) => {
        for (let j = 0; j < t.length; j++) {
          sum[i][j] += t[j] / draws;
          sq[i][j] += (t[j] * t[j]) / draws;
        }
      });
    }
    // Relative standard deviation of one estimate, summed over coordinates.
    let variance = 0;
    let scale = 0;
    sum.forEach((m, i) => {
      for (let j = 0; j < m.length; j++) {
        variance += sq[i][j] - m[j] * m[j];
        scale += exact[i][j] ** 2;
      }
    });
    return { mean: sum, relStd: Math.sqrt(variance / scale) };
  };
  const strat = stats('stratified');
  const sampled = stats('sampled');
  strat.mean.forEach((m, t) => {
    assert.ok(
      maxRelErr(m, exact[t]) < 0.1,
      `stratified mean, tensor ${t}: ${maxRelErr(m, exact[t])}`,
    );
  });
  assert.ok(
    strat.relStd < sampled.relStd / 3,
    `relative std: stratified ${strat.relStd}, sampled ${sampled.relStd}`,
  );
  model.dispose();
});

test('stratified labels refuse the gradient and K-FAC (each example is two rows)', () => {
  const model = buildModel({ arch: 'mlp', inputShape: [3], hidden: [4], numClasses: 3, seed: 1 });
  const data = synthetic(4, [3], 3, 1);
  for (const extra of [{ gradient: true }, { kfac: true }]) {
    assert.throws(
      () =>
        computeCurvature(model, paramGroups(model), data, {
          labels: 'stratified',
          rng: new Rng(1),
          ...extra,
        }),
      /diagonal Fisher only/,
    );
  }
  model.dispose();
});

test('expected labels: the exact true Fisher Σ_y p_y·g_y² by brute force (MLP, CNN with BatchNorm)', () => {
  const cases: [tfl.LayersModel, ReturnType<typeof synthetic>, number][] = [
    [
      buildModel({ arch: 'mlp', inputShape: [3, 2], hidden: [5], numClasses: 3, seed: 9 }),
      synthetic(7, [3, 2], 3, 4),
      3, // three batches, the last partial
    ],
    [tinyCnn(5), synthetic(5, [6, 6, 2], 3, 6), 2],
  ];
  for (const [model, data, batchSize] of cases) {
    const cost = new CostCounter();
    const curv = computeCurvature(model, paramGroups(model), data, {
      labels: 'expected',
      batchSize,
      cost,
    });
    assert.equal(curv.grad, undefined); // k rows per example: no gradient is returned
    assert.equal(curv.labels, 'expected');
    // Every example is differentiated once per class.
    assert.equal(cost.gradEvals, 3 * data.length);
    const exact = trueFisherBrute(model, data, 3);
    curv.diag!.flat().forEach((d, t) => {
      assert.ok(maxRelErr(d, exact[t]) < 1e-4, `tensor ${t}: ${maxRelErr(d, exact[t])}`);
    });
    // The default batch keeps about 256 rows per pass; the result does not depend on it.
    const whole = computeCurvature(model, paramGroups(model), data, { labels: 'expected' });
    whole.diag!.flat().forEach((d, t) => {
      assert.ok(maxRelErr(d, exact[t]) < 1e-4);
    });
    model.dispose();
  }
});

test('expected labels need no rng and refuse the gradient and K-FAC', () => {
  const model = buildModel({ arch: 'mlp', inputShape: [3], hidden: [4], numClasses: 3, seed: 2 });
  const data = synthetic(4, [3], 3, 1);
  const a = computeCurvature(model, paramGroups(model), data, { labels: 'expected' });
  const b = computeCurvature(model, paramGroups(model), data, { labels: 'expected' });
  assert.deepEqual(a.diag, b.diag);
  for (const extra of [{ gradient: true }, { kfac: true }]) {
    assert.throws(
      () => computeCurvature(model, paramGroups(model), data, { labels: 'expected', ...extra }),
      /expected labels give the diagonal Fisher only/,
    );
  }
  model.dispose();
});
