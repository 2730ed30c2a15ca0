/**
 * The benchmark workloads, defined once: the project side (bench/lib/project-worker.ts) builds
 * them from here, and the same fields go to the PyTorch side (bench/reference/bench.py) as JSON,
 * so both run the same shapes, batch sizes and optimiser.
 *
 *   mlp        784-256-256-10 (the project's `mlp`), batch 128, Adam 1e-3
 *   cnn        conv3x3·32 → pool → conv3x3·64 → pool → dense128 → dense10 (the project's `cnn`),
 *              28×28×1, batch 128, Adam 1e-3
 *   resnet     narrow ResNet, 3 residual blocks 16/32/64 with BatchNorm (77,754 params; ./narrow-resnet.ts),
 *              28×28×1, batch 64, Adam 1e-3
 *   fisher     diagonal Fisher pass on the cnn: per-example squared gradients (true labels,
 *              inference mode) summed over N samples, batch 256
 *   uib-if / retrain   end to end on the MNIST bias scenario (./e2e.ts)
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildModel } from '../../src/models/index.ts';
import type { OptimizerSpec } from '../../src/train/types.ts';
import { buildNarrowResnet } from './narrow-resnet.ts';

export type StepWorkloadId = 'mlp' | 'cnn' | 'resnet';
export type WorkloadId = StepWorkloadId | 'fisher' | 'e2e';
export const WORKLOAD_IDS: readonly WorkloadId[] = ['mlp', 'cnn', 'resnet', 'fisher', 'e2e'];

export interface StepWorkload {
  id: StepWorkloadId;
  title: string;
  /** One sample, NHWC. */
  inputShape: number[];
  numClasses: number;
  batch: number;
  optimizer: OptimizerSpec;
  /** Trainable parameters (both sides check their model against it). */
  params: number;
  /** Also measured on the pure-JS cpu backend (only where that takes seconds, not minutes). */
  cpuToo: boolean;
  build(seed: number): tfl.LayersModel;
}

const IMAGE = [28, 28, 1];
const ADAM: OptimizerSpec = { name: 'adam', lr: 1e-3 };

export const STEP_WORKLOADS: Record<StepWorkloadId, StepWorkload> = {
  mlp: {
    id: 'mlp',
    title: 'MLP 784-256-256-10, batch 128, Adam',
    inputShape: IMAGE,
    numClasses: 10,
    batch: 128,
    optimizer: ADAM,
    params: 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10,
    cpuToo: true,
    build: (seed) =>
      buildModel({ arch: 'mlp', inputShape: IMAGE, numClasses: 10, hidden: [256, 256], seed }),
  },
  cnn: {
    id: 'cnn',
    title: 'CNN conv3x3·32 → pool → conv3x3·64 → pool → dense128 → dense10, batch 128, Adam',
    inputShape: IMAGE,
    numClasses: 10,
    batch: 128,
    optimizer: ADAM,
    params: 9 * 32 + 32 + 9 * 32 * 64 + 64 + 1600 * 128 + 128 + 128 * 10 + 10,
    cpuToo: false,
    build: (seed) => buildModel({ arch: 'cnn', inputShape: IMAGE, numClasses: 10, seed }),
  },
  resnet: {
    id: 'resnet',
    title: 'narrow ResNet (3 blocks 16/32/64, BatchNorm), batch 64, Adam',
    inputShape: IMAGE,
    numClasses: 10,
    batch: 64,
    optimizer: ADAM,
    params: 77_754,
    cpuToo: false,
    build: (seed) => buildNarrowResnet(IMAGE, 10, seed),
  },
};

/** The Fisher-diagonal pass: the CNN over `samples` synthetic examples per pass. */
export const FISHER_WORKLOAD = {
  id: 'fisher' as const,
  title: 'Fisher diagonal on the CNN (per-example squared gradients), batch 256',
  model: 'cnn' as StepWorkloadId,
  batch: 256,
  samples: 1024,
};

/**
 * End to end: the MNIST bias scenario, the CNN and its default recipe (./e2e.ts) — the scenario of
 * experiments/mnist-bias-full.json (docs/method.md §7) on the full MNIST training set, so the
 * bench's times and the experiment's compare. UIB-IF's cost is fixed (subsamples, 40 steps) while
 * Retrain's grows with n.
 */
export const E2E_WORKLOAD = {
  id: 'e2e' as const,
  title: 'MNIST bias scenario (stripe on 90 % of class 3, 2 % of others), CNN, default recipe',
  trainSize: 60_000,
  quickTrainSize: 6_000,
  scenario: {
    kind: 'bias',
    corruption: 'stripe',
    biasClass: 3,
    rho: 0.9,
    q: 0.02,
    testFraction: 0.5,
  } as const,
};
