/**
 * IDX reader (the MNIST / Fashion-MNIST file format, gzip or raw).
 *
 *   images: magic 2051 (0x00000803), n, rows, cols, then n*rows*cols bytes
 *   labels: magic 2049 (0x00000801), n, then n bytes
 *
 * The pixel array is a view into the file's buffer, not a copy (47 MB for MNIST's 60k images).
 */
import { gunzipSync } from 'node:zlib';
import { UsageError } from '../core/errors.ts';
import { readFileChecked } from '../core/read.ts';

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;
/** Largest inflated IDX file accepted (EMNIST ByClass, the largest IDX set, is 0.55 GB). */
export const IDX_MAX_INFLATED_BYTES = 1 << 30;

export function readIdxFile(file: string): Buffer {
  // A raw file is its inflated size and a gzip'd one is smaller (pixels compress): one cap.
  return inflateIdx(
    readFileChecked(file, { maxBytes: IDX_MAX_INFLATED_BYTES, what: 'an IDX file' }),
    file,
  );
}

/** An IDX file's bytes as read from disk → its IDX bytes (gunzipped if gzip'd), with the caps. */
export function inflateIdx(buf: Buffer, file: string): Buffer {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    // A gzip bomb must not be inflated: refuse on the trailer's declared size (ISIZE), and cap
    // the output in case the trailer lies (ISIZE is mod 2^32).
    const declared = buf.length >= 18 ? buf.readUInt32LE(buf.length - 4) : 0;
    if (declared > IDX_MAX_INFLATED_BYTES) {
      throw new UsageError(
        file,
        `gzip data declares ${declared} bytes inflated (max ${IDX_MAX_INFLATED_BYTES})`,
      );
    }
    try {
      buf = gunzipSync(buf, { maxOutputLength: IDX_MAX_INFLATED_BYTES });
    } catch (e) {
      const tooBig = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw new UsageError(
        file,
        tooBig ? `gzip data inflates past ${IDX_MAX_INFLATED_BYTES} bytes` : 'corrupt gzip data',
      );
    }
  }
  return buf;
}

/** That `buf` holds a whole header of `headerBytes` and starts with the `expected` magic number. */
function checkIdxHeader(
  buf: Buffer,
  file: string,
  headerBytes: number,
  expected: number,
  what: 'images' | 'labels',
): void {
  if (buf.length < headerBytes)
    throw new UsageError(file, `truncated IDX header (${buf.length} bytes, need ${headerBytes})`);
  const magic = buf.readUInt32BE(0);
  if (magic !== expected) {
    throw new UsageError(file, `bad magic number ${magic} for IDX ${what} (expected ${expected})`);
  }
}

export function parseIdxImages(
  buf: Buffer,
  file: string,
): { pixels: Uint8Array; n: number; rows: number; cols: number } {
  checkIdxHeader(buf, file, 16, IDX_IMAGES_MAGIC, 'images');
  const n = buf.readUInt32BE(4);
  const rows = buf.readUInt32BE(8);
  const cols = buf.readUInt32BE(12);
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

export function parseIdxLabels(buf: Buffer, file: string, numClasses: number): Uint8Array {
  checkIdxHeader(buf, file, 8, IDX_LABELS_MAGIC, 'labels');
  const n = buf.readUInt32BE(4);
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
