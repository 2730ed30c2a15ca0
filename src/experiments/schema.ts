/**
 * The experiment file (what `uib run` reads) as a zod schema: a dataset, a model, a training
 * recipe, forget scenarios, unlearning methods and seeds; the runner crosses scenarios × seeds ×
 * methods. What the run writes is in results-schema.ts.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { UsageError } from '../core/errors.ts';
import { MiB, parseJsonChecked, parseYamlChecked, readTextChecked } from '../core/read.ts';
import { ScenarioParams } from '../data/scenarios/manifest.ts';
import { OPTIMIZER_NAMES, SCHEDULE_NAMES } from '../train/types.ts';
import { RETRAIN_ID } from '../unlearn/registry.ts';
import { describeIssue, parseWith } from './schema-issues.ts';

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
  /**
   * Held-out validation data for the methods (UIB-IF's evidence rule): a class-balanced subset of
   * this many test-split samples outside testSubset, drawn per seed. Omitted: none.
   */
  validationSubset: z.int().positive().optional(),
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
    if (m.id === RETRAIN_ID)
      issue(['methods', i, 'search'], `${RETRAIN_ID} is the reference; it is not tuned`);
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

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
