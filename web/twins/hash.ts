/**
 * Browser twin of src/core/hash.ts: the same hex SHA-256, synchronous as on Node (Web Crypto's
 * digest is async, and uib hashes weights inside synchronous checks), from @noble/hashes.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { stableStringify } from '../../src/core/stable-json.ts';

export { stableStringify };

/** Hex SHA-256 of bytes or a string (UTF-8). */
export function sha256(data: string | Uint8Array | ArrayBufferView): string {
  const bytes =
    typeof data === 'string'
      ? new TextEncoder().encode(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return bytesToHex(nobleSha256(bytes));
}

/** Hex SHA-256 of a JSON value with object keys sorted (a content hash for configs). */
export function sha256Json(value: unknown): string {
  return sha256(stableStringify(value));
}
