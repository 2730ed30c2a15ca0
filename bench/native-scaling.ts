/**
 * Training-step throughput of the wasm backend on each kernel route, measured alternately in one
 * process so that a machine loaded by other work biases no route: the wasm kernels alone
 * (src/backend/wasm/), then the native kernels (src/backend/native/, needs the addon) with 1 and
 * with 2 threads. Not a test:
 * `node --import tsx bench/native-scaling.ts [--models mlp,cnn,resnet] [--rounds 5] [--seconds 2]
 * [--routes wasm,native-1-thread,native-2-threads,native-2-threads-stock]`.
 * Prints one JSON document on stdout: per route and workload the median samples/s (wall clock) and
 * samples per CPU-second of the process, and every round.
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/index.ts';
import { nativeAddon, nativeUnavailableReason } from '../src/backend/native/addon.ts';
import { useNativeOptimizer } from '../src/backend/native/optimizer.ts';
import { useNativeKernels } from '../src/backend/native/route.ts';
import { useFusedConv2dGradient } from '../src/backend/wasm/fused-conv2d.ts';
import { modelStepWorkload, setUpStep } from './lib/train-step.ts';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'mlp,cnn,resnet' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '2' },
    routes: { type: 'string', default: 'wasm,native-1-thread,native-2-threads' },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
await initBackend('wasm');
const addon = nativeAddon();
// `stock`: tfjs's own fused-conv2d gradient and the optimiser's tfjs ops instead of uib's
// (src/backend/wasm/fused-conv2d.ts, src/backend/native/optimizer.ts), to measure what they gain.
const ALL_ROUTES = [
  { route: 'wasm', native: false, threads: 1, stock: false },
  { route: 'native-1-thread', native: true, threads: 1, stock: false },
  { route: 'native-2-threads', native: true, threads: 2, stock: false },
  { route: 'native-2-threads-stock', native: true, threads: 2, stock: true },
];
const routes = ALL_ROUTES.filter(
  (r) => values.routes.split(',').includes(r.route) && (addon !== undefined || !r.native),
);
if (addon === undefined)
  process.stderr.write(`native addon absent: ${nativeUnavailableReason()}\n`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results: Record<string, unknown>[] = [];
for (const id of values.models.split(',')) {
  const w = modelStepWorkload(id);
  const { step, dispose } = setUpStep(w);
  const perRoute: Record<string, number[]> = {};
  const perRouteCpu: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const r of routes) {
      useNativeKernels(r.native);
      useFusedConv2dGradient(!r.stock);
      useNativeOptimizer(!r.stock);
      addon?.setThreads(r.threads);
      step(); // warm-up: kernel setup, the route's first allocations
      let steps = 0;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      while (steps === 0 || performance.now() - t0 < seconds * 1000) {
        step();
        steps++;
      }
      const sps = (steps * w.batch * 1000) / (performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      // Samples per second of this process's CPU time (all its threads): on a machine that other
      // work keeps busy, the fairer comparison of the single-threaded routes.
      const spcs = (steps * w.batch * 1e6) / (cpu.user + cpu.system);
      perRoute[r.route] = [...(perRoute[r.route] ?? []), Math.round(sps)];
      perRouteCpu[r.route] = [...(perRouteCpu[r.route] ?? []), Math.round(spcs)];
      process.stderr.write(
        `${id} round ${round + 1} ${r.route}: ${Math.round(sps)} samples/s, ${Math.round(spcs)} samples/CPU-s\n`,
      );
    }
  }
  results.push({
    model: id,
    batch: w.batch,
    medianSamplesPerSec: Object.fromEntries(
      Object.entries(perRoute).map(([k, v]) => [k, median(v)]),
    ),
    medianSamplesPerCpuSec: Object.fromEntries(
      Object.entries(perRouteCpu).map(([k, v]) => [k, median(v)]),
    ),
    rounds: perRoute,
    roundsPerCpuSec: perRouteCpu,
  });
  dispose();
}
useNativeKernels(true);
process.stdout.write(
  `${JSON.stringify({ bench: 'native-scaling', date: new Date().toISOString(), openblas: addon?.config(), results }, null, 2)}\n`,
);
