/** Small synthetic datasets for training tests (two Gaussian blobs per class). */
import { Rng } from '../../src/core/rng.ts';
import { type DataSource, Dataset } from '../../src/data/dataset.ts';

export function blobs(
  n: number,
  d: number,
  numClasses: number,
  seed: number,
  shape: number[] = [d],
): Dataset {
  const rng = new Rng(seed);
  const centers = Array.from({ length: numClasses }, () =>
    Array.from({ length: d }, () => rng.normal(0, 2)),
  );
  const x = new Float32Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % numClasses;
    for (let j = 0; j < d; j++) x[i * d + j] = centers[y[i]][j] + rng.normal();
  }
  const source: DataSource = {
    name: `blobs-${seed}`,
    sampleShape: shape,
    x,
    scale: 1,
    y,
    numClasses,
    meta: {},
  };
  return new Dataset(source);
}
