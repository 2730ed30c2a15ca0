/**
 * uib replaces parts of tfjs at run time (backend/wasm/kernels.ts): stock wasm kernels, and the
 * functions `fused.conv2d`, `moments` and the gradients of Relu and FusedBatchNorm. Each was
 * written against tfjs 4.22's internals (argument layouts, saved tensors, which export
 * tfjs-layers reads through); on another release they may be silently wrong. So before patching,
 * the tfjs version and the shape of each function replaced are checked; on a mismatch the stock
 * kernels run, with one warning line, and only the kernels tfjs-wasm lacks (which replace
 * nothing) are registered. tests/backend/patch-guard.test.ts fails on a tfjs upgrade until the
 * patches are rechecked and this table updated. In a browser bundle tfjs's exports are ES module
 * namespaces, which cannot be assigned to: there the patches are skipped too, silently (it is the
 * normal case of a bundle, not a problem to report).
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
  if (!assignable(fused, 'conv2d')) return READ_ONLY;
  if (typeof target.moments !== 'function') return 'tf.moments is not a function';
  for (const kernel of [tf.Relu, tf.FusedBatchNorm])
    if (target.getGradient(kernel) === undefined && tf.getGradient(tf.Add) !== undefined)
      return `tfjs registers no gradient for ${kernel}`;
  return null;
}

const READ_ONLY = 'tf.fused is read-only here (an ES module namespace, as in a browser bundle)';

/** Whether `obj[key] = …` would take: not on a module namespace, nor on a getter without setter. */
function assignable(obj: object, key: string): boolean {
  if (Object.prototype.toString.call(obj) === '[object Module]') return false;
  const d = Object.getOwnPropertyDescriptor(obj, key);
  if (d === undefined) return Object.isExtensible(obj);
  return 'value' in d ? d.writable === true : typeof d.set === 'function';
}

let warned = false;

/** `patchProblem()`, warning once on stderr when there is one. */
export function patchesAllowed(): boolean {
  const problem = patchProblem();
  if (problem === null) return true;
  if (!warned && problem !== READ_ONLY) {
    const line = `uib: ${problem}: using tfjs's stock kernels (slower)`;
    const stderr = (globalThis as { process?: { stderr?: { write(s: string): unknown } } }).process
      ?.stderr;
    if (stderr) stderr.write(`${line}\n`);
    else console.warn(line);
    warned = true;
  }
  return false;
}
