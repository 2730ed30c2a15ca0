/**
 * Save a tfjs-layers model as tfjs's standard file handler does (tfjs-node's `file://`):
 * DIR/model.json (topology, `format: "layers-model"`, a weights manifest naming `weights.bin`)
 * and DIR/weights.bin. Node has no file handler without tfjs-node, so this is one over fs: the
 * result loads with a plain `tf.loadLayersModel` and any fs-backed handler, or in a browser from
 * a server, with no uib code. Both files are written atomically (temp file, fsync, rename).
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../core/atomic.ts';
import { sha256 } from '../core/hash.ts';

export const LAYERS_MODEL_JSON = 'model.json';
export const LAYERS_WEIGHTS_BIN = 'weights.bin';

export interface SavedLayersModel {
  /** model.json and weights.bin as written, with their sizes and SHA-256. */
  files: { name: string; bytes: number; sha256: string }[];
}

/** Write `model` to `dir` (created if missing) as model.json + weights.bin; overwrites both. */
export async function saveLayersModelFile(
  model: tfl.LayersModel,
  dir: string,
): Promise<SavedLayersModel> {
  let saved: SavedLayersModel | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const weights = new Uint8Array(
        a.weightData instanceof ArrayBuffer
          ? a.weightData
          : tf.io.concatenateArrayBuffers(a.weightData as ArrayBuffer[]),
      );
      const json = `${JSON.stringify({
        modelTopology: a.modelTopology,
        format: a.format ?? 'layers-model',
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy ?? null,
        weightsManifest: [{ paths: [LAYERS_WEIGHTS_BIN], weights: a.weightSpecs ?? [] }],
      })}\n`;
      const jsonBytes = Buffer.from(json, 'utf8');
      // Weights first: a model.json never names a weights.bin that is not complete.
      writeFileAtomic(path.join(dir, LAYERS_WEIGHTS_BIN), weights);
      writeFileAtomic(path.join(dir, LAYERS_MODEL_JSON), jsonBytes);
      saved = {
        files: [
          { name: LAYERS_MODEL_JSON, bytes: jsonBytes.length, sha256: sha256(jsonBytes) },
          { name: LAYERS_WEIGHTS_BIN, bytes: weights.length, sha256: sha256(weights) },
        ],
      };
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  return saved!;
}
