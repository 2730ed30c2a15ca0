/**
 * The few bytes of the zip format an `.npz` needs: the central directory (zip64 too, since NumPy
 * writes every member with zip64 headers), stored and deflated members, CRC-32 checked. Sizes come
 * from the central directory, never from the local headers (NumPy's local headers hold 0xFFFFFFFF
 * and a zip64 extra field). Encrypted, multi-disk and other compressions are refused.
 */
import { inflateRawSync } from 'node:zlib';
import { UsageError } from '../../core/errors.ts';

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

function u64(b: Buffer, off: number): number {
  const v = b.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('zip64 value too large');
  return Number(v);
}

export function zipEntries(b: Buffer, file: string): ZipEntry[] {
  const bad = (problem: string): never => {
    throw new UsageError(file, `${problem} (is it a valid .npz / zip file?)`);
  };
  // The end record is within the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--)
    if (b.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  if (eocd < 0) bad('no zip end-of-central-directory record');
  let count = b.readUInt16LE(eocd + 10);
  let cdSize = b.readUInt32LE(eocd + 12);
  let cdOff = b.readUInt32LE(eocd + 16);
  if (b.readUInt16LE(eocd + 4) !== 0 || b.readUInt16LE(eocd + 6) !== 0)
    bad('multi-disk zip archives are not supported');
  if (count === 0xffff || cdSize === MAX32 || cdOff === MAX32) {
    const loc = eocd - 20;
    if (loc < 0 || b.readUInt32LE(loc) !== ZIP64_LOCATOR) bad('zip64 locator missing');
    const z = u64(b, loc + 8);
    if (z + 56 > b.length || b.readUInt32LE(z) !== ZIP64_EOCD) bad('zip64 end record missing');
    count = u64(b, z + 32);
    cdSize = u64(b, z + 40);
    cdOff = u64(b, z + 48);
  }
  if (cdOff + cdSize > b.length) bad('central directory lies past the end of the file');
  const out: ZipEntry[] = [];
  let p = cdOff;
  for (let k = 0; k < count; k++) {
    if (p + 46 > b.length || b.readUInt32LE(p) !== CENTRAL) bad(`bad central directory entry ${k}`);
    const flags = b.readUInt16LE(p + 8);
    const method = b.readUInt16LE(p + 10);
    const crc32 = b.readUInt32LE(p + 16);
    let compressedSize = b.readUInt32LE(p + 20);
    let size = b.readUInt32LE(p + 24);
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const commentLen = b.readUInt16LE(p + 32);
    let localOffset = b.readUInt32LE(p + 42);
    const name = b.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extra (id 1): the 64-bit values, in this order, for the fields that hold 0xFFFFFFFF.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = b.readUInt16LE(e);
      const len = b.readUInt16LE(e + 2);
      if (id === 1) {
        let q = e + 4;
        if (size === MAX32) {
          size = u64(b, q);
          q += 8;
        }
        if (compressedSize === MAX32) {
          compressedSize = u64(b, q);
          q += 8;
        }
        if (localOffset === MAX32) localOffset = u64(b, q);
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

/** A member's bytes (inflated if deflated), at most `maxBytes`, CRC-checked. */
export function zipRead(b: Buffer, e: ZipEntry, file: string, maxBytes: number): Buffer {
  const where = `${file}:${e.name}`;
  if (e.flags & 1) throw new UsageError(where, 'is encrypted');
  if (e.size > maxBytes)
    throw new UsageError(where, `is ${e.size} bytes inflated (max ${maxBytes})`);
  const p = e.localOffset;
  if (p + 30 > b.length || b.readUInt32LE(p) !== LOCAL)
    throw new UsageError(where, 'bad local header offset');
  const start = p + 30 + b.readUInt16LE(p + 26) + b.readUInt16LE(p + 28);
  if (start + e.compressedSize > b.length)
    throw new UsageError(where, 'member data lies past the end of the file (truncated?)');
  const raw = b.subarray(start, start + e.compressedSize);
  let data: Buffer;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(e.size, 1) });
    } catch {
      throw new UsageError(where, 'corrupt deflate data (or larger than its declared size)');
    }
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
