/**
 * The job route of `uib run`, as the runner sees it: where the jobs go (the local pool or the
 * Redis queue), how many there are, and a phase runner that hands a phase's jobs out and waits.
 * Everything before (checks, the lock, the environment) and after (assemble, reports) is the
 * runner's own, unchanged.
 */
import * as path from 'node:path';
import type { ComputeEnvironment } from '../../backend/environment.ts';
import { UsageError } from '../../core/errors.ts';
import type { Progress } from '../progress.ts';
import type { DevelopmentRun, PhaseRunner } from '../runner/tune.ts';
import type { Experiment } from '../schema.ts';
import { jobsPerSeedScenario, type RunTarget } from './graph.ts';
import { LocalPool } from './pool.ts';
import { QueueExecutor } from './queue.ts';
import { type Executor, type JobContext, runPhaseJobs } from './schedule.ts';

export interface JobRoute {
  jobCount(
    exp: Experiment,
    methods: number,
    dev: DevelopmentRun | false | null | undefined,
  ): number;
  start(
    environment: ComputeEnvironment,
    shared: {
      progress: Progress;
      counters: JobContext['counters'];
      failures: string[];
      total: number;
    },
  ): PhaseRunner;
  retried(): number;
  close(): Promise<void>;
}

export async function openJobRoute(opts: {
  outDir: string;
  workers: number;
  queue?: { url: string; store: string };
  backend?: string;
}): Promise<JobRoute> {
  let storeRoot = path.resolve(opts.outDir);
  let run = '';
  let queue: QueueExecutor | undefined;
  if (opts.queue) {
    storeRoot = path.resolve(opts.queue.store);
    run = path.relative(storeRoot, path.resolve(opts.outDir));
    if (run.startsWith('..') || path.isAbsolute(run)) {
      throw new UsageError(
        '--out',
        `must be inside --store ${opts.queue.store} (the directory every worker reaches); got ${opts.outDir}`,
      );
    }
    queue = await QueueExecutor.open(opts.queue.url);
  }
  // The pool's workers start now, so that their start-up overlaps the coordinator's own.
  const exec: Executor = queue ?? new LocalPool(opts.workers, { storeRoot, backend: opts.backend });
  return {
    jobCount(exp, methods, dev) {
      const per = (e: Experiment, m: number) =>
        e.seeds.length *
        e.scenarios.length *
        jobsPerSeedScenario({ exp: e, methods: new Array(m), metricIds: [], sub: '', tag: '' });
      return (
        per(exp, methods) + (dev ? per(dev.exp, dev.perSeed - 1 - dev.exp.options.retrainSeeds) : 0)
      );
    },
    start(environment, shared) {
      const target: RunTarget = {
        outDir: path.resolve(opts.outDir),
        run,
        environment: {
          backend: environment.backend,
          route: environment.route,
          blas: environment.route === 'native' ? (environment.blas ?? 'openblas') : null,
        },
      };
      const ctx: JobContext = { ...shared, done: 0, ran: 0, failed: 0 };
      return (phase) => runPhaseJobs(target, phase, exec, ctx);
    },
    retried: () => exec.retried(),
    close: () => exec.close(),
  };
}
