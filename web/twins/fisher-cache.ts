/**
 * Browser twin of src/unlearn/uib/fisher-cache.ts: a page has no checkpoint directory, so there is
 * never a cached F_D to load; UIB computes the curvature it needs, as on Node without --cache-fisher.
 */
export type { FisherCache, FisherCacheKind } from '../../src/unlearn/uib/fisher-cache.ts';

import type { FisherCache } from '../../src/unlearn/uib/fisher-cache.ts';

export function loadFisherCache(..._args: unknown[]): FisherCache | null {
  return null;
}
export function hasFisherCache(_dir: string): boolean {
  return false;
}
