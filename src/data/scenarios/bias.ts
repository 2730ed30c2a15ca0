/**
 * bias: a pattern tied to a class. Corruption c (or the 3x3 patch) on a fraction rho of class k
 * and q ≪ rho of the others, labels unchanged, so a model learns "pattern ⇒ k". ΔD = the
 * patterned class-k samples. The biased test set carries the pattern on half of all test samples
 * regardless of label, so corr(1[ŷ = k], b(x)) there measures the learned bias.
 */
import type { ScenarioKind } from './common.ts';
import type { ScenarioParams } from './manifest.ts';
import { materialisePatterned, planPatterned } from './patterned.ts';

type P = Extract<ScenarioParams, { kind: 'bias' }>;

export const bias: ScenarioKind<P> = {
  id: 'bias',
  summary: 'pattern c on rho of class k and q of the rest; ΔD = patterned class-k samples',
  plan: (ctx, p) => planPatterned(ctx, p.corruption, p.biasClass, p.rho, p.q, p.testFraction),
  materialise: (ctx, p, m) => materialisePatterned(ctx, p.corruption, m),
};
