/** Fixtures for the user-data loaders: PNGs, .npy bytes, a zip writer (stored / deflated). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { crc32 } from '../../../src/data/user/zip.ts';

/** Write a w×h PNG; `px(x, y)` gives [r, g, b]; `grey` writes colour type 0 (r is the grey). */
export function writePng(
  file: string,
  w: number,
  h: number,
  px: (x: number, y: number) => [number, number, number],
  grey = false,
): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = px(x, y);
      png.data.set([r, g, b, 255], (y * w + x) * 4);
    }
  fs.writeFileSync(file, PNG.sync.write(png, grey ? { colorType: 0 } : { colorType: 2 }));
}

/** A version-1.0 .npy: magic, version, header dict padded with spaces to a multiple of 64, data. */
export function npyBytes(
  descr: string,
  shape: number[],
  data: Uint8Array,
  opts: { fortran?: boolean } = {},
): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64);
  header += '\n';
  const pre = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(pre);
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data)]);
}

export const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);
export const f64 = (xs: number[]) => new Uint8Array(Float64Array.from(xs).buffer);
export const i64 = (xs: number[]) => new Uint8Array(BigInt64Array.from(xs.map(BigInt)).buffer);

/** A zip of `files`, stored or deflated; `zip64` writes NumPy's local headers (sizes in an extra). */
export function zipBytes(
  files: { name: string; data: Buffer }[],
  opts: { deflate?: boolean; zip64?: boolean } = {},
): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let off = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8');
    const body = opts.deflate ? deflateRawSync(f.data) : f.data;
    const crc = crc32(f.data);
    const method = opts.deflate ? 8 : 0;
    const extra = Buffer.alloc(opts.zip64 ? 20 : 0);
    if (opts.zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(16, 2);
      extra.writeBigUInt64LE(BigInt(f.data.length), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
    }
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(opts.zip64 ? 45 : 20, 4);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(opts.zip64 ? 0xffffffff : body.length, 18);
    lh.writeUInt32LE(opts.zip64 ? 0xffffffff : f.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(extra.length, 28);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(f.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(off, 42);
    locals.push(lh, name, extra, body);
    centrals.push(ch, name);
    off += 30 + name.length + extra.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, end]);
}
