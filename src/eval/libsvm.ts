/**
 * The real libsvm (v3.22, npm `libsvm-js`: an emscripten WebAssembly build of the C++ library that
 * scikit-learn's `SVC` also wraps). Loaded once, lazily; the rest of uib sees only `trainSvc`.
 * (Its loading, and the quirks of that build neutralised there: ./libsvm-load.ts.)
 */
import { loadLibsvm } from './libsvm-load.ts';

export { loadLibsvm };

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
