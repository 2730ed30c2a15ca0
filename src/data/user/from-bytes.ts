/**
 * The user-data loaders from bytes: an IDX pair, an x.npy + y.npy pair, one .npz. No Node built-in
 * is reached from here, so Node's file loaders (idx-pair.ts, npy.ts, npz.ts: they read, then call
 * these) and the browser page (web/app.ts: a dropped file's bytes) run the same checks and give
 * the same one-line messages, each naming the file.
 *
 * Compressed data (gzip'd IDX, np.savez_compressed members) goes through an injected synchronous
 * `inflate`: node:zlib on Node (`zlibInflate`, data/idx.ts). A page has only the browser's
 * DecompressionStream, which is asynchronous: `withStreamInflate` runs a loader, inflates what it
 * asked for with streams, and runs it again, so the page still gets these same checks, caps and
 * messages rather than a second copy of them.
 */
import { UsageError } from '../../core/errors.ts';
import {
  gunzipIdx,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  IDX_MAX_INFLATED_BYTES,
  type Inflate,
  type Inflated,
  parseIdxImages,
  parseIdxLabels,
} from '../idx-parse.ts';
import { datasetFromNpy, NPY_MAX_BYTES, parseNpy } from './npy-parse.ts';
import { fileDigest, integerClasses, rowIds, type UserDataset, userDataset } from './types.ts';
import { zipEntries, zipRead } from './zip.ts';

/** A file's bytes as stored. */
export interface BytesFile {
  /** The name hashed (the base name, as Node's loaders hash it); messages use it without `path`. */
  name: string;
  bytes: Uint8Array;
  /** The path as read (Node): what messages name, and the digest's `path`. */
  path?: string;
}

export interface BytesOptions {
  /** Class names in class-id order (fixes the number of classes). */
  classes?: readonly string[];
  /** The data set's name (default: the first file). */
  name?: string;
  /** Inflates gzip / raw-deflate data; without it compressed data is refused, naming the file. */
  inflate?: Inflate;
}

const where = (f: BytesFile) => f.path ?? f.name;

/** IDX images first, labels second, each raw or gzip'd; the hash is of the bytes as stored. */
export function idxPairFromBytes(
  images: BytesFile,
  labels: BytesFile,
  opts: BytesOptions = {},
): UserDataset {
  const imagesFile = where(images);
  const labelsFile = where(labels);
  const imgIdx = gunzipIdx(images.bytes, imagesFile, opts.inflate);
  const labIdx = gunzipIdx(labels.bytes, labelsFile, opts.inflate);
  const magic = (b: Uint8Array) =>
    b.length >= 4 ? new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, false) : 0;
  if (magic(imgIdx) === IDX_LABELS_MAGIC && magic(labIdx) === IDX_IMAGES_MAGIC)
    throw new UsageError(
      imagesFile,
      `is the labels file and ${labelsFile} the images: give the images first`,
    );
  const img = parseIdxImages(imgIdx, imagesFile);
  const ys = parseIdxLabels(labIdx, labelsFile, 256);
  if (ys.length !== img.n)
    throw new UsageError(
      labelsFile,
      `has ${ys.length} labels but ${imagesFile} has ${img.n} images`,
    );
  const { numClasses, classNames } = integerClasses(ys, labelsFile, opts.classes);
  return userDataset({
    name: opts.name ?? imagesFile,
    format: 'idx',
    sampleShape: [img.rows, img.cols, 1],
    x: img.pixels,
    scale: 1 / 255,
    y: ys,
    numClasses,
    classNames,
    ids: rowIds(img.n),
    files: [
      fileDigest(imagesFile, images.name, images.bytes),
      fileDigest(labelsFile, labels.name, labels.bytes),
    ],
    attributes: {},
  });
}

/** x.npy (features) first, y.npy (labels) second. */
export function npyPairFromBytes(x: BytesFile, y: BytesFile, opts: BytesOptions = {}): UserDataset {
  const xFile = where(x);
  const yFile = where(y);
  return datasetFromNpy(
    parseNpy(x.bytes, xFile),
    parseNpy(y.bytes, yFile),
    { x: xFile, y: yFile },
    {
      format: 'npy',
      name: opts.name ?? xFile,
      files: [fileDigest(xFile, x.name, x.bytes), fileDigest(yFile, y.name, y.bytes)],
      classes: opts.classes,
    },
  );
}

/** One .npz holding arrays x and y (members x.npy, y.npy; others ignored), stored or deflated. */
export function npzFromBytes(npz: BytesFile, opts: BytesOptions = {}): UserDataset {
  const file = where(npz);
  const b = npz.bytes;
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
    return parseNpy(zipRead(b, e, file, NPY_MAX_BYTES, opts.inflate), `${file}:${e.name}`);
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
      files: [fileDigest(file, npz.name, b)],
      classes: opts.classes,
    },
  );
}

/** IDX file names, as load.ts recognises them in a directory. */
export const IDX_IMAGES_NAME = /idx3-ubyte(\.gz)?$/;
export const IDX_LABELS_NAME = /idx1-ubyte(\.gz)?$/;

/** The size caps of Node's reads (readFileChecked's `maxBytes`), by the name's format. */
export function sizeCap(name: string): { maxBytes: number; what: string } | null {
  const n = name.toLowerCase();
  if (IDX_IMAGES_NAME.test(name) || IDX_LABELS_NAME.test(name))
    return { maxBytes: IDX_MAX_INFLATED_BYTES, what: 'an IDX file' };
  if (n.endsWith('.npy')) return { maxBytes: NPY_MAX_BYTES, what: 'a .npy file' };
  if (n.endsWith('.npz')) return { maxBytes: 2 * NPY_MAX_BYTES, what: 'an .npz file' };
  return null;
}

/** Refuse a file over its format's cap before its bytes are read, with readFileChecked's words. */
export function checkSize(name: string, size: number): void {
  const cap = sizeCap(name);
  if (cap && size > cap.maxBytes)
    throw new UsageError(name, `is ${size} bytes; ${cap.what} is at most ${cap.maxBytes} bytes`);
}

const SETS =
  'an image set is two files (x.npy + y.npy, or IDX *idx3-ubyte[.gz] images + *idx1-ubyte[.gz] labels) or one .npz';

/**
 * The files of one image set, given together (a drop, a file input), recognised by their names
 * (order does not matter): x.npy + y.npy, an IDX images + labels pair, or one .npz.
 */
export function imageSetFromBytes(
  files: readonly BytesFile[],
  opts: BytesOptions = {},
): UserDataset {
  const names = files.map((f) => f.name);
  const base = (f: BytesFile) => f.name.toLowerCase();
  if (files.length === 1) {
    const [f] = files;
    if (base(f).endsWith('.npz')) return npzFromBytes(f, opts);
    if (base(f).endsWith('.npy'))
      throw new UsageError(f.name, 'is one array; give x.npy and y.npy together');
    if (IDX_IMAGES_NAME.test(f.name) || IDX_LABELS_NAME.test(f.name))
      throw new UsageError(f.name, 'is one IDX file; give the images and the labels file together');
    throw new UsageError(f.name, `is not a data layout uib reads; ${SETS}`);
  }
  if (files.length !== 2)
    throw new UsageError(names.join(', ') || 'files', `${files.length} files given; ${SETS}`);
  const x = files.find((f) => base(f) === 'x.npy');
  const y = files.find((f) => base(f) === 'y.npy');
  if (x && y) return npyPairFromBytes(x, y, opts);
  const imgs = files.filter((f) => IDX_IMAGES_NAME.test(f.name));
  const labs = files.filter((f) => IDX_LABELS_NAME.test(f.name));
  if (imgs.length === 1 && labs.length === 1) return idxPairFromBytes(imgs[0], labs[0], opts);
  if (imgs.length + labs.length === 2)
    throw new UsageError(
      names.join(', '),
      `are ${imgs.length} IDX image and ${labs.length} label files; give one of each`,
    );
  throw new UsageError(names.join(', '), `are not an image set uib reads; ${SETS}`);
}

/** The page's inflater: the browser's DecompressionStream, at most `maxBytes` out. */
export async function streamInflate(
  bytes: Uint8Array,
  format: 'gzip' | 'deflate-raw',
  maxBytes: number,
): Promise<Inflated> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const reader = new Blob([bytes as Uint8Array<ArrayBuffer>])
      .stream()
      .pipeThrough(new DecompressionStream(format))
      .getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        return 'too-large';
      }
      chunks.push(value);
    }
  } catch {
    return 'corrupt';
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Thrown through a loader when it asks for bytes not yet inflated: not an Error, so no catch takes it. */
const PENDING = Symbol('inflate pending');

/**
 * Run a synchronous loader with an asynchronous inflater (`inflateAsync`, by default the
 * browser's streams): each time the loader asks for data not inflated yet, it is stopped,
 * that data is inflated, and the loader runs again with it at hand. A loader asks for at most
 * two members (IDX images and labels; npz x and y), so it runs at most three times; what runs
 * before an inflation is header checks.
 */
export async function withStreamInflate<T>(
  load: (inflate: Inflate) => T,
  inflateAsync: typeof streamInflate = streamInflate,
): Promise<T> {
  const done = new Map<string, Inflated>();
  for (;;) {
    let need: { key: string; run: () => Promise<Inflated> } | undefined;
    const inflate: Inflate = (bytes, format, maxBytes, at) => {
      const key = `${format}\u0000${at}`;
      const got = done.get(key);
      if (got !== undefined) return got;
      need = { key, run: () => inflateAsync(bytes, format, maxBytes) };
      throw PENDING;
    };
    try {
      return load(inflate);
    } catch (e) {
      if (e !== PENDING || !need) throw e;
    }
    done.set(need.key, await need.run());
  }
}
