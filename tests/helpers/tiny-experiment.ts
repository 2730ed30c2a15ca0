/** The smallest experiment the runner tests share: an MLP on 600 MNIST images, a stripe bias on class 3. */
export const TINY_EXPERIMENT = {
  name: 'tiny',
  dataset: { name: 'mnist', trainSubset: 600, testSubset: 300 },
  model: { arch: 'mlp', hidden: [32] },
  training: { optimizer: { name: 'adam', lr: 0.003 }, epochs: 1, batchSize: 32 },
  scenarios: [
    { kind: 'bias', corruption: 'stripe', biasClass: 3, rho: 0.9, q: 0.02, testFraction: 0.5 },
  ],
  methods: [{ id: 'retrain' }, { id: 'ft', params: { epochs: 1 } }] as Record<string, unknown>[],
  seeds: [1, 2],
  options: { exampleImages: 4, evalBatchSize: 300 } as Record<string, unknown>,
};
