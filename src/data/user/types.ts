/**
 * What every loader of the user's own data returns: a `Dataset` over a `UserSource`, which adds
 * to a `DataSource` the per-sample ids a deletion request names, the metadata a systematic request
 * selects on, and the SHA-256 of the bytes read (for the deletion record).
 *
 * Hashing: each file's SHA-256 is of its bytes as stored (so `sha256sum FILE` reproduces it); the
 * data set's `sha256` is the SHA-256 of the text `sha256sum` prints for those files in `files`
 * order, names relative to the data's root — `<hex>  <name>\n` per file. A renamed image moves a
 * sample to another id (or class), so names are part of the hash.
 */
import { UsageError } from '../../core/errors.ts';
// The portable SHA-256 (node:crypto on Node, @noble/hashes in a page): the bytes-level loaders
// (from-bytes.ts) run in the page too.
import { sha256 } from '../../core/hash.ts';
import { type DataSource, Dataset, type Labels } from '../dataset.ts';

export type UserFormat = 'image-folder' | 'csv' | 'idx' | 'npy' | 'npz';

export interface FileDigest {
  /** The path as read. */
  path: string;
  /** The name hashed: relative to the data's root (image folders) or the base name. */
  name: string;
  bytes: number;
  sha256: string;
}

export interface UserSource extends DataSource {
  readonly format: UserFormat;
  /** One id per sample, unique: relative paths, an id column, or the 0-based row number. */
  readonly ids: readonly string[];
  /** Files read, in hash order. */
  readonly files: readonly FileDigest[];
  /** SHA-256 over `files` (see the file comment). */
  readonly sha256: string;
  /**
   * Metadata for `--forget-where KEY=VALUE`: KEY → each sample's raw value (`null`: missing).
   * CSV: every column, before encoding. Image folders: `key=value` sub-folder names.
   */
  readonly attributes: Readonly<Record<string, readonly (string | null)[]>>;
  /** Image folders: each sample's sub-folders under its class folder (`--forget-where folder=NAME`). */
  readonly folders?: readonly (readonly string[])[];
}

/** A dataset whose source is a `UserSource` (views made from it keep the source). */
export type UserDataset = Dataset & { readonly source: UserSource };

export function isUserSource(src: DataSource): src is UserSource {
  return 'ids' in src && 'sha256' in src && 'format' in src;
}

export function fileDigest(path: string, name: string, bytes: Uint8Array): FileDigest {
  return {
    path,
    name,
    bytes: bytes.length,
    sha256: sha256(bytes),
  };
}

/** The data set's hash: SHA-256 of the `sha256sum` listing of its files. */
export function combinedDigest(files: readonly FileDigest[]): string {
  return sha256(files.map((f) => `${f.sha256}  ${f.name}\n`).join(''));
}

/** The smallest label array that holds `numClasses` classes. */
export function labelArray(n: number, numClasses: number): Labels {
  if (numClasses <= 256) return new Uint8Array(n);
  if (numClasses <= 65536) return new Uint16Array(n);
  return new Int32Array(n);
}

/** Ids `0`..`n-1`: the sample's row number, for formats that carry no names. */
export function rowIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i));
}

/** Most classes integer labels may name. */
export const MAX_INTEGER_CLASSES = 65536;

/** Integer labels → classes: `classes` names them (and fixes their count), else 0..max. */
export function integerClasses(
  y: ArrayLike<number>,
  where: string,
  classes?: readonly string[],
): { numClasses: number; classNames: string[] } {
  let max = -1;
  for (let i = 0; i < y.length; i++) if (y[i] > max) max = y[i];
  // A label of 10^9 would otherwise ask for 10^9 class names.
  if (max >= MAX_INTEGER_CLASSES)
    throw new UsageError(
      where,
      `label ${max} is too large (labels are class ids below ${MAX_INTEGER_CLASSES})`,
    );
  if (classes) {
    if (max >= classes.length)
      throw new UsageError(
        where,
        `label ${max} is out of range for the ${classes.length} classes given (0-${classes.length - 1})`,
      );
    return { numClasses: classes.length, classNames: [...classes] };
  }
  const numClasses = Math.max(max + 1, 2);
  return { numClasses, classNames: Array.from({ length: numClasses }, (_, i) => String(i)) };
}

export function userDataset<S extends UserSource = UserSource>(
  source: Omit<S, 'sha256' | 'meta'> & { meta?: UserSource['meta'] },
): Dataset & { readonly source: S } {
  const n = source.y.length;
  if (n === 0) throw new UsageError(source.name, 'holds no samples');
  if (source.ids.length !== n)
    throw new Error(`${source.name}: ${source.ids.length} ids for ${n} samples`);
  const sourceIndex = new Uint32Array(n);
  for (let i = 0; i < n; i++) sourceIndex[i] = i;
  const full = {
    ...source,
    sha256: combinedDigest(source.files),
    meta: source.meta ?? { sourceIndex },
  } as S;
  return new Dataset(full, null, full.name) as Dataset & { readonly source: S };
}
