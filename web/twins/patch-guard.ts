/**
 * Browser twin of src/backend/patch-guard.ts. A bundle's ES module namespaces are frozen, so
 * uib's run-time replacements of tfjs functions (fused.conv2d, moments) cannot be installed in a
 * page: only the kernels tfjs-wasm lacks (which replace nothing) are registered, as on Node when
 * the guard refuses the patches. Same numbers, stock speed.
 */
export const PATCHED_FOR = '4.22.0';
export const patchProblem = (): string | null => 'a browser bundle cannot replace tfjs functions';
export const patchesAllowed = (): boolean => false;
