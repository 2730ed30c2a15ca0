/**
 * An IDX pair of the user's (MNIST's layout: an idx3 images file and an idx1 labels file, raw or
 * gzip'd), read with `idx.ts`. Images are one channel, [rows, cols, 1], bytes with scale 1/255.
 * Labels are the class ids; classes are 0..max unless `classes` names them. Ids are row numbers.
 * The hash is of the files as stored (gzip'd or not), images first.
 *
 * This file reads the two files; the checks are from-bytes.ts's, shared with the page.
 */
import * as path from 'node:path';
import { readFileChecked } from '../../core/read.ts';
import { IDX_MAX_INFLATED_BYTES, zlibInflate } from '../idx.ts';
import { idxPairFromBytes } from './from-bytes.ts';
import type { UserDataset } from './types.ts';

export interface IdxPairOptions {
  /** Class names in class-id order (fixes the number of classes). */
  classes?: readonly string[];
  name?: string;
}

export function loadIdxPairFiles(
  imagesFile: string,
  labelsFile: string,
  opts: IdxPairOptions = {},
): UserDataset {
  const read = (f: string) =>
    readFileChecked(f, { maxBytes: IDX_MAX_INFLATED_BYTES, what: 'an IDX file' });
  const imgBytes = read(imagesFile);
  const labBytes = read(labelsFile);
  return idxPairFromBytes(
    { path: imagesFile, name: path.basename(imagesFile), bytes: imgBytes },
    { path: labelsFile, name: path.basename(labelsFile), bytes: labBytes },
    { ...opts, inflate: zlibInflate },
  );
}
