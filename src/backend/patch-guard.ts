/**
 * uib replaces parts of tfjs at run time (backend/wasm/kernels.ts): stock wasm kernels, and the
 * functions `fused.conv2d`, `moments` and the gradients of Relu and FusedBatchNorm. Each was
 * written against tfjs 4.22's internals (argument layouts, saved tensors, which export
 * tfjs-layers reads through); on another release they may be silently wrong. So before patching,
 * the tfjs version and the shape of each function replaced are checked; on a mismatch the stock
 * kernels run, with one warning line, and only the kernels tfjs-wasm lacks (which replace
 * nothing) are registered. tests/backend/patch-guard.test.ts fails on a tfjs upgrade until the
 * patches are rechecked and this table updated.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The tfjs-core release the patches were written and tested for. */
export const PATCHED_FOR = '4.22.0';

/** Why the patches must not be installed here, or null when they may. */
export function patchProblem(version: string = tf.version_core, target = tf): string | null {
  if (version !== PATCHED_FOR)
    return `tfjs-core ${version} is not the ${PATCHED_FOR} uib's kernels were written for`;
  const fused = (target as { fused?: { conv2d?: unknown } }).fused;
  if (typeof fused?.conv2d !== 'function') return 'tf.fused.conv2d is not a function';
  if (typeof target.moments !== 'function') return 'tf.moments is not a function';
  for (const kernel of [tf.Relu, tf.FusedBatchNorm])
    if (target.getGradient(kernel) === undefined && tf.getGradient(tf.Add) !== undefined)
      return `tfjs registers no gradient for ${kernel}`;
  return null;
}

let warned = false;

/** `patchProblem()`, warning once on stderr when there is one. */
export function patchesAllowed(): boolean {
  const problem = patchProblem();
  if (problem === null) return true;
  if (!warned) {
    process.stderr.write(`uib: ${problem}: using tfjs's stock kernels (slower)\n`);
    warned = true;
  }
  return false;
}
