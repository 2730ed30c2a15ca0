/**
 * brightness (severity 5): MNIST-C adds 0.5 to V in HSV. A grey pixel has S = 0 and V = x, and
 * rgb2gray's weights sum to 1, so the round trip is exactly min(x + 0.5, 1).
 */
export function brightness(x: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.min(x[i]! + 0.5, 1);
  return out;
}
