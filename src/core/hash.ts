/**
 * SHA-256 for every content hash of uib (weights, manifests, configs). Synchronous on both
 * platforms — Web Crypto's digest is async, and uib hashes weights inside synchronous checks: on
 * Node, node:crypto (~7× faster on a data set's pixels); in a page, @noble/hashes (audited, pure
 * JS). Both give the same hex digest (tests/core/hash.test.ts).
 */
import type * as NodeCrypto from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { nodeBuiltin } from './node-builtin.ts';
import { stableStringify } from './stable-json.ts';

export { stableStringify };

const crypto = nodeBuiltin<typeof NodeCrypto>('node:crypto');

const bytesOf = (data: string | ArrayBufferView): Uint8Array =>
  typeof data === 'string'
    ? new TextEncoder().encode(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** Hex SHA-256 of bytes or a string (UTF-8). */
export function sha256(data: string | Uint8Array | ArrayBufferView): string {
  if (crypto) return crypto.createHash('sha256').update(bytesOf(data)).digest('hex');
  return sha256Portable(data);
}

/** The page's route, exported so the tests can hold it to Node's. */
export function sha256Portable(data: string | Uint8Array | ArrayBufferView): string {
  return bytesToHex(nobleSha256(bytesOf(data)));
}

/** Hex SHA-256 of a JSON value with object keys sorted (a content hash for configs). */
export function sha256Json(value: unknown): string {
  return sha256(stableStringify(value));
}
