/**
 * The coordinator's side of the job route: walks the job graph of a phase (jobs/graph.ts) and
 * hands each job whose inputs are stored to an executor — the local pool (jobs/pool.ts) or the
 * Redis queue (jobs/queue.ts), which run them where they can — and says how far it is. A job
 * whose output is already stored under its key is counted done without running it, so a
 * coordinator restarted on the same directory picks up what is finished, from whichever worker.
 */
import { UsageError } from '../../core/errors.ts';
import type { Progress } from '../progress.ts';
import { jobStatusLine } from '../progress.ts';
import type { Keys } from '../runner/plan.ts';
import { storedKeys } from '../runner/scenario.ts';
import {
  isDone,
  type JobResult,
  type JobSpec,
  type Phase,
  phaseStore,
  type RunTarget,
  scenarioJob,
  unitJobs,
  unitsOf,
} from './graph.ts';

export interface Executor {
  /** Run one job to its end on some worker: its result, or its last error after its retries. */
  run(job: JobSpec): Promise<JobResult>;
  /** Jobs running now, for the progress line. */
  running(): number;
  /** Jobs retried after a worker was lost or a try failed (counted by the executor). */
  retried(): number;
  close(): Promise<void>;
}

export interface JobContext {
  progress: Progress;
  counters: { skipped: number; computed: number };
  failures: string[];
  /** Jobs in all phases, for the progress line. */
  total: number;
  done: number;
  /** Jobs run (not found done) in this run. */
  ran: number;
  failed: number;
  /** Time of the first submission and the summed time of finished jobs, for the ETA. */
  startedAt?: number;
  aborted?: unknown;
}

/** Run every job of a phase; the first job that fails for good fails the phase with its error. */
export async function runPhaseJobs(
  target: RunTarget,
  phase: Phase,
  exec: Executor,
  ctx: JobContext,
): Promise<void> {
  const tasks: Promise<void>[] = [];
  for (const seed of phase.exp.seeds)
    for (const sc of phase.exp.scenarios) tasks.push(seedScenarioJobs(target, phase, sc, seed));
  try {
    await Promise.all(tasks);
  } catch (e) {
    ctx.aborted ??= e;
    throw e;
  }

  async function seedScenarioJobs(
    t: RunTarget,
    p: Phase,
    sc: Phase['exp']['scenarios'][number],
    seed: number,
  ): Promise<void> {
    const store = phaseStore(t, p, { warn: ctx.progress.warn });
    const sj = {
      exp: p.exp,
      scenario: sc,
      seed,
      methods: p.methods,
      metricIds: p.metricIds,
      store,
    };
    let keys = await storedKeys(sj);
    const first = scenarioJob(t, p, sc, seed);
    if (keys) skip(first, 0);
    else {
      await submit(first);
      keys = await storedKeys(sj);
      if (!keys) throw notStored(first, store.location);
    }
    const k: Keys = keys;
    const { trains, refs, cells } = unitJobs(t, p, sc, seed, k);
    const step = async (job: JobSpec) => {
      if (await isDone(store, job.data, k)) return skip(job, unitsOf(job.data, k));
      await submit(job);
      // A fault cell is stored but not final (a rerun retries it): stored is what is checked.
      const stored =
        job.data.kind === 'cell' && job.data.method
          ? (await store.readCell(sc.id, seed, job.data.method.label))?.key === job.data.key
          : await isDone(store, job.data, k);
      if (!stored) throw notStored(job, store.location);
    };
    await Promise.all(trains.map(step));
    await step(refs);
    await Promise.all(cells.map(step));
  }

  function skip(job: JobSpec, units: number): void {
    ctx.done++;
    ctx.counters.skipped += units;
    ctx.progress.done(`${job.title} already done · ${status()}`);
  }

  async function submit(job: JobSpec): Promise<void> {
    if (ctx.aborted) throw ctx.aborted; // another job failed for good: start nothing new
    ctx.startedAt ??= performance.now();
    ctx.progress.stage(`${job.title} · ${status()}`);
    let r: JobResult;
    try {
      r = await exec.run(job);
    } catch (e) {
      ctx.failed++;
      ctx.aborted ??= e;
      ctx.progress.warn(`uib run: ${job.title} failed: ${e instanceof Error ? e.message : e}`);
      throw e;
    }
    ctx.done++;
    ctx.ran++;
    ctx.counters.computed += r.computed;
    ctx.counters.skipped += r.skipped;
    ctx.failures.push(...r.failures);
    ctx.progress.done(`${job.title} (${(r.ms / 1000).toFixed(1)} s) · ${status()}`);
  }

  function status(): string {
    const elapsed = ctx.startedAt === undefined ? 0 : performance.now() - ctx.startedAt;
    return jobStatusLine({
      done: ctx.done,
      total: ctx.total,
      running: exec.running(),
      failed: ctx.failed,
      ran: ctx.ran,
      elapsedMs: elapsed,
    });
  }
}

function notStored(job: JobSpec, dir: string): UsageError {
  return new UsageError(
    '--store',
    `${job.title}: the job finished on a worker but its output is not in ${dir}; every worker's --store must be the same shared directory as the coordinator's`,
  );
}
