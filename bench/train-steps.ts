/**
 * Training-step throughput of the project's models on every backend this machine can start.
 * Not a test: `npm run bench:train [-- --backends wasm,cpu --models mlp,cnn,resnet --seconds 5]`.
 * Prints one JSON document on stdout (progress on stderr). The workloads: bench/lib/train-step.ts.
 *
 * Each measurement: 2 warm-up steps (kernel setup, XNNPACK operator creation; 1 when a step takes
 * longer than `--seconds`), then timed steps until `--seconds` have passed (at least 1 step).
 * A step is forward, softmax cross-entropy on logits, backward and the optimiser update, on one
 * fixed random batch.
 */
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { BACKENDS, type BackendName, initBackend, probeBackends } from '../src/backend/index.ts';
import { countParams } from '../src/models/index.ts';
import { MODEL_STEP_WORKLOADS, type ModelStepWorkload, setUpStep } from './lib/train-step.ts';

const WARMUP_STEPS = 2;

interface Result {
  backend: BackendName;
  model: ModelStepWorkload['id'];
  arch: string;
  params: number;
  batch: number;
  optimizer: ModelStepWorkload['optimizer']['name'];
  warmupSteps: number;
  steps: number;
  seconds: number;
  samplesPerSec: number;
  msPerStep: number;
}

function measure(backend: BackendName, w: ModelStepWorkload, seconds: number): Result {
  const { model, step, dispose } = setUpStep(w);
  // A backend that needs longer than the budget for one step (cpu on conv nets) gets one warm-up step.
  let warmupSteps = 0;
  const w0 = performance.now();
  while (
    warmupSteps < WARMUP_STEPS &&
    (warmupSteps === 0 || performance.now() - w0 < seconds * 1000)
  ) {
    step();
    warmupSteps++;
  }
  let steps = 0;
  const t0 = performance.now();
  while (steps === 0 || performance.now() - t0 < seconds * 1000) {
    step();
    steps++;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const result: Result = {
    backend,
    model: w.id,
    arch: w.title,
    params: countParams(model),
    batch: w.batch,
    optimizer: w.optimizer.name,
    warmupSteps,
    steps,
    seconds: Number(elapsed.toFixed(3)),
    samplesPerSec: Math.round((steps * w.batch) / elapsed),
    msPerStep: Number(((elapsed * 1000) / steps).toFixed(1)),
  };
  dispose();
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string', default: BACKENDS.join(',') },
      models: { type: 'string', default: MODEL_STEP_WORKLOADS.map((w) => w.id).join(',') },
      seconds: { type: 'string', default: '5' },
    },
  });
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number; got ${values.seconds}`);
  const wanted = values.backends.split(',');
  const models = values.models.split(',');
  const workloads = MODEL_STEP_WORKLOADS.filter((w) => models.includes(w.id));

  const probe = await probeBackends();
  const unavailable: { backend: string; reason: string }[] = [];
  const results: Result[] = [];
  for (const b of BACKENDS) {
    if (!wanted.includes(b)) continue;
    const p = probe[b];
    if (!p.ok) {
      unavailable.push({ backend: b, reason: p.reason });
      continue;
    }
    await initBackend(b);
    for (const w of workloads) {
      process.stderr.write(`bench:train ${b} ${w.id} …\n`);
      const r = measure(b, w, seconds);
      process.stderr.write(`bench:train ${b} ${w.id}: ${r.samplesPerSec} samples/s\n`);
      results.push(r);
    }
  }
  const report = {
    bench: 'train-steps',
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      node: process.version,
      tfjs: tf.version_core,
    },
    results,
    unavailable,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await main();
