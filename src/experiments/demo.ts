/**
 * The built-in experiments of `uib demo` (also saved as experiments/demo.json and
 * experiments/demo-full.json; a test keeps the files equal to these). MNIST-C `stripe` tied to
 * class 3: 90 % of the training 3s carry it, 2 % of the other classes; ΔD = the striped 3s (about
 * 5,500 of the 60,000). A diffuse corruption that Retrain removes (its ρ ends near the slightly
 * negative value the retained striped non-3s teach), so there is a bias to unlearn.
 *
 * Sized so that the comparison means something: the whole MNIST training set, so that Retrain
 * costs what it costs in practice (UIB-IF's cost does not grow with n: subsamples and a fixed step
 * budget). The default is the short version — four baselines, one Retrain — to run in about three
 * minutes on two cores; `--full` runs every baseline of the old demo against a 3-member Retrain
 * ensemble (the evidence protocol's reading, docs/method.md §8).
 */
import type { ExperimentInput } from './schema.ts';

const SETTING = {
  dataset: { name: 'mnist', testSubset: 2000 },
  model: { arch: 'cnn' },
  training: {
    optimizer: { name: 'adam', lr: 0.001, schedule: 'cosine' },
    epochs: 3,
    batchSize: 128,
  },
  scenarios: [
    {
      id: 'bias-stripe-3',
      kind: 'bias',
      corruption: 'stripe',
      biasClass: 3,
      rho: 0.9,
      q: 0.02,
      testFraction: 0.5,
    },
  ],
  seeds: [1],
} as const satisfies Partial<ExperimentInput>;

// One pass over D_r (or ΔD) each: a third of Retrain's budget, the regime where unlearning has to
// be cheaper than retraining to be worth it. UIB-IF runs its own default (40 fine-tuning steps).
const ONE_PASS = { epochs: 1 };

export const DEMO_EXPERIMENT: ExperimentInput = {
  name: 'demo',
  description:
    'uib demo: a small CNN on the 60,000 MNIST training images; MNIST-C stripe tied to class 3 (90 % of the 3s, 2 % of the rest); forget the striped 3s with UIB-IF and four baselines, against Retrain.',
  ...SETTING,
  methods: [
    { id: 'retrain' },
    { id: 'ft', params: ONE_PASS },
    { id: 'ga', params: ONE_PASS },
    { id: 'salun', params: ONE_PASS },
    { id: 'scrub', params: { ...ONE_PASS, maxEpochs: 1 } },
    { id: 'uib-if' },
  ],
  options: { evalBatchSize: 500, exampleImages: 16, retrainSeeds: 1 },
};

export const DEMO_FULL_EXPERIMENT: ExperimentInput = {
  name: 'demo-full',
  description:
    'uib demo --full: the demo setting with every baseline of the short demo and l1-sparse, IU and FT+uib, against a 3-member Retrain ensemble.',
  ...SETTING,
  methods: [
    { id: 'retrain' },
    { id: 'ft', params: ONE_PASS },
    { id: 'ga', params: ONE_PASS },
    { id: 'l1-sparse', params: ONE_PASS },
    { id: 'salun', params: ONE_PASS },
    { id: 'scrub', params: { ...ONE_PASS, maxEpochs: 1 } },
    { id: 'iu' },
    { id: 'uib-if' },
    { id: 'ft+uib', params: ONE_PASS },
  ],
  options: { evalBatchSize: 500, exampleImages: 16, retrainSeeds: 3 },
};
