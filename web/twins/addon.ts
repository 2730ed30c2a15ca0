/** Browser twin of src/backend/native/addon.ts: a page has no native addon, so the wasm kernels run. */
export type NativeAddon = import('../../src/backend/native/addon.ts').NativeAddon;
export type NativeBlas = 'openblas' | 'builtin';
export const nativeAddon = (): NativeAddon | undefined => undefined;
export const nativeUnavailableReason = (): string | undefined => 'no native addon in a browser';
export const nativeBlas = (): NativeBlas | undefined => undefined;
export const nativeThreads = (): number => 1;
export const threadsFromEnv = (): number => 1;
