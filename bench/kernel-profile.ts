/**
 * Where a training step's time goes, per tfjs kernel (src/backend/profile.ts), for the workloads of
 * bench/train-steps.ts. Not a test:
 * `node --import tsx bench/kernel-profile.ts [--backend wasm] [--models cnn,resnet] [--steps 3]`.
 * Prints a Markdown table per workload on stdout.
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/index.ts';
import { profileKernels } from '../src/backend/profile.ts';
import { modelStepWorkload, setUpStep } from './lib/train-step.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    models: { type: 'string', default: 'cnn,resnet' },
    steps: { type: 'string', default: '3' },
  },
});
const backend = await initBackend(values.backend);
for (const id of values.models.split(',')) {
  const { step, dispose } = setUpStep(modelStepWorkload(id));
  step();
  step();
  const p = profileKernels(backend, step, Number(values.steps));
  const lines = [
    `### ${id} on ${backend}: ${p.stepMs.toFixed(1)} ms/step, ${(p.stepMs - p.kernelMs).toFixed(1)} ms outside kernels`,
    '',
    '| kernel | calls/step | ms/step | share |',
    '|---|---|---|---|',
    ...p.kernels
      .filter((k) => k.ms >= 0.005 * p.stepMs)
      .map(
        (k) =>
          `| ${k.kernelName} | ${k.calls} | ${k.ms.toFixed(1)} | ${((100 * k.ms) / p.stepMs).toFixed(0)}% |`,
      ),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  dispose();
}
