/** Browser twin of src/backend/native/batch-norm.ts: its kernels run on the native addon only. */
export const MOMENTS = 'UibMoments';
export const MOMENTS_GRAD = 'UibMomentsGrad';
export const BATCH_NORM_GRAD = 'UibBatchNormGrad';
export function installBatchNorm(): void {}
// Never reached: native/kernels.ts calls these only with an addon, and nativeAddon() is undefined.
const none = (..._args: unknown[]): undefined => undefined;
export const fusedBatchNorm = none;
export const moments = none;
export const momentsGrad = none;
export const batchNormGrad = none;
