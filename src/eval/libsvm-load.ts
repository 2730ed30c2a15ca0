/**
 * The real libsvm (v3.22, npm `libsvm-js`: an emscripten build of the C++ library that
 * scikit-learn's `SVC` also wraps). This module only loads it: on Node the WebAssembly build
 * through require; in a page libsvm-js's own browser build (asm.js: the same libsvm, no .wasm to
 * fetch).
 *
 * Two quirks of that old emscripten build are neutralised here:
 * - it registers a process-wide `unhandledRejection` listener that silently calls `exit(1)`; we
 *   remove every listener it added, so uib's own error handling stays in charge;
 * - it tries `WebAssembly.instantiateStreaming(fetch(path))`, which fails on Node and prints a
 *   warning before falling back to reading the file; hiding `instantiateStreaming` while the module
 *   initialises sends it straight to the file read.
 */
import type * as NodeModule from 'node:module';
import { nodeBuiltin } from '../core/node-builtin.ts';

/** The part of libsvm-js's `SVM` class uib uses. */
export interface LibsvmSvm {
  train(samples: number[][], labels: number[]): void;
  predict(samples: number[][]): number[];
  getLabels(): number[];
  getSVIndices(): number[];
  serializeModel(): string;
  free(): void;
}
export interface LibsvmClass {
  new (options: Record<string, unknown>): LibsvmSvm;
  SVM_TYPES: { C_SVC: string };
  KERNEL_TYPES: { RBF: string };
}

let loading: Promise<LibsvmClass> | null = null;

export function loadLibsvm(): Promise<LibsvmClass> {
  const nodeModule = nodeBuiltin<typeof NodeModule>('node:module');
  if (!loading && !nodeModule) {
    // @ts-expect-error libsvm-js ships no types
    loading = import('libsvm-js/dist/browser/asm/libsvm.js').then(
      (m: { default: LibsvmClass }) => m.default,
    );
  }
  if (!loading && nodeModule) {
    const require = nodeModule.createRequire(import.meta.url);
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
  return loading as Promise<LibsvmClass>;
}
