/**
 * The real libsvm (v3.22, npm `libsvm-js`: an emscripten WebAssembly build of the C++ library that
 * scikit-learn's `SVC` also wraps). Loaded once, lazily; the rest of uib sees only `trainSvc`.
 *
 * Two quirks of that old emscripten build are neutralised here:
 * - it registers a process-wide `unhandledRejection` listener that silently calls `exit(1)`; we
 *   remove every listener it added, so uib's own error handling stays in charge;
 * - it tries `WebAssembly.instantiateStreaming(fetch(path))`, which fails on Node and prints a
 *   warning before falling back to reading the file; hiding `instantiateStreaming` while the module
 *   initialises sends it straight to the file read.
 */
import { createRequire } from 'node:module';

/** The part of libsvm-js's `SVM` class uib uses. */
interface LibsvmSvm {
  train(samples: number[][], labels: number[]): void;
  predict(samples: number[][]): number[];
  getLabels(): number[];
  getSVIndices(): number[];
  serializeModel(): string;
  free(): void;
}
interface LibsvmClass {
  new (options: Record<string, unknown>): LibsvmSvm;
  SVM_TYPES: { C_SVC: string };
  KERNEL_TYPES: { RBF: string };
}

let loading: Promise<LibsvmClass> | null = null;

export function loadLibsvm(): Promise<LibsvmClass> {
  if (!loading) {
    const require = createRequire(import.meta.url);
    const before = new Set(process.listeners('unhandledRejection'));
    const wasm = WebAssembly as unknown as Record<string, unknown>;
    const streaming = wasm.instantiateStreaming;
    wasm.instantiateStreaming = undefined;
    try {
      loading = (require('libsvm-js') as Promise<LibsvmClass>).finally(() => {
        wasm.instantiateStreaming = streaming;
      });
    } catch (e) {
      wasm.instantiateStreaming = streaming;
      throw e;
    } finally {
      for (const l of process.listeners('unhandledRejection')) {
        if (!before.has(l)) process.off('unhandledRejection', l);
      }
    }
  }
  return loading;
}

export interface SvcOptions {
  /** Penalty C of the C-SVC (Jia et al. use 3). */
  C: number;
  /** RBF width γ in exp(−γ‖x − x'‖²); default 1 / n_features (scikit-learn's `gamma='auto'`). */
  gamma?: number;
}

/** A trained RBF C-SVC. Call `free()` when done: its memory lives in the wasm heap, not the JS GC. */
export interface TrainedSvc {
  predict(samples: number[][]): number[];
  /** libsvm's own text form of the model (support vectors, coefficients, rho, label order). */
  serialize(): string;
  free(): void;
}

/** Train an RBF C-SVC on `samples` (rows of features) with integer `labels`. */
export async function trainSvc(
  samples: number[][],
  labels: number[],
  opts: SvcOptions,
): Promise<TrainedSvc> {
  const SVM = await loadLibsvm();
  const nFeatures = samples[0]?.length ?? 1;
  const svm = new SVM({
    type: SVM.SVM_TYPES.C_SVC,
    kernel: SVM.KERNEL_TYPES.RBF,
    cost: opts.C,
    gamma: opts.gamma ?? 1 / nFeatures,
    quiet: true,
  });
  svm.train(samples, labels);
  return {
    predict: (xs) => svm.predict(xs),
    serialize: () => svm.serializeModel(),
    free: () => svm.free(),
  };
}
