/**
 * Small dense linear algebra for the prior (row-major Float64Array matrices): symmetric
 * eigendecomposition for K-FAC factors, Cholesky solves for exact-Hessian precisions.
 *
 * The eigensolver is the classic two-phase one (Householder tridiagonalisation, then implicit QL
 * with Wilkinson shifts; the EISPACK tred2/tql2 pair): O(n³) with a small constant, so a
 * 1,601-row K-FAC factor takes ~10 s, where cyclic Jacobi did not finish in 8 minutes. Inner loops
 * walk rows of row-major arrays: the reduction reads only the lower triangle row by row, Q is
 * built a band of columns at a time, and the QL rotations are queued and applied along rows.
 */

/**
 * Eigen-decomposition of a symmetric n×n matrix: a = V diag(values) Vᵀ, where `vectors` is V
 * row-major, so column j (`vectors[k * n + j]`, k = 0..n-1) is the unit eigenvector of `values[j]`.
 * Values are in ascending order. Only the symmetric part (a + aᵀ)/2 is used.
 */
export function symmetricEigen(
  a: Float64Array,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n)
    throw new RangeError(`symmetricEigen: need an n×n matrix (n = ${n}), got ${a.length} entries`);
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const x = 0.5 * (a[i * n + j] + a[j * n + i]);
      if (!Number.isFinite(x))
        throw new RangeError(`symmetricEigen: entry (${i}, ${j}) is not finite (${x})`);
      w[i * n + j] = x;
    }
  const d = new Float64Array(n);
  const sub = new Float64Array(n);
  const h = new Float64Array(n);
  tridiagonalize(w, n, d, sub, h);
  const v = reflectorsProduct(w, n, h); // Q: A = Q T Qᵀ
  implicitQL(d, sub, v, n); // now V = Q·(eigenvectors of T)
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x] - d[y]);
  const values = Float64Array.from(order, (j) => d[j]);
  const vectors = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const row = k * n;
    for (let j = 0; j < n; j++) vectors[row + j] = v[row + order[j]];
  }
  return { values, vectors };
}

/**
 * Householder reduction of the lower triangle of `w` to tridiagonal T = Qᵀ A Q: diagonal in `d`,
 * sub-diagonal in `sub` (sub[i] = T[i+1][i]). Row i is reduced with a reflector P = I − u uᵀ/h
 * acting on indices 0..i-1 (rows from the bottom up); u is left in w[i][0..i-1] and h in h[i]
 * (0: no reflector) for `reflectorsProduct`.
 */
function tridiagonalize(
  w: Float64Array,
  n: number,
  d: Float64Array,
  sub: Float64Array,
  h: Float64Array,
): void {
  const q = new Float64Array(n);
  for (let i = n - 1; i >= 1; i--) {
    const row = i * n;
    d[i] = w[row + i]; // final: later reflectors touch only indices < i
    let scale = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(w[row + k]);
    if (i === 1 || scale === 0) {
      // Nothing to annihilate left of the sub-diagonal.
      sub[i - 1] = w[row + i - 1];
      h[i] = 0;
      continue;
    }
    // Scaling by the 1-norm keeps the sum of squares clear of overflow and underflow.
    let sigma = 0;
    for (let k = 0; k < i; k++) {
      const x = w[row + k] / scale;
      w[row + k] = x;
      sigma += x * x;
    }
    const f = w[row + i - 1];
    const g = f >= 0 ? -Math.sqrt(sigma) : Math.sqrt(sigma); // sign opposite f: no cancellation
    sub[i - 1] = scale * g;
    const hh = sigma - f * g; // = uᵀu / 2
    w[row + i - 1] = f - g;
    h[i] = hh;
    // q = A u / h over the leading i×i block, from its lower triangle: one pass over each row j
    // adds the row's part (k < j) to q[j] and, by symmetry, the column's part to q[k].
    q.fill(0, 0, i);
    for (let j = 0; j < i; j++) {
      const rj = j * n;
      const uj = w[row + j];
      let s = 0;
      for (let k = 0; k < j; k++) {
        const ajk = w[rj + k];
        s += ajk * w[row + k];
        q[k] += ajk * uj;
      }
      q[j] += s + w[rj + j] * uj;
    }
    let uq = 0;
    for (let j = 0; j < i; j++) {
      q[j] /= hh;
      uq += w[row + j] * q[j];
    }
    // P A P = A − u vᵀ − v uᵀ with v = q − (uᵀq / 2h) u.
    const kappa = uq / (2 * hh);
    for (let j = 0; j < i; j++) q[j] -= kappa * w[row + j];
    for (let j = 0; j < i; j++) {
      const rj = j * n;
      const uj = w[row + j];
      const vj = q[j];
      for (let k = 0; k <= j; k++) w[rj + k] -= uj * q[k] + vj * w[row + k];
    }
  }
  if (n > 0) d[0] = w[0];
  if (n > 0) sub[n - 1] = 0;
}

/**
 * Q = P_{n-1} ⋯ P_3 P_2 (the reflectors were applied from P_{n-1} down, so A = Q T Qᵀ), built as
 * P_{n-1}(⋯(P_2 I)). Left multiplication acts on each column separately, and before P_i only the
 * leading (i-1)×(i-1) block differs from I, so P_i touches rows and columns 0..i-1. The columns
 * are taken in bands that stay in cache while every reflector passes over them (one pass over the
 * reflectors per band, instead of one pass over the n×n result per reflector).
 */
function reflectorsProduct(w: Float64Array, n: number, h: Float64Array): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const band = 32; // 32 columns of 1,601 rows: 400 KB, fits L2
  const r = new Float64Array(band);
  for (let c0 = 0; c0 < n; c0 += band) {
    for (let i = Math.max(2, c0 + 1); i < n; i++) {
      const hh = h[i];
      if (hh === 0) continue;
      const u = i * n;
      const c1 = Math.min(c0 + band, i);
      const width = c1 - c0;
      // P_i x = x − u (uᵀx)/h on the band's columns: r = uᵀ Q[0..i), then rank-1 update.
      r.fill(0);
      for (let k = 0; k < i; k++) {
        const uk = w[u + k];
        if (uk === 0) continue;
        const row = k * n + c0;
        for (let c = 0; c < width; c++) r[c] += uk * q[row + c];
      }
      for (let c = 0; c < width; c++) r[c] /= hh;
      for (let k = 0; k < i; k++) {
        const uk = w[u + k];
        if (uk === 0) continue;
        const row = k * n + c0;
        for (let c = 0; c < width; c++) q[row + c] -= uk * r[c];
      }
    }
  }
  return q;
}

/**
 * Eigenvalues of the tridiagonal (d, sub) by implicit QL with Wilkinson shifts, in place in d.
 * Every plane rotation of (i, i+1) is also applied to columns i, i+1 of v, so v = Q ends as
 * Q·(eigenvectors of T), the eigenvectors of A in its columns. Off-diagonals below
 * ε·max(|d|+|sub|) seen so far count as zero (EISPACK's test: absolute accuracy ε‖T‖, which is
 * what the Householder phase delivers anyway).
 */
function implicitQL(d: Float64Array, sub: Float64Array, v: Float64Array, n: number): void {
  const eps = Number.EPSILON;
  const sweeps = new SweepBatch(v, n);
  let norm = 0;
  for (let l = 0; l < n; l++) {
    norm = Math.max(norm, Math.abs(d[l]) + Math.abs(sub[l]));
    for (let iter = 0; ; iter++) {
      // The first negligible off-diagonal at or below l ends the unreduced block [l, m].
      let m = l;
      while (m < n - 1 && Math.abs(sub[m]) > eps * norm) m++;
      if (m === l) break;
      if (iter === 60) throw new Error(`symmetricEigen: QL did not converge at row ${l} of ${n}`);
      // Wilkinson shift: the eigenvalue of the leading 2×2 of the block nearest d[l].
      const t = (d[l + 1] - d[l]) / (2 * sub[l]);
      const r0 = Math.hypot(t, 1);
      let g = d[m] - d[l] + sub[l] / (t + (t >= 0 ? r0 : -r0));
      // Chase the bulge from the bottom of the block up to l with Givens rotations.
      let s = 1;
      let c = 1;
      let p = 0;
      let underflow = false;
      sweeps.begin(m);
      for (let i = m - 1; i >= l; i--) {
        const f = s * sub[i];
        const b = c * sub[i];
        const r = Math.hypot(f, g);
        sub[i + 1] = r;
        if (r === 0) {
          // The rotation degenerated: the block splits at i+1; undo the partial shift, retry.
          d[i + 1] -= p;
          sub[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        const q = (d[i] - g) * s + 2 * c * b;
        p = s * q;
        d[i + 1] = g + p;
        g = c * q - b;
        sweeps.rotate(c, s);
      }
      sweeps.end();
      if (underflow) continue;
      d[l] -= p;
      sub[l] = g;
      sub[m] = 0;
    }
  }
  sweeps.flush();
}

/**
 * The QL sweeps' rotations, queued and applied to v a row at a time. The rotations depend only
 * on (d, sub), so they can wait; applied at once, each sweep would stream all of v through memory.
 * A sweep from column m down to l rotates (m-1, m), then (m-2, m-1), …: along one row that is a
 * chain carrying one value, so each entry is loaded and stored once; four rows run side by side to
 * hide the chain's latency.
 */
class SweepBatch {
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly top: number[] = []; // per queued sweep: its first column m …
  private readonly start: number[] = []; // … and the offset of its first rotation
  private count = 0;

  constructor(
    private readonly v: Float64Array,
    private readonly n: number,
  ) {
    const capacity = Math.max(1 << 15, n); // 512 KB of coefficients: stays in L2 while rows pass
    this.cos = new Float64Array(capacity);
    this.sin = new Float64Array(capacity);
  }

  /** Open a sweep starting at column m (rotating m-1, m first); room for m rotations is made. */
  begin(m: number): void {
    if (this.count + m > this.cos.length) this.flush();
    this.top.push(m);
    this.start.push(this.count);
  }

  /** Queue the next rotation of the open sweep: new v[i] = c·v[i] − s·v[i+1], new v[i+1] = s·v[i] + c·v[i+1]. */
  rotate(c: number, s: number): void {
    this.cos[this.count] = c;
    this.sin[this.count] = s;
    this.count++;
  }

  end(): void {
    const last = this.start.length - 1;
    if (this.start[last] === this.count) {
      this.top.pop();
      this.start.pop();
    }
  }

  flush(): void {
    const { v, n, cos, sin, top, start } = this;
    const sweeps = top.length;
    let k = 0;
    for (; k + 4 <= n; k += 4) {
      const r0 = k * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      for (let w = 0; w < sweeps; w++) {
        const m = top[w];
        const off = start[w];
        const lo = m - ((w + 1 < sweeps ? start[w + 1] : this.count) - off);
        let x0 = v[r0 + m];
        let x1 = v[r1 + m];
        let x2 = v[r2 + m];
        let x3 = v[r3 + m];
        for (let i = m - 1, t = off; i >= lo; i--, t++) {
          const c = cos[t];
          const s = sin[t];
          const y0 = v[r0 + i];
          const y1 = v[r1 + i];
          const y2 = v[r2 + i];
          const y3 = v[r3 + i];
          v[r0 + i + 1] = s * y0 + c * x0;
          v[r1 + i + 1] = s * y1 + c * x1;
          v[r2 + i + 1] = s * y2 + c * x2;
          v[r3 + i + 1] = s * y3 + c * x3;
          x0 = c * y0 - s * x0;
          x1 = c * y1 - s * x1;
          x2 = c * y2 - s * x2;
          x3 = c * y3 - s * x3;
        }
        v[r0 + lo] = x0;
        v[r1 + lo] = x1;
        v[r2 + lo] = x2;
        v[r3 + lo] = x3;
      }
    }
    for (; k < n; k++) {
      const r = k * n;
      for (let w = 0; w < sweeps; w++) {
        const m = top[w];
        const off = start[w];
        const lo = m - ((w + 1 < sweeps ? start[w + 1] : this.count) - off);
        let x = v[r + m];
        for (let i = m - 1, t = off; i >= lo; i--, t++) {
          const y = v[r + i];
          v[r + i + 1] = sin[t] * y + cos[t] * x;
          x = cos[t] * y - sin[t] * x;
        }
        v[r + lo] = x;
      }
    }
    top.length = 0;
    start.length = 0;
    this.count = 0;
  }
}

/** C = op(A) · op(B) for row-major matrices; A is r×k after transposition, B k×c. */
export function matmul(
  a: Float64Array,
  b: Float64Array,
  r: number,
  k: number,
  c: number,
  transA = false,
  transB = false,
): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let l = 0; l < k; l++) {
      const ail = transA ? a[l * r + i] : a[i * k + l];
      if (ail === 0) continue;
      const row = i * c;
      if (transB) for (let j = 0; j < c; j++) out[row + j] += ail * b[j * k + l];
      else {
        const brow = l * c;
        for (let j = 0; j < c; j++) out[row + j] += ail * b[brow + j];
      }
    }
  }
  return out;
}

/** Lower Cholesky factor of a symmetric positive-definite n×n matrix; null if not positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  return l;
}

/** x = (L Lᵀ)⁻¹ b. */
export function choleskySolve(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * y[k];
    y[i] = s / l[i * n + i];
  }
  return y;
}

/** Median of the values (a copy is sorted). */
export function median(values: ArrayLike<number>): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return 0;
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
