/**
 * The compute routes `npm run bench -- --route full|fresh|both` measures (issue 18):
 *
 *   full   what this machine's install gives: the addon `npm ci` built in native/build/ (over the
 *          system OpenBLAS where libopenblas-dev is installed), under the caller's environment —
 *          the bench's behaviour before routes existed
 *   fresh  what a machine without the optional Debian packages gets: the addon over uib's own GEMM
 *          (native/build.mjs with UIB_BLAS=builtin, built here into native/build-builtin/ when
 *          missing or stale), selected in each job with UIB_NATIVE_ADDON, so that a machine with
 *          OpenBLAS can measure it too
 *
 * Each project job is told the route it must run on (`expect`); its worker reads
 * computeEnvironment() and refuses to measure anything else (exit ROUTE_MISMATCH_EXIT).
 * The planning here is pure, so tests/bench/routes.test.ts checks it without running a job.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComputeEnvironment } from '../../src/backend/environment.ts';
import {
  nativeAddon,
  nativeUnavailableReason,
  threadsFromEnv,
} from '../../src/backend/native/addon.ts';
import { UsageError } from '../../src/core/errors.ts';
import type { WorkloadId } from './workloads.ts';

export const ROUTE_IDS = ['full', 'fresh'] as const;
export type RouteId = (typeof ROUTE_IDS)[number];

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** docs/performance.md, "Testing both builds on one machine": ignored by its own .gitignore. */
export const BUILTIN_DIR = path.join(ROOT, 'native', 'build-builtin');
export const BUILTIN_ADDON = path.join(BUILTIN_DIR, 'build', 'Release', 'uib_native.node');

/** Issue 18's Done-when: project / PyTorch per route and workload; `cnnThreads` is 1 → 2 threads. */
export const ROUTE_TARGETS: Record<RouteId, Partial<Record<WorkloadId | 'cnnThreads', number>>> = {
  fresh: { cnn: 0.8, resnet: 0.5, mlp: 0.5, fisher: 0.5, cnnThreads: 1.5 },
  full: { cnn: 1.2, resnet: 1.0, mlp: 0.8 },
};

/** `--route`: full (the default), fresh, or both (full first). */
export function parseRoute(value: string | undefined): RouteId[] {
  if (value === undefined || value === 'full') return ['full'];
  if (value === 'fresh') return ['fresh'];
  if (value === 'both') return ['full', 'fresh'];
  throw new UsageError('--route', `must be full, fresh or both; got "${value}"`);
}

/** The part of computeEnvironment() a project job must report. */
export type RouteExpectation = Pick<ComputeEnvironment, 'backend' | 'route' | 'blas' | 'threads'>;

/** One route as this run measures it. */
export interface RouteSpec {
  id: RouteId;
  /** Environment of its project jobs (UIB_THREADS aside: see jobSetup). */
  env: NodeJS.ProcessEnv;
  /** What its jobs must run on, at the default thread count. */
  expect: RouteExpectation;
  /** Whether that is the native addon (only then does a thread count mean anything). */
  native: boolean;
  /** The addon file it loads (relative to the repository where inside it), or null: wasm kernels. */
  addon: string | null;
  /** fresh: native/build.mjs's one line; full without the addon: why it did not load. */
  note?: string;
}

const shown = (p: string) => (path.relative(ROOT, p).startsWith('..') ? p : path.relative(ROOT, p));

/**
 * The full route: this process's environment as it is (`env` is that environment: the addon is
 * loaded here from it), and what the addon says about itself, so that a job whose addon silently
 * failed to load is caught.
 */
export function fullRoute(env: NodeJS.ProcessEnv, threads: number): RouteSpec {
  const addon = nativeAddon();
  const chosen = env.UIB_NATIVE_ADDON;
  return {
    id: 'full',
    env,
    expect: addon
      ? { backend: 'wasm', route: 'native', blas: addon.blas(), threads }
      : { backend: 'wasm', route: 'wasm', blas: null, threads: 1 },
    native: addon !== undefined,
    addon: addon
      ? chosen
        ? shown(path.resolve(chosen))
        : 'native/build/Release/uib_native.node'
      : null,
    note: addon ? undefined : `native addon: ${nativeUnavailableReason()}`,
  };
}

/**
 * The fresh route over the addon at `addonFile`. UIB_NATIVE is dropped: a fresh machine has the
 * addon on (UIB_NATIVE=0 in the caller's environment still governs the full route).
 */
export function freshRoute(
  env: NodeJS.ProcessEnv,
  threads: number,
  addonFile: string,
  note?: string,
): RouteSpec {
  const { UIB_NATIVE: _, ...rest } = env;
  return {
    id: 'fresh',
    env: { ...rest, UIB_NATIVE_ADDON: addonFile },
    expect: { backend: 'wasm', route: 'native', blas: 'builtin', threads },
    native: true,
    addon: shown(addonFile),
    note,
  };
}

/**
 * Builds the built-in-GEMM addon into BUILTIN_DIR, or finds it up to date (native/build.mjs keeps
 * a build whose stamp matches the sources, Node ABI and compiler); returns build.mjs's one line.
 * build.mjs never fails an install, so a missing .node afterwards is the failure, and it is fatal:
 * measuring the fresh route on anything else would report the wrong machine.
 */
export function ensureBuiltinAddon(): string {
  const { UIB_NATIVE: _, ...env } = process.env;
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'native', 'build.mjs'), '--out', BUILTIN_DIR],
    { cwd: ROOT, env: { ...env, UIB_BLAS: 'builtin' }, encoding: 'utf8', timeout: 600_000 },
  );
  const line = (r.stderr ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !fs.existsSync(BUILTIN_ADDON)) {
    throw new Error(
      `--route fresh: uib's built-in GEMM addon did not build (${line || r.error?.message || `exit ${r.status}`}); see ${shown(path.join(BUILTIN_DIR, 'build', 'build.log'))}`,
    );
  }
  return line;
}

/** The specs of `ids`, building the fresh route's addon when it is asked for. */
export function routeSpecs(ids: readonly RouteId[]): RouteSpec[] {
  const threads = threadsFromEnv(); // a bad UIB_THREADS is a UsageError before anything runs
  return ids.map((id) =>
    id === 'full'
      ? fullRoute(process.env, threads)
      : freshRoute(process.env, threads, BUILTIN_ADDON, ensureBuiltinAddon()),
  );
}

/** Where a job's figures go. */
export type JobSide =
  | { kind: 'project'; route: RouteId }
  | { kind: 'threads'; route: RouteId; threads: 1 | 2 }
  | { kind: 'cpu' }
  | { kind: 'pytorch' };

export interface PlannedJob {
  /** Its figures' group: `full`, `fresh`, `full@1` (1 thread), `cpu`, `pytorch`. */
  key: string;
  side: JobSide;
  /** For the progress line. */
  label: string;
}

/**
 * One round of a workload: each route, PyTorch, then the cpu backend where the workload has it —
 * within the round, so that drift in the machine hits every side alike. With `threadScaling`
 * (the CNN), each native route again at UIB_THREADS=1, and at 2 unless the default already is 2
 * (then the main job is the 2-thread figure).
 */
export function planRound(o: {
  routes: readonly Pick<RouteSpec, 'id' | 'native'>[];
  cpuToo: boolean;
  threadScaling: boolean;
  defaultThreads: number;
}): PlannedJob[] {
  const plan: PlannedJob[] = o.routes.map((r) => ({
    key: r.id,
    side: { kind: 'project', route: r.id },
    label: `project ${r.id}`,
  }));
  plan.push({ key: 'pytorch', side: { kind: 'pytorch' }, label: 'PyTorch' });
  if (o.cpuToo) plan.push({ key: 'cpu', side: { kind: 'cpu' }, label: 'project cpu' });
  if (o.threadScaling) {
    const counts: (1 | 2)[] = o.defaultThreads === 2 ? [1] : [1, 2];
    for (const threads of counts) {
      for (const r of o.routes.filter((x) => x.native)) {
        plan.push({
          key: `${r.id}@${threads}`,
          side: { kind: 'threads', route: r.id, threads },
          label: `project ${r.id}, UIB_THREADS=${threads}`,
        });
      }
    }
  }
  return plan;
}

/** The backend, environment and expectation of a planned project job (not PyTorch). */
export function jobSetup(
  side: Exclude<JobSide, { kind: 'pytorch' }>,
  routes: readonly RouteSpec[],
): { backend: string; env: NodeJS.ProcessEnv; expect: RouteExpectation } {
  if (side.kind === 'cpu') {
    // The pure-JS backend is route-free: the caller's environment.
    return {
      backend: 'cpu',
      env: process.env,
      expect: { backend: 'cpu', route: 'cpu', blas: null, threads: 1 },
    };
  }
  const spec = routes.find((r) => r.id === side.route);
  if (spec === undefined) throw new Error(`route ${side.route} is not in this run`);
  if (side.kind === 'project') return { backend: 'wasm', env: spec.env, expect: spec.expect };
  return {
    backend: 'wasm',
    env: { ...spec.env, UIB_THREADS: String(side.threads) },
    expect: { ...spec.expect, threads: side.threads },
  };
}

/** Why `actual` is not the route asked for, or null when it is. */
export function routeMismatch(
  expect: Partial<RouteExpectation>,
  actual: ComputeEnvironment,
): string | null {
  const wrong = (Object.keys(expect) as (keyof RouteExpectation)[]).filter(
    (k) => expect[k] !== actual[k],
  );
  if (wrong.length === 0) return null;
  const show = (e: Partial<RouteExpectation>) => wrong.map((k) => `${k} ${e[k]}`).join(', ');
  return `asked for ${show(expect)}, runs on ${show(actual)}`;
}
