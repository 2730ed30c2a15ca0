/**
 * The experiment runner behind `uib run` and `uib demo`. For each seed and scenario: build the
 * scenario (manifest → data), train the original model θ̂ and the Retrain oracle once (cached by
 * content hash), run every method, evaluate each against Retrain, and persist each finished cell
 * at once. Then assemble results.json, results.md and report.html. Rerunning on the same output
 * directory skips every cell that is already done. This file runs the whole; runner/ holds the
 * parts: plan.ts (checks, keys), tune.ts (the tuning phase), scenario.ts (one seed and scenario),
 * references.ts (Retrain ensemble, original), cell.ts (method cells), write.ts (outputs).
 * With `workers` > 1 or a `queue`, the same units run as jobs on other processes (jobs/route.ts);
 * the outputs are assembled and written by the same code.
 */
import * as path from 'node:path';
import { initBackend } from '../backend/index.ts';
import { writeJsonAtomic } from '../core/atomic.ts';
import { checkOutput } from '../core/out-dir.ts';
import { openJobRoute } from './jobs/route.ts';
import { createProgress } from './progress.ts';
import { renderTerminal } from './report/markdown.ts';
import type { Results, TuningSummary } from './results-schema.ts';
import { checkMethods, checkMetrics } from './runner/plan.ts';
import { runSeedScenarios } from './runner/scenario.ts';
import { developmentRun, runTuning } from './runner/tune.ts';
import {
  assemble,
  claimEnvironment,
  previousStart,
  type ReportFiles,
  writeReports,
} from './runner/write.ts';
import type { Experiment } from './schema.ts';
import { RunStore } from './store.ts';
import { planTuning } from './tuning.ts';

export interface RunOptions {
  outDir: string;
  /** Backend name (default: $UIB_BACKEND, else wasm). */
  backend?: string;
  quiet?: boolean;
  /** Where the experiment came from, for messages (`experiments/x.json`). */
  source?: string;
  /** Files the run reads, by what they are: the output directory must not hold them. */
  inputs?: Record<string, string>;
  /** Worker processes on this machine; 1 (the default): every unit in this process. */
  workers?: number;
  /** The jobs go to `uib worker`s through Redis at `url`; `store` is the root they all reach. */
  queue?: { url: string; store: string };
}

export interface RunOutcome {
  results: Results;
  files: ReportFiles;
  /** The aligned table for the terminal. */
  table: string;
  /** Method runs that failed with a fault (not a divergence) in this run: `seed 1 · sc: ft: why`. */
  failures: string[];
  /** Units found done and skipped / computed in this run. */
  skipped: number;
  computed: number;
  /** On the job route: jobs tried again after a worker was lost or a try failed. */
  retried?: number;
}

export async function runExperiment(exp: Experiment, opts: RunOptions): Promise<RunOutcome> {
  const where = opts.source ?? 'experiment';
  const declared = checkMethods(exp, where);
  const tuning = planTuning(exp, declared, where);
  const metricIds = checkMetrics(exp, where);
  // The output is a new or empty directory or a uib run directory (resumed); never the user's files.
  checkOutput(opts.outDir, { kind: 'run', inputs: opts.inputs });
  // Redis is reached (or refused in one line) before any work; the pool's workers start now.
  const route =
    (opts.workers ?? 1) > 1 || opts.queue
      ? await openJobRoute({
          outDir: opts.outDir,
          workers: opts.workers ?? 1,
          queue: opts.queue,
          backend: opts.backend,
        })
      : undefined;
  try {
    await initBackend(opts.backend);
    // Warnings about damaged records go above the progress bar once there is one.
    let warn = (line: string): void => {
      process.stderr.write(`${line}\n`);
    };
    const store = RunStore.inDirectory(opts.outDir, { warn: (line) => warn(line) });
    const unlock = store.lock();
    try {
      const environment = claimEnvironment(opts.outDir);
      store.removeStaleTemps();
      writeJsonAtomic(path.join(opts.outDir, 'experiment.json'), exp);
      const startedAt = previousStart(opts.outDir) ?? new Date().toISOString();
      const perSeed = 1 + exp.options.retrainSeeds + declared.length;
      const dev = tuning && developmentRun(exp, tuning);
      const total = route
        ? route.jobCount(exp, declared.length, dev)
        : exp.seeds.length * exp.scenarios.length * perSeed +
          (dev ? dev.exp.seeds.length * dev.exp.scenarios.length * dev.perSeed : 0);
      const progress = createProgress(total, { quiet: opts.quiet });
      warn = progress.warn;
      const shared = { progress, counters: { skipped: 0, computed: 0 }, failures: [] as string[] };
      const runPhase = route?.start(environment, { ...shared, total });
      let methods = declared;
      let tuned: TuningSummary | undefined;
      try {
        if (tuning && dev) {
          // The protocol first: trials on the development cells, in a store of their own.
          const choice = await runTuning(tuning, dev, declared, opts.outDir, shared, runPhase);
          methods = choice.methods;
          tuned = choice.summary;
        }
        if (runPhase) await runPhase({ exp, methods, metricIds, sub: '', tag: '' });
        else await runSeedScenarios({ exp, methods, metricIds, store, ...shared });
      } finally {
        progress.stop();
      }

      const results = await assemble(exp, store, methods, metricIds, {
        environment,
        startedAt,
        tuning: tuned,
      });
      const files = await writeReports(results, opts.outDir);
      const { failures, counters } = shared;
      return {
        results,
        files,
        table: renderTerminal(results),
        failures,
        ...counters,
        ...(route && { retried: route.retried() }),
      };
    } finally {
      unlock();
    }
  } finally {
    await route?.close();
  }
}
