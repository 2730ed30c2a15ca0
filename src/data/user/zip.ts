/**
 * The few bytes of the zip format an `.npz` needs: the central directory (zip64 too, since NumPy
 * writes every member with zip64 headers), stored and deflated members, CRC-32 checked. Sizes come
 * from the central directory, never from the local headers (NumPy's local headers hold 0xFFFFFFFF
 * and a zip64 extra field). Encrypted, multi-disk and other compressions are refused.
 *
 * Bytes only (Uint8Array, DataView; no Node built-in), so a page reads an .npz with the same code;
 * deflated members go through the caller's inflater (Node: node:zlib; a page: DecompressionStream).
 */
import { UsageError } from '../../core/errors.ts';
import type { Inflate } from '../idx-parse.ts';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX32 = 0xffffffff;

/** Little-endian reads; out of range is a RangeError, as Buffer's reads were (npz.ts relies on it). */
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const utf8 = new TextDecoder('utf-8');

function u64(d: DataView, off: number): number {
  const v = d.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('zip64 value too large');
  return Number(v);
}

export function zipEntries(b: Uint8Array, file: string): ZipEntry[] {
  const d = view(b);
  const u16 = (at: number) => d.getUint16(at, true);
  const u32 = (at: number) => d.getUint32(at, true);
  const bad = (problem: string): never => {
    throw new UsageError(file, `${problem} (is it a valid .npz / zip file?)`);
  };
  // The end record is within the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--)
    if (u32(i) === EOCD) {
      eocd = i;
      break;
    }
  if (eocd < 0) bad('no zip end-of-central-directory record');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOff = u32(eocd + 16);
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0) bad('multi-disk zip archives are not supported');
  if (count === 0xffff || cdSize === MAX32 || cdOff === MAX32) {
    const loc = eocd - 20;
    if (loc < 0 || u32(loc) !== ZIP64_LOCATOR) bad('zip64 locator missing');
    const z = u64(d, loc + 8);
    if (z + 56 > b.length || u32(z) !== ZIP64_EOCD) bad('zip64 end record missing');
    count = u64(d, z + 32);
    cdSize = u64(d, z + 40);
    cdOff = u64(d, z + 48);
  }
  if (cdOff + cdSize > b.length) bad('central directory lies past the end of the file');
  const out: ZipEntry[] = [];
  let p = cdOff;
  for (let k = 0; k < count; k++) {
    if (p + 46 > b.length || u32(p) !== CENTRAL) bad(`bad central directory entry ${k}`);
    const flags = u16(p + 8);
    const method = u16(p + 10);
    const crc32 = u32(p + 16);
    let compressedSize = u32(p + 20);
    let size = u32(p + 24);
    const nameLen = u16(p + 28);
    const extraLen = u16(p + 30);
    const commentLen = u16(p + 32);
    let localOffset = u32(p + 42);
    const name = utf8.decode(b.subarray(p + 46, p + 46 + nameLen));
    // zip64 extra (id 1): the 64-bit values, in this order, for the fields that hold 0xFFFFFFFF.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = u16(e);
      const len = u16(e + 2);
      if (id === 1) {
        let q = e + 4;
        if (size === MAX32) {
          size = u64(d, q);
          q += 8;
        }
        if (compressedSize === MAX32) {
          compressedSize = u64(d, q);
          q += 8;
        }
        if (localOffset === MAX32) localOffset = u64(d, q);
      }
      e += 4 + len;
    }
    out.push({ name, method, flags, crc32, compressedSize, size, localOffset });
    p = end + commentLen;
  }
  return out;
}

let crcTable: Uint32Array | undefined;
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A member's bytes (inflated by `inflate` if deflated), at most `maxBytes`, CRC-checked. Without
 * an inflater a deflated member is refused by name.
 */
export function zipRead(
  b: Uint8Array,
  e: ZipEntry,
  file: string,
  maxBytes: number,
  inflate?: Inflate,
): Uint8Array {
  const where = `${file}:${e.name}`;
  const d = view(b);
  if (e.flags & 1) throw new UsageError(where, 'is encrypted');
  if (e.size > maxBytes)
    throw new UsageError(where, `is ${e.size} bytes inflated (max ${maxBytes})`);
  const p = e.localOffset;
  if (p + 30 > b.length || d.getUint32(p, true) !== LOCAL)
    throw new UsageError(where, 'bad local header offset');
  const start = p + 30 + d.getUint16(p + 26, true) + d.getUint16(p + 28, true);
  if (start + e.compressedSize > b.length)
    throw new UsageError(where, 'member data lies past the end of the file (truncated?)');
  const raw = b.subarray(start, start + e.compressedSize);
  let data: Uint8Array;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    if (!inflate)
      throw new UsageError(
        where,
        'is deflate-compressed (np.savez_compressed) and no inflater was given',
      );
    const out = inflate(raw, 'deflate-raw', Math.max(e.size, 1), where);
    if (typeof out === 'string')
      throw new UsageError(where, 'corrupt deflate data (or larger than its declared size)');
    data = out;
  } else
    throw new UsageError(
      where,
      `zip compression method ${e.method} is not supported (stored or deflate)`,
    );
  if (data.length !== e.size)
    throw new UsageError(where, `inflates to ${data.length} bytes; the directory says ${e.size}`);
  if (crc32(data) !== e.crc32) throw new UsageError(where, 'CRC-32 mismatch (corrupt file)');
  return data;
}
