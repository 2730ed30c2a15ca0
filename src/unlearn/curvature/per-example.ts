/**
 * Per layer, one batch's sums of the per-example gradients and of their squares (the gradient and
 * the diagonal Fisher), from the layer's input and δ kept by the probe pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import { accelerations } from '../../backend/accel.ts';
import { kfacStats } from './kfac.ts';
import { convGeometry, unfoldPatches } from './patches.ts';
import { layerNormAxes } from './probe.ts';
import { key, type Sums, type Want } from './sums.ts';
import type { CurvatureOptions, Internals, Slot, Tap } from './types.ts';

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
export function accumulate(
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
    // One position per example: the patch form's sums (G / 1), and its rows for the Gram route.
    if (opts.kfac) kfacStats(tap, tf.expandDims(a, 1), tf.expandDims(d, 1), sums);
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
      const native = accelerations().convSquaredGrad(
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
