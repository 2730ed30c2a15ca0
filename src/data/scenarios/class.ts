/** class: forget every training sample of one class. */
import {
  checkClass,
  positionsByClass,
  requireNonEmptyForget,
  type ScenarioKind,
  toSource,
} from './common.ts';
import type { ScenarioParams } from './manifest.ts';

type P = Extract<ScenarioParams, { kind: 'class' }>;

export const classKind: ScenarioKind<P> = {
  id: 'class',
  summary: 'all training samples of class k',
  plan(ctx, p) {
    checkClass(ctx, p.forgetClass, '--class');
    const forget = toSource(ctx.train, positionsByClass(ctx.train, p.forgetClass).inK);
    requireNonEmptyForget(forget, `the training set has no samples of class ${p.forgetClass}`);
    return { forget, patterned: null, colours: null };
  },
  materialise: (ctx) => ({ train: ctx.train, test: ctx.test }),
};
