/**
 * Browser twin of src/eval/libsvm-load.ts: libsvm-js's own browser build (asm.js, no .wasm fetch),
 * the same libsvm 3.22 as Node's wasm build.
 */

// @ts-expect-error libsvm-js ships no types
import svm from 'libsvm-js/dist/browser/asm/libsvm.js';
import type { LibsvmClass } from '../../src/eval/libsvm-load.ts';

export function loadLibsvm(): Promise<LibsvmClass> {
  return Promise.resolve(svm as LibsvmClass);
}
