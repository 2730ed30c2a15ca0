/**
 * The unlearned model as the two files `model.save` writes (model.json + weights.bin, loadable by
 * plain `tf.loadLayersModel`), and the deletion record, both built in memory for a download.
 *
 * The record (format `uib-deletion-record/browser-1`) follows the own-model record's fields where
 * they apply (src/unlearn/own-record.ts: files as {name, bytes, sha256}, method, params, seed,
 * request parts and counts). Its hashes are of the files exactly as the page offers them for
 * download, so `sha256sum model.json weights.bin` reproduces them (docs/browser.md).
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { getMethod, parseParams, tf } from '../src/browser.ts';
import { sha256 } from '../src/core/hash.ts';
import type { PageData, RunConfig, RunResult } from './run.ts';

export const PAGE_RECORD_FORMAT = 'uib-deletion-record/browser-1';

/** A model's two files, as downloaded. */
export interface ModelFiles {
  modelJson: string;
  weights: ArrayBuffer;
}

export interface FileHash {
  name: string;
  bytes: number;
  sha256: string;
}

/** `weightsName`: the weights file's name in model.json's manifest, the name it downloads as. */
export async function modelFiles(
  model: LayersModel,
  weightsName = 'weights.bin',
): Promise<ModelFiles> {
  let out: ModelFiles | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const json = {
        modelTopology: a.modelTopology,
        format: 'layers-model',
        generatedBy: 'uib (browser)',
        weightsManifest: [{ paths: [`./${weightsName}`], weights: a.weightSpecs }],
      };
      // tfjs ≥ 4.13 may hand the weights over in parts; the file is their concatenation.
      const data = a.weightData!;
      const weights = Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data;
      out = { modelJson: JSON.stringify(json), weights };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/** The two files as the download links write them (a string's Blob is its UTF-8), by those names. */
export function fileHashes(files: ModelFiles, prefix = ''): FileHash[] {
  const json = new TextEncoder().encode(files.modelJson);
  const weights = new Uint8Array(files.weights);
  return [
    { name: `${prefix}model.json`, bytes: json.length, sha256: sha256(json) },
    { name: `${prefix}weights.bin`, bytes: weights.length, sha256: sha256(weights) },
  ];
}

/** What the run trained on: the served MNIST subset, or the user's dropped files. */
export interface DataRef {
  name: string;
  format: string;
  /** The files read, as stored. */
  files: FileHash[];
  /** The user-data loader's SHA-256 over `files` (src/data/user/types.ts); null for MNIST. */
  sha256: string | null;
  n: number;
  sampleShape: number[];
  numClasses: number;
  /** How the test set was made. */
  test: string;
}

/** `served`: the MNIST subset's file as fetched and its number of training images. */
export function dataRef(
  data: PageData | undefined,
  served: { bytes: Uint8Array; n: number } | null,
): DataRef {
  if (!data)
    return {
      name: 'mnist-subset.bin',
      format: 'mnist-subset',
      files: served
        ? [{ name: 'mnist-subset.bin', bytes: served.bytes.length, sha256: sha256(served.bytes) }]
        : [],
      sha256: null,
      n: served?.n ?? 0,
      sampleShape: [28, 28, 1],
      numClasses: 10,
      test: 'the MNIST test images of mnist-subset.bin',
    };
  return {
    name: data.name,
    format: data.format,
    files: data.files.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 })),
    sha256: data.sha256,
    n: data.y.length,
    sampleShape: data.sampleShape,
    numClasses: data.numClasses,
    test: 'a held-out 20 % of each class, chosen by the seed',
  };
}

/** What was forgotten, how, and the evidence: the page's deletion record. */
export function deletionRecord(
  cfg: RunConfig,
  r: RunResult,
  files: { original: ModelFiles; unlearned: ModelFiles },
  data: DataRef,
) {
  const f = cfg.forget;
  const ids = r.forgetIds;
  const part =
    f.kind === 'class'
      ? { kind: 'class', class: f.cls, count: r.counts.forget, ids }
      : f.kind === 'samples'
        ? { kind: 'ids', count: r.counts.forget, ids }
        : {
            kind: 'pattern',
            corruption: f.corruption,
            class: f.biasClass,
            count: r.counts.forget,
            ids,
          };
  return {
    format: PAGE_RECORD_FORMAT,
    method: cfg.method,
    /** The hyper-parameters after validation (defaults filled in), as the run used them. */
    params: parseParams(getMethod(cfg.method), cfg.params ?? {}),
    seed: cfg.seed,
    backend: r.backend,
    /** The model before forgetting: its links download as original-model.json + original-weights.bin. */
    original: { files: fileHashes(files.original, 'original-') },
    unlearned: { files: fileHashes(files.unlearned) },
    data,
    request: {
      parts: [part],
      counts: { train: r.counts.train, forget: r.counts.forget, retain: r.counts.retain },
    },
    test: { n: r.counts.test },
    evidence: { before: r.before, after: r.after, seconds: r.seconds },
  };
}
