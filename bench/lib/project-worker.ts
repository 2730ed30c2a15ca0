/**
 * Project side of `npm run bench`: runs one job (JSON in argv[2]) in a process of its own, so its
 * peak RSS is the job's, and prints one JSON line on stdout.
 *
 *   step    trainLoop (the project's one training loop, MaskedOptimizer, data pipeline included)
 *           over a synthetic set whose one pass is one timing window: warm-up, calibration,
 *           then `windows` windows of whole steps
 *   fisher  computeCurvature's diagonal Fisher (true labels) over `samples` samples per pass
 *   e2e     ./e2e.ts
 *   profile per-kernel time of `steps` training steps (tf.profile: synchronous wall time per kernel
 *           on wasm/cpu), totals by kernel name, and the step's wall time
 *
 * Every output carries `environment` (computeEnvironment(): the route this process really ran on);
 * a job with `expect` (./routes.ts) that finds another route exits ROUTE_MISMATCH_EXIT before
 * measuring anything, with one line saying what it found.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { computeEnvironment } from '../../src/backend/environment.ts';
import { initBackend, nativeUnavailableReason } from '../../src/backend/index.ts';
import { rngFor } from '../../src/core/rng.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { countParams, paramGroups } from '../../src/models/index.ts';
import { softmaxCrossEntropy } from '../../src/train/evaluate.ts';
import { trainLoop } from '../../src/train/loop.ts';
import { computeCurvature } from '../../src/unlearn/curvature/index.ts';
import { runE2e } from './e2e.ts';
import { type RouteExpectation, routeMismatch } from './routes.ts';
import { ROUTE_MISMATCH_EXIT } from './spawn.ts';
import { syntheticDataset } from './synthetic.ts';
import {
  FISHER_WORKLOAD,
  STEP_WORKLOADS,
  type StepWorkload,
  type StepWorkloadId,
} from './workloads.ts';

export type ProjectJob = (
  | {
      kind: 'step';
      workload: StepWorkloadId;
      backend: string;
      warmupSteps: number;
      /** Least warm-up time before the first window (bench/run.ts, `warmupSeconds`); 0 if absent. */
      warmupSeconds?: number;
      windows: number;
      windowSeconds: number;
      seed: number;
    }
  | { kind: 'fisher'; backend: string; windows: number; windowSeconds: number; seed: number }
  | { kind: 'e2e'; backend: string; trainSize: number; workDir: string; dumpDir: string }
  | { kind: 'profile'; workload: StepWorkloadId; backend: string; steps: number; seed: number }
) & { expect?: Partial<RouteExpectation> };

/** Time per "epoch" (= one pass over `data`) of a trainLoop run, ms. */
async function epochTimes(
  model: LayersModel,
  w: StepWorkload,
  data: Dataset,
  epochs: number,
  seed: number,
) {
  const times: number[] = [];
  let last = performance.now();
  await trainLoop({
    model,
    streams: { train: { data, batchSize: w.batch } },
    epochOver: 'train',
    epochs,
    optimizer: w.optimizer,
    rng: rngFor(seed, 'bench', w.id),
    quiet: true,
    loss: (b) =>
      softmaxCrossEntropy(model.apply(b.train.x, { training: true }) as tf.Tensor, b.train.y),
    onEpochEnd: () => {
      const now = performance.now();
      times.push(now - last);
      last = now;
      return undefined;
    },
  });
  return times;
}

async function stepJob(job: Extract<ProjectJob, { kind: 'step' }>) {
  const w = STEP_WORKLOADS[job.workload];
  const model = w.build(job.seed);
  const params = countParams(model);
  if (params !== w.params)
    throw new Error(`${w.id}: model has ${params} parameters, workload says ${w.params}`);
  // Warm-up (kernel setup, XNNPACK operators), one step per epoch; the last steps calibrate the window.
  const one = syntheticDataset(w.batch, w.inputShape, w.numClasses, job.seed);
  const warm = await epochTimes(model, w, one, job.warmupSteps + 2, job.seed);
  const perStepMs = Math.min(...warm.slice(-2));
  const stepsPerWindow = Math.max(2, Math.ceil((job.windowSeconds * 1000) / perStepMs));
  const data = syntheticDataset(w.batch * stepsPerWindow, w.inputShape, w.numClasses, job.seed + 1);
  // Unrecorded windows until the warm-up time has passed (the reference does the same).
  const warmUntil = performance.now() + (job.warmupSeconds ?? 0) * 1000;
  while (performance.now() < warmUntil) await epochTimes(model, w, data, 1, job.seed);
  const times = await epochTimes(model, w, data, job.windows, job.seed);
  model.dispose();
  return {
    samplesPerSec: times.map((ms) => (stepsPerWindow * w.batch * 1000) / ms),
    stepsPerWindow,
  };
}

async function fisherJob(job: Extract<ProjectJob, { kind: 'fisher' }>) {
  const w = STEP_WORKLOADS[FISHER_WORKLOAD.model];
  const model = w.build(job.seed);
  const groups = paramGroups(model);
  const n = FISHER_WORKLOAD.samples;
  const data = syntheticDataset(n, w.inputShape, w.numClasses, job.seed);
  const pass = (d: Dataset) =>
    computeCurvature(model, groups, d, {
      labels: 'true',
      diag: true,
      gradient: false,
      batchSize: FISHER_WORKLOAD.batch,
    });
  pass(data.take(FISHER_WORKLOAD.batch)); // warm-up
  let t0 = performance.now();
  pass(data);
  const perPassMs = performance.now() - t0;
  const passes = Math.max(1, Math.ceil((job.windowSeconds * 1000) / perPassMs));
  const rates: number[] = [];
  for (let k = 0; k < job.windows; k++) {
    t0 = performance.now();
    for (let p = 0; p < passes; p++) pass(data);
    rates.push((passes * n * 1000) / (performance.now() - t0));
  }
  model.dispose();
  return { samplesPerSec: rates };
}

async function profileJob(job: Extract<ProjectJob, { kind: 'profile' }>) {
  const w = STEP_WORKLOADS[job.workload];
  const model = w.build(job.seed);
  const one = syntheticDataset(w.batch, w.inputShape, w.numClasses, job.seed);
  await epochTimes(model, w, one, 3, job.seed); // warm-up
  const data = syntheticDataset(w.batch * job.steps, w.inputShape, w.numClasses, job.seed + 1);
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await epochTimes(model, w, data, 1, job.seed);
    return tf.scalar(0);
  });
  const wallMs = (performance.now() - t0) / job.steps;
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += Number(k.kernelTimeMs) / job.steps;
    e.calls += 1 / job.steps;
    byName.set(k.name, e);
  }
  model.dispose();
  // `name__op` entries are custom-gradient wrappers (fusedConv2d__op): their time includes the
  // kernels inside them, so they stay out of the total.
  const kernels = [...byName]
    .filter(([name]) => !name.endsWith('__op'))
    .map(([name, e]) => ({ name, msPerStep: e.ms, callsPerStep: e.calls }))
    .sort((a, b) => b.msPerStep - a.msPerStep);
  const kernelMsPerStep = kernels.reduce((s, k) => s + k.msPerStep, 0);
  return {
    workload: w.id,
    batch: w.batch,
    steps: job.steps,
    wallMsPerStep: wallMs,
    kernelMsPerStep,
    kernels,
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as ProjectJob;
  const backend = await initBackend(job.backend);
  const environment = computeEnvironment();
  const wrong = job.expect ? routeMismatch(job.expect, environment) : null;
  if (wrong !== null) {
    const why = environment.addon ? '' : ` (native addon: ${nativeUnavailableReason() ?? 'off'})`;
    process.stderr.write(`bench worker: not the route asked for: ${wrong}${why}\n`);
    process.exit(ROUTE_MISMATCH_EXIT);
  }
  const out =
    job.kind === 'step'
      ? await stepJob(job)
      : job.kind === 'fisher'
        ? await fisherJob(job)
        : job.kind === 'profile'
          ? await profileJob(job)
          : await runE2e(job.trainSize, job.workDir, job.dumpDir);
  const leaked = tf.memory().numTensors;
  process.stdout.write(
    `${JSON.stringify({ ok: true, backend, environment, tensorsLeft: leaked, ...out, maxRssKB: process.resourceUsage().maxRSS })}\n`,
  );
}

await main();
