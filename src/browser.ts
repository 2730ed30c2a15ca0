/**
 * uib for the browser (`uib/browser`): the core — data views, models, the training loop, every
 * unlearning method, the metrics — with no Node built-in reachable, plus a backend picker for
 * browsers (webgpu when the browser has it, else webgl, else wasm; cpu on request). File loaders,
 * the native addon and the CLI stay behind the Node entry (`uib`). scripts/web-build.mjs bundles
 * this file and fails if anything here pulls in a Node built-in.
 */
import * as tf from '@tensorflow/tfjs-core';

export { DivergenceError, UsageError } from './core/errors.ts';
export { Rng, rngFor } from './core/rng.ts';
export { CORRUPTIONS, corruptSample } from './data/corruptions/index.ts';
export {
  type DataSource,
  Dataset,
  datasetFromArrays,
  type Features,
  type Labels,
} from './data/dataset.ts';
export { type Inflate, parseIdxImages, parseIdxLabels } from './data/idx-parse.ts';
export type { BuildContext } from './data/scenarios/common.ts';
export { materialisePatterned, planPatterned } from './data/scenarios/patterned.ts';
export { balancedSubset } from './data/subset.ts';
export {
  type BytesFile,
  type BytesOptions,
  checkSize,
  idxPairFromBytes,
  imageSetFromBytes,
  npyPairFromBytes,
  npzFromBytes,
  streamInflate,
  withStreamInflate,
} from './data/user/from-bytes.ts';
export type { FileDigest, UserDataset, UserSource } from './data/user/types.ts';
export { accuracy, perClassAccuracy } from './eval/accuracy.ts';
export { type EvalRecord, evaluateAll } from './eval/evaluate.ts';
export { predictSet } from './eval/predict.ts';
export { METRIC_IDS, METRICS } from './eval/registry.ts';
export type { EvalInput, EvalSets, MetricValue, SetPredictions } from './eval/types.ts';
export { checkSupported, describeModel } from './models/describe.ts';
export { buildModel, cloneModel, type ModelSpec } from './models/index.ts';
export { checkLayersModelJson, layerEntries } from './models/user-model-json.ts';
export { defaultRecipe, trainModel } from './train/train.ts';
export type { TrainRecipe } from './train/types.ts';
export { getMethod, listMethods, parseParams, unlearn } from './unlearn/registry.ts';
export type { UnlearnMethod, UnlearnResult } from './unlearn/types.ts';

export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BrowserBackend = (typeof BROWSER_BACKENDS)[number];

/**
 * Start a backend in the browser: `name`, or the first of webgpu, webgl, wasm that starts here.
 * `wasmPath` is where tfjs-wasm's .wasm files are served (the page serves them beside the bundle).
 */
export async function initBrowserBackend(
  name?: BrowserBackend,
  wasmPath = './',
): Promise<BrowserBackend> {
  // tfjs-layers registers the gradients every training step needs.
  await import('@tensorflow/tfjs-layers');
  const order: BrowserBackend[] = name ? [name] : ['webgpu', 'webgl', 'wasm'];
  const problems: string[] = [];
  for (const b of order) {
    if (tf.engine().backendName === b) return b;
    try {
      if (b === 'webgpu') {
        if (!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
          problems.push('webgpu: this browser has no navigator.gpu');
          continue;
        }
        await import('@tensorflow/tfjs-backend-webgpu');
      } else if (b === 'webgl') {
        await import('@tensorflow/tfjs-backend-webgl');
      } else if (b === 'wasm') {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        wasm.setWasmPaths(wasmPath);
        const { registerWasmKernels } = await import('./backend/wasm/kernels.ts');
        registerWasmKernels();
      } else {
        await import('@tensorflow/tfjs-backend-cpu');
      }
      if (await tf.setBackend(b)) {
        await tf.ready();
        return b;
      }
      problems.push(`${b}: failed to initialise`);
    } catch (e) {
      problems.push(`${b}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new Error(`no tfjs backend started in this browser (${problems.join('; ')})`);
}

export { tf };
