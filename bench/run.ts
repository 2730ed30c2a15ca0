/**
 * `npm run bench`: the project against PyTorch, same workloads, same machine, same run.
 * Not a test; CI does not run it. See docs/performance.md.
 *
 *   npm run bench [-- --quick] [--only mlp,cnn,resnet,fisher,e2e] [--json FILE] [--profile cnn]
 *                 [--reference-threads N]
 *
 * Every job runs in a fresh process (its peak RSS is its own). Jobs alternate project, PyTorch,
 * project, PyTorch… round by round, so drift in the machine's state hits both sides. A step
 * workload's figure is the median samples/s over all timing windows of all rounds.
 * Progress goes to stderr; stdout gets the JSON object, then the Markdown tables.
 * The PyTorch side (bench/reference/bench.py) runs torch at 2 threads with OPENBLAS_NUM_THREADS=1;
 * when torch is missing it is recorded as unavailable, with the line saying how to install it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { writeJsonAtomic } from '../src/core/atomic.ts';
import { isUsageError, UsageError } from '../src/core/errors.ts';
import {
  type E2eRow,
  e2eTable,
  type SideSummary,
  stepTable,
  summarise,
  type WorkloadRow,
} from './lib/report.ts';
import { type JobOutcome, referencePython, runProjectJob, runReferenceJob } from './lib/spawn.ts';
import {
  E2E_WORKLOAD,
  FISHER_WORKLOAD,
  STEP_WORKLOADS,
  type StepWorkloadId,
  WORKLOAD_IDS,
  type WorkloadId,
} from './lib/workloads.ts';

/** torch's threads: 2, the fair reference on 2 cores (`--reference-threads` for diagnostics). */
let referenceThreads = 2;

interface Settings {
  rounds: number;
  windows: number;
  windowSeconds: number;
  warmupSteps: number;
  trainSize: number;
}

const FULL: Settings = {
  rounds: 3,
  windows: 3,
  windowSeconds: 1.5,
  warmupSteps: 2,
  trainSize: E2E_WORKLOAD.trainSize,
};
const QUICK: Settings = {
  rounds: 2,
  windows: 2,
  windowSeconds: 0.5,
  warmupSteps: 1,
  trainSize: E2E_WORKLOAD.quickTrainSize,
};

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

/** Reference facts, from the first PyTorch job that ran (or why none could). */
const reference: {
  available: boolean | null;
  python: string;
  reason?: string;
  info?: Record<string, unknown>;
} = {
  available: null,
  python: referencePython(),
};

async function referenceJob(job: object): Promise<JobOutcome | null> {
  if (reference.available === false) return null;
  const r = await runReferenceJob({ threads: referenceThreads, ...job });
  if (r.ok) {
    reference.available = true;
    const { torch, threads, blas } = r.out;
    reference.info ??= { torch, threads, blas };
  } else if (r.unavailable) {
    reference.available = false;
    reference.reason = r.reason;
    log(`PyTorch reference unavailable: ${r.reason}`);
  }
  return r;
}

/** Collects the windows, RSS and errors of one side over the rounds. */
class Side {
  windows: number[] = [];
  rss: number[] = [];
  errors: string[] = [];
  add(r: JobOutcome | null): void {
    if (r === null) return;
    if (!r.ok) {
      if (!r.unavailable) this.errors.push(r.reason);
      return;
    }
    this.windows.push(...(r.out.samplesPerSec as number[]));
    this.rss.push(r.out.maxRssKB);
  }
  summary(): SideSummary | null {
    return summarise(this.windows, this.rss, this.errors);
  }
}

function row(id: string, title: string, wasm: Side, cpu: Side | null, torch: Side): WorkloadRow {
  const w = wasm.summary();
  const p = torch.summary();
  const ratio =
    w?.windows.length && p?.windows.length ? Number((w.median / p.median).toFixed(3)) : null;
  return { id, title, wasm: w, cpu: cpu?.summary() ?? null, pytorch: p, ratio };
}

async function stepWorkload(id: StepWorkloadId, s: Settings): Promise<WorkloadRow> {
  const w = STEP_WORKLOADS[id];
  const [wasm, cpu, torch] = [new Side(), new Side(), new Side()];
  const common = { warmupSteps: s.warmupSteps, windows: s.windows, windowSeconds: s.windowSeconds };
  const { build: _build, ...described } = w; // everything but the builder goes to Python
  for (let round = 0; round < s.rounds; round++) {
    const seed = round + 1;
    log(`${id} round ${round + 1}/${s.rounds}: project wasm`);
    wasm.add(await runProjectJob({ kind: 'step', workload: id, backend: 'wasm', seed, ...common }));
    log(`${id} round ${round + 1}/${s.rounds}: PyTorch`);
    torch.add(await referenceJob({ kind: 'step', workload: described, seed, ...common }));
    if (w.cpuToo) {
      log(`${id} round ${round + 1}/${s.rounds}: project cpu`);
      cpu.add(await runProjectJob({ kind: 'step', workload: id, backend: 'cpu', seed, ...common }));
    }
  }
  return row(id, w.title, wasm, w.cpuToo ? cpu : null, torch);
}

async function fisherWorkload(s: Settings): Promise<WorkloadRow> {
  const [wasm, torch] = [new Side(), new Side()];
  const { build: _build, ...model } = STEP_WORKLOADS[FISHER_WORKLOAD.model];
  const common = { windows: s.windows, windowSeconds: s.windowSeconds };
  for (let round = 0; round < s.rounds; round++) {
    const seed = round + 1;
    log(`fisher round ${round + 1}/${s.rounds}: project wasm`);
    wasm.add(await runProjectJob({ kind: 'fisher', backend: 'wasm', seed, ...common }));
    log(`fisher round ${round + 1}/${s.rounds}: PyTorch`);
    torch.add(
      await referenceJob({
        kind: 'fisher',
        workload: model,
        samples: FISHER_WORKLOAD.samples,
        batch: FISHER_WORKLOAD.batch,
        seed,
        ...common,
      }),
    );
  }
  return row('fisher', FISHER_WORKLOAD.title, wasm, null, torch);
}

async function e2eWorkload(s: Settings) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-bench-e2e-'));
  try {
    return await e2eIn(dir, s);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function e2eIn(dir: string, s: Settings) {
  log(
    `e2e: project wasm (train the original, F_D cache, UIB-IF ×2, Retrain; ${s.trainSize} samples)`,
  );
  const project = await runProjectJob({
    kind: 'e2e',
    backend: 'wasm',
    trainSize: s.trainSize,
    workDir: path.join(dir, 'checkpoint'),
    dumpDir: path.join(dir, 'retain'),
  });
  if (!project.ok) return { ok: false as const, error: project.reason };
  const p = project.out as Record<string, unknown> & {
    maxRssKB: number;
    counts: { retain: number };
    recipe: Record<string, unknown>;
    timeMs: Record<string, number>;
  };
  log('e2e: PyTorch Retrain (same recipe, same D_r)');
  const { build: _build, ...model } = STEP_WORKLOADS.cnn;
  const torch = await referenceJob({
    kind: 'retrain',
    workload: model,
    recipe: p.recipe,
    dataDir: path.join(dir, 'retain'),
    n: p.counts.retain,
  });
  const t = p.timeMs;
  const pytorchRetrain = torch?.ok ? (torch.out.timeMs as number) : null;
  return {
    ok: true as const,
    project: { ...p, maxRssMB: Math.round(p.maxRssKB / 1024) },
    pytorch: torch?.ok
      ? { ...torch.out, maxRssMB: Math.round(torch.out.maxRssKB / 1024) }
      : { error: torch?.reason ?? reference.reason },
    /** Retrain time / UIB-IF time on the same (wasm) backend: the issue's ≥ 20× criterion. */
    speedupVsRetrain: {
      uibIfCached: Number((t.retrain / t.uibIfCached).toFixed(2)),
      uibIfFresh: Number((t.retrain / t.uibIfFresh).toFixed(2)),
    },
    /** PyTorch Retrain time / project Retrain time (the throughput ratio of a whole training run). */
    retrainRatio: pytorchRetrain ? Number((pytorchRetrain / t.retrain).toFixed(3)) : null,
  };
}

function parseOnly(value: string | undefined): WorkloadId[] {
  if (value === undefined) return [...WORKLOAD_IDS];
  const ids = value.split(',').map((s) => s.trim());
  for (const id of ids) {
    if (!(WORKLOAD_IDS as readonly string[]).includes(id)) {
      throw new UsageError(
        '--only',
        `unknown workload "${id}"; must be one or more of ${WORKLOAD_IDS.join(', ')}`,
      );
    }
  }
  return ids as WorkloadId[];
}

async function profile(id: string): Promise<void> {
  if (!(id in STEP_WORKLOADS)) {
    throw new UsageError(
      '--profile',
      `must be one of ${Object.keys(STEP_WORKLOADS).join(', ')}; got "${id}"`,
    );
  }
  const r = await runProjectJob({
    kind: 'profile',
    workload: id,
    backend: 'wasm',
    steps: 3,
    seed: 1,
  });
  if (!r.ok) throw new Error(`profile failed: ${r.reason}`);
  const out = r.out as unknown as {
    wallMsPerStep: number;
    kernelMsPerStep: number;
    kernels: { name: string; msPerStep: number; callsPerStep: number }[];
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n\n`);
  const lines = ['| kernel | ms / step | share of step | calls / step |', '|---|---|---|---|'];
  for (const k of out.kernels.slice(0, 15)) {
    lines.push(
      `| ${k.name} | ${k.msPerStep.toFixed(1)} | ${((100 * k.msPerStep) / out.wallMsPerStep).toFixed(0)} % | ${k.callsPerStep.toFixed(0)} |`,
    );
  }
  const other = out.wallMsPerStep - out.kernelMsPerStep;
  lines.push(
    `| (outside kernels: tape, loop, data) | ${other.toFixed(1)} | ${((100 * other) / out.wallMsPerStep).toFixed(0)} % | |`,
  );
  lines.push(
    '',
    `wall time per step ${out.wallMsPerStep.toFixed(1)} ms (profiled; profiling adds some overhead)`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      json: { type: 'string' },
      profile: { type: 'string' },
      'reference-threads': { type: 'string', default: '2' },
    },
  });
  referenceThreads = Number(values['reference-threads']);
  if (!Number.isInteger(referenceThreads) || referenceThreads < 1) {
    throw new UsageError(
      '--reference-threads',
      `must be a positive integer; got "${values['reference-threads']}"`,
    );
  }
  if (values.profile !== undefined) return profile(values.profile);
  const s = values.quick ? QUICK : FULL;
  const only = parseOnly(values.only);
  const started = new Date();
  const load0 = os.loadavg();
  const t0 = performance.now();

  const rows: WorkloadRow[] = [];
  for (const id of only) {
    if (id === 'fisher') rows.push(await fisherWorkload(s));
    else if (id !== 'e2e') rows.push(await stepWorkload(id, s));
  }
  const e2e = only.includes('e2e') ? await e2eWorkload(s) : null;

  const report = {
    bench: 'uib-vs-pytorch',
    date: started.toISOString(),
    command: `npm run bench --${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    durationS: Math.round((performance.now() - t0) / 1000),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      /** 1-minute load average at start and end: above the core count means other work competed. */
      loadavg1: { start: load0[0], end: os.loadavg()[0] },
      node: process.version,
      tfjs: tf.version_core,
    },
    settings: {
      ...s,
      quick: values.quick,
      referenceThreads,
      openblasThreads: 1,
    },
    reference,
    workloads: rows,
    e2e,
  };
  const json = JSON.stringify(report, null, 2);
  if (values.json) writeJsonAtomic(values.json, report);
  const parts = [json, '', stepTable(rows)];
  if (e2e?.ok) {
    const t = e2e.project.timeMs;
    const py = e2e.pytorch as { timeMs?: number };
    const e2eRows: E2eRow[] = [
      { phase: 'train the original (recipe)', projectS: t.trainOriginal / 1000, pytorchS: null },
      {
        phase: 'F_D cache (UIB-IF default Fisher kind, all of D)',
        projectS: t.fisherCache / 1000,
        pytorchS: null,
      },
      { phase: 'UIB-IF, cached F_D', projectS: t.uibIfCached / 1000, pytorchS: null },
      { phase: 'UIB-IF, fresh Fisher pass', projectS: t.uibIfFresh / 1000, pytorchS: null },
      {
        phase: 'Retrain (recipe, on D_r)',
        projectS: t.retrain / 1000,
        pytorchS: py.timeMs !== undefined ? py.timeMs / 1000 : null,
      },
    ];
    parts.push(
      '',
      e2eTable(e2eRows, [
        `UIB-IF speed-up over Retrain (wasm): ${e2e.speedupVsRetrain.uibIfCached}× with cached F_D, ${e2e.speedupVsRetrain.uibIfFresh}× with a fresh Fisher pass`,
        `Retrain PyTorch/project time ratio: ${e2e.retrainRatio ?? '–'}; peak RSS project ${e2e.project.maxRssMB} MB`,
      ]),
    );
  } else if (e2e) {
    parts.push('', `end to end failed: ${e2e.error}`);
  }
  process.stdout.write(`${parts.join('\n')}\n`);
}

try {
  await main();
} catch (e) {
  // Like the CLI: bad flags are one line and exit 2; anything else is a fault with its stack.
  if (!isUsageError(e)) throw e;
  process.stderr.write(`bench: ${e.message}\n`);
  process.exitCode = 2;
}
