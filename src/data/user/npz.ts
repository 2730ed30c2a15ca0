/**
 * A NumPy `.npz` (np.savez or np.savez_compressed) holding arrays named `x` and `y` (members
 * `x.npy`, `y.npy`; other members are ignored), read as the `.npy` pair of `npy.ts`. The hash is
 * of the .npz file as stored.
 *
 * This file reads the file; the checks are from-bytes.ts's, shared with the page.
 */
import * as path from 'node:path';
import { readFileChecked } from '../../core/read.ts';
import { zlibInflate } from '../idx.ts';
import { npzFromBytes } from './from-bytes.ts';
import { NPY_MAX_BYTES, type NpyPairOptions } from './npy-parse.ts';
import type { UserDataset } from './types.ts';

export function loadNpz(file: string, opts: NpyPairOptions = {}): UserDataset {
  const b = readFileChecked(file, { maxBytes: 2 * NPY_MAX_BYTES, what: 'an .npz file' });
  return npzFromBytes(
    { path: file, name: path.basename(file), bytes: b },
    { ...opts, inflate: zlibInflate },
  );
}
