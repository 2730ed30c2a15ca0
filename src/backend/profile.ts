/**
 * Time per kernel: wraps every kernel registered for a synchronous backend (wasm, cpu) so that each
 * call adds its wall time to a per-kernelName total. Nested calls through the kernel registry are
 * counted once, at the outermost kernel (a uib kernel that runs stock kernels directly is charged
 * their time too). Time outside all kernels (tape, gradients bookkeeping, JS) is the remainder of
 * the step's wall time.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelTime {
  kernelName: string;
  calls: number;
  ms: number;
}

export interface KernelProfile {
  /** Per kernel, largest total first; times are per profiled step. */
  kernels: KernelTime[];
  stepMs: number;
  kernelMs: number;
}

/**
 * Runs `step` `steps` times with every `backendName` kernel timed, and returns the totals per step.
 * The original kernels are registered again before it returns (even when `step` throws).
 */
export function profileKernels(backendName: string, step: () => void, steps = 3): KernelProfile {
  const originals = tf.getKernelsForBackend(backendName);
  const totals = new Map<string, { calls: number; ms: number }>();
  let depth = 0;
  const wrap = (config: tf.KernelConfig): tf.KernelConfig => ({
    ...config,
    kernelFunc: (args) => {
      if (depth > 0) return config.kernelFunc(args);
      depth++;
      const t0 = performance.now();
      try {
        return config.kernelFunc(args);
      } finally {
        depth--;
        const entry = totals.get(config.kernelName) ?? { calls: 0, ms: 0 };
        entry.calls++;
        entry.ms += performance.now() - t0;
        totals.set(config.kernelName, entry);
      }
    },
  });
  const reregister = (configs: tf.KernelConfig[]) => {
    for (const c of configs) {
      tf.unregisterKernel(c.kernelName, backendName);
      tf.registerKernel(c);
    }
  };
  reregister(originals.map(wrap));
  let stepMs = 0;
  try {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) step();
    stepMs = (performance.now() - t0) / steps;
  } finally {
    reregister(originals);
  }
  const kernels = [...totals.entries()]
    .map(([kernelName, { calls, ms }]) => ({ kernelName, calls: calls / steps, ms: ms / steps }))
    .sort((a, b) => b.ms - a.ms);
  return { kernels, stepMs, kernelMs: kernels.reduce((s, k) => s + k.ms, 0) };
}
