/**
 * The unlearned model as the two files `model.save` writes (model.json + weights.bin, loadable by
 * plain `tf.loadLayersModel`), and the deletion record, both built in memory for a download.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { tf } from '../src/browser.ts';
import { sha256 } from '../src/core/hash.ts';
import type { RunConfig, RunResult } from './run.ts';

export async function modelFiles(
  model: LayersModel,
): Promise<{ modelJson: string; weights: ArrayBuffer }> {
  let out: { modelJson: string; weights: ArrayBuffer } | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const json = {
        modelTopology: a.modelTopology,
        format: 'layers-model',
        generatedBy: 'uib (browser)',
        weightsManifest: [{ paths: ['./weights.bin'], weights: a.weightSpecs }],
      };
      out = { modelJson: JSON.stringify(json), weights: a.weightData as ArrayBuffer };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

function weightsHash(m: LayersModel): string {
  const flat = tf.tidy(() => tf.concat(m.getWeights().map((w) => tf.reshape(w, [-1]))));
  const bytes = new Uint8Array(flat.dataSync().buffer);
  flat.dispose();
  return sha256(bytes);
}

/** What was forgotten, how, and the evidence: the page's deletion record. */
export function deletionRecord(
  cfg: RunConfig,
  r: RunResult,
  original: LayersModel,
  model: LayersModel,
) {
  return {
    kind: 'uib-browser-deletion-record',
    request: cfg.forget,
    method: cfg.method,
    seed: cfg.seed,
    backend: r.backend,
    counts: r.counts,
    weightsSha256: { original: weightsHash(original), unlearned: weightsHash(model) },
    evidence: { before: r.before, after: r.after, seconds: r.seconds },
  };
}
