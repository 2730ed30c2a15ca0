/**
 * The Retrain-free selection score: what a user who has the original model θ̂, the retained set
 * D_r, the forget set ΔD and held-out data — but no retrained model — can measure to choose an
 * unlearning method's hyper-parameters (issue 14's tuning protocol; docs/method.md §9).
 *
 * Its one idea: a model that never trained on ΔD treats ΔD as it treats comparable data it never
 * saw. "Comparable data" is the held-out *twin* of ΔD — the test samples the deletion request
 * would have selected had they been in D — and what "treats as" means follows from what D_r still
 * holds of ΔD's distribution:
 * - D_r still covers ΔD's inputs (random, subgroup, a pattern on one class, a colour, a
 *   shortcut): ΔD's accuracy and true-label confidence should equal the twin's under the same
 *   model;
 * - D_r holds none of ΔD's labels (class) or of its trigger (backdoor): a model trained on D_r
 *   cannot predict them, so ΔD's accuracy and the twin's should be 0 (for the backdoor, the
 *   twin's accuracy on the target label is the attack success rate);
 * - the request names a pattern tied to a class (bias, pattern, colour, shortcut): the pattern
 *   should carry no information about that class on the label-independent biased test set,
 *   |ρ| → 0;
 * and unlearning should not cost what the user keeps: any drop of D_r's accuracy, and of the test
 * accuracy outside the twin, against θ̂'s.
 *
 * score = forget term + pattern term + retain drop + test drop, every term a fraction; lower is
 * better, 0 = the ideal. It is a proxy, not Retrain: where D_r itself carries the pattern on
 * other classes, Retrain learns "pattern ⇒ not k" and its ρ is below 0 (−0.05 on the MNIST
 * stripe), which this score does not reward.
 */
import type { ScenarioKindId } from '../data/scenarios/manifest.ts';
import { biasCorrelation } from './bias.ts';
import type { EvalSets, ScenarioFacts } from './types.ts';
import { defined, type MetricValue, type SetPredictions, undefinedBecause } from './types.ts';

/** The samples of a set selected by a mask, with labels optionally replaced. */
export interface Selection {
  set: SetPredictions;
  mask: Uint8Array;
  /** Labels to score against (the backdoor's target label); default the set's labels. */
  labels?: Int32Array;
}

export interface SelectionTerms {
  /** How far ΔD's evidence is from what a model that never saw it would show. */
  forget: number;
  /** |ρ| on the biased test set, where the request names a pattern tied to a class (else 0). */
  pattern: number;
  /** max(0, acc_θ̂(D_r) − acc(D_r)). */
  retainDrop: number;
  /** max(0, acc_θ̂(T') − acc(T')) on the clean test set T' the user keeps (T less the twin where the twin is part of T). */
  testDrop: number;
  /** `zero` where ΔD's and the twin's accuracies should be 0, `twin` where they should agree. */
  target: 'twin' | 'zero';
  twinSize: number;
}

/** Kinds whose ΔD's labels or trigger D_r does not hold: a model trained on D_r cannot predict them. */
const ZERO_TARGET: ReadonlySet<ScenarioKindId> = new Set(['class', 'backdoor']);

/** Labels present in a set. */
function labelSet(set: SetPredictions): Set<number> {
  return new Set(set.labels);
}

/** Held-out twin of ΔD: the test samples the request would have selected (see the file comment). */
export function forgetTwin(sets: EvalSets, facts: ScenarioFacts): Selection | null {
  const kind = facts.kind;
  const labels = labelSet(sets.forget);
  const where = (set: SetPredictions, keep: (i: number) => boolean): Selection => ({
    set,
    mask: Uint8Array.from({ length: set.labels.length }, (_, i) => (keep(i) ? 1 : 0)),
  });
  switch (kind) {
    case 'random':
      return where(sets.test, () => true);
    case 'class':
      return where(sets.test, (i) => labels.has(sets.test.labels[i]));
    case 'bias':
    case 'pattern': {
      const b = sets.biasedTest;
      if (!b?.bias) return null;
      return where(b, (i) => b.bias![i] === 1 && labels.has(b.labels[i]));
    }
    case 'colour':
    case 'shortcut': {
      const t = sets.test;
      if (!t.bias) return null;
      return where(t, (i) => t.bias![i] === 1 && labels.has(t.labels[i]));
    }
    case 'backdoor': {
      const s = sets.stampedTest;
      if (!s || facts.backdoorTarget === undefined) return null;
      // Stamped non-target samples keep their true labels; the trigger's success is ŷ = target.
      return {
        ...where(s, () => true),
        labels: new Int32Array(s.labels.length).fill(facts.backdoorTarget),
      };
    }
    case 'subgroup': {
      const g = sets.forget.group;
      const t = sets.test;
      if (!g || !t.group) return null;
      const groups = new Set(g);
      return where(t, (i) => groups.has(t.group![i]));
    }
    default:
      return null;
  }
}

/** Accuracy and mean true-label probability over the masked samples (null when none). */
function evidence(s: Selection): { acc: number; conf: number; n: number } | null {
  const { set, mask } = s;
  const labels = s.labels ?? set.labels;
  const k = set.numClasses;
  let n = 0;
  let hits = 0;
  let conf = 0;
  for (let i = 0; i < labels.length; i++) {
    if (!mask[i]) continue;
    n++;
    if (set.predicted[i] === labels[i]) hits++;
    conf += set.probs[i * k + labels[i]];
  }
  return n === 0 ? null : { acc: hits / n, conf: conf / n, n };
}

const all = (set: SetPredictions): Selection => ({
  set,
  mask: new Uint8Array(set.labels.length).fill(1),
});
const complement = (s: Selection): Selection => ({ set: s.set, mask: s.mask.map((m) => 1 - m) });

/**
 * The score of a model (its predictions `model`) against the original θ̂'s (`original`), both on
 * the same sets. Undefined where the scenario has no held-out twin of ΔD.
 */
export function selectionScore(
  model: EvalSets,
  original: EvalSets,
  facts: ScenarioFacts,
): { value: MetricValue; terms?: SelectionTerms } {
  if (!facts.kind) return { value: undefinedBecause('scenario kind unknown') };
  const twin = forgetTwin(model, facts);
  const twinO = forgetTwin(original, facts);
  if (!twin || !twinO)
    return { value: undefinedBecause(`no held-out twin of ΔD for a ${facts.kind} scenario`) };
  const f = evidence(all(model.forget));
  const h = evidence(twin);
  if (!f) return { value: undefinedBecause('empty forget set') };
  if (!h) return { value: undefinedBecause('the held-out twin of ΔD is empty') };
  const target = ZERO_TARGET.has(facts.kind) ? 'zero' : 'twin';
  // Accuracy and confidence, both in [0, 1]: the confidence sees memorisation that argmax hides.
  const forget =
    target === 'zero'
      ? (f.acc + h.acc) / 2 + (f.conf + h.conf) / 2
      : Math.abs(f.acc - h.acc) + Math.abs(f.conf - h.conf);

  let pattern = 0;
  if (
    (facts.kind === 'bias' ||
      facts.kind === 'pattern' ||
      facts.kind === 'colour' ||
      facts.kind === 'shortcut') &&
    facts.biasClass !== undefined
  ) {
    // A shortcut on colour has only its test set; one on a pattern has a biased test set.
    const onTest = facts.kind === 'colour' || (facts.kind === 'shortcut' && !model.biasedTest);
    const b = onTest ? model.test : model.biasedTest;
    if (b?.bias) {
      const rho = biasCorrelation(b.predicted, b.bias, facts.biasClass);
      // ŷ = k constant (never or always predicted): the pattern carries no information about k.
      pattern = rho.value === null ? 0 : Math.abs(rho.value);
    }
  }

  const drop = (m: Selection, o: Selection) => {
    const em = evidence(m);
    const eo = evidence(o);
    return em && eo ? Math.max(0, eo.acc - em.acc) : 0;
  };
  const retainDrop = drop(all(model.retain), all(original.retain));
  // What the user keeps is the clean test set, less the twin where the twin is part of it (class,
  // colour, subgroup). A twin on a patterned or stamped copy (bias, pattern, backdoor) or one that
  // is all of it (random) leaves the whole clean test set: on a patterned copy, accuracy on the
  // other classes rises as the shortcut goes, which would hide the loss of clean samples of k.
  const partOfTest = twin.set === model.test && twin.mask.some((m) => m === 0);
  const kept = partOfTest ? complement(twin) : all(model.test);
  const keptO = partOfTest ? complement(twinO) : all(original.test);
  const testDrop = drop(kept, keptO);
  const terms: SelectionTerms = { forget, pattern, retainDrop, testDrop, target, twinSize: h.n };
  return { value: defined(forget + pattern + retainDrop + testDrop), terms };
}
