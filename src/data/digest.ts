/**
 * Content hashes of data. A manifest records the SHA-256 of each source split it indexes, so a
 * scenario built on one copy of a data set is refused on a different one, and of its materialised
 * training inputs, so a change in a corruption's code is caught too.
 */
import { createHash, type Hash } from 'node:crypto';
import { type DataSource, type Dataset, sampleSize } from './dataset.ts';

const sourceCache = new WeakMap<DataSource, string>();

function updateBytes(h: Hash, a: ArrayBufferView): void {
  h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** SHA-256 of a source split's samples: shape, feature bytes and labels (cached per source). */
export function sourceDigest(src: DataSource): string {
  const hit = sourceCache.get(src);
  if (hit) return hit;
  const h = createHash('sha256');
  h.update(`${src.x instanceof Uint8Array ? 'u8' : 'f32'}:${src.sampleShape.join('x')}:`);
  updateBytes(h, src.x);
  h.update(`:${src.y.constructor.name}:`);
  updateBytes(h, src.y);
  const d = h.digest('hex');
  sourceCache.set(src, d);
  return d;
}

/** SHA-256 of a view's samples in view order: each sample's feature bytes and its label. */
export function viewDigest(ds: Dataset): string {
  const h = createHash('sha256');
  const size = sampleSize(ds.sampleShape);
  const { x, y } = ds.source;
  h.update(`${x instanceof Uint8Array ? 'u8' : 'f32'}:${ds.sampleShape.join('x')}:${ds.length}:`);
  const label = new Int32Array(1);
  for (let i = 0; i < ds.length; i++) {
    const s = ds.at(i);
    updateBytes(h, x.subarray(s * size, (s + 1) * size));
    label[0] = y[s];
    updateBytes(h, label);
  }
  return h.digest('hex');
}
