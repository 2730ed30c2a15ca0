/**
 * The native route on Node: the addon's kernels over the wasm backend's (../wasm/kernels.ts takes
 * them as an overlay) and the core's fast paths (../accel.ts: the fused optimiser step, the
 * per-example conv Fisher). `initBackend` registers it on each switch to wasm; UIB_NATIVE=0 (or a
 * missing addon) leaves the wasm kernels alone and the core on its tfjs ops.
 */
import { installAccelerations } from '../accel.ts';
import { patchesAllowed } from '../patch-guard.ts';
import { registerWasmKernels } from '../wasm/kernels.ts';
import { nativeAddon } from './addon.ts';
import { installBatchNorm } from './batch-norm.ts';
import { nativeConvSquaredGrad } from './conv-squared-grad.ts';
import { NATIVE_KERNELS } from './kernels.ts';
import { nativeMatmul64, nativeSymmetricEigen } from './linalg.ts';
import { nativeOptimizerStep } from './optimizer.ts';

let wanted = true;

/**
 * Registers uib's wasm kernels, with the native ones over them when the addon is available and
 * not switched off (`useNativeKernels(false)`); idempotent.
 */
export function registerNativeRoute(): void {
  const addon = wanted && patchesAllowed() ? nativeAddon() : undefined;
  registerWasmKernels(
    addon ? { addon, kernels: NATIVE_KERNELS, install: installBatchNorm } : undefined,
  );
  installAccelerations(
    addon
      ? {
          optimizerStep: nativeOptimizerStep,
          convSquaredGrad: nativeConvSquaredGrad,
          symmetricEigen: nativeSymmetricEigen,
          matmul64: nativeMatmul64,
        }
      : null,
  );
}

/**
 * Chooses the route for every later registration (initBackend re-registers on each switch to
 * wasm) and re-registers now: native kernels over the wasm ones when `on` and the addon is
 * available, else the wasm kernels alone. For tests and benchmarks that compare the two routes.
 */
export function useNativeKernels(on: boolean): void {
  wanted = on;
  registerNativeRoute();
}
