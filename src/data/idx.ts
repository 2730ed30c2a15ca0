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

export {
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  parseIdxImages,
  parseIdxLabels,
} from './idx-parse.ts';
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
