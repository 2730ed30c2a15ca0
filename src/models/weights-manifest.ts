/**
 * The weight manifest of a tfjs model.json checked against the files beside it, before a byte of
 * weights is read or allocated: every path stays in the model's directory (symlinks included),
 * every file exists and is a regular file, every dtype is one uib trains (float32, int32, not
 * quantised), every shape is sane, and the declared bytes are the files' bytes. Shared by uib's
 * checkpoints and the user's own models.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../core/errors.ts';

export const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4 };

export interface CheckedManifest {
  weightSpecs: tf.io.WeightsManifestEntry[];
  files: { file: string; bytes: number }[];
  bytes: number;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `file` is the model.json (named in every message); `what` says whose directory a path must
 * stay in ("the checkpoint directory"); `maxBytes` caps the declared weights; `defaultDtype`
 * is the dtype of an entry without one (none: such an entry is refused).
 */
export function checkWeightsManifest(
  file: string,
  manifest: unknown,
  opts: { what: string; maxBytes?: number; defaultDtype?: 'float32' },
): CheckedManifest {
  if (!Array.isArray(manifest))
    throw new UsageError(file, 'weightsManifest must be a list of { paths, weights }');
  const dir = path.dirname(path.resolve(file));
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const files: CheckedManifest['files'] = [];
  let expected = 0;
  manifest.forEach((group: unknown, g: number) => {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights))
      throw new UsageError(file, `weightsManifest[${g}] must have paths and weights lists`);
    for (const p of group.paths) files.push(checkedPath(file, dir, p, g, opts.what));
    group.weights.forEach((w: unknown, i: number) => {
      const where = `weightsManifest[${g}].weights[${i}]`;
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape))
        throw new UsageError(file, `${where} must have a name and a shape`);
      // tfjs writes the dtype; the Keras converter may leave it out for float32 (`defaultDtype`).
      const dtype = String(w.dtype ?? opts.defaultDtype);
      if (!(dtype in DTYPE_BYTES) || w.quantization !== undefined)
        throw new UsageError(
          file,
          `${where} (${w.name}) has unsupported dtype "${dtype}"${w.quantization ? ' (quantized)' : ''}; allowed: float32, int32 (convert without quantization)`,
        );
      if (
        !w.shape.every((d) => Number.isInteger(d) && (d as number) >= 0 && (d as number) < 2 ** 31)
      )
        throw new UsageError(
          file,
          `${where} (${w.name}) has an invalid shape ${JSON.stringify(w.shape)}`,
        );
      expected += (w.shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
      weightSpecs.push({
        name: w.name,
        shape: w.shape as number[],
        dtype: dtype as 'float32' | 'int32',
      });
    });
  });
  if (opts.maxBytes !== undefined && expected > opts.maxBytes)
    throw new UsageError(
      file,
      `declares ${expected} bytes of weights; at most ${opts.maxBytes} are accepted`,
    );
  if (files.length === 0 && expected > 0)
    throw new UsageError(file, `declares ${expected} bytes of weights but lists no weight file`);
  const actual = files.reduce((s, f) => s + f.bytes, 0);
  if (actual !== expected)
    throw new UsageError(
      files.map((f) => f.file).join(', '),
      `holds ${actual} bytes but ${path.basename(file)} declares ${expected} (truncated or mismatched)`,
    );
  return { weightSpecs, files, bytes: expected };
}

function checkedPath(file: string, dir: string, p: unknown, g: number, what: string) {
  if (typeof p !== 'string' || p === '')
    throw new UsageError(file, `weightsManifest[${g}].paths holds a non-string or empty path`);
  const resolved = path.resolve(dir, p);
  const rel = path.relative(dir, resolved);
  if (path.isAbsolute(p) || rel === '' || rel.startsWith('..') || path.isAbsolute(rel))
    throw new UsageError(file, `weight path "${p}" leaves ${what}`);
  let st: fs.Stats;
  try {
    st = fs.statSync(resolved);
  } catch {
    throw new UsageError(resolved, `missing (listed in ${path.basename(file)})`);
  }
  if (!st.isFile()) throw new UsageError(resolved, 'is not a regular file');
  // A symlink inside the directory may still point outside it: compare real paths too.
  if (path.relative(fs.realpathSync(dir), fs.realpathSync(resolved)).startsWith('..'))
    throw new UsageError(file, `weight path "${p}" leaves ${what} (symlink)`);
  return { file: resolved, bytes: st.size };
}
