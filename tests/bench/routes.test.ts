/**
 * `npm run bench -- --route full|fresh|both` (bench/lib/routes.ts): the flag, the jobs a round
 * plans and the environment each gets, the worker's route check, and one real mini run on both
 * routes (PyTorch left out, so it takes seconds and needs no torch). No timing assertions.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { stepTable, type WorkloadRow } from '../../bench/lib/report.ts';
import {
  BUILTIN_ADDON,
  freshRoute,
  fullRoute,
  jobSetup,
  parseRoute,
  planRound,
  type RouteSpec,
  routeMismatch,
} from '../../bench/lib/routes.ts';
import { runProjectJob } from '../../bench/lib/spawn.ts';
import type { ComputeEnvironment } from '../../src/backend/environment.ts';
import { nativeAddon, nativeUnavailableReason } from '../../src/backend/native/addon.ts';
import { UsageError } from '../../src/core/errors.ts';
import { ROOT } from '../helpers/cli.ts';

const bench = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'run.ts'), ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });

test('--route: full by default, fresh, both (full first); anything else is a UsageError', () => {
  assert.deepEqual(parseRoute(undefined), ['full']);
  assert.deepEqual(parseRoute('full'), ['full']);
  assert.deepEqual(parseRoute('fresh'), ['fresh']);
  assert.deepEqual(parseRoute('both'), ['full', 'fresh']);
  for (const bad of ['', 'Both', 'openblas', 'full,fresh']) {
    assert.throws(
      () => parseRoute(bad),
      (e: unknown) => e instanceof UsageError && e.where === '--route',
    );
  }
});

test('a bad or missing --route value exits 2 with one line naming --route, before building anything', () => {
  for (const args of [['--route', 'bogus'], ['--route']]) {
    const r = bench(args);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^bench: --route: /);
  }
});

const base = { PATH: process.env.PATH, UIB_NATIVE: '0', UIB_THREADS: '2' };
const routes: RouteSpec[] = [
  {
    ...fullRoute({}, 2),
    id: 'full',
    env: base,
    expect: { backend: 'wasm', route: 'native', blas: 'openblas', threads: 2 },
    native: true,
  },
  freshRoute(base, 2, BUILTIN_ADDON),
];

test('a round runs each route, then PyTorch, then the cpu backend; the CNN adds 1-thread runs', () => {
  const keys = (o: Parameters<typeof planRound>[0]) => planRound(o).map((p) => p.key);
  const mlp = { routes, cpuToo: true, threadScaling: false, defaultThreads: 2 };
  assert.deepEqual(keys(mlp), ['full', 'fresh', 'pytorch', 'cpu']);
  assert.deepEqual(keys({ ...mlp, routes: routes.slice(1) }), ['fresh', 'pytorch', 'cpu']);
  const cnn = { routes, cpuToo: false, threadScaling: true, defaultThreads: 2 };
  // At a default of 2 threads the main job is the 2-thread figure.
  assert.deepEqual(keys(cnn), ['full', 'fresh', 'pytorch', 'full@1', 'fresh@1']);
  assert.deepEqual(keys({ ...cnn, defaultThreads: 16 }), [
    ...['full', 'fresh', 'pytorch', 'full@1', 'fresh@1', 'full@2', 'fresh@2'],
  ]);
  // A full route on the wasm kernels has no thread count to scale.
  const wasmFull = [{ id: 'full' as const, native: false }, routes[1]];
  assert.deepEqual(keys({ ...cnn, routes: wasmFull }), ['full', 'fresh', 'pytorch', 'fresh@1']);
});

test("each job's environment and the route it must report", () => {
  const full = jobSetup({ kind: 'project', route: 'full' }, routes);
  assert.equal(full.env, base, 'the full route runs in the caller environment as it is');
  assert.deepEqual(full.expect, routes[0].expect);

  const fresh = jobSetup({ kind: 'project', route: 'fresh' }, routes);
  assert.equal(fresh.backend, 'wasm');
  assert.equal(fresh.env.UIB_NATIVE_ADDON, BUILTIN_ADDON);
  assert.match(
    BUILTIN_ADDON,
    /native[/\\]build-builtin[/\\]build[/\\]Release[/\\]uib_native\.node$/,
  );
  assert.ok(!('UIB_NATIVE' in fresh.env), 'a fresh machine has the addon on');
  assert.equal(fresh.env.PATH, base.PATH);
  assert.deepEqual(fresh.expect, { backend: 'wasm', route: 'native', blas: 'builtin', threads: 2 });

  const one = jobSetup({ kind: 'threads', route: 'fresh', threads: 1 }, routes);
  assert.equal(one.env.UIB_THREADS, '1');
  assert.equal(one.env.UIB_NATIVE_ADDON, BUILTIN_ADDON);
  assert.equal(one.expect.threads, 1);

  const cpu = jobSetup({ kind: 'cpu' }, routes);
  assert.deepEqual(cpu.expect, { backend: 'cpu', route: 'cpu', blas: null, threads: 1 });

  const actual: ComputeEnvironment = {
    backend: 'wasm',
    route: 'native',
    blas: 'openblas',
    threads: 2,
    addon: true,
    tfjs: '4.22.0',
    node: '20',
  };
  assert.equal(routeMismatch(full.expect, actual), null);
  assert.equal(
    routeMismatch(fresh.expect, actual),
    'asked for blas builtin, runs on blas openblas',
  );
});

test('a worker on another route than asked exits before measuring, and the bench is told', async () => {
  const r = await runProjectJob({
    kind: 'step',
    workload: 'mlp',
    backend: 'wasm',
    seed: 1,
    warmupSteps: 1,
    windows: 1,
    windowSeconds: 0.1,
    expect: { route: 'no-such-route' },
  });
  assert.ok(!r.ok && r.routeMismatch, JSON.stringify(r));
  assert.match(r.reason, /asked for route no-such-route, runs on route (native|wasm)/);
});

test('the step table has a column and a ratio per route beside PyTorch', () => {
  const s = (median: number) => ({
    median,
    min: median,
    max: median,
    windows: [median],
    maxRssMB: 100,
    errors: [],
  });
  const row: WorkloadRow = {
    id: 'mlp',
    title: 'MLP',
    project: { full: s(30), fresh: s(20) },
    cpu: null,
    pytorch: s(40),
    ratio: { full: 0.75, fresh: 0.5 },
    target: { full: 0.8, fresh: 0.5 },
  };
  const [head, , line] = stepTable([row], ['full', 'fresh']).split('\n');
  assert.match(
    head,
    /project full, samples\/s \| project fresh, samples\/s \| project cpu \| PyTorch/,
  );
  assert.match(line, /\| 0\.75 \(≥ 0\.8\) \| 0\.50 \(≥ 0\.5\) \|/);
});

test('--quick --only mlp --route both measures both routes, each job on its own addon', async (t) => {
  if (!nativeAddon()) return t.skip(`native addon absent (${nativeUnavailableReason()})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-bench-routes-'));
  try {
    const json = path.join(dir, 'out.json');
    // A missing interpreter: the reference is recorded as unavailable, in no time.
    const env = { ...process.env, UIB_BENCH_PYTHON: path.join(dir, 'no-python') };
    const r = bench(['--quick', '--only', 'mlp', '--route', 'both', '--json', json], env);
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const out = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.deepEqual(out.settings.routes, ['full', 'fresh']);
    assert.equal(out.reference.available, false);
    const [mlp] = out.workloads;
    for (const id of ['full', 'fresh']) {
      const side = mlp.project[id];
      assert.ok(side.windows.length > 0, `${id}: ${side.errors}`);
      const { backend, route, blas, threads } = side.environment;
      assert.deepEqual({ backend, route, blas, threads }, out.routes[id].expected, id);
    }
    assert.equal(mlp.project.fresh.environment.blas, 'builtin');
    assert.equal(mlp.project.full.environment.blas, nativeAddon()?.blas());
    assert.equal(mlp.cpu.environment.backend, 'cpu');
    assert.match(r.stdout, /\| project full, samples\/s \| project fresh, samples\/s \|/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
