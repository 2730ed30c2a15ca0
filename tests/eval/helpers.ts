import { argmaxRows } from '../../src/eval/accuracy.ts';
import type { SetPredictions } from '../../src/eval/types.ts';

/** A SetPredictions from probability rows and labels (predictions = argmax). */
export function setOf(
  rows: number[][],
  labels: number[],
  extra: { bias?: number[]; group?: number[] } = {},
): SetPredictions {
  const k = rows[0]?.length ?? 2;
  const probs = Float32Array.from(rows.flat());
  return {
    probs,
    numClasses: k,
    labels: Int32Array.from(labels),
    predicted: argmaxRows(probs, k),
    ...(extra.bias ? { bias: Uint8Array.from(extra.bias) } : {}),
    ...(extra.group ? { group: Uint8Array.from(extra.group) } : {}),
  };
}

/** Two-class rows whose confidence in label 0 is each value of `conf` (label 0 for all). */
export function confidenceSet(conf: number[]): SetPredictions {
  return setOf(
    conf.map((c) => [c, 1 - c]),
    conf.map(() => 0),
  );
}

export function near(actual: number | null, expected: number, tol = 1e-9): void {
  if (actual === null || !(Math.abs(actual - expected) <= tol)) {
    throw new Error(`expected ${expected} ± ${tol}, got ${actual}`);
  }
}
