/**
 * Running one job (jobs/graph.ts) in a worker: a local pool child or `uib worker`. It opens the
 * (seed, scenario) as the in-process runner does (runner/scenario.ts) and calls the runner's own
 * parts on it — the reference models, the references' records, one method cell — which read
 * their inputs from the store (the cache and the records) and write their outputs there
 * atomically. So a job run twice, or after another worker died in it, finds what is already
 * stored and redoes nothing that is; and every route gives the in-process runner's values.
 */
import * as path from 'node:path';
import { computeEnvironment, describeRoute } from '../../backend/environment.ts';
import { UsageError } from '../../core/errors.ts';
import { sha256Json } from '../../core/hash.ts';
import type { Progress } from '../progress.ts';
import { type CellBase, runMethodCells } from '../runner/cell.ts';
import type { ScenarioRun, SeedScenarioJob } from '../runner/plan.ts';
import {
  originalModel,
  retrainModel,
  runOriginal,
  runRetrainEnsemble,
} from '../runner/references.ts';
import { openScenarioRun, referenceBase } from '../runner/scenario.ts';
import { RunStore } from '../store.ts';
import type { JobData, JobResult } from './graph.ts';

/** The run directory of a job under this worker's store root; never outside it. */
export function runDirOf(storeRoot: string, job: JobData): string {
  const root = path.resolve(storeRoot);
  const dir = path.resolve(root, job.run, job.phase);
  const rel = path.relative(root, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new UsageError('--store', `a job names ${job.run}, which is outside ${root}`);
  }
  return dir;
}

/** A worker on another backend or kernel route would store cells whose last bits differ. */
function checkEnvironment(job: JobData): void {
  const now = computeEnvironment();
  const want = job.environment;
  const blas = now.route === 'native' ? (now.blas ?? 'openblas') : null;
  if (now.backend !== want.backend || now.route !== want.route || blas !== want.blas) {
    throw new UsageError(
      '--backend',
      `this worker runs on ${describeRoute(now)}; the run was started on ${describeRoute({ ...now, ...want })}: start the worker with the same backend and route (--backend, UIB_NATIVE, UIB_BLAS)`,
    );
  }
}

const silent: Progress = {
  stage() {},
  done() {},
  warn: (line) => process.stderr.write(`${line}\n`),
  stop() {},
};

/**
 * What a worker keeps of the (seed, scenario)s it ran jobs of, newest last: the data, and for
 * cell jobs the references read against (models and predictions). Jobs of one (seed, scenario)
 * tend to follow each other on a worker (the pool sends them so), and each would otherwise
 * rebuild the data and reload and re-predict every reference: the in-process runner does that
 * once per (seed, scenario) too. UIB_JOB_CACHE entries (default 2); evicted models are freed.
 */
interface Opened {
  key: string;
  run: ScenarioRun;
  base?: CellBase;
}
const opened: Opened[] = [];

function openedKey(job: JobData, dir: string): string {
  return sha256Json({
    dir,
    exp: job.exp,
    scenario: job.scenario,
    seed: job.seed,
    m: job.metricIds,
  });
}

function remember(entry: Opened): void {
  opened.push(entry);
  const size = Math.max(1, Number(process.env.UIB_JOB_CACHE) || 2);
  while (opened.length > size) {
    for (const model of opened.shift()?.run.models ?? []) model.dispose();
  }
}

export async function executeJob(job: JobData, storeRoot: string): Promise<JobResult> {
  const t0 = performance.now();
  checkEnvironment(job);
  const dir = runDirOf(storeRoot, job);
  const store = RunStore.inDirectory(dir, { warn: silent.warn });
  const scenario = job.exp.scenarios.find((s) => s.id === job.scenario);
  if (!scenario) throw new Error(`job names scenario ${job.scenario}, not in its experiment`);
  const sj: SeedScenarioJob = {
    exp: job.exp,
    scenario,
    seed: job.seed,
    methods: job.method ? [job.method] : [],
    metricIds: job.metricIds,
    store,
    progress: silent,
    counters: { skipped: 0, computed: 0 },
    failures: [],
    tag: job.tag,
  };
  const key = openedKey(job, dir);
  const hit = job.kind === 'scenario' ? undefined : opened.find((o) => o.key === key);
  if (hit) opened.push(...opened.splice(opened.indexOf(hit), 1)); // newest last
  // This job's view: the kept data with this job's counters, and models of its own.
  const fresh = hit ? undefined : await openScenarioRun(sj, { write: job.kind === 'scenario' });
  const entry: Opened = hit ?? { key, run: fresh as ScenarioRun };
  const run: ScenarioRun = { ...entry.run, job: sj, models: [] };
  try {
    switch (job.kind) {
      case 'scenario':
        break;
      case 'train': {
        const want =
          job.role === 'original' ? run.keys.original : run.keys.retrains[job.member ?? 0];
        stale(job, want);
        if (job.role === 'original') await originalModel(run);
        else await retrainModel(run, job.member ?? 0);
        break;
      }
      case 'refs': {
        const ensemble = await runRetrainEnsemble(run);
        await runOriginal(run, ensemble);
        break;
      }
      case 'cell': {
        if (!job.method) throw new Error('a cell job without its method');
        stale(job, run.keys.cell(job.method));
        if (!entry.base) {
          // Read into the kept entry: its models live as long as it does.
          entry.base = await referenceBase({ ...run, models: entry.run.models });
        }
        // Only the cell counts: the references read above are the refs job's.
        sj.counters = { skipped: 0, computed: 0 };
        await runMethodCells(run, entry.base);
        break;
      }
    }
  } catch (e) {
    // A failed job's kept state may be half-built: start the next one afresh.
    const i = opened.indexOf(entry);
    if (i >= 0) opened.splice(i, 1);
    for (const model of entry.run.models) model.dispose();
    throw e;
  } finally {
    for (const model of run.models) model.dispose();
  }
  if (!hit) remember(entry);
  return { ...sj.counters, failures: sj.failures, ms: performance.now() - t0 };
}

/** The coordinator planned this job from stored facts; the data says otherwise now. */
function stale(job: JobData, key: string): void {
  if (key !== job.key)
    throw new Error(
      `the scenario's data changed since the job was planned (key ${key.slice(0, 12)}, planned ${job.key.slice(0, 12)}); run the coordinator again`,
    );
}
