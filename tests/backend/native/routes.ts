/**
 * The routes the native-kernel tests run on: the wasm kernels alone, and, when the addon is built,
 * the native kernels with 1 and with 2 threads. Registers a note-test when the addon is absent and
 * restores the native kernels and the thread count from the environment after the file.
 */
import { after, test } from 'node:test';
import {
  nativeAddon,
  nativeUnavailableReason,
  threadsFromEnv,
} from '../../../src/backend/native/addon.ts';
import { useNativeKernels } from '../../../src/backend/native/route.ts';

export type Route = { name: string; native: boolean; threads: number };

export function nativeRoutes() {
  const addon = nativeAddon();
  const routes: Route[] = [
    { name: 'wasm', native: false, threads: 1 },
    ...(addon === undefined
      ? []
      : [
          { name: 'native, 1 thread', native: true, threads: 1 },
          { name: 'native, 2 threads', native: true, threads: 2 },
        ]),
  ];
  if (addon === undefined)
    test(`native addon absent (${nativeUnavailableReason()}): wasm route only`, () => {});
  after(() => {
    useNativeKernels(true);
    addon?.setThreads(threadsFromEnv());
  });
  return { addon, routes };
}
