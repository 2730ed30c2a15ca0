/**
 * Checkpoints in the tfjs layout, so `tf.loadLayersModel(fileHandler(dir))` reads them:
 *
 *   DIR/model.json     { format, generatedBy, modelTopology, weightsManifest: [{ paths, weights }] }
 *   DIR/weights.bin    all weights (moving statistics included), little-endian, manifest order
 *   DIR/metadata.json  model spec, recipe, metrics, scenario manifest hash, versions, SHA-256 of weights.bin
 *
 * The directory is written atomically. Reading checks every file before allocating anything:
 * a missing or corrupt file, a size that disagrees with the manifest, an unsupported dtype or
 * shape, or a weight path leaving the directory is a one-line UsageError naming the file.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { writeDirAtomic } from '../core/atomic.ts';
import { UsageError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import type { TrainRecipe } from '../train/types.ts';
import { attachSpec, specOf, validateSpec } from './index.ts';
import type { ModelSpec } from './types.ts';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const METADATA_FILE = 'metadata.json';
export const CHECKPOINT_FORMAT = 'uib-checkpoint/1';

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  spec: ModelSpec;
  recipe?: TrainRecipe;
  /** e.g. `{ testAccuracy: 0.981, testLoss: 0.06 }`. */
  metrics?: Record<string, number>;
  /** SHA-256 of the scenario manifest the model was trained under, if any. */
  scenarioHash?: string;
  versions: { uib: string; tfjs: string };
  weightsSha256: string;
  weightsBytes: number;
  createdAt: string;
  /** Anything else worth keeping (dataset, subset size, backend, timings...). */
  extra?: Record<string, unknown>;
}

export type CheckpointInfo = Pick<
  CheckpointMeta,
  'recipe' | 'metrics' | 'scenarioHash' | 'extra'
> & {
  /** Defaults to the spec the model was built from. */
  spec?: ModelSpec;
};

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4 };

function uibVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}

function weightBytes(data: tf.io.WeightData): Uint8Array {
  const buf = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return new Uint8Array(buf);
}

/**
 * An IOHandler over a directory: `save` writes model.json + weights.bin into it (not atomically:
 * use `saveCheckpoint` for that), `load` reads them back with every check `loadCheckpoint` does.
 */
export function fileHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const weights = weightBytes(artifacts.weightData ?? new ArrayBuffer(0));
      const modelJson = {
        format: 'layers-model',
        generatedBy: `uib ${uibVersion()}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
      };
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, MODEL_FILE), JSON.stringify(modelJson));
      fs.writeFileSync(path.join(dir, WEIGHTS_FILE), weights);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      return readArtifacts(dir);
    },
  };
}

function readJson(file: string): unknown {
  if (!fs.existsSync(file)) throw new UsageError(file, 'missing (not a uib checkpoint directory?)');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(file, `is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Read and check model.json and its weight files; nothing is allocated for weights until all checks pass. */
function readArtifacts(dir: string): tf.io.ModelArtifacts {
  const file = path.join(dir, MODEL_FILE);
  const json = readJson(file);
  if (!isObject(json) || !isObject(json.modelTopology) || !Array.isArray(json.weightsManifest)) {
    throw new UsageError(
      file,
      'must be an object with modelTopology (object) and weightsManifest (list)',
    );
  }
  const root = path.resolve(dir);
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const files: { file: string; bytes: number }[] = [];
  let expected = 0;
  json.weightsManifest.forEach((group: unknown, g: number) => {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new UsageError(file, `weightsManifest[${g}] must have paths and weights lists`);
    }
    for (const p of group.paths) {
      if (typeof p !== 'string' || p === '')
        throw new UsageError(file, `weightsManifest[${g}].paths holds a non-string or empty path`);
      const resolved = path.resolve(root, p);
      const rel = path.relative(root, resolved);
      if (path.isAbsolute(p) || rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
        throw new UsageError(file, `weight path "${p}" leaves the checkpoint directory`);
      }
      if (!fs.existsSync(resolved) || !fs.statSync(resolved).isFile()) {
        throw new UsageError(resolved, `missing (listed in ${MODEL_FILE})`);
      }
      // A symlink inside the directory may still point outside it: compare real paths too.
      if (path.relative(fs.realpathSync(root), fs.realpathSync(resolved)).startsWith('..')) {
        throw new UsageError(file, `weight path "${p}" leaves the checkpoint directory (symlink)`);
      }
      files.push({ file: resolved, bytes: fs.statSync(resolved).size });
    }
    group.weights.forEach((w: unknown, i: number) => {
      const where = `weightsManifest[${g}].weights[${i}]`;
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape)) {
        throw new UsageError(file, `${where} must have a name and a shape`);
      }
      const dtype = String(w.dtype);
      if (!(dtype in DTYPE_BYTES) || w.quantization !== undefined) {
        throw new UsageError(
          file,
          `${where} (${w.name}) has unsupported dtype "${dtype}"${w.quantization ? ' (quantized)' : ''}; allowed: float32, int32`,
        );
      }
      if (
        !w.shape.every((d) => Number.isInteger(d) && (d as number) >= 0 && (d as number) < 2 ** 31)
      ) {
        throw new UsageError(
          file,
          `${where} (${w.name}) has an invalid shape ${JSON.stringify(w.shape)}`,
        );
      }
      expected += (w.shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
      weightSpecs.push({
        name: w.name,
        shape: w.shape as number[],
        dtype: dtype as 'float32' | 'int32',
      });
    });
  });
  const actual = files.reduce((s, f) => s + f.bytes, 0);
  if (actual !== expected) {
    const names = files.map((f) => f.file).join(', ') || WEIGHTS_FILE;
    throw new UsageError(
      names,
      `holds ${actual} bytes but ${MODEL_FILE} declares ${expected} (truncated or mismatched)`,
    );
  }
  const weightData = new Uint8Array(expected);
  let offset = 0;
  for (const f of files) {
    weightData.set(fs.readFileSync(f.file), offset);
    offset += f.bytes;
  }
  return {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    format: typeof json.format === 'string' ? json.format : undefined,
    weightSpecs,
    weightData: weightData.buffer,
  };
}

/** Save `model` and its metadata to `dir` atomically (the old directory, if any, is replaced). */
export async function saveCheckpoint(
  dir: string,
  model: tfl.LayersModel,
  info: CheckpointInfo = {},
): Promise<CheckpointMeta> {
  const spec = info.spec ?? specOf(model);
  if (!spec)
    throw new Error(
      'saveCheckpoint: the model has no spec (build it with buildModel or pass info.spec)',
    );
  let meta: CheckpointMeta | undefined;
  await writeDirAtomic(dir, async (tmp) => {
    await model.save(fileHandler(tmp));
    const weights = fs.readFileSync(path.join(tmp, WEIGHTS_FILE));
    meta = {
      format: CHECKPOINT_FORMAT,
      spec,
      ...(info.recipe && { recipe: info.recipe }),
      ...(info.metrics && { metrics: info.metrics }),
      ...(info.scenarioHash && { scenarioHash: info.scenarioHash }),
      versions: { uib: uibVersion(), tfjs: tf.version_core },
      weightsSha256: sha256(weights),
      weightsBytes: weights.length,
      createdAt: new Date().toISOString(),
      ...(info.extra && { extra: info.extra }),
    };
    fs.writeFileSync(path.join(tmp, METADATA_FILE), `${JSON.stringify(meta, null, 2)}\n`);
  });
  return meta as CheckpointMeta;
}

/** Read and check a checkpoint's metadata.json (without loading the model). */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  const file = path.join(dir, METADATA_FILE);
  const meta = readJson(file);
  if (!isObject(meta) || meta.format !== CHECKPOINT_FORMAT) {
    throw new UsageError(
      file,
      `format must be "${CHECKPOINT_FORMAT}"; got ${JSON.stringify(isObject(meta) ? meta.format : meta)}`,
    );
  }
  if (!isObject(meta.spec)) throw new UsageError(file, 'spec is missing');
  try {
    validateSpec(meta.spec as unknown as ModelSpec, 'spec');
  } catch (e) {
    throw new UsageError(file, (e as Error).message);
  }
  if (typeof meta.weightsSha256 !== 'string')
    throw new UsageError(file, 'weightsSha256 is missing');
  return meta as unknown as CheckpointMeta;
}

/** Load a checkpoint written by `saveCheckpoint`; the weights must match metadata's SHA-256. */
export async function loadCheckpoint(
  dir: string,
): Promise<{ model: tfl.LayersModel; meta: CheckpointMeta }> {
  const meta = readCheckpointMeta(dir);
  const artifacts = readArtifacts(dir);
  const weightsFile = path.join(dir, WEIGHTS_FILE);
  if (sha256(new Uint8Array(artifacts.weightData as ArrayBuffer)) !== meta.weightsSha256) {
    throw new UsageError(
      weightsFile,
      `SHA-256 differs from ${METADATA_FILE} (corrupt or replaced weights)`,
    );
  }
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    throw new UsageError(
      path.join(dir, MODEL_FILE),
      `cannot be loaded as a tfjs model (${(e as Error).message.split('\n')[0]})`,
    );
  }
  const out = model.outputs[0].shape;
  if (out[out.length - 1] !== meta.spec.numClasses) {
    model.dispose();
    throw new UsageError(
      path.join(dir, MODEL_FILE),
      `outputs ${out[out.length - 1]} classes but ${METADATA_FILE} says ${meta.spec.numClasses}`,
    );
  }
  attachSpec(model, meta.spec);
  return { model, meta };
}
