/**
 * Gradients and curvature of the loss over a data set, per parameter group θ^(l).
 *
 * One pass over the data (batches of 128-256) gives, per parameter tensor, the mean loss gradient
 * g, the diagonal Fisher (empirical: true labels; "sampled": labels drawn from the model's own
 * softmax, an unbiased estimate of the true Fisher), and per Dense/Conv layer the K-FAC factors
 * A = E[ã ãᵀ] (ã = layer input with a 1 appended for the bias) and G = E[δ δᵀ].
 *
 * Per-example gradients without vmap: every Dense/Conv/BatchNorm layer is run with a zero "probe"
 * added to its pre-activation output z, and `tf.grads` of the *summed* loss w.r.t. the probes gives
 * δ_i = ∂ℓ_i/∂z_i for every example at once (in inference mode ℓ_i depends only on row i). With the
 * layer input a_i kept from the same forward pass, the per-example parameter gradients are exact:
 *   Dense   ∇W ℓ_i = a_i δ_iᵀ          Σ_i (∇W ℓ_i)² = (a²)ᵀ(δ²)       bias: Σ_i δ_i²
 *   Conv    ∇W ℓ_i = U_iᵀ δ_i          (U_i = the input unfolded into patches [P, kh·kw·cin]),
 *           squared and summed over i;  bias: Σ_i (Σ_p δ_ip)²
 *   BatchNorm (inference: y = γ x̂ + β with the moving statistics)
 *           ∇γ ℓ_i = Σ_p δ_ip x̂_ip     ∇β ℓ_i = Σ_p δ_ip
 * Exact: g, the empirical diagonal Fisher, the sampled-label diagonal Fisher for the labels drawn,
 * the expected (true) diagonal Fisher Σ_y p_y·g_y² (see `expectedLabels`: k rows per example),
 * Dense K-FAC factors (as statistics). Approximate by construction: the sampled Fisher (one label
 * draw per example: a Monte-Carlo estimate), the stratified Fisher (see `stratifiedLabels`: two
 * labels per example, lower variance), K-FAC as a Fisher (A ⊗ G assumes a ⟂ δ; Conv factors
 * further assume spatially uncorrelated δ, Grosse & Martens 2016). All quantities are taken in
 * inference mode (BatchNorm on its moving statistics, no dropout): training-mode BatchNorm couples
 * the examples of a batch and per-example gradients would not be defined.
 *
 * Never nested `tf.grads`: on tfjs 4.22 double backprop throws for exp, sigmoid, softmax-CE and
 * conv/pool, and is silently wrong for log-sum-exp MLPs. Hessian-vector products are central
 * differences of gradients, or Gauss-Newton products (J v by central differences of the logits,
 * then Jᵀ by one backward pass).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, layers } from '@tensorflow/tfjs-layers';
import { nativeConvSquaredGrad } from '../../backend/index.ts';
import type { Rng } from '../../core/rng.ts';
import type { Dataset } from '../../data/dataset.ts';
import type { LayerKind, ParamGroup } from '../../models/types.ts';
import type { CostCounter } from '../../train/cost.ts';
import { softmaxCrossEntropy } from '../../train/evaluate.ts';

export type { LayerKind } from '../../models/types.ts';
/**
 * Labels of the per-example gradients: the true ones (empirical Fisher), one draw from the model's
 * softmax (sampled Fisher), or the model's argmax and one draw among the other classes, weighted by
 * their probabilities (stratified: the same expectation as 'sampled', without its variance), or
 * every class y weighted by p(y|x) (expected: the true Fisher Σ_y p_y·g_y² itself, no draw, at k
 * backward rows per example).
 */
export type FisherLabels = 'true' | 'sampled' | 'stratified' | 'expected';

/** A layer whose parameters the pass differentiates, and where its tensors sit in the groups. */
interface Tap {
  layer: layers.Layer;
  kind: LayerKind;
  /** Keyed by the weight's name in its layer (`kernel`, `depthwise_kernel`, `gamma`...). */
  slots: { weight: string; group: number; param: number }[];
}

type Slot = Tap['slots'][number];

/** K-FAC factors of one Dense/Conv layer, means over examples. Row-major, symmetric. */
export interface KfacFactors {
  layer: string;
  kind: 'dense' | 'conv';
  /** A = E[ã ãᵀ], dim = fan-in (+1 with a bias). Conv: summed over output positions. */
  A: Float64Array;
  dimA: number;
  /** G = E[δ δᵀ], dim = units / filters. Conv: averaged over output positions. */
  G: Float64Array;
  dimG: number;
  /** Kernel and (optional) bias slot as [group, param]. */
  kernel: [number, number];
  bias?: [number, number];
}

export interface CurvatureOptions {
  /** Per-example gradients are of CE against these labels (default 'true'). */
  labels?: FisherLabels;
  /** Draws the sampled labels (required for `labels: 'sampled'` and `'stratified'`). */
  rng?: Rng;
  batchSize?: number;
  gradient?: boolean;
  diag?: boolean;
  kfac?: boolean;
  cost?: CostCounter;
  /** Set name for the cost counter. */
  set?: string;
}

export interface Curvature {
  n: number;
  labels: FisherLabels;
  /** Mean loss gradient, indexed [group][param] like the groups. */
  grad?: Float32Array[][];
  /** Diagonal Fisher: mean of per-example squared gradients, [group][param]. */
  diag?: Float32Array[][];
  kfac?: KfacFactors[];
}

function tapsOf(model: LayersModel, groups: ParamGroup[]): Tap[] {
  const taps = new Map<string, Tap>();
  groups.forEach((g, gi) => {
    g.params.forEach((p, pi) => {
      let t = taps.get(p.layer);
      if (!t) {
        t = { layer: model.getLayer(p.layer), kind: p.layerKind, slots: [] };
        taps.set(p.layer, t);
      }
      t.slots.push({ weight: p.weight, group: gi, param: pi });
    });
  });
  // Forward order of the model's layers.
  const order = new Map(model.layers.map((l, i) => [l.name, i]));
  return [...taps.values()].sort((a, b) => order.get(a.layer.name)! - order.get(b.layer.name)!);
}

// biome-ignore lint/suspicious/noExplicitAny: tfjs-layers keeps these fields protected.
type Internals = any;

/**
 * Geometry of a convolution layer as a 2-D NHWC convolution: a Conv1D over [b, L, c] runs as a
 * Conv2D over [b, 1, L, c] with a [1, k, cin, cout] kernel (same numbers, same patch order).
 * DepthwiseConv2D ignores its dilation in tfjs 4.22 (it always runs undilated), so it does here.
 */
function convGeometry(layer: layers.Layer, kind: LayerKind) {
  const l = layer as Internals;
  if (l.dataFormat !== 'channelsLast') {
    throw new Error(`curvature: ${layer.name}: only channelsLast convolutions are supported`);
  }
  const pair = (v: number | number[]) => (typeof v === 'number' ? [v, v] : v);
  if (kind === 'conv1d') {
    const dil = Array.isArray(l.dilationRate) ? l.dilationRate[0] : l.dilationRate;
    return {
      kh: 1,
      kw: l.kernelSize[0] as number,
      strides: [1, l.strides[0]] as [number, number],
      padding: l.padding as 'valid' | 'same',
      dilations: [1, dil] as [number, number],
    };
  }
  return {
    kh: l.kernelSize[0] as number,
    kw: l.kernelSize[1] as number,
    strides: pair(l.strides) as [number, number],
    padding: l.padding as 'valid' | 'same',
    dilations: (kind === 'depthwise' ? [1, 1] : pair(l.dilationRate)) as [number, number],
  };
}

/**
 * Patches of an NHWC input as seen by a convolution: [b, oh, ow, kh·kw·cin], feature order
 * (i, j, c) row-major — the order of a kernel [kh, kw, cin, cout] reshaped to [kh·kw·cin, cout].
 * Built as a convolution with a one-hot kernel, so strides, padding and dilation match exactly.
 */
export function unfoldPatches(
  x: tf.Tensor4D,
  kh: number,
  kw: number,
  strides: [number, number],
  padding: 'valid' | 'same',
  dilations: [number, number] = [1, 1],
): tf.Tensor4D {
  return tf.tidy(() => {
    const cin = x.shape[3];
    const k = kh * kw * cin;
    const eye = new Float32Array(k * k);
    for (let i = 0; i < k; i++) eye[i * k + i] = 1;
    const kernel = tf.tensor4d(eye, [kh, kw, cin, k]);
    return tf.conv2d(x, kernel, strides, padding, 'NHWC', dilations);
  });
}

/** Whether a layer of this kind applies its own activation after z (Dense, Conv...). */
const ACTIVATED: ReadonlySet<LayerKind> = new Set([
  'dense',
  'conv',
  'conv1d',
  'depthwise',
  'separable',
]);

/**
 * The layer's output before its activation, z, with the probe added, and what the statistics
 * need from the forward pass: the input (Dense, convolutions; a Conv1D's as [b, 1, L, c]), x̂
 * (normalisations), the token ids (Embedding), and a SeparableConv2D's depthwise output h too.
 */
function probedForward(
  tap: Tap,
  x: tf.Tensor,
  probe: tf.Tensor,
): { z: tf.Tensor; kept: tf.Tensor[] } {
  const l = tap.layer as Internals;
  const name = tap.layer.name;
  const withBias = (z: tf.Tensor) => (l.useBias ? tf.add(z, l.bias.read()) : z);
  switch (tap.kind) {
    case 'dense': {
      // Dense acts on the last axis of any rank (a sequence of vectors: each position alike).
      const din = x.shape[x.rank - 1] as number;
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, din]);
      let z = tf.matMul(flat, l.kernel.read());
      if (x.rank !== 2) z = tf.reshape(z, [...x.shape.slice(0, -1), z.shape[1] as number]);
      return { z: tf.add(withBias(z), probe), kept: [x] };
    }
    case 'conv':
    case 'conv1d': {
      const g = convGeometry(tap.layer, tap.kind);
      const x4 = (tap.kind === 'conv1d' ? tf.expandDims(x, 1) : x) as tf.Tensor4D;
      const k = l.kernel.read() as tf.Tensor;
      const k4 = (tap.kind === 'conv1d' ? tf.expandDims(k, 0) : k) as tf.Tensor4D;
      let z: tf.Tensor = tf.conv2d(x4, k4, g.strides, g.padding, 'NHWC', g.dilations);
      if (tap.kind === 'conv1d') z = tf.squeeze(z, [1]);
      return { z: tf.add(withBias(z), probe), kept: [x4] };
    }
    case 'depthwise': {
      const g = convGeometry(tap.layer, tap.kind);
      const z = tf.depthwiseConv2d(
        x as tf.Tensor4D,
        l.depthwiseKernel.read(),
        g.strides,
        g.padding,
        'NHWC',
        g.dilations,
      );
      return { z: tf.add(withBias(z), probe), kept: [x] };
    }
    case 'separable': {
      // tf.separableConv2d is this depthwise step, then a 1×1 convolution.
      const g = convGeometry(tap.layer, tap.kind);
      const h = tf.depthwiseConv2d(
        x as tf.Tensor4D,
        l.depthwiseKernel.read(),
        g.strides,
        g.padding,
        'NHWC',
        g.dilations,
      );
      const z = tf.conv2d(h, l.pointwiseKernel.read(), 1, 'valid');
      return { z: tf.add(withBias(z), probe), kept: [x, h] };
    }
    case 'norm': {
      const axis =
        l.axis === -1 ||
        l.axis === x.rank - 1 ||
        (Array.isArray(l.axis) &&
          l.axis.length === 1 &&
          (l.axis[0] === -1 || l.axis[0] === x.rank - 1));
      if (!axis) throw new Error(`curvature: ${name}: BatchNorm must normalise the last axis`);
      const xh = tf.div(
        tf.sub(x, l.movingMean.read()),
        tf.sqrt(tf.add(l.movingVariance.read(), l.epsilon)),
      );
      let z: tf.Tensor = xh;
      if (l.scale) z = tf.mul(z, l.gamma.read());
      if (l.center) z = tf.add(z, l.beta.read());
      return { z: tf.add(z, probe), kept: [xh] };
    }
    case 'layernorm': {
      // Each example normalised by its own statistics: examples stay independent.
      const axes = layerNormAxes(tap.layer, x.rank);
      const { mean, variance } = tf.moments(x, axes, true);
      const xh = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, l.epsilon)));
      const shape = x.shape.map((d, i) => (axes.includes(i) ? d : 1));
      let z: tf.Tensor = xh;
      if (l.scale) z = tf.mul(z, tf.reshape(l.gamma.read(), shape));
      if (l.center) z = tf.add(z, tf.reshape(l.beta.read(), shape));
      return { z: tf.add(z, probe), kept: [xh] };
    }
    case 'embedding': {
      const ids = tf.cast(x, 'int32');
      const e = l.embeddings.read() as tf.Tensor2D;
      const z = tf.reshape(tf.gather(e, tf.reshape(ids, [-1])), [...ids.shape, e.shape[1]]);
      return { z: tf.add(z, probe), kept: [ids] };
    }
  }
}

/** A LayerNormalization's axes, non-negative, in the order of its γ's axes. */
function layerNormAxes(layer: layers.Layer, rank: number): number[] {
  const a = (layer as Internals).axis as number | number[];
  return (Array.isArray(a) ? a : [a]).map((v) => (v < 0 ? v + rank : v));
}

/**
 * Runs `model` in inference mode on `xs` with probes on the taps; returns the per-example
 * δ = ∂ℓ_i/∂z_i of every tap and what `probedForward` kept of each.
 * `labelsOf` maps the logits to the labels of the loss (it may read them: sampled labels) and,
 * optionally, per-example weights √w_i that scale δ_i (so the squared gradients by w_i); the
 * weights must be constants (built from read-back values), not functions of the logits.
 */
function probePass(
  model: LayersModel,
  taps: Tap[],
  xs: tf.Tensor,
  labelsOf: (logits: tf.Tensor) => { labels: tf.Tensor1D; rootWeights?: tf.Tensor1D },
): { deltas: tf.Tensor[]; inputs: tf.Tensor[][] } {
  const b = xs.shape[0];
  const probes = taps.map((t) => {
    const shape = t.layer.outputShape as (number | null)[];
    return tf.zeros([b, ...(shape.slice(1) as number[])]);
  });
  const inputs: tf.Tensor[][] = new Array(taps.length);
  let current: tf.Tensor[] = probes;
  const originals = taps.map((t) => (t.layer as Internals).call);
  taps.forEach((t, i) => {
    const l = t.layer as Internals;
    l.call = (input: tf.Tensor | tf.Tensor[]) => {
      const x = Array.isArray(input) ? input[0] : input;
      const { z, kept } = probedForward(t, x, current[i]);
      inputs[i] = kept.map((k) => tf.keep(k.clone()));
      return ACTIVATED.has(t.kind) && l.activation ? l.activation.apply(z) : z;
    };
  });
  try {
    const deltas = tf.grads((...ps: tf.Tensor[]) => {
      current = ps;
      const logits = model.apply(xs, { training: false }) as tf.Tensor;
      const { labels, rootWeights } = labelsOf(logits);
      const losses = softmaxCrossEntropy(logits, labels, 'none');
      return tf.sum(rootWeights ? tf.mul(losses, rootWeights) : losses);
    })(probes);
    return { deltas, inputs };
  } catch (e) {
    tf.dispose(inputs.filter(Boolean).flat());
    throw e;
  } finally {
    taps.forEach((t, i) => {
      (t.layer as Internals).call = originals[i];
    });
    tf.dispose(probes);
  }
}

/** Draw one label per row from softmax(logits). */
function sampleLabels(logits: tf.Tensor, rng: Rng): tf.Tensor1D {
  const [b, k] = logits.shape as [number, number];
  const p = tf.tidy(() => tf.softmax(logits)).dataSync() as Float32Array;
  const out = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    let u = rng.next();
    let c = 0;
    for (; c < k - 1; c++) {
      u -= p[i * k + c];
      if (u < 0) break;
    }
    out[i] = c;
  }
  return tf.tensor1d(out, 'int32');
}

/**
 * The stratified label draw for the true Fisher F = E_x Σ_y p(y|x)·g_y² (g_y: the gradient of
 * CE(x, y)). A batch of b examples comes in twice (2b rows): row i gets the model's argmax m with
 * weight p_m, row b + i one label y ≠ m drawn ∝ p_y with weight Σ_{y≠m} p_y. Each example's
 * contribution p_m·g_m² + (1 − p_m)·g_y² is unbiased for Σ_y p_y·g_y². Why: at a well-fit θ̂ the
 * plain sampled label is the argmax almost always (p_m ≈ 0.999), whose gradient is ≈ 0, so the
 * whole Fisher of a confident example hangs on a rare draw of another class; here every example
 * contributes that part every time, at the cost of a second backward row.
 */
function stratifiedLabels(
  logits: tf.Tensor,
  rng: Rng,
): { labels: tf.Tensor1D; rootWeights: tf.Tensor1D } {
  const [b2, k] = logits.shape as [number, number];
  const b = b2 / 2;
  const p = tf.tidy(() => tf.softmax(tf.slice(logits, [0, 0], [b, k]))).dataSync() as Float32Array;
  const labels = new Int32Array(b2);
  const w = new Float32Array(b2);
  for (let i = 0; i < b; i++) {
    const row = p.subarray(i * k, (i + 1) * k);
    let m = 0;
    for (let c = 1; c < k; c++) if (row[c] > row[m]) m = c;
    let rest = 0;
    for (let c = 0; c < k; c++) if (c !== m) rest += row[c];
    labels[i] = m;
    w[i] = Math.sqrt(row[m]);
    let y = m === 0 ? 1 : 0;
    if (rest > 0) {
      let u = rng.next() * rest;
      for (let c = 0; c < k; c++) {
        if (c === m) continue;
        y = c;
        u -= row[c];
        if (u < 0) break;
      }
    }
    labels[b + i] = y;
    w[b + i] = Math.sqrt(rest);
  }
  return { labels: tf.tensor1d(labels, 'int32'), rootWeights: tf.tensor1d(w) };
}

/**
 * The exact true Fisher's rows: a batch of b examples comes in k times (k·b rows); row c·b + i is
 * example i with label c and weight p_c(x_i), so the summed squared gradients are Σ_y p_y·g_y² per
 * example — Golatkar et al.'s Fisher (every class, weighted by the model's probability), with
 * nothing left to chance. The weights are read back (constants), as `probePass` requires.
 */
function expectedLabels(
  logits: tf.Tensor,
  k: number,
): { labels: tf.Tensor1D; rootWeights: tf.Tensor1D } {
  const b = (logits.shape[0] as number) / k;
  const p = tf.tidy(() => tf.softmax(tf.slice(logits, [0, 0], [b, k]))).dataSync() as Float32Array;
  const labels = new Int32Array(k * b);
  const w = new Float32Array(k * b);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < b; i++) {
      labels[c * b + i] = c;
      w[c * b + i] = Math.sqrt(p[i * k + c]);
    }
  }
  return { labels: tf.tensor1d(labels, 'int32'), rootWeights: tf.tensor1d(w) };
}

/** Accumulates summed statistics on the backend; one tensor per key. */
class Sums {
  private readonly acc = new Map<string, tf.Tensor>();
  add(key: string, t: tf.Tensor): void {
    const old = this.acc.get(key);
    this.acc.set(key, old ? tf.keep(tf.add(old, t)) : tf.keep(t.clone()));
    old?.dispose();
  }
  /** Sum / n as floats, disposing the accumulator. */
  take(key: string, n: number): Float32Array {
    const t = this.acc.get(key);
    if (!t) throw new Error(`curvature: no statistic ${key}`);
    const out = t.dataSync().slice() as Float32Array;
    for (let i = 0; i < out.length; i++) out[i] /= n;
    t.dispose();
    this.acc.delete(key);
    return out;
  }
  dispose(): void {
    tf.dispose([...this.acc.values()]);
    this.acc.clear();
  }
}

const key = (g: number, p: number, what: string) => `${g}:${p}:${what}`;

type Want = { gradient?: boolean; diag?: boolean; kfac?: boolean };

/**
 * Σ_i g_i and Σ_i g_i² of a weight whose per-example gradient is g_i = U_iᵀ δ_i (U_i [P, K] the
 * inputs seen at P positions, δ_i [P, C]): Dense on a sequence, a 1×1 convolution.
 */
function addPatchStats(
  slot: Slot | undefined,
  u: tf.Tensor,
  dd: tf.Tensor,
  shape: number[],
  sums: Sums,
  opts: Want,
): void {
  if (!slot) return;
  const [b, p, k] = u.shape as number[];
  const c = dd.shape[2] as number;
  if (opts.gradient) {
    const g = tf.matMul(tf.reshape(u, [b * p, k]), tf.reshape(dd, [b * p, c]), true, false);
    sums.add(key(slot.group, slot.param, 'g'), tf.reshape(g, shape));
  }
  if (opts.diag) {
    const per = tf.matMul(u, dd, true, false); // [b, K, C]
    sums.add(key(slot.group, slot.param, 'f'), tf.reshape(tf.sum(tf.square(per), 0), shape));
  }
}

/** Σ_i g_i and Σ_i g_i² of a per-position bias: g_i = Σ_p δ_ip, δ [b, P, C]. */
function addBiasStats(slot: Slot | undefined, dd: tf.Tensor, sums: Sums, opts: Want): void {
  if (!slot) return;
  const per = tf.sum(dd, 1); // [b, C]
  if (opts.gradient) sums.add(key(slot.group, slot.param, 'g'), tf.sum(per, 0));
  if (opts.diag) sums.add(key(slot.group, slot.param, 'f'), tf.sum(tf.square(per), 0));
}

/** Σ_i g_i and Σ_i g_i² from per-example gradients `per` [b, ...shape]. */
function addPerExample(slot: Slot | undefined, per: tf.Tensor, sums: Sums, opts: Want): void {
  if (!slot) return;
  if (opts.gradient) sums.add(key(slot.group, slot.param, 'g'), tf.sum(per, 0));
  if (opts.diag) sums.add(key(slot.group, slot.param, 'f'), tf.sum(tf.square(per), 0));
}

/**
 * Per-example gradients of a depthwise kernel [kh, kw, cin, m] from the input x and δ at the
 * depthwise output [b, oh, ow, cin·m]: g_i[k, c, j] = Σ_p U_i[p, k, c] δ_i[p, c·m + j], one
 * batched product per (example, channel).
 */
function depthwisePerExample(
  x: tf.Tensor,
  d: tf.Tensor,
  g: ReturnType<typeof convGeometry>,
  kshape: number[],
): tf.Tensor {
  const [kh, kw, cin, m] = kshape;
  const b = x.shape[0] as number;
  const kk = kh * kw;
  const pcount = (d.shape[1] as number) * (d.shape[2] as number);
  const u = tf.reshape(unfoldPatches(x as tf.Tensor4D, kh, kw, g.strides, g.padding, g.dilations), [
    b,
    pcount,
    kk,
    cin,
  ]);
  const ut = tf.reshape(tf.transpose(u, [0, 3, 2, 1]), [b * cin, kk, pcount]);
  const dt = tf.reshape(tf.transpose(tf.reshape(d, [b, pcount, cin, m]), [0, 2, 1, 3]), [
    b * cin,
    pcount,
    m,
  ]);
  const per = tf.reshape(tf.matMul(ut, dt), [b, cin, kk, m]);
  return tf.reshape(tf.transpose(per, [0, 2, 1, 3]), [b, ...kshape]);
}

/** Examples per chunk of the Embedding's per-example scatter ([chunk, V, D] floats). */
const EMBEDDING_CHUNK_FLOATS = 1 << 22;

/** Add one batch's statistics of one tap (inside a tidy). */
function accumulate(
  tap: Tap,
  kept: tf.Tensor[],
  d: tf.Tensor,
  sums: Sums,
  opts: CurvatureOptions,
): void {
  const slot = (weight: string) => tap.slots.find((s) => s.weight === weight);
  const l = tap.layer as Internals;
  const [a] = kept;
  const b = a.shape[0];
  if (tap.kind === 'dense' && a.rank === 2) {
    const w = slot('kernel');
    const bias = slot('bias');
    if (w && opts.gradient) sums.add(key(w.group, w.param, 'g'), tf.matMul(a, d, true, false));
    if (w && opts.diag)
      sums.add(key(w.group, w.param, 'f'), tf.matMul(tf.square(a), tf.square(d), true, false));
    if (bias && opts.gradient) sums.add(key(bias.group, bias.param, 'g'), tf.sum(d, 0));
    if (bias && opts.diag) sums.add(key(bias.group, bias.param, 'f'), tf.sum(tf.square(d), 0));
    if (opts.kfac) {
      const aa = l.useBias ? tf.concat([a, tf.ones([b, 1])], 1) : a;
      sums.add(`${tap.layer.name}:A`, tf.matMul(aa, aa, true, false));
      sums.add(`${tap.layer.name}:G`, tf.matMul(d, d, true, false));
    }
    return;
  }
  if (tap.kind === 'dense') {
    // Dense over a sequence [b, ..., din]: every position is a patch of a 1×1 convolution.
    const din = a.shape[a.rank - 1] as number;
    const cout = d.shape[d.rank - 1] as number;
    const u = tf.reshape(a, [b, -1, din]);
    const dd = tf.reshape(d, [b, -1, cout]);
    addPatchStats(slot('kernel'), u, dd, [din, cout], sums, opts);
    addBiasStats(slot('bias'), dd, sums, opts);
    if (opts.kfac) kfacStats(tap, u, dd, sums);
    return;
  }
  if (tap.kind === 'conv' || tap.kind === 'conv1d') {
    const g = convGeometry(tap.layer, tap.kind);
    const d4 = (tap.kind === 'conv1d' ? tf.expandDims(d, 1) : d) as tf.Tensor4D;
    const [, oh, ow, cout] = d4.shape as number[];
    const pcount = oh * ow;
    const k = g.kh * g.kw * (a.shape[3] as number);
    const vshape = (l.kernel.read() as tf.Tensor).shape;
    const kshape = [g.kh, g.kw, a.shape[3] as number, cout];
    // The unfolded patches [b, P, K], built only when a statistic needs them (the native route
    // computes the squared per-example gradients without them).
    let patches: tf.Tensor | undefined;
    const u = () => {
      patches ??= tf.reshape(
        unfoldPatches(a as tf.Tensor4D, g.kh, g.kw, g.strides, g.padding, g.dilations),
        [b, pcount, k],
      );
      return patches;
    };
    const dd = tf.reshape(d4, [b, pcount, cout]); // [b, P, C]
    const w = slot('kernel');
    if (w && opts.gradient) {
      // Σ_b U_bᵀ δ_b is the layer's filter gradient: the backend's own kernel (no dilation), else
      // the unfolded patches.
      const gsum =
        g.dilations[0] === 1 && g.dilations[1] === 1
          ? (tf
              .engine()
              .runKernel(
                'Conv2DBackpropFilter',
                { x: a, dy: d4 },
                { strides: g.strides, pad: g.padding, dataFormat: 'NHWC', filterShape: kshape },
              ) as tf.Tensor)
          : tf.matMul(
              tf.reshape(u(), [b * pcount, k]),
              tf.reshape(dd, [b * pcount, cout]),
              true,
              false,
            );
      sums.add(key(w.group, w.param, 'g'), tf.reshape(gsum, vshape));
    }
    if (w && opts.diag) {
      const native = nativeConvSquaredGrad(
        a as tf.Tensor4D,
        d4,
        kshape as [number, number, number, number],
        g.strides,
        g.padding,
        g.dilations,
      );
      if (native) sums.add(key(w.group, w.param, 'f'), tf.reshape(native, vshape));
      else {
        const perExample = tf.matMul(u(), dd, true, false); // [b, K, C]
        sums.add(key(w.group, w.param, 'f'), tf.reshape(tf.sum(tf.square(perExample), 0), vshape));
      }
    }
    addBiasStats(slot('bias'), dd, sums, opts);
    if (opts.kfac) kfacStats(tap, u(), dd, sums);
    return;
  }
  if (tap.kind === 'depthwise' || tap.kind === 'separable') {
    const g = convGeometry(tap.layer, tap.kind);
    const cout = d.shape[3] as number;
    const pcount = (d.shape[1] as number) * (d.shape[2] as number);
    const dd = tf.reshape(d, [b, pcount, cout]);
    const dk = l.depthwiseKernel.read() as tf.Tensor;
    let dh = d; // δ at the depthwise output
    if (tap.kind === 'separable') {
      const h = kept[1];
      const pk = l.pointwiseKernel.read() as tf.Tensor; // [1, 1, cin·m, F]
      const cm = pk.shape[2] as number;
      addPatchStats(
        slot('pointwise_kernel'),
        tf.reshape(h, [b, pcount, cm]),
        dd,
        pk.shape,
        sums,
        opts,
      );
      dh = tf.reshape(
        tf.matMul(tf.reshape(dd, [b * pcount, cout]), tf.reshape(pk, [cm, cout]), false, true),
        h.shape,
      );
    }
    const dslot = slot('depthwise_kernel');
    if (dslot) addPerExample(dslot, depthwisePerExample(a, dh, g, dk.shape), sums, opts);
    addBiasStats(slot('bias'), dd, sums, opts);
    return;
  }
  if (tap.kind === 'embedding') {
    const e = l.embeddings.read() as tf.Tensor2D;
    const [vocab, dim] = e.shape;
    const ids = tf.reshape(a, [b, -1]) as tf.Tensor2D;
    const tlen = ids.shape[1];
    const dd = tf.reshape(d, [b, tlen, dim]);
    const s = slot('embeddings');
    if (!s) return;
    if (opts.gradient)
      sums.add(
        key(s.group, s.param, 'g'),
        tf.unsortedSegmentSum(tf.reshape(dd, [b * tlen, dim]), tf.reshape(ids, [-1]), vocab),
      );
    if (opts.diag) {
      // Each example's gradient is its own scatter of δ into the rows of its ids: example j of a
      // chunk scatters into segments j·V + id.
      const chunk = Math.max(1, Math.floor(EMBEDDING_CHUNK_FLOATS / (vocab * dim)));
      for (let start = 0; start < b; start += chunk) {
        const c = Math.min(chunk, b - start);
        const off = tf.mul(tf.range(0, c, 1, 'int32'), tf.scalar(vocab, 'int32'));
        const seg = tf.add(tf.slice(ids, [start, 0], [c, tlen]), tf.reshape(off, [c, 1]));
        const per = tf.unsortedSegmentSum(
          tf.reshape(tf.slice(dd, [start, 0, 0], [c, tlen, dim]), [c * tlen, dim]),
          tf.reshape(seg, [-1]),
          c * vocab,
        );
        sums.add(
          key(s.group, s.param, 'f'),
          tf.sum(tf.reshape(tf.square(per), [c, vocab, dim]), 0),
        );
      }
    }
    return;
  }
  // Normalisations: a is x̂; γ's per-example gradient sums δ·x̂ over the axes γ does not span.
  const axes = tap.kind === 'layernorm' ? layerNormAxes(tap.layer, a.rank) : [a.rank - 1];
  const rest = a.shape.map((_, i) => i).filter((i) => i > 0 && !axes.includes(i));
  const perm = [0, ...rest, ...axes];
  const moved = (t: tf.Tensor) => (perm.every((v, i) => v === i) ? t : tf.transpose(t, perm));
  const pshape = axes.map((i) => a.shape[i] as number);
  const c = pshape.reduce((x, y) => x * y, 1);
  const xt = tf.reshape(moved(a), [b, -1, c]);
  const dt = tf.reshape(moved(d), [b, -1, c]);
  const perGamma = tf.reshape(tf.sum(tf.mul(dt, xt), 1), [b, ...pshape]);
  const perBeta = tf.reshape(tf.sum(dt, 1), [b, ...pshape]);
  addPerExample(slot('gamma'), perGamma, sums, opts);
  addPerExample(slot('beta'), perBeta, sums, opts);
}

/** K-FAC sums of a layer seen as patches: A from U [b, P, K] (+ a 1 for the bias), G from δ [b, P, C] / P. */
function kfacStats(tap: Tap, u: tf.Tensor, dd: tf.Tensor, sums: Sums): void {
  const [b, pcount, k] = u.shape as number[];
  const cout = dd.shape[2] as number;
  const flat = tf.reshape(u, [b * pcount, k]);
  const aa = (tap.layer as Internals).useBias
    ? tf.concat([flat, tf.ones([b * pcount, 1])], 1)
    : flat;
  const d2 = tf.reshape(dd, [b * pcount, cout]);
  sums.add(`${tap.layer.name}:A`, tf.matMul(aa, aa, true, false));
  sums.add(`${tap.layer.name}:G`, tf.div(tf.matMul(d2, d2, true, false), pcount));
}

/** Layers with K-FAC factors: Dense and the dense convolutions (Conv2D, Conv1D). */
const KFAC_KINDS: ReadonlySet<LayerKind> = new Set(['dense', 'conv', 'conv1d']);

function toMatrix(f: Float32Array): Float64Array {
  return Float64Array.from(f);
}

/**
 * Gradient, diagonal Fisher and K-FAC factors of the mean CE over `data`, per parameter tensor of
 * `groups` (which must come from `paramGroups(model)` or list the model's own variables).
 * One forward and one backward pass per batch: the cost of one epoch over `data`, no more.
 */
export function computeCurvature(
  model: LayersModel,
  groups: ParamGroup[],
  data: Dataset,
  opts: CurvatureOptions = {},
): Curvature {
  const labels = opts.labels ?? 'true';
  if ((labels === 'sampled' || labels === 'stratified') && !opts.rng)
    throw new Error(`computeCurvature: ${labels} labels need an rng`);
  const stratified = labels === 'stratified';
  const expected = labels === 'expected';
  // Several rows per example: the gradient and the K-FAC input factor would count each example
  // several times (and the expected gradient Σ_y p_y·g_y is 0 for softmax-CE anyway).
  if ((stratified || expected) && (opts.gradient || opts.kfac))
    throw new Error(`computeCurvature: ${labels} labels give the diagonal Fisher only`);
  const want = {
    ...opts,
    gradient: opts.gradient ?? !(stratified || expected),
    diag: opts.diag ?? true,
    kfac: opts.kfac ?? false,
  };
  // Rows per example: 2 (stratified), k (expected: one per class), else 1.
  const k = (model.outputs[0].shape as number[])[model.outputs[0].shape.length - 1];
  const rows = stratified ? 2 : expected ? k : 1;
  // The expected mode keeps about 256 rows per pass by default (k rows per example).
  const batchSize = opts.batchSize ?? (expected ? Math.max(1, Math.floor(256 / k)) : 256);
  const taps = tapsOf(model, groups);
  const sums = new Sums();
  const n = data.length;
  try {
    for (const positions of data.batches(batchSize)) {
      tf.tidy(() => {
        const { xs, ys } = data.tensors(positions);
        const { deltas, inputs } = probePass(
          model,
          taps,
          rows > 1 ? tf.concat(new Array<tf.Tensor>(rows).fill(xs)) : xs,
          (logits) =>
            stratified
              ? stratifiedLabels(logits, opts.rng!)
              : expected
                ? expectedLabels(logits, k)
                : { labels: labels === 'true' ? ys : sampleLabels(logits, opts.rng!) },
        );
        try {
          taps.forEach((t, i) => {
            accumulate(t, inputs[i], deltas[i], sums, want);
          });
        } finally {
          tf.dispose(inputs.flat());
        }
      });
      opts.cost?.addGrad(positions.length * rows, opts.set ?? data.name);
    }
    const out: Curvature = { n, labels };
    const perTensor = (what: string) =>
      groups.map((g, gi) => g.params.map((_, pi) => sums.take(key(gi, pi, what), n)));
    if (want.gradient) out.grad = perTensor('g');
    if (want.diag) out.diag = perTensor('f');
    if (want.kfac) {
      out.kfac = taps
        .filter((t) => KFAC_KINDS.has(t.kind))
        .map((t) => {
          const w = t.slots.find((s) => s.weight === 'kernel')!;
          const bias = t.slots.find((s) => s.weight === 'bias');
          const A = toMatrix(sums.take(`${t.layer.name}:A`, n));
          const G = toMatrix(sums.take(`${t.layer.name}:G`, n));
          return {
            layer: t.layer.name,
            kind: t.kind === 'dense' ? ('dense' as const) : ('conv' as const),
            A,
            dimA: Math.round(Math.sqrt(A.length)),
            G,
            dimG: Math.round(Math.sqrt(G.length)),
            kernel: [w.group, w.param] as [number, number],
            bias: bias ? ([bias.group, bias.param] as [number, number]) : undefined,
          };
        });
    }
    return out;
  } finally {
    sums.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Gradients through the variables, and Hessian-vector products (checks, exact-Hessian priors).

/** The tf.Variables of the groups' tensors, [group][param]. */
export function groupVariables(groups: ParamGroup[]): tf.Variable[][] {
  return groups.map((g) => g.params.map((p) => p.variable.read() as tf.Variable));
}

/** Mean CE gradient over `data` w.r.t. `vars` (inference mode), by the ordinary backward pass. */
export function meanLossGradient(
  model: LayersModel,
  vars: tf.Variable[],
  data: Dataset,
  batchSize = 256,
): Float32Array[] {
  const sums = vars.map((v) => new Float64Array(v.size));
  for (const positions of data.batches(batchSize)) {
    const gs = tf.tidy(() => {
      const { xs, ys } = data.tensors(positions);
      return tf.grads((...ws: tf.Tensor[]) => {
        void ws;
        return tf.sum(
          softmaxCrossEntropy(model.apply(xs, { training: false }) as tf.Tensor, ys, 'none'),
        );
      })(vars);
    });
    gs.forEach((g, i) => {
      const v = g.dataSync();
      for (let j = 0; j < v.length; j++) sums[i][j] += v[j];
    });
    tf.dispose(gs);
  }
  return sums.map((s) => Float32Array.from(s, (x) => x / data.length));
}

/** Run `fn` with every variable set to θ + h·v, then restore θ bit for bit. */
function withShift<T>(vars: tf.Variable[], v: Float32Array[], h: number, fn: () => T): T {
  const saved = vars.map((x) => tf.keep(x.clone()));
  try {
    vars.forEach((x, i) => {
      tf.tidy(() => x.assign(tf.add(saved[i], tf.mul(tf.tensor(v[i], x.shape), h))));
    });
    return fn();
  } finally {
    vars.forEach((x, i) => {
      x.assign(saved[i]);
    });
    tf.dispose(saved);
  }
}

function norm(v: Float32Array[]): number {
  let s = 0;
  for (const a of v) for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/**
 * H v of the mean CE over `data` (w.r.t. `vars`, with v in the same layout) by central differences
 * of gradients: (∇L(θ + h v) − ∇L(θ − h v)) / 2h with h = eps/‖v‖. Error O(h²) plus float32
 * rounding of the gradients / h; exact in the limit for smooth losses, and for ReLU nets away from
 * kinks.
 */
export function hessianVectorProduct(
  model: LayersModel,
  vars: tf.Variable[],
  data: Dataset,
  v: Float32Array[],
  opts: { eps?: number; batchSize?: number } = {},
): Float32Array[] {
  const nv = norm(v);
  if (nv === 0) return v.map((a) => new Float32Array(a.length));
  const h = (opts.eps ?? 1e-2) / nv;
  const plus = withShift(vars, v, h, () => meanLossGradient(model, vars, data, opts.batchSize));
  const minus = withShift(vars, v, -h, () => meanLossGradient(model, vars, data, opts.batchSize));
  return plus.map((p, i) => p.map((x, j) => (x - minus[i][j]) / (2 * h)));
}

/**
 * Generalised Gauss-Newton product Gv = (1/n) Σ_i J_iᵀ H_i J_i v, H_i = diag(p_i) − p_i p_iᵀ the
 * softmax-CE Hessian in the logits (for softmax-CE this is also the true Fisher). J v is a central
 * difference of the logits (exact for a model linear in v along the line, e.g. the output layer),
 * Jᵀ u is one backward pass of Σ logits·u.
 */
export function gaussNewtonVectorProduct(
  model: LayersModel,
  vars: tf.Variable[],
  data: Dataset,
  v: Float32Array[],
  opts: { eps?: number; batchSize?: number } = {},
): Float32Array[] {
  const nv = norm(v);
  const sums = vars.map((x) => new Float64Array(x.size));
  if (nv === 0) return sums.map((s) => Float32Array.from(s));
  const h = (opts.eps ?? 1e-2) / nv;
  for (const positions of data.batches(opts.batchSize ?? 256)) {
    const { xs, ys } = data.tensors(positions);
    ys.dispose();
    const logitsAt = () => tf.tidy(() => model.apply(xs, { training: false }) as tf.Tensor);
    const up = withShift(vars, v, h, logitsAt);
    const down = withShift(vars, v, -h, logitsAt);
    // u_i = H_i (J v)_i
    const u = tf.tidy(() => {
      const jv = tf.div(tf.sub(up, down), 2 * h);
      const p = tf.softmax(logitsAt());
      return tf.sub(tf.mul(p, jv), tf.mul(p, tf.sum(tf.mul(p, jv), -1, true)));
    });
    const gs = tf.tidy(() =>
      tf.grads((...ws: tf.Tensor[]) => {
        void ws;
        return tf.sum(tf.mul(model.apply(xs, { training: false }) as tf.Tensor, u));
      })(vars),
    );
    tf.dispose([xs, up, down, u]);
    gs.forEach((g, i) => {
      const a = g.dataSync();
      for (let j = 0; j < a.length; j++) sums[i][j] += a[j];
    });
    tf.dispose(gs);
  }
  return sums.map((s) => Float32Array.from(s, (x) => x / data.length));
}
