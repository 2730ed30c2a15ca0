/**
 * The run directory's own files beside the cells: environment.json, claimed when a run starts, and
 * results.json, results.md and report.html, assembled from the stored records when it ends.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type ComputeEnvironment,
  computeEnvironment,
  describeRoute,
} from '../../backend/environment.ts';
import { writeFileAtomic, writeJsonAtomic } from '../../core/atomic.ts';
import { UsageError } from '../../core/errors.ts';
import { sha256Json } from '../../core/hash.ts';
import { exists, MiB, readJsonChecked } from '../../core/read.ts';
import { METRICS } from '../../eval/registry.ts';
import { renderHtml } from '../report/html.ts';
import { renderMarkdown } from '../report/markdown.ts';
import {
  type Cell,
  type MetricInfo,
  RESULTS_SCHEMA_VERSION,
  type Reference,
  type Results,
  type TuningSummary,
} from '../results-schema.ts';
import { type Experiment, methodLabel } from '../schema.ts';
import type { RunStore, SeedScenario } from '../store.ts';
import type { MethodPlan } from '../tuning.ts';

const ENVIRONMENT_FILE = 'environment.json';

/**
 * The compute environment of the run directory: written when a run starts in it, compared when
 * one resumes. Backends and kernel routes differ in their last bits, so a resume on another one
 * is refused rather than mixing cells of both under one label. The thread count is recorded but
 * not compared: no kernel's result depends on it (docs/reliability.md, "Reproducibility").
 */
export function claimEnvironment(outDir: string): ComputeEnvironment {
  const now = computeEnvironment();
  const file = path.join(outDir, ENVIRONMENT_FILE);
  if (exists(file)) {
    let was: Partial<ComputeEnvironment> | null = null;
    try {
      was = readJsonChecked(file, { maxBytes: 64 * 1024 }) as Partial<ComputeEnvironment>;
    } catch {
      // unreadable: the cells are checked by their keys; start the file anew
    }
    // A block from before there were two BLAS routes on the native one was OpenBLAS's.
    const blasOf = (e: Partial<ComputeEnvironment>) =>
      e.route === 'native' ? (e.blas ?? 'openblas') : null;
    if (
      was &&
      (was.backend !== now.backend || was.route !== now.route || blasOf(was) !== blasOf(now))
    ) {
      throw new UsageError(
        outDir,
        `was run on ${describeRoute({ ...was, blas: blasOf(was) } as ComputeEnvironment)}; this run is on ${describeRoute(now)}. Their results differ in the last bits: resume with the same backend and route (--backend, UIB_NATIVE, UIB_BLAS) or give another --out`,
      );
    }
    if (was) return now;
  }
  writeJsonAtomic(file, now);
  return now;
}

/** The start time of an unfinished run being resumed in `outDir` (null: a fresh start). */
export function previousStart(outDir: string): string | null {
  try {
    // results.json repeats every stored record (each ≤ RECORD_MAX_BYTES, most ≤ 50 KB); only
    // `startedAt` is wanted here, so a file past 64 MiB counts as absent (a fresh start time).
    const prev = readJsonChecked(path.join(outDir, 'results.json'), { maxBytes: 64 * MiB }) as {
      startedAt?: unknown;
      complete?: unknown;
    };
    return typeof prev.startedAt === 'string' && prev.complete === false ? prev.startedAt : null;
  } catch {
    return null;
  }
}

/** Build the results object from the stored records (only those of this experiment's keys). */
export async function assemble(
  exp: Experiment,
  store: RunStore,
  methods: MethodPlan[],
  metricIds: string[],
  env: { environment: ComputeEnvironment; startedAt: string; tuning?: TuningSummary },
): Promise<Results> {
  const scenarios: Results['scenarios'] = [];
  const references: Reference[] = [];
  const cells: Cell[] = [];
  let expected = 0;
  for (const sc of exp.scenarios) {
    const seeds: SeedScenario[] = [];
    for (const seed of exp.seeds) {
      const info = await store.readSeedScenario(sc.id, seed);
      expected += 1 + exp.options.retrainSeeds + methods.length;
      if (!info) continue;
      seeds.push(info);
      for (let member = 0; member < exp.options.retrainSeeds; member++) {
        const ref = await store.readReference(sc.id, seed, 'retrain', member);
        if (ref) references.push(ref);
      }
      const original = await store.readReference(sc.id, seed, 'original');
      if (original) references.push(original);
      for (const m of methods) {
        const cell = await store.readCell(sc.id, seed, m.label);
        if (cell) cells.push(cell);
      }
    }
    const first = seeds[0];
    scenarios.push({
      id: sc.id,
      params: sc.params,
      seeds: seeds.map((s) => ({ seed: s.seed, manifestHash: s.manifestHash, counts: s.counts })),
      forgetExamples: first?.forgetExamples ?? [],
      classNames: first?.classNames ?? [],
    });
  }
  const metricInfo: MetricInfo[] = METRICS.filter((m) => metricIds.includes(m.id)).map((m) => ({
    id: m.id,
    summary: m.summary,
    direction: m.direction,
    unit: m.unit,
    ...(m.min === undefined ? {} : { min: m.min }),
    ...(m.max === undefined ? {} : { max: m.max }),
  }));
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    experiment: exp as unknown as Record<string, unknown>,
    experimentHash: sha256Json(exp),
    environment: {
      uibVersion: packageVersion(),
      backend: env.environment.backend,
      route: env.environment.route,
      threads: env.environment.threads,
      addon: env.environment.addon,
      blas: env.environment.blas,
      tfjs: env.environment.tfjs,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: os.cpus().length,
    },
    startedAt: env.startedAt,
    updatedAt: new Date().toISOString(),
    complete: references.length + cells.length === expected,
    metrics: metricInfo,
    scenarios,
    references,
    methods: exp.methods.map(methodLabel),
    cells,
    ...(env.tuning && { tuning: env.tuning }),
  };
}

/** The files a run writes for people: results.json, results.md, report.html. */
export interface ReportFiles {
  json: string;
  markdown: string;
  html: string;
}

export async function writeReports(results: Results, outDir: string): Promise<ReportFiles> {
  const files = {
    json: path.join(outDir, 'results.json'),
    markdown: path.join(outDir, 'results.md'),
    html: path.join(outDir, 'report.html'),
  };
  writeJsonAtomic(files.json, results);
  writeFileAtomic(files.markdown, renderMarkdown(results));
  writeFileAtomic(files.html, await renderHtml(results));
  return files;
}

function packageVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('../../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
