/**
 * IDX parsing from bytes (no file system): the part of the IDX reader that the browser build
 * shares with Node. `file` only names the source in messages (a path on Node, a file name or
 * the served data file in a page).
 *
 *   images: magic 2051 (0x00000803), n, rows, cols, then n*rows*cols bytes
 *   labels: magic 2049 (0x00000801), n, then n bytes
 *
 * The pixel array is a view into the given bytes, not a copy.
 */
import { UsageError } from '../core/errors.ts';

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;
/** Largest inflated IDX file accepted (EMNIST ByClass, the largest IDX set, is 0.55 GB). */
export const IDX_MAX_INFLATED_BYTES = 1 << 30;

/**
 * What an inflater gives back: the bytes, or why not. The reason, not a message, so that the
 * messages stay here, the same whichever inflater ran (node:zlib on Node; in a page the
 * browser's DecompressionStream, run ahead: src/data/user/from-bytes.ts).
 */
export type Inflated = Uint8Array | 'corrupt' | 'too-large';
/** gzip or raw-deflate bytes → at most `maxBytes` inflated; `where` names them (a file, a member). */
export type Inflate = (
  bytes: Uint8Array,
  format: 'gzip' | 'deflate-raw',
  maxBytes: number,
  where: string,
) => Inflated;

export const isGzip = (buf: Uint8Array): boolean =>
  buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;

/**
 * An IDX file's bytes as stored → its IDX bytes: gunzipped by `inflate` when gzip'd, else the
 * same bytes. A gzip bomb must not be inflated: refused on the trailer's declared size (ISIZE),
 * and the output capped in case the trailer lies (ISIZE is mod 2^32).
 */
export function gunzipIdx(buf: Uint8Array, file: string, inflate?: Inflate): Uint8Array {
  if (!isGzip(buf)) return buf;
  const declared =
    buf.length >= 18
      ? new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(buf.length - 4, true)
      : 0;
  if (declared > IDX_MAX_INFLATED_BYTES)
    throw new UsageError(
      file,
      `gzip data declares ${declared} bytes inflated (max ${IDX_MAX_INFLATED_BYTES})`,
    );
  if (!inflate) throw new UsageError(file, 'is gzip-compressed; give it gunzipped');
  const out = inflate(buf, 'gzip', IDX_MAX_INFLATED_BYTES, file);
  if (out === 'too-large')
    throw new UsageError(file, `gzip data inflates past ${IDX_MAX_INFLATED_BYTES} bytes`);
  if (out === 'corrupt') throw new UsageError(file, 'corrupt gzip data');
  return out;
}

/** Big-endian uint32 at `at` (a Buffer or a plain Uint8Array). */
function u32(buf: Uint8Array, at: number): number {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(at, false);
}

/** That `buf` holds a whole header of `headerBytes` and starts with the `expected` magic number. */
function checkIdxHeader(
  buf: Uint8Array,
  file: string,
  headerBytes: number,
  expected: number,
  what: 'images' | 'labels',
): void {
  if (buf.length < headerBytes)
    throw new UsageError(file, `truncated IDX header (${buf.length} bytes, need ${headerBytes})`);
  const magic = u32(buf, 0);
  if (magic !== expected) {
    throw new UsageError(file, `bad magic number ${magic} for IDX ${what} (expected ${expected})`);
  }
}

export function parseIdxImages(
  buf: Uint8Array,
  file: string,
): { pixels: Uint8Array; n: number; rows: number; cols: number } {
  checkIdxHeader(buf, file, 16, IDX_IMAGES_MAGIC, 'images');
  const n = u32(buf, 4);
  const rows = u32(buf, 8);
  const cols = u32(buf, 12);
  if (rows === 0 || cols === 0 || rows > 4096 || cols > 4096) {
    throw new UsageError(file, `implausible image size ${rows}x${cols}`);
  }
  const need = n * rows * cols;
  if (16 + need > buf.length) {
    throw new UsageError(
      file,
      `declared size ${n}x${rows}x${cols} needs ${16 + need} bytes but the file has ${buf.length} (truncated?)`,
    );
  }
  return { pixels: new Uint8Array(buf.buffer, buf.byteOffset + 16, need), n, rows, cols };
}

export function parseIdxLabels(buf: Uint8Array, file: string, numClasses: number): Uint8Array {
  checkIdxHeader(buf, file, 8, IDX_LABELS_MAGIC, 'labels');
  const n = u32(buf, 4);
  if (8 + n > buf.length) {
    throw new UsageError(
      file,
      `declared ${n} labels need ${8 + n} bytes but the file has ${buf.length} (truncated?)`,
    );
  }
  const labels = new Uint8Array(buf.buffer, buf.byteOffset + 8, n);
  for (let i = 0; i < n; i++) {
    if (labels[i] >= numClasses) {
      throw new UsageError(
        file,
        `label ${labels[i]} at index ${i} out of range 0-${numClasses - 1}`,
      );
    }
  }
  return labels;
}
