/**
 * The built-in experiment of `uib demo` (also saved as experiments/demo.json; a test keeps the two
 * equal). MNIST-C `stripe` tied to class 3: 90 % of the training 3s carry it, 2 % of the other
 * classes; ΔD = the striped 3s. A diffuse corruption that Retrain removes (its ρ ends near the
 * slightly negative value the retained striped non-3s teach), so there is a bias to unlearn.
 * Sized to finish in under 10 minutes on 2 CPU cores with the wasm backend.
 */
import type { ExperimentInput } from './schema.ts';

export const DEMO_EXPERIMENT: ExperimentInput = {
  name: 'demo',
  description:
    'uib demo: a small CNN on 6,000 balanced MNIST images; MNIST-C stripe tied to class 3 (90 % of the 3s, 2 % of the rest); forget the striped 3s.',
  dataset: { name: 'mnist', trainSubset: 6000, testSubset: 2000 },
  model: { arch: 'cnn' },
  training: {
    optimizer: { name: 'adam', lr: 0.001, schedule: 'cosine' },
    epochs: 3,
    batchSize: 64,
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
  methods: [
    { id: 'retrain' },
    // One pass over D_r (or ΔD) each: a third of Retrain's budget, the regime where unlearning
    // has to be cheaper than retraining to be worth it.
    { id: 'ft', params: { epochs: 1 } },
    { id: 'ga', params: { epochs: 1 } },
    { id: 'l1-sparse', params: { epochs: 1 } },
    { id: 'salun', params: { epochs: 1 } },
    { id: 'scrub', params: { epochs: 1, maxEpochs: 1 } },
    { id: 'iu' },
    // Its own default: 40 fine-tuning steps from the prior mean (≈ one pass over D_r at this size).
    { id: 'uib-if' },
    { id: 'ft+uib', params: { epochs: 1 } },
  ],
  seeds: [1],
  options: { evalBatchSize: 500, exampleImages: 16 },
};
