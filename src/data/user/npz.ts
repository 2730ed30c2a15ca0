/**
 * A NumPy `.npz` (np.savez or np.savez_compressed) holding arrays named `x` and `y` (members
 * `x.npy`, `y.npy`; other members are ignored), read as the `.npy` pair of `npy.ts`. The hash is
 * of the .npz file as stored.
 */
import * as path from 'node:path';
import { UsageError } from '../../core/errors.ts';
import { readFileChecked } from '../../core/read.ts';
import { datasetFromNpy, NPY_MAX_BYTES, type NpyPairOptions, parseNpy } from './npy.ts';
import { fileDigest, type UserDataset } from './types.ts';
import { zipEntries, zipRead } from './zip.ts';

export function loadNpz(file: string, opts: NpyPairOptions = {}): UserDataset {
  const b = readFileChecked(file, { maxBytes: 2 * NPY_MAX_BYTES, what: 'an .npz file' });
  let entries: ReturnType<typeof zipEntries>;
  try {
    entries = zipEntries(b, file);
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(file, 'is not a valid .npz / zip file');
    throw e;
  }
  const member = (key: string) => {
    const e = entries.find((m) => m.name === `${key}.npy`);
    if (!e)
      throw new UsageError(
        file,
        `has no array named ${key} (members: ${entries.map((m) => m.name).join(', ') || 'none'}); save with np.savez(file, x=..., y=...)`,
      );
    return parseNpy(zipRead(b, e, file, NPY_MAX_BYTES), `${file}:${e.name}`);
  };
  const x = member('x');
  const y = member('y');
  return datasetFromNpy(
    x,
    y,
    { x: `${file}:x.npy`, y: `${file}:y.npy` },
    {
      format: 'npz',
      name: opts.name ?? file,
      files: [fileDigest(file, path.basename(file), b)],
      classes: opts.classes,
    },
  );
}
