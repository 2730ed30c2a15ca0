/**
 * What `uib unlearn --model` and `uib eval` share: the flags that name the user's own data and
 * deletion request, loading and checking them against a tfjs model, the predictions the evidence
 * reads, the training recipe file, and the short table both print. Every fault is a one-line
 * UsageError naming the flag or file.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import { KiB, readFileChecked, readJsonChecked } from '../core/read.ts';
import type { Dataset } from '../data/dataset.ts';
import type { CsvSource } from '../data/user/csv.ts';
import {
  type ForgetRequest,
  type ForgetResolution,
  parseForgetWhere,
  resolveForgetRequest,
} from '../data/user/forget-request.ts';
import { loadUserData } from '../data/user/load.ts';
import type { UserDataset } from '../data/user/types.ts';
import { predictSet } from '../eval/predict.ts';
import type { EvalSets, SetPredictions } from '../eval/types.ts';
import type { Evidence, ModelEvidence } from '../experiments/evidence.ts';
import { describeModel } from '../models/describe.ts';
import { LAYERS_MODEL_JSON_MAX_BYTES } from '../models/user-model.ts';
import type { TrainRecipe } from '../train/types.ts';
import type { FileHash } from '../unlearn/own-record.ts';

/** The flags naming the data and the request (both commands). */
export interface OwnDataFlags {
  data?: string[];
  test?: string[];
  label?: string;
  id?: string;
  forget: string[];
  forgetClass: string[];
  forgetWhere: string[];
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** Add the data and request flags to `cmd`. */
export function dataOptions(cmd: Command): Command {
  return cmd
    .option(
      '--data <path...>',
      'your training data: an image folder, x.npy + y.npy (a directory or two paths), an IDX pair, a .csv or a .npz (docs/datasets.md)',
    )
    .option(
      '--test <path...>',
      'held-out data in the same layout (a CSV is encoded as --data is); without it, the test-set and MIA comparisons are reported missing',
    )
    .option('--label <column>', 'CSV: the label column')
    .option('--id <column>', 'CSV: a column of unique sample ids (default: row numbers)')
    .option(
      '--forget <file>',
      'ids to forget: one per line, a JSON array, or a CSV with an id column (repeatable; parts are unioned)',
      collect,
      [] as string[],
    )
    .option(
      '--forget-class <k>',
      'forget a whole class, by name or index (repeatable)',
      collect,
      [] as string[],
    )
    .option(
      '--forget-where <key=value>',
      'forget by metadata: a CSV column value, or an image sub-folder key=value or folder=NAME (repeatable)',
      collect,
      [] as string[],
    );
}

/** The deletion request of the flags, in the order the kinds are listed (a union). */
export function requestParts(f: OwnDataFlags): ForgetRequest[] {
  const parts: ForgetRequest[] = [
    ...f.forget.map((file): ForgetRequest => ({ kind: 'file', file })),
    ...f.forgetClass.map((k): ForgetRequest => ({ kind: 'class', class: k })),
    ...f.forgetWhere.map((w) => parseForgetWhere(w)),
  ];
  if (parts.length === 0)
    throw new UsageError(
      '--forget',
      'required: the deletion request (--forget FILE, --forget-class K or --forget-where KEY=VALUE)',
    );
  return parts;
}

/** Whether the request is whole classes only (the evidence's selection score reads that). */
export const classOnly = (f: OwnDataFlags) =>
  f.forgetClass.length > 0 && f.forget.length === 0 && f.forgetWhere.length === 0;

/** `--data`'s and `--test`'s paths by flag, for claimOutput (the output may not hold them). */
export function dataInputs(f: OwnDataFlags): Record<string, string> {
  const out: Record<string, string> = {};
  (f.data ?? []).forEach((p, i) => {
    out[i === 0 ? '--data' : `--data (${i + 1})`] = p;
  });
  (f.test ?? []).forEach((p, i) => {
    out[i === 0 ? '--test' : `--test (${i + 1})`] = p;
  });
  f.forget.forEach((p, i) => {
    out[i === 0 ? '--forget' : `--forget (${i + 1})`] = p;
  });
  return out;
}

export interface OwnData {
  train: UserDataset;
  test: UserDataset | null;
  forget: Dataset;
  retain: Dataset;
  resolution: ForgetResolution;
}

/** Load `--data` (and `--test` encoded like it) and resolve the request against it. */
export function loadOwnData(f: OwnDataFlags): OwnData {
  if (!f.data || f.data.length === 0)
    throw new UsageError('--data', 'required: your training data (docs/datasets.md)');
  const parts = requestParts(f);
  const opts = { label: f.label, id: f.id };
  const train = loadUserData(f.data, opts);
  let test: UserDataset | null = null;
  if (f.test && f.test.length > 0) {
    // A held-out CSV is encoded with the training file's statistics and vocabularies; any other
    // layout maps its classes onto the training set's.
    test =
      train.source.format === 'csv'
        ? loadUserData(f.test, { ...opts, encoding: (train.source as CsvSource).encoding })
        : loadUserData(f.test, { ...opts, classes: train.source.classNames });
    const a = train.sampleShape.join('x');
    const b = test.sampleShape.join('x');
    if (a !== b || test.numClasses !== train.numClasses)
      throw new UsageError(
        f.test.join(' '),
        `its samples are ${b} with ${test.numClasses} classes; --data's are ${a} with ${train.numClasses}`,
      );
  }
  const resolution = resolveForgetRequest(train, parts);
  return {
    train,
    test,
    forget: train.subset(resolution.forget, `${train.name} (forget)`),
    retain: train.subset(resolution.retain, `${train.name} (retain)`),
    resolution,
  };
}

/** Refuse a model whose input shape or class count does not fit the data. */
export function checkModelFits(model: tfl.LayersModel, where: string, data: Dataset): void {
  const d = describeModel(model);
  const takes = d.inputShape.map((v) => v ?? 'any').join('x');
  const fits =
    d.inputShape.length === data.sampleShape.length &&
    d.inputShape.every((v, i) => v === null || v === data.sampleShape[i]);
  // One sigmoid unit is a two-class model (describe.ts).
  const classes = d.outputActivation === 'sigmoid' && d.outputUnits === 1 ? 2 : d.outputUnits;
  if (!fits || classes !== data.numClasses)
    throw new UsageError(
      where,
      `the model takes samples of ${takes} and outputs ${classes} classes; the data's samples are ${data.sampleShape.join('x')} with ${data.numClasses} classes`,
    );
}

/** model.json's path: `p` itself, or `p/model.json` for a directory. */
export function modelJsonOf(p: string): string {
  try {
    if (fs.statSync(p).isDirectory()) return path.join(p, 'model.json');
  } catch {
    // missing: the loader says so
  }
  return p;
}

/** model.json and each weight file it lists (manifest order), hashed as stored. */
export function modelFileHashes(modelJson: string): FileHash[] {
  const bytes = readFileChecked(modelJson, {
    maxBytes: LAYERS_MODEL_JSON_MAX_BYTES,
    what: 'a tfjs model.json',
  });
  const json = readJsonChecked(modelJson, { maxBytes: LAYERS_MODEL_JSON_MAX_BYTES }) as {
    weightsManifest?: { paths?: unknown[] }[];
  };
  const out: FileHash[] = [
    { name: path.basename(modelJson), bytes: bytes.length, sha256: sha256(bytes) },
  ];
  const dir = path.dirname(modelJson);
  for (const group of json.weightsManifest ?? [])
    for (const p of group.paths ?? []) {
      const file = path.join(dir, String(p));
      const b = readFileChecked(file, { maxBytes: 2 * 1024 ** 3, within: dir });
      out.push({ name: path.normalize(String(p)), bytes: b.length, sha256: sha256(b) });
    }
  return out;
}

/** No samples: what a missing test set is evaluated on (every metric of it then says so). */
function emptySet(numClasses: number): SetPredictions {
  return {
    probs: new Float32Array(0),
    numClasses,
    labels: new Int32Array(0),
    predicted: new Int32Array(0),
  };
}

/** The model's predictions on ΔD, D_r and the test set (empty without one). */
export async function predictSets(model: tfl.LayersModel, d: OwnData): Promise<EvalSets> {
  return {
    forget: await predictSet(model, d.forget),
    retain: await predictSet(model, d.retain),
    test: d.test ? await predictSet(model, d.test) : emptySet(d.train.numClasses),
  };
}

/** The metrics that read the test set, and what they become without one. */
const TEST_METRICS = ['ta', 'test-f1', 'mia-efficacy', 'selection', 'js-test'];
export const NO_TEST =
  'no held-out test set (give --test): the MIA and the comparisons with unseen data need one';

/** Name, in `missing`, every metric that reads the absent test set. */
export function markNoTest(e: Evidence): void {
  for (const id of TEST_METRICS) {
    const present = [e.before, e.after, e.reference].some((m) => m?.metrics[id] !== undefined);
    if (present || id in e.missing) e.missing[id] = NO_TEST;
  }
  e.missing['test-set'] = NO_TEST;
}

// ─── the recipe ────────────────────────────────────────────────────────────────────────────────

/** The shape of an experiment's `training` (experiments/schema.ts) without the seed (--seed). */
const RecipeFile = z.strictObject({
  optimizer: z.strictObject({
    name: z.enum(['sgd', 'adam']),
    lr: z.number().positive(),
    momentum: z.number().min(0).max(1).optional(),
    weightDecay: z.number().min(0).optional(),
    schedule: z.enum(['constant', 'cosine', 'linear', 'step']).optional(),
    warmupSteps: z.int().min(0).optional(),
  }),
  epochs: z.number().positive().max(10_000),
  batchSize: z
    .int()
    .positive()
    .max(1 << 20),
});

/** What Retrain uses for a model of your own when no recipe is given (only `--method retrain`). */
export const DEFAULT_OWN_RECIPE: Omit<TrainRecipe, 'seed'> = {
  optimizer: { name: 'adam', lr: 1e-3, schedule: 'cosine' },
  epochs: 5,
  batchSize: 64,
};

export function readRecipe(
  file: string,
  seed: number,
): { recipe: TrainRecipe; sha256: string; file: string } {
  const bytes = readFileChecked(file, { maxBytes: 64 * KiB, what: 'a training recipe (JSON)' });
  const raw = readJsonChecked(file, { maxBytes: 64 * KiB });
  const r = RecipeFile.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UsageError(
      file,
      `${issue.path.join('.') || '(top level)'}: ${issue.message}; a recipe is {"optimizer":{"name":"adam","lr":0.001},"epochs":5,"batchSize":64}`,
    );
  }
  return { recipe: { ...r.data, seed }, sha256: sha256(bytes), file: path.resolve(file) };
}

// ─── the table ─────────────────────────────────────────────────────────────────────────────────

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? '—' : `${(100 * x).toFixed(1)} %`;

/** The evidence as a short text table, one column per model. */
export function evidenceTable(e: Evidence, names: { before?: string; after: string }): string {
  const cols: [string, ModelEvidence][] = [
    ...(names.before ? [[names.before, e.before] as [string, ModelEvidence]] : []),
    [names.after, e.after],
    ...(e.reference ? [['retrained', e.reference] as [string, ModelEvidence]] : []),
  ];
  const metric = (id: string, fmt: (v: number) => string) => (m: ModelEvidence) => {
    const v = m.metrics[id];
    return v && v.value !== null ? fmt(v.value) : '—';
  };
  const rows: [string, (m: ModelEvidence) => string][] = [
    [`accuracy on ΔD (${e.counts.forget})`, (m) => pct(m.sets.forget.accuracy)],
    [`accuracy on D_r (${e.counts.retain})`, (m) => pct(m.sets.retain.accuracy)],
    [`accuracy on test (${e.counts.test})`, (m) => pct(m.sets.test.accuracy)],
    ['mean loss on ΔD', (m) => m.sets.forget.loss?.toFixed(3) ?? '—'],
    ['mean loss on test', (m) => m.sets.test.loss?.toFixed(3) ?? '—'],
    ['MIA-Efficacy', metric('mia-efficacy', pct)],
    ['selection score', metric('selection', (v) => v.toFixed(3))],
    ...(e.reference
      ? ([['Avg. Gap to retrained', metric('avg-gap', (v) => `${v.toFixed(1)} pp`)]] as [
          string,
          (m: ModelEvidence) => string,
        ][])
      : []),
  ];
  const cells = [
    ['', ...cols.map(([n]) => n)],
    ...rows.map(([l, f]) => [l, ...cols.map(([, m]) => f(m))]),
  ];
  const widths = cells[0].map((_, j) => Math.max(...cells.map((r) => [...r[j]].length)));
  const line = (r: string[]) =>
    r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ');
  return `${cells.map(line).join('\n')}\n`;
}

export function uibVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}
