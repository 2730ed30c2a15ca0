/**
 * `npm run bench`: the project against PyTorch, same workloads, same machine, same run.
 * Not a test; CI does not run it. See docs/performance.md.
 *
 *   npm run bench [-- --quick] [--only mlp,cnn,resnet,fisher,e2e] [--route full|fresh|both]
 *                 [--json FILE] [--profile cnn] [--reference-threads N]
 *
 * `--route` (./lib/routes.ts): `full` (default) the route this machine's install gives, `fresh`
 * the native addon over uib's own GEMM that a machine without OpenBLAS gets (built here into
 * native/build-builtin/), `both` each job on both. Every job runs in a fresh process (its peak RSS
 * is its own). Within a round the jobs run project full, project fresh, PyTorch (and project cpu),
 * round after round, so drift in the machine's state hits every side alike. A step workload's
 * figure is the median samples/s over all timing windows of all rounds. The CNN also runs at
 * UIB_THREADS=1 (and 2) on each native route: the 1 → 2 cores figure.
 * Progress goes to stderr; stdout gets the JSON object, then the Markdown tables.
 * The PyTorch side (bench/reference/bench.py) runs torch at 2 threads with OPENBLAS_NUM_THREADS=1;
 * when torch is missing it is recorded as unavailable, with the line saying how to install it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { describeEnvironment } from '../src/backend/environment.ts';
import { writeJsonAtomic } from '../src/core/atomic.ts';
import { isUsageError, UsageError } from '../src/core/errors.ts';
import {
  type E2eRow,
  e2eTable,
  type SideSummary,
  stepTable,
  summarise,
  threadTable,
  type WorkloadRow,
} from './lib/report.ts';
import {
  type JobSide,
  jobSetup,
  type PlannedJob,
  parseRoute,
  planRound,
  ROUTE_TARGETS,
  type RouteId,
  type RouteSpec,
  routeSpecs,
} from './lib/routes.ts';
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
  /**
   * Least time each step job runs before its first window, both sides alike: V8 compiles the
   * project's JS while the first seconds of steps run (a fresh process's first 0.5 s window ran at
   * ~65 % of its fourth), which a count of steps did not cover.
   */
  warmupSeconds: number;
  trainSize: number;
}

const FULL: Settings = {
  rounds: 3,
  windows: 3,
  windowSeconds: 1.5,
  warmupSteps: 2,
  warmupSeconds: 3,
  trainSize: E2E_WORKLOAD.trainSize,
};
const QUICK: Settings = {
  rounds: 2,
  windows: 2,
  windowSeconds: 0.5,
  warmupSteps: 1,
  warmupSeconds: 1.5,
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

/** Collects the windows, RSS, errors and reported environment of one side over the rounds. */
class Side {
  windows: number[] = [];
  rss: number[] = [];
  errors: string[] = [];
  environment?: Record<string, unknown>;
  add(r: JobOutcome | null): void {
    if (r === null) return;
    if (!r.ok) {
      if (!r.unavailable) this.errors.push(r.reason);
      return;
    }
    this.windows.push(...(r.out.samplesPerSec as number[]));
    this.rss.push(r.out.maxRssKB);
    this.environment ??= r.out.environment as Record<string, unknown> | undefined;
  }
  summary(): SideSummary | null {
    const s = summarise(this.windows, this.rss, this.errors);
    if (s && this.environment) s.environment = this.environment;
    return s;
  }
}

/** The sides of one workload, by PlannedJob key. */
class Sides {
  private readonly byKey = new Map<string, Side>();
  get(key: string): Side {
    const s = this.byKey.get(key) ?? new Side();
    this.byKey.set(key, s);
    return s;
  }
  summary(key: string): SideSummary | null {
    return this.byKey.get(key)?.summary() ?? null;
  }
}

/** What a measuring run needs besides the workloads. */
interface Run {
  s: Settings;
  ids: RouteId[];
  routes: RouteSpec[];
  /** UIB_THREADS of the main jobs (else every core). */
  defaultThreads: number;
}

const ratioOf = (a: SideSummary | null | undefined, b: SideSummary | null | undefined) =>
  a?.windows.length && b?.windows.length ? Number((a.median / b.median).toFixed(3)) : null;

/**
 * One project job on its route. A job that finds itself on another route (the fresh addon did
 * not load, UIB_NATIVE_ADDON points elsewhere…) ends the bench: its figures would be mislabelled.
 */
async function projectJob(
  side: Exclude<JobSide, { kind: 'pytorch' }>,
  label: string,
  run: Run,
  job: object,
): Promise<JobOutcome> {
  const { backend, env, expect } = jobSetup(side, run.routes);
  const r = await runProjectJob({ ...job, backend, expect }, env);
  if (!r.ok && r.routeMismatch) throw new Error(`${label}: ${r.reason}`);
  return r;
}

async function measureRounds(
  id: string,
  run: Run,
  plan: PlannedJob[],
  project: (seed: number) => object,
  pytorch: (seed: number) => object,
): Promise<Sides> {
  const sides = new Sides();
  for (let round = 0; round < run.s.rounds; round++) {
    const seed = round + 1;
    for (const p of plan) {
      log(`${id} round ${round + 1}/${run.s.rounds}: ${p.label}`);
      const r =
        p.side.kind === 'pytorch'
          ? await referenceJob(pytorch(seed))
          : await projectJob(p.side, `${id} ${p.label}`, run, project(seed));
      sides.get(p.key).add(r);
    }
  }
  return sides;
}

function row(
  id: WorkloadId,
  title: string,
  sides: Sides,
  run: Run,
  o: { cpuToo: boolean; threadScaling: boolean },
): WorkloadRow {
  const pytorch = sides.summary('pytorch');
  const out: WorkloadRow = {
    id,
    title,
    project: {},
    cpu: o.cpuToo ? sides.summary('cpu') : null,
    pytorch,
    ratio: {},
    target: {},
  };
  for (const r of run.ids) {
    out.project[r] = sides.summary(r);
    out.ratio[r] = ratioOf(out.project[r], pytorch);
    const t = ROUTE_TARGETS[r][id];
    if (t !== undefined) out.target[r] = t;
  }
  const native = run.routes.filter((x) => x.native);
  if (o.threadScaling && native.length > 0) {
    out.threadScaling = {};
    for (const spec of native) {
      const one = sides.summary(`${spec.id}@1`);
      // At a default of 2 threads the main job is the 2-thread run (planRound adds none).
      const two =
        run.defaultThreads === 2 ? (out.project[spec.id] ?? null) : sides.summary(`${spec.id}@2`);
      out.threadScaling[spec.id] = {
        oneThread: one,
        twoThreads: two,
        ratio: ratioOf(two, one),
        target: ROUTE_TARGETS[spec.id].cnnThreads,
      };
    }
  }
  return out;
}

async function stepWorkload(id: StepWorkloadId, run: Run): Promise<WorkloadRow> {
  const w = STEP_WORKLOADS[id];
  const s = run.s;
  const common = {
    warmupSteps: s.warmupSteps,
    warmupSeconds: s.warmupSeconds,
    windows: s.windows,
    windowSeconds: s.windowSeconds,
  };
  const { build: _build, ...described } = w; // everything but the builder goes to Python
  const o = { cpuToo: w.cpuToo, threadScaling: id === 'cnn' };
  const plan = planRound({ routes: run.routes, defaultThreads: run.defaultThreads, ...o });
  const sides = await measureRounds(
    id,
    run,
    plan,
    (seed) => ({ kind: 'step', workload: id, seed, ...common }),
    (seed) => ({ kind: 'step', workload: described, seed, ...common }),
  );
  return row(id, w.title, sides, run, o);
}

async function fisherWorkload(run: Run): Promise<WorkloadRow> {
  const { build: _build, ...model } = STEP_WORKLOADS[FISHER_WORKLOAD.model];
  const common = { windows: run.s.windows, windowSeconds: run.s.windowSeconds };
  const o = { cpuToo: false, threadScaling: false };
  const plan = planRound({ routes: run.routes, defaultThreads: run.defaultThreads, ...o });
  const sides = await measureRounds(
    'fisher',
    run,
    plan,
    (seed) => ({ kind: 'fisher', seed, ...common }),
    (seed) => ({
      kind: 'fisher',
      workload: model,
      samples: FISHER_WORKLOAD.samples,
      batch: FISHER_WORKLOAD.batch,
      seed,
      ...common,
    }),
  );
  return row('fisher', FISHER_WORKLOAD.title, sides, run, o);
}

async function e2eWorkload(run: Run) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-bench-e2e-'));
  try {
    return await e2eIn(dir, run);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

type E2eProject = Record<string, unknown> & {
  maxRssKB: number;
  counts: { retain: number };
  recipe: Record<string, unknown>;
  timeMs: Record<string, number>;
};

type E2eRoute =
  | (E2eProject & {
      ok: true;
      maxRssMB: number;
      /** Retrain time / UIB-IF time on the same route: the issue's ≥ 20× criterion. */
      speedupVsRetrain: { uibIfCached: number; uibIfFresh: number };
      /** PyTorch Retrain time / project Retrain time (the throughput ratio of a whole training run). */
      retrainRatio: number | null;
    })
  | { ok: false; error: string };

/** Each route's project run (train, F_D cache, UIB-IF ×2, Retrain), then PyTorch's Retrain. */
async function e2eIn(dir: string, run: Run) {
  const routes: Partial<Record<RouteId, E2eRoute>> = {};
  let retain: { dir: string; n: number; recipe: Record<string, unknown> } | null = null;
  for (const spec of run.routes) {
    log(
      `e2e: project ${spec.id} (train the original, F_D cache, UIB-IF ×2, Retrain; ${run.s.trainSize} samples)`,
    );
    const sub = path.join(dir, spec.id);
    const r = await projectJob({ kind: 'project', route: spec.id }, `e2e ${spec.id}`, run, {
      kind: 'e2e',
      trainSize: run.s.trainSize,
      workDir: path.join(sub, 'checkpoint'),
      dumpDir: path.join(sub, 'retain'),
    });
    if (!r.ok) {
      routes[spec.id] = { ok: false, error: r.reason };
      continue;
    }
    const p = r.out as E2eProject;
    const t = p.timeMs;
    routes[spec.id] = {
      ...p,
      ok: true,
      maxRssMB: Math.round(p.maxRssKB / 1024),
      speedupVsRetrain: {
        uibIfCached: Number((t.retrain / t.uibIfCached).toFixed(2)),
        uibIfFresh: Number((t.retrain / t.uibIfFresh).toFixed(2)),
      },
      retrainRatio: null,
    };
    // D_r is the same data on every route (the scenario does not depend on the kernels).
    retain ??= { dir: path.join(sub, 'retain'), n: p.counts.retain, recipe: p.recipe };
  }
  if (retain === null) {
    const errors = Object.entries(routes).map(([id, r]) => `${id}: ${r.ok ? '' : r.error}`);
    return { ok: false as const, error: errors.join('; '), routes };
  }
  log('e2e: PyTorch Retrain (same recipe, same D_r)');
  const { build: _build, ...model } = STEP_WORKLOADS.cnn;
  const torch = await referenceJob({
    kind: 'retrain',
    workload: model,
    recipe: retain.recipe,
    dataDir: retain.dir,
    n: retain.n,
  });
  const pytorchRetrain = torch?.ok ? (torch.out.timeMs as number) : null;
  for (const r of Object.values(routes)) {
    if (r.ok && pytorchRetrain)
      r.retrainRatio = Number((pytorchRetrain / r.timeMs.retrain).toFixed(3));
  }
  return {
    ok: true as const,
    routes,
    pytorch: torch?.ok
      ? { ...torch.out, maxRssMB: Math.round(torch.out.maxRssKB / 1024) }
      : { error: torch?.reason ?? reference.reason },
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

function checkProfile(id: string): StepWorkloadId {
  if (!(id in STEP_WORKLOADS)) {
    throw new UsageError(
      '--profile',
      `must be one of ${Object.keys(STEP_WORKLOADS).join(', ')}; got "${id}"`,
    );
  }
  return id as StepWorkloadId;
}

/** Per-kernel time of a wasm training step, on each route asked for. */
async function profile(id: StepWorkloadId, run: Run): Promise<void> {
  for (const spec of run.routes) {
    const r = await projectJob({ kind: 'project', route: spec.id }, `profile ${spec.id}`, run, {
      kind: 'profile',
      workload: id,
      steps: 3,
      seed: 1,
    });
    if (!r.ok) throw new Error(`profile on route ${spec.id} failed: ${r.reason}`);
    const out = r.out as unknown as {
      wallMsPerStep: number;
      kernelMsPerStep: number;
      kernels: { name: string; msPerStep: number; callsPerStep: number }[];
    };
    process.stdout.write(`${JSON.stringify({ route: spec.id, ...out }, null, 2)}\n\n`);
    const lines = [
      `route ${spec.id}: ${describeEnvironment(spec.expect)}`,
      '',
      '| kernel | ms / step | share of step | calls / step |',
      '|---|---|---|---|',
    ];
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
    process.stdout.write(`${lines.join('\n')}\n\n`);
  }
}

/** node:util's parseArgs errors (unknown flag, missing value) as the one-line UsageError. */
function parseFlags() {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        route: { type: 'string' },
        json: { type: 'string' },
        profile: { type: 'string' },
        'reference-threads': { type: 'string', default: '2' },
      },
    }).values;
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw e;
    const msg = (e as Error).message;
    throw new UsageError(msg.match(/'(-[-\w]+)/)?.[1] ?? 'arguments', msg);
  }
}

/** Route legend under a table: what each route really is, and the addon it loads. */
function routeNotes(routes: RouteSpec[]): string[] {
  return routes.map(
    (r) =>
      `route ${r.id}: ${describeEnvironment(r.expect)}${r.addon ? ` (${r.addon})` : ''}${r.note ? `; ${r.note}` : ''}`,
  );
}

async function main(): Promise<void> {
  const values = parseFlags();
  referenceThreads = Number(values['reference-threads']);
  if (!Number.isInteger(referenceThreads) || referenceThreads < 1) {
    throw new UsageError(
      '--reference-threads',
      `must be a positive integer; got "${values['reference-threads']}"`,
    );
  }
  const ids = parseRoute(values.route);
  const profiled = values.profile === undefined ? undefined : checkProfile(values.profile);
  const s = values.quick ? QUICK : FULL;
  const only = parseOnly(values.only);
  // Flags are checked; now the fresh route's addon (built when missing or stale), before the clock.
  const routes = routeSpecs(ids);
  for (const line of routeNotes(routes)) log(line);
  if (ids.length === 2 && routes[0].expect.blas === routes[1].expect.blas)
    log('the full route is the built-in GEMM too (no OpenBLAS here): both measure the same code');
  const run: Run = { s, ids, routes, defaultThreads: routes[0].expect.threads };
  if (profiled !== undefined) return profile(profiled, run);
  const started = new Date();
  const load0 = os.loadavg();
  const t0 = performance.now();

  const rows: WorkloadRow[] = [];
  for (const id of only) {
    if (id === 'fisher') rows.push(await fisherWorkload(run));
    else if (id !== 'e2e') rows.push(await stepWorkload(id, run));
  }
  const e2e = only.includes('e2e') ? await e2eWorkload(run) : null;

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
      routes: ids,
      referenceThreads,
      openblasThreads: 1,
    },
    /** Each route as asked of its jobs (every job checked it); the jobs' own blocks are in the rows. */
    routes: Object.fromEntries(
      routes.map((r) => [r.id, { expected: r.expect, addon: r.addon, note: r.note }]),
    ),
    reference,
    workloads: rows,
    e2e,
  };
  const json = JSON.stringify(report, null, 2);
  if (values.json) writeJsonAtomic(values.json, report);
  const parts = [json, '', stepTable(rows, ids, routeNotes(routes))];
  const threads = threadTable(rows, ids);
  if (threads) parts.push('', threads);
  if (e2e?.ok) {
    const t = (id: RouteId, k: string) => {
      const r = e2e.routes[id];
      return r?.ok ? r.timeMs[k] / 1000 : null;
    };
    const phase = (label: string, k: string, pytorchS: number | null = null): E2eRow => ({
      phase: label,
      projectS: Object.fromEntries(ids.map((id) => [id, t(id, k)])),
      pytorchS,
    });
    const py = e2e.pytorch as { timeMs?: number };
    const e2eRows: E2eRow[] = [
      phase('train the original (recipe)', 'trainOriginal'),
      phase('F_D cache (UIB-IF default Fisher kind, all of D)', 'fisherCache'),
      phase('UIB-IF, cached F_D', 'uibIfCached'),
      phase('UIB-IF, fresh Fisher pass', 'uibIfFresh'),
      phase(
        'Retrain (recipe, on D_r)',
        'retrain',
        py.timeMs !== undefined ? py.timeMs / 1000 : null,
      ),
    ];
    const notes = ids.map((id) => {
      const r = e2e.routes[id];
      if (!r?.ok) return `route ${id} failed: ${r?.error ?? '?'}`;
      return `route ${id}: UIB-IF speed-up over Retrain ${r.speedupVsRetrain.uibIfCached}× with cached F_D, ${r.speedupVsRetrain.uibIfFresh}× with a fresh Fisher pass; Retrain PyTorch/project time ratio ${r.retrainRatio ?? '–'}; peak RSS ${r.maxRssMB} MB`;
    });
    parts.push('', e2eTable(e2eRows, ids, notes));
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
