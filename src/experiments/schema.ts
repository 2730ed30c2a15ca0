/**
 * The experiment file (what `uib run` reads) and the results file (what it writes), both as zod
 * schemas. An experiment names a dataset, a model, a training recipe, forget scenarios, unlearning
 * methods and seeds; the runner crosses scenarios × seeds × methods. Results are versioned
 * (`schemaVersion: 1`) so reports and later tools can refuse files they do not understand.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { UsageError } from '../core/errors.ts';
import { MiB, parseJsonChecked, parseYamlChecked, readTextChecked } from '../core/read.ts';
import { ScenarioParams } from '../data/scenarios/manifest.ts';
import { OPTIMIZER_NAMES, SCHEDULE_NAMES } from '../train/types.ts';

// ─── experiment file ───────────────────────────────────────────────────────────────────────────

/** Registry-style ids: lowercase words joined by dashes (`l1-sparse`, `uib-if`), `+uib` allowed. */
const ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const METHOD_ID = /^[a-z0-9]+(-[a-z0-9]+)*(\+uib)?$/;

const DatasetSchema = z.strictObject({
  /** Data set id as `src/data/registry.ts` knows it (`mnist`, `fashion-mnist`, `cps-wages`...). */
  name: z.string().regex(ID, 'must be a dataset id like "mnist" or "fashion-mnist"'),
  /** Train on a class-balanced subset of this many samples (all when omitted), drawn per seed. */
  trainSubset: z.int().positive().optional(),
  /** Test on a class-balanced subset of this many samples (all when omitted). */
  testSubset: z.int().positive().optional(),
  /** Data directory (required for CIFAR; overrides the default for Fashion-MNIST, German credit). */
  dir: z.string().min(1).optional(),
});

const ModelSchema = z.strictObject({
  arch: z.enum(['mlp', 'cnn', 'resnet18']),
  /** MLP hidden widths. */
  hidden: z.array(z.int().positive()).min(1).optional(),
  /** ResNet-18 base width (64 in the original; 8-16 trains on 2 CPU cores). */
  width: z.int().positive().optional(),
});

const OptimizerSchema = z.strictObject({
  name: z.enum(OPTIMIZER_NAMES),
  lr: z.number().positive(),
  momentum: z.number().min(0).max(1).optional(),
  weightDecay: z.number().min(0).optional(),
  schedule: z.enum(SCHEDULE_NAMES).optional(),
  warmupSteps: z.int().min(0).optional(),
});

/** How the original model is trained; Retrain reuses it on D_r (the seed comes from `seeds`). */
const TrainingSchema = z.strictObject({
  optimizer: OptimizerSchema,
  epochs: z.number().positive(),
  batchSize: z.int().positive(),
});

/**
 * One forget scenario: `kind` plus the parameters `src/data`'s scenario generator takes
 * (`ScenarioParams`: `biasClass`, `corruption`, `rho`, `q`, `forgetFraction`...), checked by its
 * schema. `id` names the scenario in reports (default: the kind and its parameters).
 */
const ScenarioSchema = z
  .looseObject({
    id: z.string().regex(ID, 'must be lowercase words joined by dashes').optional(),
  })
  .transform((s, ctx) => {
    const { id, ...rest } = s;
    const r = ScenarioParams.safeParse(rest, { reportInput: true });
    if (!r.success) {
      for (const issue of r.error.issues) {
        const message = describeIssue(issue, false);
        ctx.addIssue({ code: 'custom', path: issue.path, message, input: undefined });
      }
      return z.NEVER;
    }
    return { id: id ?? defaultScenarioId(r.data), params: r.data };
  });

const MethodSchema = z.strictObject({
  /** Registry id; `<id>+uib` adds the UIB regulariser. */
  id: z.string().regex(METHOD_ID, 'must be a method id like "ft", "salun" or "ft+uib"'),
  /** Report row name when one method appears twice with different parameters (default: id). */
  label: z
    .string()
    .min(1)
    .max(40)
    .refine((l) => !/^[_.]/.test(l), {
      // Cell files are named by label; `_retrain`, `_original`, `_scenario` are the references'.
      message: 'must not start with "_" or "." (reserved for the reference records and temp files)',
    })
    .optional(),
  /** Hyper-parameters, validated by the method's own schema. */
  params: z.record(z.string(), z.unknown()).default({}),
  /**
   * The tuning protocol's search space (needs a `tuning` block): each named parameter takes one of
   * the listed values; the grid is their product, `params` holds what stays fixed.
   */
  search: z.record(z.string(), z.array(z.unknown()).min(1).max(64)).optional(),
});

/**
 * How hyper-parameters are chosen (docs/method.md §9): every method with a `search` is run on
 * `budget` configurations of its grid, on development scenarios and seeds that are never reported,
 * and the configuration with the lowest selection score is the one the reported cells run.
 */
const TuningSchema = z.strictObject({
  /**
   * `retrain-free`: the selection score a user can compute (eval/selection.ts), no Retrain on the
   * development cells; `oracle`: the Avg. Gap to a Retrain ensemble — for comparison only, and
   * labelled as such in every table.
   */
  rule: z.enum(['retrain-free', 'oracle']).default('retrain-free'),
  /** Configurations per method, the same for every method (a larger grid is subsampled, seeded). */
  budget: z.int().min(1).max(64),
  /** Development seeds: none of them is a reported seed. */
  seeds: z.array(z.int().min(0).max(0xffffffff)).min(1),
  /** Development scenarios: none of them is a reported scenario. */
  scenarios: z.array(ScenarioSchema).min(1),
});

const OptionsSchema = z.strictObject({
  /** Batch size of evaluation forward passes. */
  evalBatchSize: z.int().positive().default(256),
  /** Metric ids to compute (default: every metric that applies to the scenario). */
  metrics: z.array(z.string().regex(ID)).min(1).optional(),
  /** Forget-set images shown in the report. */
  exampleImages: z.int().min(0).max(64).default(16),
  /**
   * Retrain ensemble size per (scenario, seed): Retrain trained this many times, each with its own
   * initialisation and data order; methods are read against the ensemble's mean and spread.
   */
  retrainSeeds: z.int().min(1).max(64).default(3),
  /**
   * Shadow models per (scenario, seed) for the privacy metrics (U-LiRA, the challenge's F, KLoM;
   * experiments/shadow.ts): 0 = off, else ≥ 6 (U-LiRA leaves one shadow out and fits each world
   * on the ≥ 2 others that trained on an example). Each trains on half of D; the field uses ≥ 32.
   */
  shadowModels: z.union([z.literal(0), z.int().min(6).max(1024)]).default(0),
  /** Examples of ΔD whose unlearning the shadow metrics test. */
  shadowTargets: z.int().min(1).max(100000).default(64),
});

export const ExperimentSchema = z
  .strictObject({
    name: z.string().regex(ID, 'must be lowercase words joined by dashes'),
    description: z.string().optional(),
    dataset: DatasetSchema,
    model: ModelSchema,
    training: TrainingSchema,
    scenarios: z.array(ScenarioSchema).min(1),
    methods: z.array(MethodSchema).min(1),
    seeds: z.array(z.int().min(0).max(0xffffffff)).min(1),
    options: OptionsSchema.default(() => OptionsSchema.parse({})),
    tuning: TuningSchema.optional(),
  })
  .superRefine((e, ctx) => {
    checkTuning(e, ctx);
    const unique = (values: string[], where: string, what: string) => {
      const seen = new Set<string>();
      values.forEach((v, i) => {
        if (seen.has(v))
          ctx.addIssue({
            code: 'custom',
            path: [where, i],
            message: `duplicate ${what} "${v}"; give each a distinct ${where === 'methods' ? 'label' : 'id'}`,
          });
        seen.add(v);
      });
    };
    unique(
      e.scenarios.map((s) => s.id),
      'scenarios',
      'scenario id',
    );
    unique(e.methods.map(methodLabel), 'methods', 'method label');
    unique(e.seeds.map(String), 'seeds', 'seed');
  });

type ExperimentShape = {
  scenarios: { id: string; params: unknown }[];
  methods: { id: string; params: Record<string, unknown>; search?: Record<string, unknown[]> }[];
  seeds: number[];
  tuning?: { seeds: number[]; scenarios: { id: string; params: unknown }[] };
};

/** The protocol's rules: development cells are never reported, and the grid is well formed. */
function checkTuning(e: ExperimentShape, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message, input: undefined });
  const searched = e.methods.filter((m) => m.search);
  e.methods.forEach((m, i) => {
    if (!m.search) return;
    if (!e.tuning)
      issue(['methods', i, 'search'], 'needs a `tuning` block (rule, budget, seeds, scenarios)');
    if (m.id === 'retrain')
      issue(['methods', i, 'search'], 'retrain is the reference; it is not tuned');
    for (const k of Object.keys(m.search)) {
      if (k in m.params)
        issue(['methods', i, 'search', k], `is also fixed in params.${k}; give it in one place`);
    }
  });
  const t = e.tuning;
  if (!t) return;
  if (searched.length === 0)
    issue(['tuning'], 'no method has a `search`; there is nothing to tune');
  const reportedSeeds = new Set(e.seeds);
  t.seeds.forEach((s, i) => {
    if (reportedSeeds.has(s))
      issue(
        ['tuning', 'seeds', i],
        `seed ${s} is also a reported seed; tune on seeds that are not reported`,
      );
  });
  const reported = e.scenarios.map((s) => JSON.stringify(s.params));
  const ids = new Set(e.scenarios.map((s) => s.id));
  t.scenarios.forEach((s, i) => {
    if (ids.has(s.id) || reported.includes(JSON.stringify(s.params)))
      issue(
        ['tuning', 'scenarios', i],
        `scenario "${s.id}" is also reported; tune on scenarios that are not reported`,
      );
  });
}

export type Experiment = z.infer<typeof ExperimentSchema>;
export type TuningConfig = NonNullable<Experiment['tuning']>;
export type ExperimentInput = z.input<typeof ExperimentSchema>;
export type ScenarioConfig = Experiment['scenarios'][number];
export type MethodConfig = Experiment['methods'][number];

/** The row name of a method in reports and cell files. */
export function methodLabel(m: { id: string; label?: string }): string {
  return m.label ?? m.id;
}

/** `bias-stripe-3`, `class-3`, `random-10pct`: the kind, its pattern or group, its class. */
function defaultScenarioId(s: ScenarioParams): string {
  const parts: string[] = [s.kind];
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'string' && k !== 'kind') parts.push(v);
    if (typeof v === 'number' && /Class$/.test(k)) parts.push(String(v));
  }
  if (s.kind === 'random') parts.push(`${Math.round(s.forgetFraction * 1000) / 10}pct`);
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Validate a parsed experiment object; errors name `where` (the file) and the field. */
export function parseExperiment(value: unknown, where: string): Experiment {
  return parseWith(ExperimentSchema, value, where);
}

/** An experiment file is written by hand: those in experiments/ are ≤ 2 KB; 1 MiB is ×500. */
export const EXPERIMENT_MAX_BYTES = MiB;

/** Read an experiment from a `.json`, `.yaml` or `.yml` file. */
export function loadExperiment(file: string): Experiment {
  const text = readTextChecked(file, {
    maxBytes: EXPERIMENT_MAX_BYTES,
    missing: 'no such experiment file',
    what: 'an experiment file',
  });
  const ext = path.extname(file).toLowerCase();
  let value: unknown;
  try {
    // Depth-checked: the schema checks after this recurse, and a deep value overflows them.
    if (ext === '.json') value = parseJsonChecked(text, file);
    else if (ext === '.yaml' || ext === '.yml') value = parseYamlChecked(text, file);
    else throw new UsageError(file, `must end in .json, .yaml or .yml; got "${ext || '(none)'}"`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      file,
      `is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${firstLine(e)}`,
    );
  }
  return parseExperiment(value, file);
}

// ─── results file ──────────────────────────────────────────────────────────────────────────────

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

// ─── one-line errors ───────────────────────────────────────────────────────────────────────────

function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new UsageError(where, describeIssue(issue));
}

/** `scenarios[0].class: must be an integer ≥ 0; got 12` */
export function describeIssue(issue: z.core.$ZodIssue, withField = true): string {
  const field = formatPath(issue.path);
  const at = field && withField ? `${field}: ` : '';
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return `${at}unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}`;
    }
    case 'invalid_type':
      if (input === undefined) return `${at}missing (must be ${article(issue.expected)})`;
      return `${at}must be ${article(issue.expected)}; got ${shortJson(input)}`;
    case 'invalid_value':
      return `${at}must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}; got ${shortJson(input)}`;
    case 'too_small':
    case 'too_big': {
      const op =
        issue.code === 'too_small' ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const what =
        issue.origin === 'array'
          ? 'the number of entries'
          : issue.origin === 'string'
            ? 'the length'
            : '';
      const got = Array.isArray(input) ? `${input.length} entries` : shortJson(input);
      return `${at}${what ? `${what} must be` : 'must be'} ${op} ${String(bound)}; got ${got}`;
    }
    case 'custom': {
      const primitive = input === null || ['string', 'number', 'boolean'].includes(typeof input);
      return `${at}${issue.message}${primitive ? `; got ${shortJson(input)}` : ''}`;
    }
    default: {
      // A discriminated union reports the whole object as input: show the offending field.
      const last = issue.path[issue.path.length - 1];
      const shown =
        input && typeof input === 'object' && !Array.isArray(input) && typeof last === 'string'
          ? (input as Record<string, unknown>)[last]
          : input;
      const got = shown === undefined ? '' : `; got ${shortJson(shown)}`;
      return `${at}${issue.message.replace(/^Invalid input: /, '')}${got}`;
    }
  }
}

function article(t: string): string {
  if (t === 'int') return 'an integer';
  if (t === 'array' || t === 'object') return `an ${t}`;
  return `a ${t}`;
}

function formatPath(p: readonly PropertyKey[]): string {
  let s = '';
  for (const k of p) {
    if (typeof k === 'number') s += `[${k}]`;
    else s += s ? `.${String(k)}` : String(k);
  }
  return s;
}

function shortJson(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
