/**
 * NumPy `.npy` arrays (format versions 1–3): a `\x93NUMPY` magic, a version, a header length, a
 * Python-literal dict `{'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }`, then the
 * elements in C order. A pair `x.npy` + `y.npy` is a data set:
 *
 * - x: float32, float64 (stored as float32) or uint8 (bytes with scale 1/255, as image sources);
 *   shape [n] → samples [1], [n, d] → [d], [n, h, w] → [h, w, 1], [n, h, w, c] → [h, w, c] (NHWC:
 *   a PyTorch NCHW array must be transposed first). Values must be finite.
 * - y: integer labels (any width; floats holding integers are accepted), shape [n] or [n, 1].
 * - Fortran order, structured dtypes and object arrays are refused. Ids are row numbers.
 *
 * This file reads the two files; the parsing and checks are npy-parse.ts's, shared with the page.
 */
import * as path from 'node:path';
import { readFileChecked } from '../../core/read.ts';
import { npyPairFromBytes } from './from-bytes.ts';
import { NPY_MAX_BYTES, type NpyPairOptions } from './npy-parse.ts';
import type { UserDataset } from './types.ts';

export {
  datasetFromNpy,
  NPY_MAX_BYTES,
  type NpyArray,
  type NpyPairOptions,
  parseNpy,
} from './npy-parse.ts';

export function loadNpyPair(xFile: string, yFile: string, opts: NpyPairOptions = {}): UserDataset {
  const read = (f: string) => readFileChecked(f, { maxBytes: NPY_MAX_BYTES, what: 'a .npy file' });
  const xb = read(xFile);
  const yb = read(yFile);
  return npyPairFromBytes(
    { path: xFile, name: path.basename(xFile), bytes: xb },
    { path: yFile, name: path.basename(yFile), bytes: yb },
    { ...opts, name: opts.name ?? path.dirname(xFile) },
  );
}
