/**
 * `loadUserData(path, opts)`: the user's own data, whichever of the supported layouts it is in,
 * chosen by what the path is:
 *
 *   DIR holding x.npy and y.npy          → the .npy pair (npy.ts)
 *   DIR holding one *idx3-ubyte[.gz] and
 *       one *idx1-ubyte[.gz] file         → the IDX pair (idx-pair.ts)
 *   any other DIR                        → an image folder DIR/<class>/<image>.png (image-folder.ts)
 *   FILE.csv                             → CSV; needs `label` (csv.ts)
 *   FILE.npz                             → arrays x and y (npz.ts)
 *   [X.npy, Y.npy]                       → the .npy pair, features first
 *   [IMAGES, LABELS]                     → the IDX pair, images first
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeErrno, UsageError } from '../../core/errors.ts';
import { type CsvOptions, loadCsv } from './csv.ts';
import { IDX_IMAGES_NAME, IDX_LABELS_NAME } from './from-bytes.ts';
import { loadIdxPairFiles } from './idx-pair.ts';
import { loadImageFolder } from './image-folder.ts';
import { loadNpyPair } from './npy.ts';
import { loadNpz } from './npz.ts';
import type { UserDataset } from './types.ts';

/** Options of every loader; each uses the ones that apply (`label`, `id`... are CSV's). */
export interface UserDataOptions extends CsvOptions {
  /** Class names in class-id order: a held-out set's classes as the training set's. */
  classes?: readonly string[];
  /** The data set's name (default: the path). */
  name?: string;
}

const FORMATS =
  'a directory (image folder, x.npy + y.npy, or an IDX pair), a .csv, a .npz, or two paths (x.npy y.npy, or IDX images labels)';

function statOf(p: string): fs.Stats {
  try {
    return fs.statSync(p);
  } catch (e) {
    throw new UsageError(p, `cannot read: ${describeErrno(e)}`);
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export function loadUserData(
  input: string | readonly string[],
  opts: UserDataOptions = {},
): UserDataset {
  const paths = typeof input === 'string' ? [input] : [...input];
  if (paths.length === 2) {
    const [a, b] = paths;
    const bothNpy = [a, b].every((p) => p.toLowerCase().endsWith('.npy'));
    if (!bothNpy && [a, b].some((p) => p.toLowerCase().endsWith('.npy')))
      throw new UsageError(b, `a pair of paths is x.npy y.npy or IDX images labels; got ${a} ${b}`);
    return bothNpy ? loadNpyPair(a, b, opts) : loadIdxPairFiles(a, b, opts);
  }
  if (paths.length !== 1)
    throw new UsageError(paths.join(' ') || 'data', `give one path or two; expected ${FORMATS}`);
  const p = paths[0];
  const st = statOf(p);
  if (st.isDirectory()) {
    const x = path.join(p, 'x.npy');
    const y = path.join(p, 'y.npy');
    if (isFile(x) && isFile(y)) return loadNpyPair(x, y, { ...opts, name: opts.name ?? p });
    const names = fs.readdirSync(p).filter((f) => isFile(path.join(p, f)));
    const imgs = names.filter((f) => IDX_IMAGES_NAME.test(f));
    const labs = names.filter((f) => IDX_LABELS_NAME.test(f));
    if (imgs.length === 1 && labs.length === 1)
      return loadIdxPairFiles(path.join(p, imgs[0]), path.join(p, labs[0]), {
        ...opts,
        name: opts.name ?? p,
      });
    if (imgs.length + labs.length > 0)
      throw new UsageError(
        p,
        `holds ${imgs.length} IDX image and ${labs.length} label files; give the images and labels files as two paths`,
      );
    return loadImageFolder(p, opts);
  }
  const ext = path.extname(p).toLowerCase();
  if (ext === '.csv') return loadCsv(p, opts);
  if (ext === '.npz') return loadNpz(p, opts);
  if (ext === '.npy')
    throw new UsageError(p, 'is one array; give x.npy and y.npy (two paths, or their directory)');
  if (IDX_IMAGES_NAME.test(p) || IDX_LABELS_NAME.test(p))
    throw new UsageError(p, 'is one IDX file; give the images and the labels file');
  throw new UsageError(p, `is not a data layout uib reads; expected ${FORMATS}`);
}
