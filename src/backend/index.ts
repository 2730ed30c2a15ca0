/**
 * Compute backends. The only module that picks a tfjs backend; everything else calls
 * `initBackend()` once and then uses tfjs ops.
 *
 *   wasm        default on Node (XNNPACK); uib registers the kernels tfjs-wasm lacks for training,
 *               and native ones (OpenBLAS, UIB_THREADS threads) over them when `npm ci` built
 *               native/ (./native/addon.ts; UIB_NATIVE=0 turns them off)
 *   cpu         pure-JS fallback, the reference the other backends are tested against
 *   webgpu      optional: npm `webgpu` (Dawn) + `@tensorflow/tfjs-backend-webgpu`, when a GPU adapter exists
 *   tensorflow  optional: only if the user installed `@tensorflow/tfjs-node` (never required)
 */
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../core/errors.ts';
import { registerNativeRoute } from './native/route.ts';

export { nativeUnavailableReason } from './native/addon.ts';
export { nativeKernelsActive } from './wasm/kernels.ts';

export const BACKENDS = ['wasm', 'cpu', 'webgpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKENDS)[number];

export function parseBackendName(value: string, where = '--backend'): BackendName {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw new UsageError(where, `unknown backend "${value}"; must be one of ${BACKENDS.join(', ')}`);
}

/**
 * Initialise and select a backend: `name`, else $UIB_BACKEND, else wasm. Returns the name in use.
 * A backend whose package or device is missing fails with a UsageError that says what to install.
 */
export async function initBackend(name?: string): Promise<BackendName> {
  const where = name !== undefined ? '--backend' : 'UIB_BACKEND';
  const env = process.env.UIB_BACKEND;
  const chosen = parseBackendName(name ?? (env === undefined || env === '' ? 'wasm' : env), where);
  // engine().backendName, not getBackend(): the latter would start a backend of its own choosing.
  if (tf.engine().backendName === chosen) return chosen;
  // tfjs-core's Node bundle registers no gradients; tfjs-layers' bundle registers them all.
  await import('@tensorflow/tfjs-layers');
  switch (chosen) {
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      // Before the first use: the stock wasm backend cannot train a CNN (see ./wasm/kernels.ts).
      registerNativeRoute();
      break;
    case 'webgpu':
      await loadWebgpu(where);
      break;
    case 'tensorflow':
      await loadTfjsNode(where);
      break;
  }
  const ok = await tf.setBackend(chosen);
  if (!ok) throw new UsageError(where, `backend "${chosen}" failed to initialise`);
  await tf.ready();
  return chosen;
}

/** Names of the backends that `initBackend` can start on this machine, and why the others cannot. */
export async function probeBackends(): Promise<
  Record<BackendName, { ok: true } | { ok: false; reason: string }>
> {
  const out = {} as Record<BackendName, { ok: true } | { ok: false; reason: string }>;
  for (const b of BACKENDS) {
    try {
      if (b === 'webgpu') await loadWebgpu('webgpu');
      else if (b === 'tensorflow') await loadTfjsNode('tensorflow');
      out[b] = { ok: true };
    } catch (e) {
      out[b] = { ok: false, reason: e instanceof Error ? e.message : String(e) };
    }
  }
  return out;
}

/**
 * Imports an optional package, or fails with a UsageError that names it and how to install it.
 * The name goes through a variable so that neither tsc nor a bundler ever requires the package.
 */
export async function importOptionalPackage(
  pkg: string,
  where: string,
  purpose: string,
  install = `npm install ${pkg}`,
): Promise<Record<string, unknown>> {
  try {
    return (await import(pkg)) as Record<string, unknown>;
  } catch (e) {
    // Only the package itself missing means "not installed"; a broken install is a fault.
    const code = (e as { code?: string }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    if (missing && String((e as Error).message).includes(`'${pkg}'`)) {
      throw new UsageError(
        where,
        `${purpose} needs the npm package "${pkg}", which is not installed (${install})`,
      );
    }
    throw e;
  }
}

let webgpuAdapterFound = false;

async function loadWebgpu(where: string): Promise<void> {
  if (webgpuAdapterFound) return;
  const dawn = await importOptionalPackage('webgpu', where, 'backend "webgpu"');
  // As the `webgpu` package documents: its globals (GPUBufferUsage, …) and a navigator.gpu.
  const { create, globals } = dawn as { create: (flags: string[]) => GPULike; globals: object };
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const adapter = await gpu.requestAdapter();
  if (adapter === null || adapter === undefined) {
    throw new UsageError(where, 'backend "webgpu": no GPU adapter was found on this machine');
  }
  const g = globalThis as { navigator?: { gpu?: GPULike } };
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu },
      configurable: true,
      writable: true,
    });
  } else if (g.navigator.gpu === undefined) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  // The tfjs backend registers itself only when navigator.gpu exists at import time.
  await importOptionalPackage(
    '@tensorflow/tfjs-backend-webgpu',
    where,
    'backend "webgpu"',
    'npm install @tensorflow/tfjs-backend-webgpu@4.22.0',
  );
  webgpuAdapterFound = true;
}

interface GPULike {
  requestAdapter(): Promise<unknown>;
}

async function loadTfjsNode(where: string): Promise<void> {
  // An optional peer: uib never installs it (it has no prebuilt binary for every machine).
  await importOptionalPackage(
    '@tensorflow/tfjs-node',
    where,
    'backend "tensorflow"',
    'npm install @tensorflow/tfjs-node@4.22.0',
  );
}
