/**
 * Models uib did not build: a tfjs-layers model as `tf.LayersModel.save` writes it with the
 * standard file handler (DIR/model.json + DIR/weights.bin), or as the Keras converter writes it
 * (`format: "layers-model"`, `modelTopology.model_config`, `group1-shard1of1.bin`...), Sequential
 * or functional. Node has no file:// handler without tfjs-node, so `layersModelFileHandler` is
 * one over fs, every read through core/read.ts.
 *
 * Checked before tfjs builds anything: model.json is a capped JSON file; a graph model is refused
 * (tfjs cannot train one); every layer class is one `checkSupported` allows (all faults named at
 * once); every weight path stays beside model.json; dtypes are float32/int32, not quantised; the
 * weight files hold exactly the bytes the manifest declares. Then tfjs builds the model from the
 * topology and loads the weights by name (strict), and the built model is checked again
 * (`checkSupported`, finite weights). Every refusal is a one-line UsageError naming the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../core/errors.ts';
import { GiB, MiB, readFileChecked, readJsonChecked } from '../core/read.ts';
import { checkSupported } from './describe.ts';
import { checkLayersModelJson } from './user-model-json.ts';
import { modelWeightsProblem } from './weight-guard.ts';
import { type CheckedManifest, checkWeightsManifest } from './weights-manifest.ts';

/** A Keras model.json with a large weight manifest stays far below this. */
export const LAYERS_MODEL_JSON_MAX_BYTES = 32 * MiB;
/** Largest total of weight files accepted (tfjs-wasm's heap is 4 GiB at most). */
export const LAYERS_MODEL_WEIGHTS_MAX_BYTES = 2 * GiB;

/** model.json's path: `p` itself, or `p/model.json` for a directory. */
function modelJsonPath(p: string): string {
  try {
    if (fs.statSync(p).isDirectory()) return path.join(p, 'model.json');
  } catch {
    // A missing path: the read below says so.
  }
  return p;
}

/** The weight manifest against the files beside model.json; nothing allocated for the weights. */
function checkManifest(file: string, manifest: unknown): CheckedManifest {
  return checkWeightsManifest(file, manifest, {
    what: "the model's directory",
    maxBytes: LAYERS_MODEL_WEIGHTS_MAX_BYTES,
    defaultDtype: 'float32',
  });
}

/** model.json checked and its weights read: what a tfjs IOHandler's `load` returns. */
function readLayersArtifacts(file: string): tf.io.ModelArtifacts {
  const raw = readJsonChecked(file, {
    maxBytes: LAYERS_MODEL_JSON_MAX_BYTES,
    what: 'a tfjs model.json',
  });
  const { topology } = checkLayersModelJson(raw, file);
  const json = raw as Record<string, unknown>;
  const m = checkManifest(file, json.weightsManifest);
  const data = new Uint8Array(m.bytes);
  let offset = 0;
  for (const f of m.files) {
    data.set(
      readFileChecked(f.file, {
        maxBytes: f.bytes,
        expectBytes: f.bytes,
        within: path.dirname(path.resolve(file)),
      }),
      offset,
    );
    offset += f.bytes;
  }
  // The training config (optimizer, loss) is not handed on: uib trains with its own losses, and
  // an optimizer tfjs does not know would stop the load.
  const modelTopology = { ...topology };
  delete modelTopology.training_config;
  return {
    modelTopology,
    format: 'layers-model',
    generatedBy: typeof json.generatedBy === 'string' ? json.generatedBy : undefined,
    convertedBy: typeof json.convertedBy === 'string' ? json.convertedBy : undefined,
    weightSpecs: m.weightSpecs,
    weightData: data.buffer as ArrayBuffer,
  };
}

/**
 * A tfjs IOHandler reading a layers model from `model.json` (or a directory holding one) with
 * every check of this module: `tf.loadLayersModel(layersModelFileHandler(p))`.
 */
export function layersModelFileHandler(p: string): tf.io.IOHandler {
  const file = modelJsonPath(p);
  return { load: async () => readLayersArtifacts(file) };
}

/**
 * Load a tfjs-layers model saved by `model.save` (model.json + weights.bin) or converted from
 * Keras, from `p` (model.json, or its directory). The model is checked for what uib can unlearn;
 * its output may be logits, a softmax, or one sigmoid unit (describeModel).
 */
export async function loadLayersModelFile(p: string): Promise<tfl.LayersModel> {
  const file = modelJsonPath(p);
  const handler = layersModelFileHandler(file);
  const artifacts = await handler.load!();
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel({ load: async () => artifacts }, { strict: true });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new UsageError(file, `tfjs cannot build the model from it (${msg})`);
  }
  try {
    checkSupported(model, file);
    const problem = modelWeightsProblem(model);
    if (problem) throw new UsageError(file, `${problem}; nothing can be unlearned from it`);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
