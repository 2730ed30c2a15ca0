/**
 * An IDX pair of the user's (MNIST's layout: an idx3 images file and an idx1 labels file, raw or
 * gzip'd), read with `idx.ts`. Images are one channel, [rows, cols, 1], bytes with scale 1/255.
 * Labels are the class ids; classes are 0..max unless `classes` names them. Ids are row numbers.
 * The hash is of the files as stored (gzip'd or not), images first.
 */
import * as path from 'node:path';
import { UsageError } from '../../core/errors.ts';
import { readFileChecked } from '../../core/read.ts';
import {
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  IDX_MAX_INFLATED_BYTES,
  inflateIdx,
  parseIdxImages,
  parseIdxLabels,
} from '../idx.ts';
import { fileDigest, integerClasses, rowIds, type UserDataset, userDataset } from './types.ts';

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
  const imgIdx = inflateIdx(imgBytes, imagesFile);
  const labIdx = inflateIdx(labBytes, labelsFile);
  const magic = (b: Buffer) => (b.length >= 4 ? b.readUInt32BE(0) : 0);
  if (magic(imgIdx) === IDX_LABELS_MAGIC && magic(labIdx) === IDX_IMAGES_MAGIC)
    throw new UsageError(
      imagesFile,
      `is the labels file and ${labelsFile} the images: give the images first`,
    );
  const img = parseIdxImages(imgIdx, imagesFile);
  const labels = parseIdxLabels(labIdx, labelsFile, 256);
  if (labels.length !== img.n)
    throw new UsageError(
      labelsFile,
      `has ${labels.length} labels but ${imagesFile} has ${img.n} images`,
    );
  const { numClasses, classNames } = integerClasses(labels, labelsFile, opts.classes);
  return userDataset({
    name: opts.name ?? imagesFile,
    format: 'idx',
    sampleShape: [img.rows, img.cols, 1],
    x: img.pixels,
    scale: 1 / 255,
    y: labels,
    numClasses,
    classNames,
    ids: rowIds(img.n),
    files: [
      fileDigest(imagesFile, path.basename(imagesFile), imgBytes),
      fileDigest(labelsFile, path.basename(labelsFile), labBytes),
    ],
    attributes: {},
  });
}
