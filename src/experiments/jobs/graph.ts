/**
 * The jobs of a run: the runner's units of work made explicit, for the local pool and the Redis
 * queue alike. Per (seed, scenario):
 *
 *   scenario             the manifest built and cached, `_scenario.json` written (its facts fix
 *                        every key below)
 *   train original       θ̂ trained and cached under keys.original        ← scenario
 *   train retrain k      ensemble member k, cached under keys.retrains[k] ← scenario
 *   refs                 the references' records (ensemble, original)    ← every train job
 *   cell <label>         one method cell                                 ← refs
 *
 * and, once every cell is in, the aggregate (results.json and the reports), which the coordinator
 * writes with the runner's own code (runner/write.ts). A job's id is the SHA-256 of the run
 * directory and the content key of what it produces, so enqueueing the same file twice names the
 * same jobs. A job's inputs travel in its data (the experiment, the method, the metrics); its
 * outputs are files in the run directory, and `isDone` reads them: a job whose output is stored
 * under its key is not run again, whoever ran it.
 */
import * as path from 'node:path';
import type { ComputeEnvironment } from '../../backend/environment.ts';
import { sha256Json } from '../../core/hash.ts';
import { isFinal } from '../runner/cell.ts';
import type { Keys } from '../runner/plan.ts';
import type { Experiment, ScenarioConfig } from '../schema.ts';
import { RunStore, type RunStoreOptions } from '../store.ts';
import type { MethodPlan } from '../tuning.ts';

export type JobKind = 'scenario' | 'train' | 'refs' | 'cell';

/** What a worker needs to run one job: everything by value, nothing but the store shared. */
export interface JobData {
  v: 1;
  kind: JobKind;
  /** The run directory relative to the store root (`''`: the root itself). */
  run: string;
  /** The phase's own store inside the run directory: `''`, or `tuning` for the trials. */
  phase: string;
  /** The phase's experiment (the tuning phase's has its development scenarios and seeds). */
  exp: Experiment;
  metricIds: string[];
  scenario: string;
  seed: number;
  /** train: which model. */
  role?: 'original' | 'retrain';
  member?: number;
  /** cell: the method with its parameters. */
  method?: MethodPlan;
  /** The content key of the job's output; the worker refuses to write under another. */
  key: string;
  /** Progress-line prefix (`tuning · `). */
  tag: string;
  /** The backend and kernel route the run directory was claimed on: a worker must match. */
  environment: Pick<ComputeEnvironment, 'backend' | 'route' | 'blas'>;
}

export interface JobSpec {
  id: string;
  /** `seed 1 · bias-stripe-3: ft`, for progress and errors. */
  title: string;
  data: JobData;
}

/** What a worker reports back for a job. */
export interface JobResult {
  /** Units (references, cells) computed and found done, as the in-process runner counts them. */
  computed: number;
  skipped: number;
  /** Method runs that failed with a fault (the cell is stored as failed). */
  failures: string[];
  ms: number;
}

/** One phase of a run: the reported cells, or the tuning trials before them. */
export interface Phase {
  exp: Experiment;
  methods: MethodPlan[];
  metricIds: string[];
  /** `''` or `tuning`. */
  sub: string;
  tag: string;
}

export interface RunTarget {
  /** The run directory on this machine. */
  outDir: string;
  /** The run directory relative to the store root every worker reaches. */
  run: string;
  environment: JobData['environment'];
}

export function phaseStore(target: RunTarget, phase: Phase, opts: RunStoreOptions = {}): RunStore {
  return RunStore.inDirectory(
    phase.sub ? path.join(target.outDir, phase.sub) : target.outDir,
    opts,
  );
}

function jobId(target: RunTarget, phase: Phase, what: Record<string, unknown>): string {
  // BullMQ ids must not be integers or hold ':'; a hex digest with a prefix is neither.
  return `uib-${sha256Json({ run: target.run, phase: phase.sub, ...what }).slice(0, 40)}`;
}

function base(
  target: RunTarget,
  phase: Phase,
  sc: ScenarioConfig,
  seed: number,
): Omit<JobData, 'kind' | 'key'> {
  return {
    v: 1,
    run: target.run,
    phase: phase.sub,
    exp: phase.exp,
    metricIds: phase.metricIds,
    scenario: sc.id,
    seed,
    tag: phase.tag,
    environment: target.environment,
  };
}

const titleOf = (phase: Phase, sc: ScenarioConfig, seed: number, what: string) =>
  `${phase.tag}seed ${seed} · ${sc.id}: ${what}`;

/** The scenario job of (seed, scenario): its key is the request, since the manifest comes of it. */
export function scenarioJob(
  target: RunTarget,
  phase: Phase,
  sc: ScenarioConfig,
  seed: number,
): JobSpec {
  const e = phase.exp;
  const key = sha256Json({
    dataset: e.dataset,
    model: e.model,
    scenario: sc.params,
    seed,
    examples: e.options.exampleImages,
    first: seed === e.seeds[0],
  });
  return {
    id: jobId(target, phase, { kind: 'scenario', scenario: sc.id, seed, key }),
    title: titleOf(phase, sc, seed, 'scenario'),
    data: { ...base(target, phase, sc, seed), kind: 'scenario', key },
  };
}

/** The jobs after the scenario, once its keys are known: trains, then refs, then the cells. */
export function unitJobs(
  target: RunTarget,
  phase: Phase,
  sc: ScenarioConfig,
  seed: number,
  keys: Keys,
): { trains: JobSpec[]; refs: JobSpec; cells: JobSpec[] } {
  const b = base(target, phase, sc, seed);
  const n = keys.retrains.length;
  const trains: JobSpec[] = [
    {
      id: jobId(target, phase, { kind: 'train', key: keys.original }),
      title: titleOf(phase, sc, seed, 'original'),
      data: { ...b, kind: 'train', role: 'original', member: 0, key: keys.original },
    },
    ...keys.retrains.map((key, member) => ({
      id: jobId(target, phase, { kind: 'train', key }),
      title: titleOf(phase, sc, seed, n > 1 ? `retrain ${member + 1}/${n}` : 'retrain'),
      data: { ...b, kind: 'train' as const, role: 'retrain' as const, member, key },
    })),
  ];
  const refsKey = sha256Json({ original: keys.originalRecord, retrains: keys.retrainRecords });
  const refs: JobSpec = {
    id: jobId(target, phase, { kind: 'refs', scenario: sc.id, seed, key: refsKey }),
    title: titleOf(phase, sc, seed, 'references'),
    data: { ...b, kind: 'refs', key: refsKey },
  };
  const cells = phase.methods.map((m) => {
    const key = keys.cell(m);
    return {
      id: jobId(target, phase, { kind: 'cell', scenario: sc.id, seed, label: m.label, key }),
      title: titleOf(phase, sc, seed, m.label),
      data: { ...b, kind: 'cell' as const, method: m, key },
    };
  });
  return { trains, refs, cells };
}

/**
 * Whether a job's output is stored under its key (read from the store, so it holds whoever ran
 * the job and whatever the queue remembers). The scenario job is judged by `storedKeys`.
 */
export async function isDone(store: RunStore, job: JobData, keys: Keys): Promise<boolean> {
  switch (job.kind) {
    case 'scenario':
      return true;
    case 'train':
      // The checkpoint's own hashes are checked when it is loaded; a damaged one is retrained then.
      return store.hasModel(job.key);
    case 'refs': {
      const original = await store.readReference(job.scenario, job.seed, 'original');
      if (original?.cacheKey !== keys.originalRecord) return false;
      for (const [member, key] of keys.retrainRecords.entries()) {
        const ref = await store.readReference(job.scenario, job.seed, 'retrain', member);
        if (ref?.cacheKey !== key) return false;
      }
      return true;
    }
    case 'cell':
      return job.method !== undefined
        ? isFinal(await store.readCell(job.scenario, job.seed, job.method.label), job.key)
        : false;
  }
}

/** Units a job stands for in the in-process runner's count (references and cells). */
export function unitsOf(job: JobData, keys: Keys): number {
  if (job.kind === 'refs') return 1 + keys.retrains.length;
  return job.kind === 'cell' ? 1 : 0;
}

/** Jobs per (seed, scenario): scenario, original, the ensemble, refs and one per method. */
export function jobsPerSeedScenario(phase: Phase): number {
  return 3 + phase.exp.options.retrainSeeds + phase.methods.length;
}
