/**
 * Seeded subsets. The demo and the tests train on e.g. 10k of MNIST's 60k: a class-balanced draw
 * keeps every class present, and sorted indices keep the view in file order, so the same
 * (n, seed) always gives the same samples in the same order.
 */
import { UsageError } from '../core/errors.ts';
import { rngFor } from '../core/rng.ts';
import { Dataset } from './dataset.ts';

/**
 * n samples of `ds`, as equal per class as the class sizes allow (a class with too few samples
 * gives all it has and the others make up the difference), chosen by `seed`, in view order.
 */
export function balancedSubset(ds: Dataset, n: number, seed: number, name?: string): Dataset {
  if (!Number.isInteger(n) || n < 1 || n > ds.length) {
    throw new UsageError(
      name ?? ds.name,
      `subset size must be an integer in [1, ${ds.length}]; got ${n}`,
    );
  }
  const byClass: number[][] = Array.from({ length: ds.numClasses }, () => []);
  for (let i = 0; i < ds.length; i++) byClass[ds.label(i)].push(i);
  const quota = fillQuotas(
    byClass.map((c) => c.length),
    n,
  );
  const chosen: number[] = [];
  for (let c = 0; c < byClass.length; c++) {
    if (quota[c] === 0) continue;
    const members = Uint32Array.from(byClass[c]);
    rngFor(seed, 'balanced-subset', c).shuffle(members);
    for (let j = 0; j < quota[c]; j++) chosen.push(members[j]);
  }
  chosen.sort((a, b) => a - b);
  return ds.subset(chosen, name ?? `${ds.name}[${n}]`);
}

/** Water-filling: split n over classes as evenly as possible without exceeding any class's size. */
export function fillQuotas(available: readonly number[], n: number): number[] {
  const quota = available.map(() => 0);
  let left = n;
  // Smallest classes first, so that their shortfall is passed on to the larger ones.
  const order = available.map((_, i) => i).sort((a, b) => available[a] - available[b] || a - b);
  for (let k = 0; k < order.length; k++) {
    const share = Math.ceil(left / (order.length - k));
    quota[order[k]] = Math.min(available[order[k]], share);
    left -= quota[order[k]];
  }
  if (left > 0) throw new Error(`fillQuotas: ${left} samples left over`);
  return quota;
}

/** A seeded random subset of k positions of a view of length n (sorted). */
export function randomPositions(n: number, k: number, seed: number, ...parts: string[]): number[] {
  const perm = rngFor(seed, ...parts).permutation(n);
  return Array.from(perm.subarray(0, k)).sort((a, b) => a - b);
}

/**
 * Where held-out data comes from when the test set is a transformed copy (colour, shortcut): that
 * copy's source holds only the test samples, so the draw is made from the raw view it was copied
 * from and the drawn samples are transformed the same way.
 */
export interface HeldOutPool {
  /** The untransformed test view (a view over the whole raw test split) the test set was made from. */
  raw: Dataset;
  /** `view` (samples of the raw test split outside `raw`) transformed as the test set is. */
  transform(view: Dataset, name: string): Dataset;
}

/**
 * Held-out validation data beside a test subset: `n` samples (class-balanced, seeded) of the test
 * split's samples that `test` does not hold, so that a method can look at unseen data without
 * touching the data its test accuracy is measured on. With `pool` (a kind whose test set is a
 * transformed copy), drawn from the raw split beside `pool.raw` and transformed by the pool.
 * Refused, naming `where`, when the split has fewer than `n` such samples (e.g. the whole test
 * split is the test set).
 */
export function heldOutBeside(
  test: Dataset,
  n: number,
  seed: number,
  where: string,
  pool?: HeldOutPool,
): Dataset {
  const beside = pool?.raw ?? test;
  const src = beside.source;
  const taken = new Set(beside.sourceIndices());
  const rest: number[] = [];
  for (let i = 0; i < src.y.length; i++) if (!taken.has(i)) rest.push(i);
  if (rest.length < n)
    throw new UsageError(
      where,
      `asks for ${n} validation samples beside the test set; the test split has ${rest.length} outside it (lower testSubset or validationSubset)`,
    );
  const held = new Dataset(src, Uint32Array.from(rest), `${src.name}/held-out`);
  const name = `${test.source.name}/validation[${n}]`;
  const drawn = balancedSubset(held, n, seed, name);
  return pool ? pool.transform(drawn, name) : drawn;
}
