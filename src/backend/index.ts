/**
 * Compute backends. The only module that picks a tfjs backend; everything else calls
 * `initBackend()` once and then uses tfjs ops.
 *
 *   wasm        default on Node (XNNPACK); uib registers the kernels tfjs-wasm lacks for training
 *   cpu         pure-JS fallback, the reference the other backends are tested against
 *   webgpu      optional: npm `webgpu` (Dawn) + `@tensorflow/tfjs-backend-webgpu`, when a GPU adapter exists
 *   tensorflow  optional: only if the user installed `@tensorflow/tfjs-node` (never required)
 */
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../core/errors.ts';

export const BACKENDS = ['wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKENDS)[number];

export function parseBackendName(value: string, where = '--backend'): BackendName {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw new UsageError(where, `unknown backend "${value}"; must be one of ${BACKENDS.join(', ')}`);
}

/** Initialise and select a backend: `name`, else $UIB_BACKEND, else wasm. Returns the name in use. */
export async function initBackend(name?: string): Promise<BackendName> {
  const chosen = parseBackendName(
    name ?? process.env.UIB_BACKEND ?? 'wasm',
    name ? '--backend' : 'UIB_BACKEND',
  );
  if (tf.getBackend() === chosen) return chosen;
  switch (chosen) {
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm');
      break;
    }
    default:
      throw new UsageError('--backend', `backend "${chosen}" is not wired yet`);
  }
  const ok = await tf.setBackend(chosen);
  if (!ok) throw new UsageError('--backend', `backend "${chosen}" failed to initialise`);
  await tf.ready();
  return chosen;
}
