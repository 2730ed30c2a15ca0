/**
 * The K-FAC factors of Dense and Conv layers: A = E[ã ãᵀ] and G = E[δ δᵀ], summed per batch, then
 * taken as means.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerKind } from '../../models/types.ts';
import type { Sums } from './sums.ts';
import type { Internals, KfacFactors, Tap } from './types.ts';

/** K-FAC sums of a layer seen as patches: A from U [b, P, K] (+ a 1 for the bias), G from δ [b, P, C] / P. */
export function kfacStats(tap: Tap, u: tf.Tensor, dd: tf.Tensor, sums: Sums): void {
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

/** The K-FAC factors of the Dense/Conv taps: their A and G sums taken as means over n examples. */
export function takeKfacFactors(taps: Tap[], sums: Sums, n: number): KfacFactors[] {
  return taps
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
