/**
 * The accumulator of a pass: summed statistics on the backend, keyed by group, param and statistic.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Accumulates summed statistics on the backend; one tensor per key. */
export class Sums {
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

export const key = (g: number, p: number, what: string) => `${g}:${p}:${what}`;

export type Want = { gradient?: boolean; diag?: boolean; kfac?: boolean };
