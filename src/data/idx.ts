/**
 * IDX reader (the MNIST / Fashion-MNIST file format, gzip or raw).
 *
 *   images: magic 2051 (0x00000803), n, rows, cols, then n*rows*cols bytes
 *   labels: magic 2049 (0x00000801), n, then n bytes
 *
 * The pixel array is a view into the file's buffer, not a copy (47 MB for MNIST's 60k images).
 */
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { readFileChecked } from '../core/read.ts';
import { gunzipIdx, IDX_MAX_INFLATED_BYTES, type Inflate } from './idx-parse.ts';

export {
  gunzipIdx,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  IDX_MAX_INFLATED_BYTES,
  type Inflate,
  parseIdxImages,
  parseIdxLabels,
} from './idx-parse.ts';

export function readIdxFile(file: string): Buffer {
  // A raw file is its inflated size and a gzip'd one is smaller (pixels compress): one cap.
  return inflateIdx(
    readFileChecked(file, { maxBytes: IDX_MAX_INFLATED_BYTES, what: 'an IDX file' }),
    file,
  );
}

/** Node's inflater for the bytes-level readers (idx-parse.ts, data/user/zip.ts): node:zlib. */
export const zlibInflate: Inflate = (bytes, format, maxBytes) => {
  try {
    return format === 'gzip'
      ? gunzipSync(bytes, { maxOutputLength: maxBytes })
      : inflateRawSync(bytes, { maxOutputLength: Math.max(maxBytes, 1) });
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'too-large' : 'corrupt';
  }
};

/** An IDX file's bytes as read from disk → its IDX bytes (gunzipped if gzip'd), with the caps. */
export function inflateIdx(buf: Buffer, file: string): Buffer {
  // Either `buf` itself or zlib's output: a Buffer both ways.
  return gunzipIdx(buf, file, zlibInflate) as Buffer;
}
