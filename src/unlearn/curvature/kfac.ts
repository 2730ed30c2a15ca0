/**
 * The K-FAC factors of Dense and Conv layers: A = E[ã ãᵀ] and G = E[δ δᵀ], summed per batch, then
 * taken as means. Where a factor sees fewer rows than it has dimensions (a dense layer with more
 * inputs than curvature examples), the rows themselves are kept too: the factor is their Gram
 * matrix, of rank ≤ rows, and the prior decomposes the small rows×rows matrix instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerKind } from '../../models/types.ts';
import type { Sums } from './sums.ts';
import type { FactorRows, Internals, KfacFactors, Tap } from './types.ts';

/** The rows a factor has seen in one pass (one accumulator), while they are fewer than its dim. */
interface RowStore {
  /** Each row's weight in the sum (G of a conv layer: 1/P). */
  weight: number;
  chunks: Float32Array[];
  rows: number;
  /** As many rows as dimensions were seen: rank can be full, no rows are kept. */
  full: boolean;
}

/** Per pass: its accumulator's row stores by factor key (dropped with the accumulator). */
const rowStores = new WeakMap<Sums, Map<string, RowStore>>();

/**
 * Keeps t's rows [r, dim] for the factor `key` while all rows seen stay below dim; the first
 * batch that reaches dim drops them for good, so at most a dim×dim block of floats is held and
 * nothing is read back from the backend for factors with many rows (conv patches).
 */
function keepRows(sums: Sums, key: string, t: tf.Tensor, weight: number): void {
  let stores = rowStores.get(sums);
  if (!stores) {
    stores = new Map();
    rowStores.set(sums, stores);
  }
  let s = stores.get(key);
  if (!s) {
    s = { weight, chunks: [], rows: 0, full: false };
    stores.set(key, s);
  }
  if (s.full) return;
  const [rows, dim] = t.shape as [number, number];
  if (s.rows + rows >= dim || s.weight !== weight) {
    s.full = true;
    s.chunks = [];
    return;
  }
  s.chunks.push((t.dataSync() as Float32Array).slice());
  s.rows += rows;
}

/** The rows kept for `key` as factor = scale·XᵀX with the factor a mean over n examples. */
function takeRows(stores: Map<string, RowStore> | undefined, key: string, n: number) {
  const s = stores?.get(key);
  if (!s || s.full || s.rows === 0) return undefined;
  const x = new Float32Array(s.chunks.reduce((k, c) => k + c.length, 0));
  let at = 0;
  for (const c of s.chunks) {
    x.set(c, at);
    at += c.length;
  }
  return { x, rows: s.rows, scale: s.weight / n } satisfies FactorRows;
}

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
  keepRows(sums, `${tap.layer.name}:A`, aa, 1);
  keepRows(sums, `${tap.layer.name}:G`, d2, 1 / pcount);
}

/** Layers with K-FAC factors: Dense and the dense convolutions (Conv2D, Conv1D). */
const KFAC_KINDS: ReadonlySet<LayerKind> = new Set(['dense', 'conv', 'conv1d']);

function toMatrix(f: Float32Array): Float64Array {
  return Float64Array.from(f);
}

/** The K-FAC factors of the Dense/Conv taps: their A and G sums taken as means over n examples. */
export function takeKfacFactors(taps: Tap[], sums: Sums, n: number): KfacFactors[] {
  const stores = rowStores.get(sums);
  rowStores.delete(sums);
  return taps
    .filter((t) => KFAC_KINDS.has(t.kind))
    .map((t) => {
      const w = t.slots.find((s) => s.weight === 'kernel')!;
      const bias = t.slots.find((s) => s.weight === 'bias');
      const A = toMatrix(sums.take(`${t.layer.name}:A`, n));
      const G = toMatrix(sums.take(`${t.layer.name}:G`, n));
      const rowsA = takeRows(stores, `${t.layer.name}:A`, n);
      const rowsG = takeRows(stores, `${t.layer.name}:G`, n);
      return {
        layer: t.layer.name,
        kind: t.kind === 'dense' ? ('dense' as const) : ('conv' as const),
        A,
        dimA: Math.round(Math.sqrt(A.length)),
        G,
        dimG: Math.round(Math.sqrt(G.length)),
        kernel: [w.group, w.param] as [number, number],
        bias: bias ? ([bias.group, bias.param] as [number, number]) : undefined,
        ...(rowsA ? { rowsA } : {}),
        ...(rowsG ? { rowsG } : {}),
      };
    });
}
