/**
 * backdoor (BadNets): a seeded fraction of the training samples not of the target class get a 3x3
 * white patch at the bottom-right and the label t. ΔD = the stamped samples. The trigger test set
 * stamps every test sample not of class t and keeps its true label: attack success rate = share
 * predicted t.
 */
import { UsageError } from '../../core/errors.ts';
import { rngFor } from '../../core/rng.ts';
import { Dataset } from '../dataset.ts';
import {
  applyPattern,
  checkClass,
  compactCopy,
  positionsByClass,
  requireImages,
  type ScenarioKind,
  toSource,
} from './common.ts';
import type { ScenarioParams } from './manifest.ts';

type P = Extract<ScenarioParams, { kind: 'backdoor' }>;

/** Copy of `view` with the samples in `stamped` patched (and relabelled to `relabel` if given). */
function stampedCopy(
  view: Dataset,
  name: string,
  stamped: ReadonlySet<number>,
  relabel?: number,
): Dataset {
  const bias = new Uint8Array(view.length);
  const shape = view.sampleShape;
  return new Dataset(
    compactCopy(view, name, {
      meta: { bias },
      edit: (pos, sample) => {
        if (!stamped.has(view.at(pos))) return undefined;
        bias[pos] = 1;
        applyPattern('patch', sample, shape, 0, '', view.at(pos));
        return relabel;
      },
    }),
  );
}

export const backdoor: ScenarioKind<P> = {
  id: 'backdoor',
  summary: '3x3 white patch on a fraction of non-target samples, relabelled to t; ΔD = stamped',
  plan(ctx, p) {
    requireImages(ctx, 'backdoor');
    checkClass(ctx, p.targetClass, '--target');
    const { notK } = positionsByClass(ctx.train, p.targetClass);
    const k = Math.round(p.poisonFraction * ctx.train.length);
    if (k === 0 || k > notK.length) {
      throw new UsageError(
        '--poison-fraction',
        `${p.poisonFraction} of ${ctx.train.length} is ${k} samples; need 1-${notK.length} (non-target samples)`,
      );
    }
    const perm = rngFor(ctx.seed, 'backdoor').permutation(notK.length);
    const forget = toSource(
      ctx.train,
      Array.from(perm.subarray(0, k), (j) => notK[j]),
    );
    const test = toSource(ctx.test, positionsByClass(ctx.test, p.targetClass).notK);
    return { forget, patterned: { train: forget, test }, colours: null };
  },
  materialise(ctx, p, m) {
    const patterned = m.patterned!;
    const triggerView = ctx.test.subset(
      Array.from({ length: ctx.test.length }, (_, i) => i).filter(
        (i) => ctx.test.label(i) !== p.targetClass,
      ),
    );
    return {
      train: stampedCopy(
        ctx.train,
        `${ctx.datasetId}/train+backdoor`,
        new Set(patterned.train),
        p.targetClass,
      ),
      test: ctx.test,
      triggerTest: stampedCopy(
        triggerView,
        `${ctx.datasetId}/test+trigger`,
        new Set(patterned.test),
      ),
    };
  },
};
