/**
 * An image folder (the ImageFolder convention): `DIR/<class>/<file>.png`, one sub-folder a class.
 *
 * - Classes are the sub-folder names in code-unit order (or the `classes` given: a held-out folder
 *   then maps to the training set's class ids, and may lack some classes). Ids are the paths
 *   relative to DIR with `/` (`cat/0001.png`), in the same order: the samples' order.
 * - Folders below a class folder are metadata, not classes: `DIR/cat/vendor-7/a.png` is in folder
 *   `vendor-7` (`--forget-where folder=vendor-7`), and a folder named `key=value`
 *   (`DIR/cat/source=vendor-7/a.png`) sets the attribute `key` (`--forget-where source=vendor-7`).
 * - Every image must have the size of the first; grey images stay one channel, but a folder with
 *   any colour image is read as RGB throughout (grey → R=G=B, lossless). Alpha is dropped and
 *   16-bit images are reduced to 8 bits (pngjs's rescale). Pixels are kept as bytes with scale
 *   1/255 (as every uib image source), so the model sees float32 in [0, 1], shape [H, W, C].
 * - Names starting with `.` are skipped (`.DS_Store`, `.git`); files at the top of DIR are not
 *   samples (a README), but an image there is an error, as is any other file in a class folder.
 * - PNG only: no JPEG decoder is installed, so a `.jpg` is a one-line error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { describeErrno, UsageError } from '../../core/errors.ts';
import { GiB, MiB, readFileChecked } from '../../core/read.ts';
import { type FileDigest, fileDigest, labelArray, type UserDataset, userDataset } from './types.ts';

/** One image file at most (a 4096×4096 RGBA PNG stored without compression is 64 MiB). */
export const IMAGE_MAX_BYTES = 64 * MiB;
/** Decoded pixels of the whole folder at most (bytes, one per channel). */
export const IMAGE_FOLDER_MAX_PIXEL_BYTES = 2 * GiB;
/** Sub-folder depth below DIR at most (class folder + metadata folders). */
export const IMAGE_FOLDER_MAX_DEPTH = 8;

export interface ImageFolderOptions {
  /** The class list to map folders to (the training set's `classNames`). */
  classes?: readonly string[];
  name?: string;
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;

function listDir(dir: string): fs.Dirent[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => !e.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (e) {
    throw new UsageError(dir, `cannot list: ${describeErrno(e)}`);
  }
}

/** Whether a directory entry is (or links to) a directory. */
function isDir(dir: string, e: fs.Dirent): boolean {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return fs.statSync(path.join(dir, e.name)).isDirectory();
  } catch {
    return false; // a dangling link: reading it as a file will say so
  }
}

/** Files under a class folder, relative names with `/`, sorted depth-first by name. */
function walk(root: string, rel: string, depth: number, out: string[]): void {
  const dir = path.join(root, rel);
  if (depth > IMAGE_FOLDER_MAX_DEPTH)
    throw new UsageError(dir, `nests deeper than ${IMAGE_FOLDER_MAX_DEPTH} folders (a link loop?)`);
  for (const e of listDir(dir)) {
    const r = `${rel}/${e.name}`;
    if (isDir(dir, e)) walk(root, r, depth + 1, out);
    else out.push(r);
  }
}

function checkImageName(file: string): void {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg')
    throw new UsageError(
      file,
      'JPEG is not supported yet (no JPEG decoder is installed); convert the folder to PNG',
    );
  if (ext !== '.png')
    throw new UsageError(file, `is not a PNG image (an image folder holds .png files only)`);
}

interface Decoded {
  width: number;
  height: number;
  color: boolean;
  /** RGBA, 8 bits a channel. */
  rgba: Buffer;
}

function decodePng(file: string, bytes: Buffer): Decoded {
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    throw new UsageError(file, `is not a valid PNG (${(e as Error).message.split('\n')[0]})`);
  }
  return { width: png.width, height: png.height, color: png.color, rgba: png.data };
}

export function loadImageFolder(dir: string, opts: ImageFolderOptions = {}): UserDataset {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw new UsageError(dir, `cannot read: ${describeErrno(e)}`);
  }
  if (!st.isDirectory()) throw new UsageError(dir, 'is not a directory (expected an image folder)');

  const classDirs: string[] = [];
  for (const e of listDir(dir)) {
    if (isDir(dir, e)) classDirs.push(e.name);
    else if (IMAGE_EXT.test(e.name))
      throw new UsageError(
        path.join(dir, e.name),
        'is directly in the image folder; images go in DIR/<class>/',
      );
  }
  if (classDirs.length === 0)
    throw new UsageError(dir, 'has no class sub-folders (expected DIR/<class>/<image>.png)');
  const classNames = opts.classes ? [...opts.classes] : classDirs;
  const classId = new Map(classNames.map((c, i) => [c, i]));
  if (classId.size !== classNames.length) throw new UsageError(dir, 'duplicate class names given');
  for (const c of classDirs)
    if (!classId.has(c))
      throw new UsageError(
        path.join(dir, c),
        `is not one of the ${classNames.length} classes given (${classNames.slice(0, 5).join(', ')}${classNames.length > 5 ? ', …' : ''})`,
      );
  if (classNames.length < 2)
    throw new UsageError(dir, `has ${classNames.length} class folder; at least 2 are needed`);

  const ids: string[] = [];
  for (const c of classDirs) {
    const before = ids.length;
    walk(dir, c, 1, ids);
    if (ids.length === before) throw new UsageError(path.join(dir, c), 'holds no images');
  }
  for (const id of ids) checkImageName(path.join(dir, id));

  // Decode in id order, keeping each image compact (grey: 1 byte a pixel, colour: 3) until every
  // image has been seen, since one colour image makes the whole folder RGB.
  const files: FileDigest[] = [];
  const images: { color: boolean; px: Uint8Array }[] = [];
  let first: { file: string; width: number; height: number } | undefined;
  let total = 0;
  for (const id of ids) {
    const file = path.join(dir, id);
    const bytes = readFileChecked(file, { maxBytes: IMAGE_MAX_BYTES, what: 'a PNG image' });
    files.push(fileDigest(file, id, bytes));
    const img = decodePng(file, bytes);
    if (!first) first = { file: id, width: img.width, height: img.height };
    else if (img.width !== first.width || img.height !== first.height)
      throw new UsageError(
        file,
        `is ${img.width}x${img.height}; every image must have the size of the first (${first.file}: ${first.width}x${first.height})`,
      );
    const c = img.color ? 3 : 1;
    const n = img.width * img.height;
    total += n * 3; // the folder may turn RGB
    if (total > IMAGE_FOLDER_MAX_PIXEL_BYTES)
      throw new UsageError(dir, `decoded images exceed ${IMAGE_FOLDER_MAX_PIXEL_BYTES} bytes`);
    const px = new Uint8Array(n * c);
    for (let p = 0; p < n; p++) for (let k = 0; k < c; k++) px[p * c + k] = img.rgba[p * 4 + k];
    images.push({ color: img.color, px });
  }

  const channels = images.some((m) => m.color) ? 3 : 1;
  const size = first!.width * first!.height * channels;
  const x = new Uint8Array(images.length * size);
  images.forEach((m, i) => {
    const off = i * size;
    if (m.color || channels === 1) x.set(m.px, off);
    else for (let p = 0; p < m.px.length; p++) x.fill(m.px[p], off + p * 3, off + p * 3 + 3);
  });

  const y = labelArray(ids.length, classNames.length);
  const folders: string[][] = [];
  const keyed = new Map<string, (string | null)[]>();
  ids.forEach((id, i) => {
    const parts = id.split('/');
    y[i] = classId.get(parts[0])!;
    const sub = parts.slice(1, -1);
    folders.push(sub);
    for (const f of sub) {
      const eq = f.indexOf('=');
      if (eq <= 0) continue;
      const key = f.slice(0, eq);
      let col = keyed.get(key);
      if (!col) {
        col = new Array<string | null>(ids.length).fill(null);
        keyed.set(key, col);
      }
      if (col[i] !== null)
        throw new UsageError(
          path.join(dir, id),
          `has two "${key}=" folders in its path; a key may appear once`,
        );
      col[i] = f.slice(eq + 1);
    }
  });

  return userDataset({
    name: opts.name ?? dir,
    format: 'image-folder',
    sampleShape: [first!.height, first!.width, channels],
    x,
    scale: 1 / 255,
    y,
    numClasses: classNames.length,
    classNames,
    ids,
    files,
    attributes: Object.fromEntries(keyed),
    folders,
  });
}
