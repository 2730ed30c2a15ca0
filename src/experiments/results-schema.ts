/**
 * The results file (what `uib run` writes, results.json) and the records it is assembled from
 * (cells, references), as zod schemas. Results are versioned (`schemaVersion: 1`) so reports and
 * later tools can refuse files they do not understand.
 */
import { z } from 'zod';
import { UsageError } from '../core/errors.ts';
import { parseWith } from './schema-issues.ts';

export const RESULTS_SCHEMA_VERSION = 1;

/** One metric's value as `evaluateAll` gives it: a number, or null with the reason. */
export const MetricValueSchema = z.object({
  value: z.number().nullable(),
  reason: z.string().optional(),
});

/** `evaluateAll`'s record (src/eval/evaluate.ts), as stored. */
export const EvalRecordSchema = z.object({
  values: z.record(z.string(), MetricValueSchema),
  notApplicable: z.record(z.string(), z.string()),
  notes: z.record(z.string(), z.record(z.string(), z.unknown())),
  details: z.object({
    perClassTestAccuracy: z.array(z.number().nullable()),
    perClassForgetAccuracy: z.array(z.number().nullable()),
    testConfusion: z.array(z.array(z.number())),
  }),
});
export type StoredEvalRecord = z.infer<typeof EvalRecordSchema>;

export const CostSchema = z.object({
  /** Wall time of the unlearning step alone (Retrain: its training run). */
  timeMs: z.number().min(0),
  /** T_retrain / T_unlearn on the same seed and scenario; null where undefined. */
  speedUp: z.number().nullable(),
  gradEvals: z.number().min(0),
  forwardEvals: z.number().min(0),
  epochsTouched: z.number().min(0),
  phases: z.record(z.string(), z.number()),
});
export type Cost = z.infer<typeof CostSchema>;

/** One (scenario, seed, method) result: the unit the runner persists as it finishes. */
export const CellSchema = z.object({
  scenario: z.string(),
  seed: z.number(),
  /** Row label (the method id unless the experiment gave a label). */
  method: z.string(),
  methodId: z.string(),
  params: z.record(z.string(), z.unknown()),
  /** Content hash of everything the cell depends on; a cell whose key changed is recomputed. */
  key: z.string(),
  status: z.enum(['ok', 'failed']),
  /** One-line reason when `status` is failed. */
  error: z.string().optional(),
  /** `divergence`: the method blew up (kept on resume); `fault`: anything else (retried on resume). */
  failure: z.enum(['divergence', 'fault']).optional(),
  metrics: EvalRecordSchema.nullable(),
  /** Retrain's metric values on the same scenario and seed (the target of match-retrain metrics). */
  retrain: z.record(z.string(), MetricValueSchema),
  cost: CostSchema.nullable(),
  details: z.record(z.string(), z.unknown()),
  finishedAt: z.string(),
});
export type Cell = z.infer<typeof CellSchema>;

/**
 * A trained reference model of one (scenario, seed): the original θ̂, or member `member` of the
 * Retrain ensemble (member 0 is the one whose predictions and weights the distances are taken to).
 */
export const ReferenceSchema = z.object({
  scenario: z.string(),
  seed: z.number(),
  role: z.enum(['original', 'retrain']),
  member: z.int().min(0).default(0),
  /** Seed of the Retrain run: its initialisation and data order are drawn from it. */
  runSeed: z.number().optional(),
  /** The seed its initial weights were built with (the original's is the scenario seed). */
  modelSeed: z.number().optional(),
  /** Content hash the checkpoint is cached under. */
  cacheKey: z.string(),
  metrics: EvalRecordSchema,
  cost: CostSchema,
});
export type Reference = z.infer<typeof ReferenceSchema>;

export const ScenarioInfoSchema = z.object({
  id: z.string(),
  params: z.record(z.string(), z.unknown()),
  /** Per seed: the manifest's hash and the split sizes. */
  seeds: z.array(
    z.object({
      seed: z.number(),
      manifestHash: z.string(),
      counts: z.record(z.string(), z.number()),
    }),
  ),
  /** A few forget-set images as PNG data URIs (first seed), with their labels. */
  forgetExamples: z.array(z.object({ label: z.number(), png: z.string() })),
  classNames: z.array(z.string()),
});
export type ScenarioInfo = z.infer<typeof ScenarioInfoSchema>;

/** What the report needs to know about each metric column (copied from the metric registry). */
export const MetricInfoSchema = z.object({
  id: z.string(),
  summary: z.string(),
  direction: z.enum(['higher', 'lower', 'match-retrain']),
  unit: z.string(),
  /** The metric's range (absent: unbounded on that side; absent in results written before). */
  min: z.number().optional(),
  max: z.number().optional(),
});
export type MetricInfo = z.infer<typeof MetricInfoSchema>;

/** What the tuning protocol tried and chose (`uib run` with a `tuning` block; OUT/tuning.json). */
export const TuningSummarySchema = z.object({
  rule: z.enum(['retrain-free', 'oracle']),
  budget: z.number(),
  seeds: z.array(z.number()),
  scenarios: z.array(z.string()),
  methods: z.array(
    z.object({
      label: z.string(),
      id: z.string(),
      /** Size of the full grid (the trials are all of it, or `budget` of it drawn with a seed). */
      gridSize: z.number(),
      trials: z.array(
        z.object({
          label: z.string(),
          params: z.record(z.string(), z.unknown()),
          /** Mean score over the development cells; null when a cell failed or was undefined. */
          score: z.number().nullable(),
          cells: z.array(
            z.object({
              scenario: z.string(),
              seed: z.number(),
              value: z.number().nullable(),
              reason: z.string().optional(),
            }),
          ),
        }),
      ),
      /** Index of the chosen trial; null when every trial failed (the method's own params run). */
      chosen: z.number().nullable(),
      /** The parameters the reported cells ran with. */
      params: z.record(z.string(), z.unknown()),
    }),
  ),
});
export type TuningSummary = z.infer<typeof TuningSummarySchema>;

export const ResultsSchema = z.object({
  schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
  experiment: z.record(z.string(), z.unknown()),
  experimentHash: z.string(),
  environment: z.object({
    uibVersion: z.string(),
    backend: z.string(),
    /** The kernel route, its thread count, the addon and tfjs (backend/environment.ts). */
    route: z.string(),
    threads: z.number(),
    addon: z.boolean(),
    /** The native route's BLAS (absent in results written before there were two). */
    blas: z.enum(['openblas', 'builtin']).nullable().optional(),
    tfjs: z.string(),
    node: z.string(),
    platform: z.string(),
    cpus: z.number(),
  }),
  startedAt: z.string(),
  updatedAt: z.string(),
  /** True when every cell of the experiment is present. */
  complete: z.boolean(),
  metrics: z.array(MetricInfoSchema),
  scenarios: z.array(ScenarioInfoSchema),
  references: z.array(ReferenceSchema),
  /** Row labels in the experiment's order (Retrain, when listed, is still reported first). */
  methods: z.array(z.string()),
  cells: z.array(CellSchema),
  /** Present when the experiment has a `tuning` block. */
  tuning: TuningSummarySchema.optional(),
});
export type Results = z.infer<typeof ResultsSchema>;

export function parseResults(value: unknown, where: string): Results {
  const v = value as { schemaVersion?: unknown } | null;
  if (v && typeof v === 'object' && v.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new UsageError(
      where,
      `schemaVersion must be ${RESULTS_SCHEMA_VERSION}; got ${JSON.stringify(v.schemaVersion)}`,
    );
  }
  return parseWith(ResultsSchema, value, where);
}
