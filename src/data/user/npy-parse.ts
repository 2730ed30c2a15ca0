/**
 * NumPy `.npy` arrays from bytes, with no Node built-in: npy.ts reads the files on Node, the page
 * hands over a dropped file's bytes, and both get these checks and messages.
 *
 * Format versions 1–3: a `\x93NUMPY` magic, a version, a header length, a Python-literal dict
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }`, then the elements in C order.
 * A pair `x.npy` + `y.npy` is a data set:
 *
 * - x: float32, float64 (stored as float32) or uint8 (bytes with scale 1/255, as image sources);
 *   shape [n] → samples [1], [n, d] → [d], [n, h, w] → [h, w, 1], [n, h, w, c] → [h, w, c] (NHWC:
 *   a PyTorch NCHW array must be transposed first). Values must be finite.
 * - y: integer labels (any width; floats holding integers are accepted), shape [n] or [n, 1].
 * - Fortran order, structured dtypes and object arrays are refused. Ids are row numbers.
 */
import { UsageError } from '../../core/errors.ts';
import type { Features } from '../dataset.ts';
import {
  type FileDigest,
  integerClasses,
  labelArray,
  rowIds,
  type UserDataset,
  type UserFormat,
  userDataset,
} from './types.ts';

/** One .npy file (or npz member) at most. */
export const NPY_MAX_BYTES = 1024 ** 3;
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export interface NpyArray {
  /** As written in the header: `<f4`, `|u1`, `<i8`... */
  descr: string;
  kind: 'f' | 'i' | 'u' | 'b';
  itemSize: number;
  littleEndian: boolean;
  shape: number[];
  /** The element bytes (a view into the file's buffer). */
  data: Uint8Array;
}

/** Latin-1 exactly as Buffer's 'latin1' (TextDecoder's 'latin1' is windows-1252). */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096)
    s += String.fromCharCode(...b.subarray(i, Math.min(i + 4096, b.length)));
  return s;
}

export function parseNpy(b: Uint8Array, where: string): NpyArray {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 10 || MAGIC.some((m, i) => b[i] !== m))
    throw new UsageError(where, 'is not a .npy file (no \\x93NUMPY magic)');
  const major = b[6];
  if (major < 1 || major > 3)
    throw new UsageError(where, `.npy format version ${major}.${b[7]} is not supported (1-3)`);
  const lenBytes = major === 1 ? 2 : 4;
  if (b.length < 8 + lenBytes) throw new UsageError(where, 'truncated .npy header');
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = 8 + lenBytes;
  if (start + hlen > b.length)
    throw new UsageError(where, `truncated .npy header (declares ${hlen} bytes)`);
  const text = b.subarray(start, start + hlen);
  const header = (major === 3 ? new TextDecoder('utf-8').decode(text) : latin1(text)).trim();
  if (!header.startsWith('{') || !header.endsWith('}'))
    throw new UsageError(where, '.npy header is not a dict');
  if (/'descr'\s*:\s*\[/.test(header))
    throw new UsageError(where, 'structured dtypes (records) are not supported; save plain arrays');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)\b/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw new UsageError(where, `.npy header lacks descr, fortran_order or shape: ${header}`);
  if (fortran === 'True')
    throw new UsageError(
      where,
      'is in Fortran (column-major) order; save it in C order (np.ascontiguousarray)',
    );
  const dt = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  if (!dt || ![1, 2, 4, 8].includes(Number(dt[3])) || (dt[2] === 'f' && Number(dt[3]) < 4))
    throw new UsageError(
      where,
      `dtype '${descr}' is not supported (float32/64, integers, bool; no objects or strings)`,
    );
  const shape = shapeText
    .split(',')
    .map((s) => s.trim().replace(/L$/, ''))
    .filter((s) => s !== '')
    .map((s) => {
      if (!/^\d+$/.test(s)) throw new UsageError(where, `bad .npy shape (${shapeText})`);
      return Number(s);
    });
  const itemSize = Number(dt[3]);
  const count = shape.reduce((a, c) => a * c, 1);
  const off = start + hlen;
  const need = count * itemSize;
  if (off + need !== b.length)
    throw new UsageError(
      where,
      `shape (${shape.join(', ')}) of ${descr} needs ${need} data bytes; the file has ${b.length - off}${off + need > b.length ? ' (truncated?)' : ''}`,
    );
  return {
    descr,
    kind: dt[2] as NpyArray['kind'],
    itemSize,
    littleEndian: dt[1] !== '>',
    shape,
    data: new Uint8Array(b.buffer, b.byteOffset + off, need),
  };
}

/** Element i as a number (int64 beyond 2^53 comes out rounded: only labels are integers). */
function reader(a: NpyArray): (i: number) => number {
  const dv = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const le = a.littleEndian;
  const s = a.itemSize;
  if (a.kind === 'f')
    return s === 4 ? (i) => dv.getFloat32(i * 4, le) : (i) => dv.getFloat64(i * 8, le);
  if (a.kind === 'b' || s === 1)
    return a.kind === 'i' ? (i) => dv.getInt8(i) : (i) => dv.getUint8(i);
  if (a.kind === 'i') {
    if (s === 2) return (i) => dv.getInt16(i * 2, le);
    if (s === 4) return (i) => dv.getInt32(i * 4, le);
    return (i) => Number(dv.getBigInt64(i * 8, le));
  }
  if (s === 2) return (i) => dv.getUint16(i * 2, le);
  if (s === 4) return (i) => dv.getUint32(i * 4, le);
  return (i) => Number(dv.getBigUint64(i * 8, le));
}

function features(a: NpyArray, where: string): Features {
  const n = a.data.length / a.itemSize;
  if (a.kind === 'u' && a.itemSize === 1) return a.data; // a view: no copy
  if (a.kind !== 'f')
    throw new UsageError(
      where,
      `features of dtype '${a.descr}' are not supported (float32, float64 or uint8)`,
    );
  let x: Float32Array;
  if (a.itemSize === 4 && a.littleEndian) {
    // Copy into an aligned buffer (the file's data may start at any byte).
    x = new Float32Array(n);
    new Uint8Array(x.buffer).set(a.data);
  } else {
    const get = reader(a);
    x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = get(i);
  }
  for (let i = 0; i < n; i++)
    if (!Number.isFinite(x[i]))
      throw new UsageError(
        where,
        `value ${i} is ${x[i]}${a.itemSize === 8 && !Number.isNaN(x[i]) ? ' (out of float32 range)' : ''}; features must be finite`,
      );
  return x;
}

function labels(a: NpyArray, where: string): number[] {
  if (!(a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1)))
    throw new UsageError(
      where,
      `labels must have shape (n,) or (n, 1); got (${a.shape.join(', ')})`,
    );
  if (a.kind === 'b')
    throw new UsageError(where, 'labels of dtype bool are not supported; save integer class ids');
  const get = reader(a);
  const n = a.shape[0];
  const y = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = get(i);
    if (!Number.isInteger(v) || v < 0)
      throw new UsageError(where, `label ${i} is ${v}; labels are integer class ids ≥ 0`);
    y[i] = v;
  }
  return y;
}

export interface NpyPairOptions {
  /** Class names in class-id order (fixes the number of classes). */
  classes?: readonly string[];
  name?: string;
}

/** A data set from parsed x and y arrays (`.npy` pair or `.npz` members). */
export function datasetFromNpy(
  x: NpyArray,
  y: NpyArray,
  where: { x: string; y: string },
  meta: { format: UserFormat; name: string; files: FileDigest[]; classes?: readonly string[] },
): UserDataset {
  if (x.shape.length === 0)
    throw new UsageError(where.x, 'is a scalar; features are an array (n, ...)');
  const ys = labels(y, where.y);
  const n = x.shape[0];
  if (ys.length !== n)
    throw new UsageError(where.y, `has ${ys.length} labels but ${where.x} has ${n} rows`);
  const rest = x.shape.slice(1);
  const sampleShape = rest.length === 0 ? [1] : rest.length === 2 ? [...rest, 1] : rest;
  if (sampleShape.some((d) => d === 0))
    throw new UsageError(where.x, `has an empty dimension (${x.shape.join(', ')})`);
  const xs = features(x, where.x);
  const { numClasses, classNames } = integerClasses(ys, where.y, meta.classes);
  const yArr = labelArray(n, numClasses);
  for (let i = 0; i < n; i++) yArr[i] = ys[i];
  return userDataset({
    name: meta.name,
    format: meta.format,
    sampleShape,
    x: xs,
    scale: xs instanceof Uint8Array ? 1 / 255 : 1,
    y: yArr,
    numClasses,
    classNames,
    ids: rowIds(n),
    files: meta.files,
    attributes: {},
  });
}
