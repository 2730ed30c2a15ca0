/**
 * `uib unlearn`: apply one unlearning method to a trained checkpoint for the deletion request a
 * scenario manifest names, and write the unlearned checkpoint with its deletion record
 * (`deletion-record.json`: method, validated hyper-parameters, SHA-256 of the manifest and of both
 * models' weights, time per phase, gradient evaluations, curvature source, backend, versions).
 * Checkpoint and record are written together, atomically. A Fisher cache (F_D) beside the
 * checkpoint (`fisher.json` + `fisher.bin`) is used by UIB unless `--param useCache=false`.
 *
 *   uib unlearn --checkpoint runs/cnn --scenario bias.json --method uib-if --out runs/cnn-uib
 *   uib unlearn --checkpoint runs/cnn --scenario bias.json --method ft+uib --beta 10 \
 *     --param epochs=0.5 --param priorTau=0.2 --seed 1 --out runs/cnn-ftuib
 *
 * With `--model` (a tfjs model of your own, `--data`, `--forget`…) the other mode runs instead:
 * unlearn-own.ts. The two modes' flags are exclusive.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Command } from 'commander';
import { computeEnvironment } from '../../backend/environment.ts';
import { initBackend } from '../../backend/index.ts';
import { writeDirAtomic } from '../../core/atomic.ts';
import { UsageError } from '../../core/errors.ts';
import { sha256, sha256Json } from '../../core/hash.ts';
import { checkOutput, claimOutput, type OutputOptions } from '../../core/out-dir.ts';
import { readFileChecked } from '../../core/read.ts';
import { type Manifest, materialiseScenario } from '../../data/scenarios/index.ts';
import { MANIFEST_MAX_BYTES, parseManifest } from '../../data/scenarios/manifest.ts';
import {
  type CheckpointMeta,
  loadCheckpoint,
  readCheckpointMeta,
  saveCheckpoint,
} from '../../models/checkpoint.ts';
import { weightScale } from '../../models/weight-guard.ts';
import { defaultRecipe } from '../../train/train.ts';
import {
  curvatureOf,
  type DeletionRecord,
  fisherCacheOf,
  jsonSafe,
  RECORD_FILE,
  RECORD_FORMAT,
  writeDeletionRecord,
} from '../../unlearn/record.ts';
import { getMethod, paramFields, parseParams, unlearn } from '../../unlearn/registry.ts';
import type { UnlearnMethod } from '../../unlearn/types.ts';
import { fisherCacheIn } from '../../unlearn/uib/fisher-cache.ts';
import { backendOption, floatOption, seedOption } from '../options.ts';
import { dataOptions } from '../own.ts';
import { runUnlearnOwn, type UnlearnOwnFlags } from './unlearn-own.ts';

/** The flags of `uib unlearn` that both of its modes read (a checkpoint, a model of your own). */
export interface UnlearnRunFlags {
  method?: string;
  param: string[];
  beta?: number;
  seed: number;
  backend?: string;
  quiet?: boolean;
  out?: string;
  force?: boolean;
}

export interface UnlearnFlags extends UnlearnRunFlags {
  checkpoint?: string;
  scenario?: string;
  otherTrainingSet?: boolean;
}

/** Keys that would reach an object's prototype (`raw[key] = v` with `__proto__` sets it). */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `key=value` → [key, value]; the value is JSON when it parses (numbers, booleans, arrays), else a string. */
export function parseParamFlag(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new UsageError('--param', `must be key=value (e.g. epochs=0.5); got "${text}"`);
  const key = text.slice(0, eq).trim();
  if (PROTOTYPE_KEYS.has(key))
    throw new UsageError('--param', `"${key}" is not a hyper-parameter name; got "${text}"`);
  const raw = text.slice(eq + 1).trim();
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a bare word (an enum value such as isotropic) stays a string
  }
  return [key, value];
}

/** The method of `--method` and its hyper-parameters from `--param` and `--beta`, validated. */
export function methodParams(
  methodId: string,
  param: readonly string[],
  beta: number | undefined,
): { method: UnlearnMethod; params: Record<string, unknown> } {
  const method = getMethod(methodId);
  const raw: Record<string, unknown> = Object.create(null);
  for (const text of param) {
    const [k, v] = parseParamFlag(text);
    raw[k] = v;
  }
  if (beta !== undefined) {
    if (!('beta' in paramFields(method)))
      throw new UsageError('--beta', `${methodId} has no β; use uib-if or a <method>+uib variant`);
    raw.beta = beta;
  }
  return { method, params: parseParams(method, { ...raw }) };
}

export function required(value: string | undefined, flag: string, what: string): string {
  if (!value) throw new UsageError(flag, `required: ${what}`);
  return value;
}

const short = (h: string) => `${h.slice(0, 12)}…`;

/**
 * How the checkpoint relates to the manifest's training set (record.ts TRAINING_RELATIONS). A
 * deletion request is refused unless the model was trained under this manifest or on the same
 * training set, or the user declares it a deletion from another data set.
 */
export function trainingRelation(
  meta: CheckpointMeta,
  manifest: Manifest,
  manifestFile: string,
  declaredOther: boolean,
): DeletionRecord['scenario']['relation'] {
  if (meta.scenarioHash === sha256Json(manifest)) return 'trained-under';
  const dataset = typeof meta.extra?.dataset === 'string' ? meta.extra.dataset : undefined;
  const sameDataset = dataset === undefined || dataset === manifest.dataset.id;
  if (sameDataset && meta.trainSetSha256 === manifest.inputsHash.train) return 'same-training-set';
  if (declaredOther) return 'declared-other';
  const why = !sameDataset
    ? `is a ${manifest.dataset.id} scenario; the checkpoint was trained on ${dataset}`
    : meta.trainSetSha256
      ? `its training set (${short(manifest.inputsHash.train)}) is not the one the checkpoint was trained on (${short(meta.trainSetSha256)})`
      : 'the checkpoint records neither this manifest nor its training set (trained without --scenario, or by an older uib)';
  throw new UsageError(
    manifestFile,
    `${why}; a record of this deletion would not be true. Pass --other-training-set to declare a deletion from another data set`,
  );
}

export async function runUnlearn(f: UnlearnFlags): Promise<DeletionRecord> {
  const checkpointDir = required(f.checkpoint, '--checkpoint', 'the trained checkpoint directory');
  const manifestFile = required(f.scenario, '--scenario', 'the scenario manifest (uib scenario)');
  const methodId = required(f.method, '--method', 'an unlearning method id (see uib methods)');
  const outDir = required(f.out, '--out', 'the directory to write the unlearned checkpoint to');
  // Everything about the request is checked before anything is loaded or trained.
  const { params } = methodParams(methodId, f.param, f.beta);
  const outOpts: OutputOptions = {
    kind: 'unlearned',
    force: f.force,
    inputs: { '--checkpoint': checkpointDir, '--scenario': manifestFile },
  };
  const release = claimOutput(outDir, outOpts);
  try {
    // The manifest's bytes are read once: the record's file hash is of what was parsed.
    const manifestBytes = readFileChecked(manifestFile, {
      maxBytes: MANIFEST_MAX_BYTES,
      what: 'a scenario manifest',
    });
    const manifest = parseManifest(manifestBytes.toString('utf8'), manifestFile);
    const manifestSha256 = sha256Json(manifest);
    const relation = trainingRelation(
      readCheckpointMeta(checkpointDir),
      manifest,
      manifestFile,
      !!f.otherTrainingSet,
    );
    await initBackend(f.backend);
    const { model: original, meta } = await loadCheckpoint(checkpointDir);
    try {
      const scenario = materialiseScenario(manifest, manifestFile);
      const shape = scenario.train.sampleShape;
      const expect = meta.spec.inputShape;
      if (
        shape.join('x') !== expect.join('x') ||
        scenario.train.numClasses !== meta.spec.numClasses
      )
        throw new UsageError(
          manifestFile,
          `its samples are ${shape.join('x')} with ${scenario.train.numClasses} classes; the checkpoint's model takes ${expect.join('x')} with ${meta.spec.numClasses}`,
        );
      const scale = weightScale(original);
      const result = await unlearn(
        methodId,
        {
          original,
          spec: meta.spec,
          recipe: meta.recipe ?? defaultRecipe(meta.spec.arch, meta.spec.seed),
          data: { retain: scenario.retain, forget: scenario.forget },
          seed: f.seed,
          numTrain: scenario.train.length,
          fisherCache: fisherCacheIn(checkpointDir),
          quiet: f.quiet,
        },
        params,
      );
      try {
        const details = jsonSafe(result.details) as Record<string, unknown>;
        const recordParams = jsonSafe(result.params) as Record<string, unknown>;
        const paramsSha256 = sha256Json(recordParams);
        let record: DeletionRecord | undefined;
        await writeDirAtomic(
          outDir,
          async (tmp) => {
            // saveCheckpoint swaps its own directory in atomically; inside ours, tmp is that directory.
            const saved = await saveCheckpoint(tmp, result.model, {
              spec: meta.spec,
              ...(meta.recipe && { recipe: meta.recipe }),
              scenarioHash: manifestSha256,
              trainSetSha256: manifest.inputsHash.train,
              reference: scale,
              label: methodId,
              extra: {
                unlearnedFrom: meta.weightsSha256,
                method: methodId,
                seed: f.seed,
                paramsSha256,
              },
            });
            const environment = computeEnvironment();
            record = {
              format: RECORD_FORMAT,
              method: methodId,
              params: recordParams,
              paramsSha256,
              seed: f.seed,
              scenario: {
                file: path.resolve(manifestFile),
                manifestSha256,
                fileSha256: sha256(manifestBytes),
                kind: manifest.scenario.kind,
                seed: manifest.seed,
                dataset: manifest.dataset.id,
                trainSetSha256: manifest.inputsHash.train,
                counts: manifest.counts,
                matchesCheckpoint: relation === 'trained-under',
                relation,
              },
              original: {
                checkpoint: path.resolve(checkpointDir),
                weightsSha256: meta.weightsSha256,
                weightScale: scale,
              },
              unlearned: { checkpoint: path.resolve(outDir), weightsSha256: saved.weightsSha256 },
              fisherCache: fisherCacheOf(details, path.resolve(checkpointDir)),
              curvature: curvatureOf(details),
              stats: result.stats,
              details,
              environment,
              versions: {
                uib: saved.versions.uib,
                tfjs: tf.version_core,
                node: process.versions.node,
              },
              createdAt: new Date().toISOString(),
            };
            writeDeletionRecord(path.join(tmp, RECORD_FILE), record);
          },
          { beforeSwap: () => checkOutput(outDir, outOpts) },
        );
        const r = record!;
        if (!f.quiet) {
          const phases = Object.entries(r.stats.phases)
            .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
            .join(', ');
          const source = r.curvature
            ? `; curvature ${r.curvature.kind} from ${r.curvature.source}`
            : '';
          process.stdout.write(
            `uib unlearn: ${methodId} on ${manifest.scenario.kind} (ΔD ${manifest.counts.forget}, D_r ${manifest.counts.retain}) in ${(r.stats.timeMs / 1000).toFixed(1)} s (${phases}), ${r.stats.gradEvals} gradient evaluations${source}\nsaved ${outDir} (${RECORD_FILE})\n`,
          );
        }
        return r;
      } finally {
        result.model.dispose();
      }
    } finally {
      original.dispose();
    }
  } finally {
    release();
  }
}

/** Flags of each mode (`--checkpoint` or `--model`): the two are exclusive. */
const CHECKPOINT_FLAGS = {
  checkpoint: '--checkpoint',
  scenario: '--scenario',
  otherTrainingSet: '--other-training-set',
};
const OWN_FLAGS = {
  model: '--model',
  data: '--data',
  test: '--test',
  label: '--label',
  id: '--id',
  recipe: '--recipe',
  forget: '--forget',
  forgetClass: '--forget-class',
  forgetWhere: '--forget-where',
};

/** The flags of `mode` that were given. */
function givenFlags(f: Record<string, unknown>, mode: Record<string, string>): string[] {
  return Object.entries(mode)
    .filter(([k]) => f[k] !== undefined && !(Array.isArray(f[k]) && f[k].length === 0))
    .map(([, flag]) => flag);
}

/** `--model` mode when any of its flags is given; both modes at once is a usage error. */
export function isOwnMode(f: Record<string, unknown>): boolean {
  const own = givenFlags(f, OWN_FLAGS);
  const ckpt = givenFlags(f, CHECKPOINT_FLAGS);
  if (own.length > 0 && ckpt.length > 0)
    throw new UsageError(
      own[0],
      `cannot be combined with ${ckpt[0]}: unlearn either a uib checkpoint (--checkpoint, --scenario) or a model of your own (--model, --data, --forget…)`,
    );
  return own.length > 0;
}

export function register(program: Command): void {
  const cmd = program
    .command('unlearn')
    .description(
      'unlearn a deletion request: from a uib checkpoint and a scenario (--checkpoint, --scenario), or from a tfjs model of your own over your own data (--model, --data, --forget…); writes the unlearned model and its deletion record',
    )
    .option('--checkpoint <dir>', 'trained checkpoint directory (uib train)')
    .option('--scenario <manifest>', 'scenario manifest naming ΔD (uib scenario)')
    .option(
      '--model <model.json>',
      'your tfjs-layers model (model.json or its directory); writes model.json + weights.bin, evidence.json and report.html too',
    );
  dataOptions(cmd)
    .option(
      '--recipe <recipe.json>',
      'how your model was trained, {"optimizer":{"name":"adam","lr":0.001},"epochs":5,"batchSize":64}: uib retrains on D_r with it and the evidence compares against that model (without it: adam 1e-3, cosine, 5 epochs, batch 64 for --method retrain, and no comparison)',
    )
    .option('--method <id>', 'unlearning method id (uib methods)')
    .option(
      '--param <key=value>',
      'a hyper-parameter of the method (repeatable; values are JSON: 0.5, true, [1,0.5], or words)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      '--beta <x>',
      'β, the weight of the UIB bound (uib-if and <method>+uib)',
      floatOption('--beta', { min: 0, max: 1e9 }),
    )
    .addOption(seedOption('seed of every random choice of the run (0 … 2^32−1)', 0))
    .addOption(backendOption())
    .option('--quiet', 'no progress bar or summary')
    .option(
      '--out <dir>',
      'directory to write the unlearned model and deletion-record.json to (new or empty)',
    )
    .option(
      '--force',
      'replace an unlearned output of the same kind already at --out (nothing else)',
    )
    .option(
      '--other-training-set',
      'declare that the model was not trained on the manifest’s training set (the record says so)',
    )
    .action(async (flags: UnlearnFlags & UnlearnOwnFlags) => {
      if (isOwnMode(flags as unknown as Record<string, unknown>)) await runUnlearnOwn(flags);
      else await runUnlearn(flags);
    });
}
