import { createHash } from 'node:crypto';
import { stableStringify } from './stable-json.ts';

export { stableStringify };

/** Hex SHA-256 of bytes or a string. */
export function sha256(data: string | Uint8Array | ArrayBufferView): string {
  const h = createHash('sha256');
  if (typeof data === 'string') h.update(data, 'utf8');
  else h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return h.digest('hex');
}

/** Hex SHA-256 of a JSON value with object keys sorted (a content hash for configs). */
export function sha256Json(value: unknown): string {
  return sha256(stableStringify(value));
}
