/**
 * pattern (sub-class): corruption c on a fraction rho of class k and on nothing else; ΔD = those
 * samples. The model must forget the sub-class while keeping the clean rest of class k.
 */
import type { ScenarioKind } from './common.ts';
import type { ScenarioParams } from './manifest.ts';
import { materialisePatterned, planPatterned } from './patterned.ts';

type P = Extract<ScenarioParams, { kind: 'pattern' }>;

export const pattern: ScenarioKind<P> = {
  id: 'pattern',
  summary: 'corruption c on a fraction rho of class k (a sub-class); ΔD = those samples',
  plan: (ctx, p) => planPatterned(ctx, p.corruption, p.forgetClass, p.rho, 0, p.testFraction),
  materialise: (ctx, p, m) => materialisePatterned(ctx, p.corruption, m),
};
