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
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Command } from 'commander';
import { initBackend, parseBackendName } from '../../backend/index.ts';
import { writeDirAtomic } from '../../core/atomic.ts';
import { UsageError } from '../../core/errors.ts';
import { sha256, sha256Json } from '../../core/hash.ts';
import { materialiseScenario, readManifest } from '../../data/scenarios/index.ts';
import { loadCheckpoint, saveCheckpoint } from '../../models/checkpoint.ts';
import { defaultRecipe } from '../../train/train.ts';
import { trainingSetImportance } from '../../unlearn/methods/ssd.ts';
import {
  curvatureOf,
  type DeletionRecord,
  jsonSafe,
  RECORD_FILE,
  RECORD_FORMAT,
  writeDeletionRecord,
} from '../../unlearn/record.ts';
import { getMethod, paramFields, unlearn } from '../../unlearn/registry.ts';
import { floatOption, intOption } from '../options.ts';

export interface UnlearnFlags {
  checkpoint?: string;
  scenario?: string;
  method?: string;
  param: string[];
  beta?: number;
  seed: number;
  backend?: string;
  quiet?: boolean;
  out?: string;
}

/** `key=value` → [key, value]; the value is JSON when it parses (numbers, booleans, arrays), else a string. */
export function parseParamFlag(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0)
    throw new UsageError('--param', `must be key=value (e.g. epochs=0.5); got "${text}"`);
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1).trim();
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a bare word (an enum value such as isotropic) stays a string
  }
  return [key, value];
}

function required(value: string | undefined, flag: string, what: string): string {
  if (!value) throw new UsageError(flag, `required: ${what}`);
  return value;
}

export async function runUnlearn(f: UnlearnFlags): Promise<DeletionRecord> {
  const checkpointDir = required(f.checkpoint, '--checkpoint', 'the trained checkpoint directory');
  const manifestFile = required(f.scenario, '--scenario', 'the scenario manifest (uib scenario)');
  const methodId = required(f.method, '--method', 'an unlearning method id (see uib methods)');
  const outDir = required(f.out, '--out', 'the directory to write the unlearned checkpoint to');
  if (path.resolve(outDir) === path.resolve(checkpointDir))
    throw new UsageError('--out', 'must differ from --checkpoint (the original is never replaced)');
  // Everything about the request is checked before anything is loaded or trained.
  const method = getMethod(methodId);
  const raw: Record<string, unknown> = {};
  for (const text of f.param) {
    const [k, v] = parseParamFlag(text);
    raw[k] = v;
  }
  if (f.beta !== undefined) {
    if (!('beta' in paramFields(method)))
      throw new UsageError('--beta', `${methodId} has no β; use uib-if or a <method>+uib variant`);
    raw.beta = f.beta;
  }
  const manifest = readManifest(manifestFile);
  const backend = await initBackend(f.backend);

  const { model: original, meta } = await loadCheckpoint(checkpointDir);
  try {
    const scenario = materialiseScenario(manifest, manifestFile);
    const shape = scenario.train.sampleShape;
    const expect = meta.spec.inputShape;
    if (shape.join('x') !== expect.join('x') || scenario.train.numClasses !== meta.spec.numClasses)
      throw new UsageError(
        manifestFile,
        `its samples are ${shape.join('x')} with ${scenario.train.numClasses} classes; the checkpoint's model takes ${expect.join('x')} with ${meta.spec.numClasses}`,
      );
    const manifestSha256 = sha256Json(manifest);
    // SSD reads its importance over the training set, a training-time quantity (computed here when needed).
    const fisherD =
      method.id === 'ssd' ? trainingSetImportance(original, scenario.train) : undefined;
    const result = await unlearn(
      methodId,
      {
        original,
        spec: meta.spec,
        recipe: meta.recipe ?? defaultRecipe(meta.spec.arch, meta.spec.seed),
        data: { retain: scenario.retain, forget: scenario.forget },
        seed: f.seed,
        numTrain: scenario.train.length,
        checkpointDir,
        fisherD,
        quiet: f.quiet,
      },
      raw,
    );
    try {
      const details = jsonSafe(result.details) as Record<string, unknown>;
      let record: DeletionRecord | undefined;
      await writeDirAtomic(outDir, async (tmp) => {
        // saveCheckpoint swaps its own directory in atomically; inside ours, tmp is that directory.
        const saved = await saveCheckpoint(tmp, result.model, {
          spec: meta.spec,
          ...(meta.recipe && { recipe: meta.recipe }),
          scenarioHash: manifestSha256,
          extra: { unlearnedFrom: meta.weightsSha256, method: methodId },
        });
        record = {
          format: RECORD_FORMAT,
          method: methodId,
          params: jsonSafe(result.params) as Record<string, unknown>,
          seed: f.seed,
          scenario: {
            file: path.resolve(manifestFile),
            manifestSha256,
            fileSha256: sha256(fs.readFileSync(manifestFile)),
            kind: manifest.scenario.kind,
            counts: manifest.counts,
            matchesCheckpoint: meta.scenarioHash ? meta.scenarioHash === manifestSha256 : null,
          },
          original: { checkpoint: path.resolve(checkpointDir), weightsSha256: meta.weightsSha256 },
          unlearned: { checkpoint: path.resolve(outDir), weightsSha256: saved.weightsSha256 },
          curvature: curvatureOf(details),
          stats: result.stats,
          details,
          backend,
          versions: { uib: saved.versions.uib, tfjs: tf.version_core, node: process.versions.node },
          createdAt: new Date().toISOString(),
        };
        writeDeletionRecord(path.join(tmp, RECORD_FILE), record);
      });
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
}

export function register(program: Command): void {
  program
    .command('unlearn')
    .description(
      'unlearn a scenario’s deletion request from a checkpoint; writes the unlearned checkpoint and its deletion record',
    )
    .option('--checkpoint <dir>', 'trained checkpoint directory (uib train)')
    .option('--scenario <manifest>', 'scenario manifest naming ΔD (uib scenario)')
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
    .option(
      '--seed <n>',
      'seed of every random choice of the run',
      intOption('--seed', { min: 0 }),
      0,
    )
    .option(
      '--backend <name>',
      'compute backend: wasm, cpu, webgpu, tensorflow (default: $UIB_BACKEND, else wasm)',
      (v) => parseBackendName(v),
    )
    .option('--quiet', 'no progress bar or summary')
    .option(
      '--out <dir>',
      'directory to write the unlearned checkpoint and deletion-record.json to',
    )
    .action(async (flags: UnlearnFlags) => {
      await runUnlearn(flags);
    });
}
