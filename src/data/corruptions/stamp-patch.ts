/**
 * A localised pattern: a size×size square of one value in a corner of an HWC uint8 image (the
 * BadNets-style trigger, default a 3×3 white square at the bottom right).
 */
import { UsageError } from '../../core/errors.ts';

export type Corner = 'bottom-right' | 'top-left' | 'top-right' | 'bottom-left';
const CORNERS: readonly Corner[] = ['bottom-right', 'top-left', 'top-right', 'bottom-left'];

export interface PatchOptions {
  size?: number;
  corner?: Corner;
  value?: number;
}

export function stampPatch(
  img: Uint8Array,
  h: number,
  w: number,
  channels: number,
  opts: PatchOptions = {},
): Uint8Array {
  const { size = 3, corner = 'bottom-right', value = 255 } = opts;
  if (!Number.isInteger(channels) || channels < 1 || img.length !== h * w * channels) {
    throw new UsageError(
      'stampPatch',
      `image must hold h·w·channels = ${h}·${w}·${channels} bytes; got ${img.length}`,
    );
  }
  if (!Number.isInteger(size) || size < 1 || size > Math.min(h, w)) {
    throw new UsageError('patch size', `must be an integer in [1, ${Math.min(h, w)}]; got ${size}`);
  }
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new UsageError('patch value', `must be an integer in [0, 255]; got ${value}`);
  }
  if (!CORNERS.includes(corner)) {
    throw new UsageError('patch corner', `must be one of ${CORNERS.join(', ')}; got "${corner}"`);
  }
  const top = corner.startsWith('bottom') ? h - size : 0;
  const left = corner.endsWith('right') ? w - size : 0;
  const out = Uint8Array.from(img);
  for (let r = top; r < top + size; r++) {
    out.fill(value, (r * w + left) * channels, (r * w + left + size) * channels);
  }
  return out;
}
