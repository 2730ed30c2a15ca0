/**
 * Whether a run's inputs meet a metric's needs (`evaluate.ts` skips an entry whose needs are
 * missing and says why), and the grouped test set worst-group accuracy is over.
 */
import type { EvalInput, SetPredictions } from '../types.ts';
import type { Need } from './def.ts';

/** The set whose groups worst-group accuracy is over: the biased test set, else a test set with a bias or subgroup attribute. */
export function groupedSet(
  sets: EvalInput['sets'],
): { set: SetPredictions; attribute: Uint8Array } | null {
  if (sets.biasedTest?.bias) return { set: sets.biasedTest, attribute: sets.biasedTest.bias };
  if (sets.test.bias) return { set: sets.test, attribute: sets.test.bias };
  if (sets.test.group) return { set: sets.test, attribute: sets.test.group };
  return null;
}

/** Why `need` is not met by `input`, or null when it is. */
export function missingNeed(need: Need, input: EvalInput): string | null {
  const { sets, scenario } = input;
  switch (need) {
    case 'biased-test':
      if (!sets.biasedTest) return 'no biased test set';
      return sets.biasedTest.bias ? null : 'the biased test set has no bias attribute';
    case 'bias-class':
      return scenario?.biasClass === undefined ? 'scenario names no bias class' : null;
    case 'stamped-test':
      return sets.stampedTest ? null : 'no trigger-stamped test set';
    case 'backdoor-target':
      return scenario?.backdoorTarget === undefined ? 'scenario names no backdoor target' : null;
    case 'groups':
      return sets.test.group ? null : 'the test set has no subgroup attribute';
    case 'positive-class':
      return scenario?.positiveClass === undefined ? 'scenario names no positive class' : null;
    case 'retrain':
      return input.retrain ? null : 'no Retrain model to compare with';
    case 'weights':
      return input.weights ? null : 'no weights given';
    case 'cost':
      return input.cost ? null : 'no cost record';
    case 'shadow':
      return input.shadow && input.shadow.shadows.length >= 3
        ? null
        : 'no shadow models (options.shadowModels in the experiment file)';
    case 'retrain-time':
      return input.cost?.retrainTimeMs === undefined ? 'no Retrain wall time' : null;
    case 'original':
      return input.original ? null : 'no predictions of the original model';
    case 'group-attribute':
      return groupedSet(input.sets) ? null : 'no test set with a bias or subgroup attribute';
    case 'aligned-attribute':
      // The test set's b(x) is 1[bias-aligned] wherever a kind sets one (colour, shortcut, a
      // subgroup's spurious column); the pattern kinds put theirs on the biased test set.
      return sets.test.bias ? null : 'the test set has no bias-aligned attribute';
  }
}
