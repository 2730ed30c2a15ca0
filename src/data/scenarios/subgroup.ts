/**
 * subgroup (tabular): ΔD = the training rows of one demographic subgroup (e.g. CPS wages,
 * gender = female). Optionally inject a spurious binary column: inside the subgroup it equals the
 * label with probability spuriousRho, elsewhere (and everywhere in the test set) it is a coin
 * flip, so a model that leans on it has learned something only the subgroup taught it.
 */
import { UsageError } from '../../core/errors.ts';
import { rngFor } from '../../core/rng.ts';
import { type DataSource, Dataset, sampleSize } from '../dataset.ts';
import { isTabular } from '../registry.ts';
import type { Grouping, TabularSource } from '../tabular.ts';
import { type BuildContext, requireNonEmptyForget, type ScenarioKind } from './common.ts';
import type { ScenarioParams } from './manifest.ts';

type P = Extract<ScenarioParams, { kind: 'subgroup' }>;

function grouping(ctx: BuildContext, p: P): { src: TabularSource; g: Grouping; value: number } {
  const src = ctx.trainSource;
  if (!isTabular(src))
    throw new UsageError('--kind', `subgroup needs a tabular data set; ${ctx.datasetId} is not`);
  const names = Object.keys(src.groupings);
  const g = src.groupings[p.group];
  if (!g)
    throw new UsageError(
      '--group',
      `unknown group "${p.group}" for ${ctx.datasetId}; known: ${names.join(', ')}`,
    );
  const value = g.names.indexOf(p.value);
  if (value < 0)
    throw new UsageError(
      '--value',
      `unknown value "${p.value}" of group ${p.group}; allowed: ${g.names.join(', ')}`,
    );
  return { src, g, value };
}

/** The view's rows with meta.group set, plus the spurious column when asked for. */
function withGroup(
  view: Dataset,
  name: string,
  p: P,
  value: number,
  seed: number,
  split: 'train' | 'test',
): Dataset {
  const src = view.source as TabularSource;
  const g = src.groupings[p.group];
  if (p.spuriousRho === null) {
    // No new features: a new source object over the same buffer, so no copy.
    const shallow: DataSource = {
      ...src,
      name,
      meta: { ...src.meta, group: g.ids, groupNames: g.names },
    };
    return new Dataset(shallow, view.indices, name);
  }
  if (src.numClasses !== 2) throw new UsageError('--spurious-rho', 'needs a binary label');
  const d = sampleSize(src.sampleShape);
  const n = view.length;
  const x = new Float32Array(n * (d + 1));
  const y = new Uint8Array(n);
  const group = new Uint8Array(n);
  const bias = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const s = view.at(i);
    x.set(src.x.subarray(s * d, (s + 1) * d), i * (d + 1));
    y[i] = src.y[s];
    group[i] = g.ids[s];
    const rng = rngFor(seed, 'spurious', split, s);
    const u = rng.next();
    const coin = rng.next() < 0.5 ? 1 : 0;
    const v =
      split === 'train' && group[i] === value ? (u < p.spuriousRho ? y[i] : 1 - y[i]) : coin;
    x[i * (d + 1) + d] = v;
    bias[i] = v === y[i] ? 1 : 0;
  }
  const out: TabularSource = {
    name,
    sampleShape: [d + 1],
    x,
    scale: 1,
    y,
    numClasses: src.numClasses,
    classNames: src.classNames,
    meta: { sourceIndex: view.sourceIndices(), group, groupNames: g.names, bias },
    featureNames: [...src.featureNames, 'spurious'],
    groupings: {},
  };
  return new Dataset(out);
}

export const subgroup: ScenarioKind<P> = {
  id: 'subgroup',
  summary: 'tabular: ΔD = the rows of one demographic subgroup (optional spurious column)',
  plan(ctx, p) {
    const { g, value } = grouping(ctx, p);
    const forget: number[] = [];
    for (let i = 0; i < ctx.train.length; i++)
      if (g.ids[ctx.train.at(i)] === value) forget.push(ctx.train.at(i));
    requireNonEmptyForget(forget, `no training rows with ${p.group} = ${p.value}`);
    return { forget, patterned: null, colours: null };
  },
  materialise(ctx, p) {
    const { value } = grouping(ctx, p);
    return {
      train: withGroup(ctx.train, `${ctx.datasetId}/train`, p, value, ctx.seed, 'train'),
      test: withGroup(ctx.test, `${ctx.datasetId}/test`, p, value, ctx.seed, 'test'),
    };
  },
};
