/**
 * Checkpoints in the tfjs layout, so `tf.loadLayersModel(fileHandler(dir))` reads them:
 *
 *   DIR/model.json     { format, generatedBy, modelTopology, weightsManifest: [{ paths, weights }] }
 *   DIR/weights.bin    all weights (moving statistics included), little-endian, manifest order
 *   DIR/metadata.json  model spec, recipe, metrics, scenario manifest hash, versions, SHA-256 of weights.bin
 *
 * The directory is written atomically. Reading checks every file before allocating anything:
 * a missing or corrupt file, a size that disagrees with the manifest, an unsupported dtype or
 * shape, or a weight path leaving the directory is a one-line UsageError naming the file. The
 * model is rebuilt from the spec in metadata.json, never from model.json's topology, which must
 * describe the same model (tfjs would otherwise build whatever a hostile topology claims).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { recoverDir, writeDirAtomic } from '../core/atomic.ts';
import { DivergenceError, UsageError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import { MiB, readFileChecked, readJsonChecked } from '../core/read.ts';
import type { TrainRecipe } from '../train/types.ts';
import { attachSpec, buildModel, specOf, validateSpec } from './index.ts';
import { MLP_DEFAULT_HIDDEN } from './mlp.ts';
import { RESNET_DEFAULT_WIDTH } from './resnet.ts';
import type { ModelSpec } from './types.ts';
import { modelWeightsProblem, tensorProblem, type WeightScale } from './weight-guard.ts';
import { checkWeightsManifest, DTYPE_BYTES } from './weights-manifest.ts';

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
  /**
   * The training set's samples and labels in order (`viewDigest`, a manifest's `inputsHash.train`):
   * what `uib unlearn` ties a deletion request to.
   */
  trainSetSha256?: string;
  versions: { uib: string; tfjs: string };
  weightsSha256: string;
  weightsBytes: number;
  createdAt: string;
  /** Anything else worth keeping (dataset, subset size, backend, timings...). */
  extra?: Record<string, unknown>;
}

export type CheckpointInfo = Pick<
  CheckpointMeta,
  'recipe' | 'metrics' | 'scenarioHash' | 'trainSetSha256' | 'extra'
> & {
  /** Defaults to the spec the model was built from. */
  spec?: ModelSpec;
  /**
   * The scale the weights must stay within (models/weight-guard.ts; the original's for an
   * unlearned model). Without it, the weights are only checked finite.
   */
  reference?: WeightScale;
  /** Who made the model, for the DivergenceError when the guard refuses it ("ft", "training"). */
  label?: string;
};

function uibVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}

function weightBytes(data: tf.io.WeightData): Uint8Array {
  const buf = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return new Uint8Array(buf);
}

/**
 * SHA-256 of a model's weights as `saveCheckpoint` writes them to weights.bin (every weight,
 * moving statistics included, in order, float32 little-endian): the identity of the weights a
 * Fisher cache or a record refers to, computed from the model in memory.
 */
export function modelWeightsSha256(model: tfl.LayersModel): string {
  const h = createHash('sha256');
  for (const w of model.weights) {
    const d = w.read().dataSync() as Float32Array;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex');
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

/**
 * Largest model.json / metadata.json accepted: ResNet-18's topology is ~0.2 MB and a metadata.json
 * with a 1000-epoch history ~0.1 MB; 16 MiB leaves room for far larger models of the same kinds.
 */
export const CHECKPOINT_JSON_MAX_BYTES = 16 * MiB;

/** A checkpoint's JSON file: a regular file inside the directory, capped, depth-checked. */
function readJson(file: string): unknown {
  return readJsonChecked(file, {
    maxBytes: CHECKPOINT_JSON_MAX_BYTES,
    within: path.dirname(file),
    missing: 'missing (not a uib checkpoint directory?)',
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** model.json, checked: its topology (unchecked JSON), its weight specs, the files holding them. */
interface ModelFiles {
  file: string;
  json: Record<string, unknown>;
  topology: Record<string, unknown>;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightFiles: { file: string; bytes: number }[];
  /** Bytes the weight manifest declares, equal to the weight files' sizes. */
  bytes: number;
}

/**
 * Read model.json and check its weight manifest against the files on disk: every path stays in
 * the directory, every dtype is supported, every shape is sane, and the declared bytes are the
 * files' bytes. Nothing is allocated for the weights.
 */
function readModelFiles(dir: string): ModelFiles {
  const file = path.join(dir, MODEL_FILE);
  const json = readJson(file);
  if (!isObject(json) || !isObject(json.modelTopology) || !Array.isArray(json.weightsManifest)) {
    throw new UsageError(
      file,
      'must be an object with modelTopology (object) and weightsManifest (list)',
    );
  }
  const m = checkWeightsManifest(file, json.weightsManifest, { what: 'the checkpoint directory' });
  return {
    file,
    json,
    topology: json.modelTopology,
    weightSpecs: m.weightSpecs,
    weightFiles: m.files,
    bytes: m.bytes,
  };
}

/** The weight files' bytes, concatenated in manifest order (their sizes were checked). */
function readWeightBytes(m: ModelFiles): Uint8Array {
  const data = new Uint8Array(m.bytes);
  let offset = 0;
  for (const f of m.weightFiles) {
    data.set(readFileChecked(f.file, { maxBytes: f.bytes, expectBytes: f.bytes }), offset);
    offset += f.bytes;
  }
  return data;
}

/**
 * Scalars in `buildModel(spec)`, moving statistics included, from the spec alone: the spec is
 * checked against the declared bytes before the model is built, so a metadata.json claiming a
 * 10^7-unit layer is refused, not allocated. Mirrors mlp.ts, cnn.ts and resnet.ts; a test holds
 * it equal to `countParams(buildModel(spec), { all: true })`.
 */
export function specParamCount(spec: ModelSpec): number {
  const dense = (inputs: number, units: number) => inputs * units + units;
  const c = spec.numClasses;
  if (spec.arch === 'mlp') {
    let n = 0;
    let inputs = spec.inputShape.reduce((a, b) => a * b, 1);
    for (const units of spec.hidden ?? MLP_DEFAULT_HIDDEN) {
      n += dense(inputs, units);
      inputs = units;
    }
    return n + dense(inputs, c);
  }
  const [h, w, channels] = spec.inputShape;
  if (spec.arch === 'cnn') {
    // Twice: a 3×3 valid convolution (side − 2), then 2×2 pooling (halved, floored).
    const side = (x: number) => Math.floor((Math.floor((x - 2) / 2) - 2) / 2);
    return (
      dense(9 * channels, 32) +
      dense(9 * 32, 64) +
      dense(side(h) * side(w) * 64, 128) +
      dense(128, c)
    );
  }
  // ResNet-18: bias-free convolutions, each followed by BatchNorm (γ, β, moving mean, variance).
  const convBn = (inC: number, outC: number, k: number) => k * k * inC * outC + 4 * outC;
  const width = spec.width ?? RESNET_DEFAULT_WIDTH;
  let n = convBn(channels, width, 3);
  let inC = width;
  for (const [stage, f] of [width, 2 * width, 4 * width, 8 * width].entries()) {
    for (let b = 0; b < 2; b++) {
      const projected = (stage > 0 && b === 0) || inC !== f;
      n += convBn(inC, f, 3) + convBn(f, f, 3) + (projected ? convBn(inC, f, 1) : 0);
      inC = f;
    }
  }
  return n + dense(8 * width, c);
}

// Keys of a layer config that do not change the loaded model: initialisers (the weights are
// loaded over them), trainable flags (a method may freeze layers), and tfjs's version stamps.
const IGNORED_KEYS = /^(trainable|keras_version|backend|.*_initializer)$/;

/** The first path at which two JSON values differ (IGNORED_KEYS aside), or null. */
function firstDifference(got: unknown, want: unknown, at: string): string | null {
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return at;
    if (got.length !== want.length) return `${at}.length`;
    for (let i = 0; i < want.length; i++) {
      const d = firstDifference(got[i], want[i], `${at}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (isObject(want)) {
    if (!isObject(got)) return at;
    for (const k of new Set([...Object.keys(got), ...Object.keys(want)])) {
      if (IGNORED_KEYS.test(k)) continue;
      if (!Object.hasOwn(got, k) || !Object.hasOwn(want, k)) return `${at}.${k}`;
      const d = firstDifference(got[k], want[k], `${at}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return got === want ? null : at;
}

/** The value at a path from firstDifference, shortened for a one-line message. */
function valueAt(root: unknown, at: string): string {
  let v: unknown = root;
  for (const part of at.split(/[.[\]]+/).filter(Boolean)) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return '(absent)';
    v = (v as Record<string, unknown>)[part];
  }
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Build the model the spec describes and check that model.json describes the same model: its
 * topology (every layer's config and inbound nodes) and its weight manifest (names, shapes,
 * dtypes). model.json's topology is never handed to tfjs, so a hostile one can neither allocate
 * (a layer claiming 10^7 units) nor hang tfjs's graph rebuild (malformed `inbound_nodes`).
 * Returns the model with its initial weights; on a disagreement, disposes it and throws.
 */
function buildFromSpec(meta: CheckpointMeta, m: ModelFiles, metaFile: string): tfl.LayersModel {
  let model: tfl.LayersModel;
  try {
    model = buildModel(meta.spec);
  } catch (e) {
    throw new UsageError(metaFile, `spec cannot be built (${(e as Error).message.split('\n')[0]})`);
  }
  try {
    // Through JSON, as saved: keys holding undefined drop out.
    const want = JSON.parse(JSON.stringify(model.toJSON(null, false))) as Record<string, unknown>;
    const diff = firstDifference(m.topology, want, 'modelTopology');
    if (diff) {
      throw new UsageError(
        m.file,
        `${diff} is ${valueAt({ modelTopology: m.topology }, diff)} but the spec in ${METADATA_FILE} builds ${valueAt({ modelTopology: want }, diff)}`,
      );
    }
    const declared = new Map(m.weightSpecs.map((w) => [w.name, w]));
    if (declared.size !== m.weightSpecs.length || declared.size !== model.weights.length) {
      throw new UsageError(
        m.file,
        `the weight manifest lists ${m.weightSpecs.length} weights (${declared.size} names) but the spec in ${METADATA_FILE} builds ${model.weights.length}`,
      );
    }
    for (const v of model.weights) {
      const w = declared.get(v.originalName);
      if (!w) throw new UsageError(m.file, `the weight manifest lacks ${v.originalName}`);
      if (w.dtype !== v.dtype || w.shape.join(',') !== v.shape.join(',')) {
        throw new UsageError(
          m.file,
          `weight ${w.name} is ${w.dtype} [${w.shape}] but the spec in ${METADATA_FILE} builds ${v.dtype} [${v.shape}]`,
        );
      }
    }
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
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
  // The last line of the finite-weights guard: nothing non-finite or exploded is ever written.
  const problem = modelWeightsProblem(model, info.reference);
  if (problem)
    throw new DivergenceError(`${info.label ?? 'model'}: ${problem}; nothing was written`);
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
      ...(info.trainSetSha256 && { trainSetSha256: info.trainSetSha256 }),
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
  recoverDir(dir); // a writer killed mid-swap left the previous checkpoint aside: put it back
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

/**
 * Every check of a uib checkpoint, ordered so nothing is allocated that the files do not
 * justify: metadata.json; model.json's weight manifest against the files; the spec's size
 * against the declared bytes; the SHA-256 of the weights; then the model built from the spec
 * against model.json's topology and manifest. Returns the model holding the checkpoint's weights.
 */
function openCheckpoint(dir: string): {
  model: tfl.LayersModel;
  meta: CheckpointMeta;
  files: ModelFiles;
  weights: Uint8Array;
} {
  const meta = readCheckpointMeta(dir);
  const files = readModelFiles(dir);
  const need = specParamCount(meta.spec) * DTYPE_BYTES.float32;
  if (!(need <= files.bytes)) {
    throw new UsageError(
      files.file,
      `declares ${files.bytes} bytes of weights but the spec in ${METADATA_FILE} (${meta.spec.arch}) needs ${need}`,
    );
  }
  const weights = readWeightBytes(files);
  if (sha256(weights) !== meta.weightsSha256) {
    throw new UsageError(
      path.join(dir, WEIGHTS_FILE),
      `SHA-256 differs from ${METADATA_FILE} (corrupt or replaced weights)`,
    );
  }
  const model = buildFromSpec(meta, files, path.join(dir, METADATA_FILE));
  try {
    const named = tf.io.decodeWeights(weights.buffer as ArrayBuffer, files.weightSpecs);
    try {
      // A model with NaN or infinite weights is of no use and must not pass for a checkpoint.
      for (const [name, t] of Object.entries(named)) {
        const problem = tensorProblem(name, t.dataSync() as Float32Array);
        if (problem) throw new UsageError(path.join(dir, WEIGHTS_FILE), problem);
      }
      tf.tidy(() => model.setWeights(model.weights.map((v) => named[v.originalName])));
    } finally {
      for (const t of Object.values(named)) t.dispose();
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  attachSpec(model, meta.spec);
  return { model, meta, files, weights };
}

/** Load a checkpoint written by `saveCheckpoint`, with every check `openCheckpoint` runs. */
export async function loadCheckpoint(
  dir: string,
): Promise<{ model: tfl.LayersModel; meta: CheckpointMeta }> {
  const { model, meta } = openCheckpoint(dir);
  return { model, meta };
}

/** Run every check `loadCheckpoint` runs, then free the model (for `uib verify`). */
export function checkCheckpoint(dir: string): CheckpointMeta {
  const { model, meta } = openCheckpoint(dir);
  model.dispose();
  return meta;
}

/**
 * What `fileHandler(dir).load()` hands tfjs. For a uib checkpoint (metadata.json present) every
 * check of `loadCheckpoint` runs first and tfjs gets the topology built from the spec. A bare tfjs
 * directory (no metadata.json) gets the weight-manifest checks only; its topology goes to tfjs
 * unchecked, as tfjs's own loaders would pass it.
 */
function readArtifacts(dir: string): tf.io.ModelArtifacts {
  let files: ModelFiles;
  let weights: Uint8Array;
  let topology: unknown;
  if (fs.existsSync(path.join(dir, METADATA_FILE))) {
    const opened = openCheckpoint(dir);
    ({ files, weights } = opened);
    topology = opened.model.toJSON(null, false);
    opened.model.dispose();
  } else {
    files = readModelFiles(dir);
    weights = readWeightBytes(files);
    topology = files.topology;
  }
  return {
    modelTopology: topology as tf.io.ModelArtifacts['modelTopology'],
    format: typeof files.json.format === 'string' ? files.json.format : undefined,
    weightSpecs: files.weightSpecs,
    weightData: weights.buffer as ArrayBuffer,
  };
}
