/** Seeded synthetic data for the step and Fisher benchmarks (throughput does not depend on content). */
import { Rng } from '../../src/core/rng.ts';
import { type DataSource, Dataset, sampleSize } from '../../src/data/dataset.ts';

/** `n` samples of `shape` drawn from N(0, 1), labels uniform over `numClasses`. */
export function syntheticDataset(
  n: number,
  shape: number[],
  numClasses: number,
  seed: number,
): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * sampleSize(shape));
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = rng.int(0, numClasses);
  const source: DataSource = {
    name: `synthetic-${n}`,
    sampleShape: shape,
    x,
    scale: 1,
    y,
    numClasses,
    meta: {},
  };
  return new Dataset(source);
}
