/**
 * Small dense linear algebra for the prior (row-major Float64Array matrices): symmetric
 * eigendecomposition for K-FAC factors, Cholesky solves for exact-Hessian precisions.
 *
 * The eigensolver is the classic two-phase one (Householder tridiagonalisation, then implicit QL
 * with Wilkinson shifts; the EISPACK tred2/tql2 pair): O(n³) with a small constant, so a
 * 1,601-row K-FAC factor takes ~7 s (~10 s before Q was built from blocks of reflectors), where
 * cyclic Jacobi did not finish in 8 minutes; the prior avoids most such factors (a factor of
 * fewer rows than dimensions is decomposed through its rows' Gram matrix, precision.ts). Inner
 * loops walk rows of row-major arrays: the reduction reads only the lower triangle row by row, Q
 * is built by compact-WY blocks as matrix products, the QL rotations are queued and applied along
 * rows, and products are blocked dot products. Everything is float64: the prior's solve subtracts
 * near-equal terms (precision.ts), which float32 products would not survive.
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
  // ‖A‖_∞ from the lower triangle. A row left of the sub-diagonal whose 1-norm is below ε‖A‖_∞
  // counts as annihilated already (a change within the rounding the reduction makes anyway):
  // reducing it would nest ever smaller blocks, at ε² and ε³ of ‖A‖ … down to subnormal numbers,
  // which took a 1,000-row Gram of rank 60 from 0.6 s to 8.6 s.
  const rowSum = new Float64Array(n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k <= i; k++) {
      const x = Math.abs(w[i * n + k]);
      rowSum[i] += x;
      if (k < i) rowSum[k] += x;
    }
  const negligible = Number.EPSILON * rowSum.reduce((m, x) => Math.max(m, x), 0);
  for (let i = n - 1; i >= 1; i--) {
    const row = i * n;
    d[i] = w[row + i]; // final: later reflectors touch only indices < i
    let scale = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(w[row + k]);
    if (i === 1 || scale <= negligible) {
      // Nothing (or nothing above rounding) to annihilate left of the sub-diagonal.
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
 * P_{n-1}(⋯(P_2 I)). Before P_i only the leading (i-1)×(i-1) block of the product differs from I,
 * and P_i touches rows and columns 0..i-1. The reflectors go in blocks of REFLECTOR_BLOCK: a
 * block's product P_{a+k-1} ⋯ P_a is I − V T Vᵀ (compact WY, T upper triangular), applied as two
 * matrix products instead of k rank-1 passes over Q. Qᵀ is built instead of Q, so that both
 * products run along contiguous rows: Qᵀ ← Qᵀ − ((Qᵀ V) Tᵀ) Vᵀ.
 */
function reflectorsProduct(w: Float64Array, n: number, h: Float64Array): Float64Array {
  const qt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) qt[i * n + i] = 1;
  const nb = REFLECTOR_BLOCK;
  const v = new Float64Array(nb * n); // V's columns as rows, zero past each reflector's length
  const t = new Float64Array(nb * nb);
  const z = new Float64Array(nb);
  for (let a = 2; a < n; a += nb) {
    const k = Math.min(nb, n - a);
    const top = a + k - 1; // the block acts on rows and columns 0..top-1
    // Column j of V is reflector a+k-1-j: the product is H_1 ⋯ H_k with H_1 the last one applied.
    for (let j = 0; j < k; j++) {
      const i = a + k - 1 - j;
      const row = j * n;
      if (h[i] === 0) v.fill(0, row, row + top);
      else {
        for (let r = 0; r < i; r++) v[row + r] = w[i * n + r];
        v.fill(0, row + i, row + top);
      }
    }
    // T (dlarft, forward): T_jj = τ_j, T[0..j, j] = −τ_j · T[0..j, 0..j] · V[:, 0..j]ᵀ v_j.
    t.fill(0);
    for (let j = 0; j < k; j++) {
      const i = a + k - 1 - j;
      const tau = h[i] === 0 ? 0 : 1 / h[i];
      t[j * nb + j] = tau;
      if (tau === 0) continue;
      // z_l = v_l · v_j over v_j's length i (the earlier columns are longer).
      for (let l = 0; l < j; l++) {
        let s = 0;
        for (let e = 0; e < i; e++) s += v[l * n + e] * v[j * n + e];
        z[l] = s;
      }
      for (let r = 0; r < j; r++) {
        let s = 0;
        for (let l = r; l < j; l++) s += t[r * nb + l] * z[l];
        t[r * nb + j] = -tau * s;
      }
    }
    // P = Qᵀ[0..top, 0..top] V (top × k), then P ← P Tᵀ.
    const p = dotProducts(qt, n, v, n, top, k, top, false);
    for (let c = 0; c < top; c++) {
      const o = c * k;
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let l = j; l < k; l++) s += p[o + l] * t[j * nb + l];
        p[o + j] = s;
      }
    }
    // Qᵀ −= P Vᵀ, row by row, four columns of V per pass over the row.
    for (let c = 0; c < top; c++) {
      const row = c * n;
      const o = c * k;
      let j = 0;
      for (; j + 4 <= k; j += 4) {
        const [p0, p1, p2, p3] = [p[o + j], p[o + j + 1], p[o + j + 2], p[o + j + 3]];
        const [v0, v1, v2, v3] = [j * n, (j + 1) * n, (j + 2) * n, (j + 3) * n];
        for (let r = 0; r < top; r++)
          qt[row + r] -= p0 * v[v0 + r] + p1 * v[v1 + r] + p2 * v[v2 + r] + p3 * v[v3 + r];
      }
      for (; j < k; j++) {
        const pj = p[o + j];
        const vj = j * n;
        for (let r = 0; r < top; r++) qt[row + r] -= pj * v[vj + r];
      }
    }
  }
  return transpose(qt, n, n);
}

/** Reflectors per compact-WY block in `reflectorsProduct`. */
const REFLECTOR_BLOCK = 8;

/**
 * Eigenvalues of the tridiagonal (d, sub) by implicit QL with Wilkinson shifts, in place in d.
 * Every plane rotation of (i, i+1) is also applied to columns i, i+1 of v, so v = Q ends as
 * Q·(eigenvectors of T), the eigenvectors of A in its columns. Off-diagonals below
 * ε·max(|d|+|sub|) count as zero (absolute accuracy ε‖T‖, which is what the Householder phase
 * delivers anyway).
 */
function implicitQL(d: Float64Array, sub: Float64Array, v: Float64Array, n: number): void {
  const eps = Number.EPSILON;
  const sweeps = new SweepBatch(v, n);
  // ‖T‖ over the whole matrix, not the rows seen so far (EISPACK's tst1): a rank-deficient factor
  // can leave rows of size 1e-108 at the top of T, and a test relative to them asks the sweep for
  // an accuracy its rounding at the scale of ‖T‖ cannot reach (it never converged on a 1,601-row
  // XᵀX of rank 1,000).
  let norm = 0;
  for (let l = 0; l < n; l++) norm = Math.max(norm, Math.abs(d[l]) + Math.abs(sub[l]));
  for (let l = 0; l < n; l++) {
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

/**
 * C = op(A) · op(B) for row-major matrices; A is r×k after transposition, B k×c. The operands are
 * laid out as rows of op(A) and columns of op(B) (a transposed copy where needed, O(size)), so
 * every entry is a dot product of two contiguous runs; `dotProducts` takes them in 4×2 blocks.
 * Each entry is summed in order l = 0..k-1, as the plain triple loop would.
 */
export function matmul(
  a: Float64Array,
  b: Float64Array,
  r: number,
  k: number,
  c: number,
  transA = false,
  transB = false,
): Float64Array {
  const rowsA = transA ? transpose(a, k, r) : a;
  const colsB = transB ? b : transpose(b, k, c);
  return dotProducts(rowsA, k, colsB, k, r, c, k, false);
}

/** The transpose of a row-major rows×cols matrix. */
function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const ri = i * cols;
    for (let j = 0; j < cols; j++) t[j * rows + i] = a[ri + j];
  }
  return t;
}

/**
 * out[i][j] = Σ_{l<k} x[i][l]·y[j][l] (r×c) for rows of x and y that start every xs and ys
 * entries: 4 rows of x against 2 of y at a time, eight sums in registers for six loads (about 4×
 * the plain loop's rate in V8). `lower`: only j ≤ i is needed (a Gram matrix, x = y), so blocks
 * above the diagonal are skipped; the entries above it that a diagonal block computes are left as
 * they come.
 */
function dotProducts(
  x: Float64Array,
  xs: number,
  y: Float64Array,
  ys: number,
  r: number,
  c: number,
  k: number,
  lower: boolean,
): Float64Array {
  const out = new Float64Array(r * c);
  let i = 0;
  for (; i + 4 <= r; i += 4) {
    const x0 = i * xs;
    const x1 = x0 + xs;
    const x2 = x1 + xs;
    const x3 = x2 + xs;
    const end = lower ? Math.min(c, i + 4) : c;
    let j = 0;
    for (; j + 2 <= end; j += 2) {
      const y0 = j * ys;
      const y1 = y0 + ys;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let l = 0; l < k; l++) {
        const b0 = y[y0 + l];
        const b1 = y[y1 + l];
        const a0 = x[x0 + l];
        const a1 = x[x1 + l];
        const a2 = x[x2 + l];
        const a3 = x[x3 + l];
        s00 += a0 * b0;
        s01 += a0 * b1;
        s10 += a1 * b0;
        s11 += a1 * b1;
        s20 += a2 * b0;
        s21 += a2 * b1;
        s30 += a3 * b0;
        s31 += a3 * b1;
      }
      const o = i * c + j;
      out[o] = s00;
      out[o + 1] = s01;
      out[o + c] = s10;
      out[o + c + 1] = s11;
      out[o + 2 * c] = s20;
      out[o + 2 * c + 1] = s21;
      out[o + 3 * c] = s30;
      out[o + 3 * c + 1] = s31;
    }
    for (; j < end; j++) {
      const y0 = j * ys;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let l = 0; l < k; l++) {
        const b0 = y[y0 + l];
        s0 += x[x0 + l] * b0;
        s1 += x[x1 + l] * b0;
        s2 += x[x2 + l] * b0;
        s3 += x[x3 + l] * b0;
      }
      out[i * c + j] = s0;
      out[(i + 1) * c + j] = s1;
      out[(i + 2) * c + j] = s2;
      out[(i + 3) * c + j] = s3;
    }
  }
  for (; i < r; i++) {
    const x0 = i * xs;
    const end = lower ? Math.min(c, i + 1) : c;
    for (let j = 0; j < end; j++) {
      const y0 = j * ys;
      let s = 0;
      for (let l = 0; l < k; l++) s += x[x0 + l] * y[y0 + l];
      out[i * c + j] = s;
    }
  }
  return out;
}

/** scale · X Xᵀ for a row-major m×n X: the Gram matrix of its rows (m×m, both triangles filled). */
export function gramOfRows(x: Float64Array, m: number, n: number, scale = 1): Float64Array {
  if (x.length !== m * n)
    throw new RangeError(`gramOfRows: need ${m}×${n} = ${m * n} entries, got ${x.length}`);
  const g = dotProducts(x, n, x, n, m, m, n, true);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < i; j++) {
      const v = scale * g[i * m + j];
      g[i * m + j] = v;
      g[j * m + i] = v;
    }
    g[i * m + i] *= scale;
  }
  return g;
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
