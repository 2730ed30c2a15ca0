// uib's native training kernels for the tfjs wasm backend (see src/backend/native/).
//
// Every function computes in place on the wasm heap: JS passes the heap as a Float32Array and the
// element index of each tensor in it, so no tensor is copied in or out. Matrix products are
// OpenBLAS sgemm (single-threaded per call); the threads are ours: work is split over the batch
// (convolutions, pooling) or over the rows of a product, `g_threads` ways (UIB_THREADS).
// Convolutions are NHWC with HWIO filters, lowered to im2col + sgemm one batch chunk at a time.

#include <node_api.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

extern "C" {
#include <cblas.h>
}

namespace {

int g_threads = 1;

// A pool of worker threads that live as long as the process: OpenBLAS gives every new thread its
// own buffers on first use, so threads spawned per call would pay that allocation each time.
class Pool {
 public:
  // Runs job(i) for i in [0, t): i = 0 on the calling thread, the others on workers.
  void run(int64_t t, const std::function<void(int64_t)>& job) {
    std::lock_guard<std::mutex> caller(callerMutex_);  // one parallel region at a time
    {
      std::lock_guard<std::mutex> lock(m_);
      while (static_cast<int64_t>(workers_.size()) < t - 1) {
        int64_t id = static_cast<int64_t>(workers_.size()) + 1;
        workers_.emplace_back([this, id] { loop(id); });
      }
      job_ = &job;
      active_ = t;
      pending_ = t - 1;
      generation_++;
    }
    wake_.notify_all();
    job(0);
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [this] { return pending_ == 0; });
  }

 private:
  void loop(int64_t id) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t)>* job;
      {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (id >= active_) continue;
        job = job_;
      }
      (*job)(id);
      std::lock_guard<std::mutex> lock(m_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
  std::mutex callerMutex_, m_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t active_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
};

// Never destroyed: its workers block until the process exits.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

// Threads for `work` multiply-adds (or element visits): handing work to a pool thread costs
// ~10 µs on a quiet machine and up to a scheduler slice on a busy one, so small work stays on the
// calling thread (below ~4M, about 0.1-0.5 ms of work).
double g_minParallelWork = 1 << 22;
int64_t threadsFor(double work) { return work < g_minParallelWork ? 1 : g_threads; }

// Runs f(begin, end, thread) over [0, n) split into at most `threads` contiguous ranges, one per
// thread (the caller's thread takes the first, thread 0).
template <class F>
void parallelFor(int64_t n, F f, int64_t threads = g_threads) {
  int64_t t = std::min<int64_t>(threads, n);
  if (t <= 1) {
    if (n > 0) f(int64_t{0}, n, int64_t{0});
    return;
  }
  pool().run(t, [&](int64_t i) { f(n * i / t, n * (i + 1) / t, i); });
}

// ---- argument decoding -------------------------------------------------------------------------

struct Args {
  napi_env env;
  size_t argc = 32;
  napi_value argv[32];
  float* heap = nullptr;
  size_t heapLength = 0;
  bool ok = true;

  Args(napi_env e, napi_callback_info info) : env(e) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
    napi_typedarray_type type;
    void* data;
    napi_value buffer;
    size_t offset;
    if (argc < 1 ||
        napi_get_typedarray_info(env, argv[0], &type, &heapLength, &data, &buffer, &offset) !=
            napi_ok ||
        type != napi_float32_array) {
      fail("argument 0 must be the wasm heap as a Float32Array");
      return;
    }
    heap = static_cast<float*>(data);
  }
  void fail(const char* message) {
    if (ok) napi_throw_error(env, nullptr, message);
    ok = false;
  }
  int64_t i(size_t k) {
    int64_t v = 0;
    if (k >= argc || napi_get_value_int64(env, argv[k], &v) != napi_ok) fail("expected an integer");
    return v;
  }
  // A tensor of `size` floats starting at heap index argv[k]; checked against the heap's length.
  float* at(size_t k, int64_t size) {
    int64_t index = i(k);
    if (!ok) return nullptr;
    if (index < 0 || size < 0 || static_cast<uint64_t>(index + size) > heapLength) {
      fail("tensor lies outside the wasm heap");
      return nullptr;
    }
    return heap + index;
  }
};

// ---- matrix products ---------------------------------------------------------------------------

// C[M,N] = op(A)·op(B) + beta·C, row-major, split over rows of C (or columns when C is short).
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B,
          float beta, float* C) {
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  auto rows = [&](int64_t m0, int64_t m1) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                m1 - m0, N, K, 1.0f, A + (ta ? m0 : m0 * K), lda, B, ldb, beta, C + m0 * N, N);
  };
  auto cols = [&](int64_t n0, int64_t n1) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                n1 - n0, K, 1.0f, A, lda, B + (tb ? n0 * K : n0), ldb, beta, C + n0, N);
  };
  if (threadsFor(double(M) * N * K) <= 1) {
    rows(0, M);
  } else if (M >= 16 * g_threads) {
    // Row ranges in multiples of 16 keep OpenBLAS's micro-kernel tiles whole.
    int64_t blocks = (M + 15) / 16;
    parallelFor(blocks, [&](int64_t b0, int64_t b1, int64_t) { rows(b0 * 16, std::min(M, b1 * 16)); });
  } else {
    int64_t blocks = (N + 15) / 16;
    parallelFor(blocks, [&](int64_t b0, int64_t b1, int64_t) { cols(b0 * 16, std::min(N, b1 * 16)); });
  }
}

// matMul(heap, transposeA, transposeB, batch, M, N, K, a, b, c, strideA, strideB,
//        bias (−1: none), relu): c[i] = op(a[i])·op(b[i]) (+ bias per column) (relu), i < batch;
// strides 0 broadcast an operand over the batch.
napi_value MatMul(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  bool ta = a.i(1) != 0, tb = a.i(2) != 0;
  int64_t batch = a.i(3), M = a.i(4), N = a.i(5), K = a.i(6);
  int64_t sa = a.i(10), sb = a.i(11);
  float* A = a.at(7, (batch - 1) * sa + M * K);
  float* B = a.at(8, (batch - 1) * sb + K * N);
  float* C = a.at(9, batch * M * N);
  float* bias = a.i(12) >= 0 ? a.at(12, N) : nullptr;
  bool relu = a.i(13) != 0;
  if (!a.ok) return nullptr;
  for (int64_t i = 0; i < batch; i++) {
    float* c = C + i * M * N;
    gemm(ta, tb, M, N, K, A + i * sa, B + i * sb, 0.0f, c);
    if (bias != nullptr || relu) {
      for (int64_t r = 0; r < M; r++) {
        float* row = c + r * N;
        if (bias != nullptr)
          for (int64_t j = 0; j < N; j++) row[j] += bias[j];
        if (relu)
          for (int64_t j = 0; j < N; j++) row[j] = row[j] > 0 ? row[j] : 0;
      }
    }
  }
  return nullptr;
}

// ---- convolutions ------------------------------------------------------------------------------

struct Conv {
  int64_t B, H, W, Ci, OH, OW, Co, KH, KW, sh, sw, dh, dw, pt, pl;
  int64_t K() const { return KH * KW * Ci; }
  int64_t pixels() const { return OH * OW; }
  // 1×1, stride 1, no padding: x itself is the im2col matrix.
  bool pointwise() const {
    return KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && OH == H && OW == W;
  }
  // Samples per chunk: an im2col buffer of ~4 MB per thread stays in cache-friendly range.
  int64_t chunk() const {
    return std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(1, pixels() * K()));
  }
};

// Reads the geometry from argv[k..k+14].
Conv readConv(Args& a, size_t k) {
  Conv c;
  int64_t* f[] = {&c.B,  &c.H,  &c.W,  &c.Ci, &c.OH, &c.OW, &c.Co, &c.KH,
                  &c.KW, &c.sh, &c.sw, &c.dh, &c.dw, &c.pt, &c.pl};
  for (size_t j = 0; j < 15; j++) *f[j] = a.i(k + j);
  return c;
}

// cols[(b·OH + oh)·OW + ow, (kh·KW + kw)·Ci + ci] = x[b0 + b, ih, iw, ci] (0 outside the image).
void im2col(const Conv& g, const float* x, int64_t b0, int64_t nb, float* cols) {
  const int64_t K = g.K();
  for (int64_t b = 0; b < nb; b++) {
    const float* xb = x + (b0 + b) * g.H * g.W * g.Ci;
    for (int64_t oh = 0; oh < g.OH; oh++) {
      for (int64_t ow = 0; ow < g.OW; ow++) {
        float* dst = cols + ((b * g.OH + oh) * g.OW + ow) * K;
        for (int64_t kh = 0; kh < g.KH; kh++) {
          int64_t ih = oh * g.sh - g.pt + kh * g.dh;
          for (int64_t kw = 0; kw < g.KW; kw++, dst += g.Ci) {
            int64_t iw = ow * g.sw - g.pl + kw * g.dw;
            if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) {
              std::fill(dst, dst + g.Ci, 0.0f);
            } else {
              const float* src = xb + (ih * g.W + iw) * g.Ci;
              for (int64_t c = 0; c < g.Ci; c++) dst[c] = src[c];  // Ci is often 1-64: no memcpy call
            }
          }
        }
      }
    }
  }
}

// The adjoint of im2col: dx[b0 + b, ih, iw, ci] += cols[…] for every place im2col read.
void col2imAdd(const Conv& g, const float* cols, int64_t b0, int64_t nb, float* dx) {
  const int64_t K = g.K();
  for (int64_t b = 0; b < nb; b++) {
    float* xb = dx + (b0 + b) * g.H * g.W * g.Ci;
    for (int64_t oh = 0; oh < g.OH; oh++) {
      for (int64_t ow = 0; ow < g.OW; ow++) {
        const float* src = cols + ((b * g.OH + oh) * g.OW + ow) * K;
        for (int64_t kh = 0; kh < g.KH; kh++) {
          int64_t ih = oh * g.sh - g.pt + kh * g.dh;
          for (int64_t kw = 0; kw < g.KW; kw++, src += g.Ci) {
            int64_t iw = ow * g.sw - g.pl + kw * g.dw;
            if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
            float* d = xb + (ih * g.W + iw) * g.Ci;
            for (int64_t c = 0; c < g.Ci; c++) d[c] += src[c];
          }
        }
      }
    }
  }
}

// conv2d(heap, x, filter, y, bias (−1: none), relu, geometry…): y = act(conv(x, filter) + bias).
napi_value Conv2D(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  Conv g = readConv(a, 6);
  const float* x = a.at(1, g.B * g.H * g.W * g.Ci);
  const float* w = a.at(2, g.K() * g.Co);
  float* y = a.at(3, g.B * g.pixels() * g.Co);
  const float* bias = a.i(4) >= 0 ? a.at(4, g.Co) : nullptr;
  bool relu = a.i(5) != 0;
  if (!a.ok) return nullptr;
  const int64_t K = g.K(), P = g.pixels(), chunk = g.chunk();
  const int64_t threads = threadsFor(double(g.B) * P * K * g.Co);
  parallelFor(g.B, [&](int64_t s0, int64_t s1, int64_t) {
    std::vector<float> cols(g.pointwise() ? 0 : std::min(chunk, s1 - s0) * P * K);
    for (int64_t b0 = s0; b0 < s1; b0 += chunk) {
      int64_t nb = std::min(chunk, s1 - b0);
      const float* A = x + b0 * P * K;
      if (!g.pointwise()) {
        im2col(g, x, b0, nb, cols.data());
        A = cols.data();
      }
      float* out = y + b0 * P * g.Co;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb * P, g.Co, K, 1.0f, A, K, w, g.Co,
                  0.0f, out, g.Co);
      if (bias != nullptr || relu) {
        for (int64_t r = 0; r < nb * P; r++) {
          float* row = out + r * g.Co;
          if (bias != nullptr)
            for (int64_t c = 0; c < g.Co; c++) row[c] += bias[c];
          if (relu)
            for (int64_t c = 0; c < g.Co; c++) row[c] = row[c] > 0 ? row[c] : 0;
        }
      }
    }
  }, threads);
  return nullptr;
}

// conv2dBackpropInput(heap, dy, filter, dx, geometry…): dx = col2im(dy · filterᵀ).
napi_value Conv2DBackpropInput(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  Conv g = readConv(a, 4);
  const float* dy = a.at(1, g.B * g.pixels() * g.Co);
  const float* w = a.at(2, g.K() * g.Co);
  float* dx = a.at(3, g.B * g.H * g.W * g.Ci);
  if (!a.ok) return nullptr;
  const int64_t K = g.K(), P = g.pixels(), chunk = g.chunk();
  parallelFor(g.B, [&](int64_t s0, int64_t s1, int64_t) {
    if (g.pointwise()) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (s1 - s0) * P, K, g.Co, 1.0f,
                  dy + s0 * P * g.Co, g.Co, w, g.Co, 0.0f, dx + s0 * P * K, K);
      return;
    }
    std::fill(dx + s0 * g.H * g.W * g.Ci, dx + s1 * g.H * g.W * g.Ci, 0.0f);
    std::vector<float> cols(std::min(chunk, s1 - s0) * P * K);
    for (int64_t b0 = s0; b0 < s1; b0 += chunk) {
      int64_t nb = std::min(chunk, s1 - b0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb * P, K, g.Co, 1.0f,
                  dy + b0 * P * g.Co, g.Co, w, g.Co, 0.0f, cols.data(), K);
      col2imAdd(g, cols.data(), b0, nb, dx);
    }
  }, threadsFor(double(g.B) * P * K * g.Co));
  return nullptr;
}

// conv2dBackpropFilter(heap, x, dy, dw, geometry…): dw = Σ_chunks im2col(x)ᵀ · dy, each thread
// summing its samples into a partial, the partials added at the end.
napi_value Conv2DBackpropFilter(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  Conv g = readConv(a, 4);
  const float* x = a.at(1, g.B * g.H * g.W * g.Ci);
  const float* dy = a.at(2, g.B * g.pixels() * g.Co);
  float* dw = a.at(3, g.K() * g.Co);
  if (!a.ok) return nullptr;
  const int64_t K = g.K(), P = g.pixels(), chunk = g.chunk();
  const int64_t threads = std::min<int64_t>(threadsFor(double(g.B) * P * K * g.Co), g.B);
  std::vector<std::vector<float>> partials(threads);
  parallelFor(g.B, [&](int64_t s0, int64_t s1, int64_t t) {
    float* out = dw;
    if (t > 0) {
      partials[t].assign(K * g.Co, 0.0f);
      out = partials[t].data();
    }
    std::vector<float> cols(g.pointwise() ? 0 : std::min(chunk, s1 - s0) * P * K);
    for (int64_t b0 = s0; b0 < s1; b0 += chunk) {
      int64_t nb = std::min(chunk, s1 - b0);
      const float* A = x + b0 * P * K;
      if (!g.pointwise()) {
        im2col(g, x, b0, nb, cols.data());
        A = cols.data();
      }
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, g.Co, nb * P, 1.0f, A, K,
                  dy + b0 * P * g.Co, g.Co, b0 == s0 && t == 0 ? 0.0f : 1.0f, out, g.Co);
    }
  }, threads);
  for (int64_t t = 1; t < threads; t++)
    for (int64_t j = 0; j < K * g.Co; j++) dw[j] += partials[t][j];
  return nullptr;
}

// ---- pooling and reductions --------------------------------------------------------------------

// Folds one window position into the running maxima: branch-free on restrict pointers so that it
// vectorises (a branch per channel mispredicts on real data, ~7x slower).
void windowMax(const float* __restrict xv, int32_t at, int64_t C, float* __restrict best,
               int32_t* __restrict where) {
  for (int64_t ch = 0; ch < C; ch++) {
    const float v = xv[ch], b = best[ch];
    const int32_t take = -static_cast<int32_t>(v > b);  // all ones where v is the new maximum
    best[ch] = b < v ? v : b;
    where[ch] = (where[ch] & ~take) | ((at + static_cast<int32_t>(ch)) & take);
  }
}

// maxPoolGrad(heap, x, dy, dx, B, H, W, C, OH, OW, FH, FW, sh, sw, pt, pl): dy goes to the first
// maximum of each window (row-major), as on tfjs's cpu backend.
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t B = a.i(4), H = a.i(5), W = a.i(6), C = a.i(7), OH = a.i(8), OW = a.i(9);
  int64_t FH = a.i(10), FW = a.i(11), sh = a.i(12), sw = a.i(13), pt = a.i(14), pl = a.i(15);
  const float* x = a.at(1, B * H * W * C);
  const float* dy = a.at(2, B * OH * OW * C);
  float* dx = a.at(3, B * H * W * C);
  if (!a.ok) return nullptr;
  parallelFor(B, [&](int64_t s0, int64_t s1, int64_t) {
    std::fill(dx + s0 * H * W * C, dx + s1 * H * W * C, 0.0f);
    // Per channel, the running maximum and its offset in the sample; branch-free so that the
    // channel loop vectorises (channels are contiguous in NHWC).
    std::vector<float> best(C);
    std::vector<int32_t> where(C);
    for (int64_t b = s0; b < s1; b++) {
      const float* xb = x + b * H * W * C;
      float* dxb = dx + b * H * W * C;
      for (int64_t oh = 0; oh < OH; oh++) {
        int64_t r0 = std::max<int64_t>(0, oh * sh - pt), r1 = std::min(H, oh * sh - pt + FH);
        for (int64_t ow = 0; ow < OW; ow++) {
          int64_t c0 = std::max<int64_t>(0, ow * sw - pl), c1 = std::min(W, ow * sw - pl + FW);
          if (r0 >= r1 || c0 >= c1) continue;
          float* bv = best.data();
          int32_t* wv = where.data();
          std::fill(bv, bv + C, -__builtin_inff());
          std::fill(wv, wv + C, -1);
          for (int64_t r = r0; r < r1; r++) {
            for (int64_t c = c0; c < c1; c++) {
              const int32_t at = static_cast<int32_t>((r * W + c) * C);
              windowMax(xb + at, at, C, bv, wv);
            }
          }
          const float* g = dy + ((b * OH + oh) * OW + ow) * C;
          for (int64_t ch = 0; ch < C; ch++)
            if (wv[ch] >= 0) dxb[wv[ch]] += g[ch];
        }
      }
    }
  }, threadsFor(double(B) * H * W * C));
  return nullptr;
}

// sumRows(heap, x, out, rows, cols, scale): out[c] = scale · Σ_r x[r, c] (a sum or mean over
// the leading axes), accumulated in double.
napi_value SumRows(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t rows = a.i(3), cols = a.i(4);
  double scale = 1;
  if (a.argc < 6 || napi_get_value_double(env, a.argv[5], &scale) != napi_ok) a.fail("expected a scale");
  const float* x = a.at(1, rows * cols);
  float* out = a.at(2, cols);
  if (!a.ok) return nullptr;
  const int64_t threads = std::min<int64_t>(threadsFor(double(rows) * cols), rows);
  std::vector<std::vector<double>> partials(std::max<int64_t>(1, threads),
                                            std::vector<double>(cols, 0.0));
  auto work = [&](int64_t r0, int64_t r1, int64_t t) {
    std::vector<double>& acc = partials[t];
    for (int64_t r = r0; r < r1; r++)
      for (int64_t c = 0; c < cols; c++) acc[c] += x[r * cols + c];
  };
  parallelFor(rows, work, threads);
  for (int64_t c = 0; c < cols; c++) {
    double s = 0;
    for (auto& p : partials) s += p[c];
    out[c] = static_cast<float>(s * scale);
  }
  return nullptr;
}

// broadcastRows(heap, op, full, vec, out, rows, cols, vecFirst): out[r, c] = full[r, c] ∘ vec[c]
// (or vec[c] ∘ full[r, c] when vecFirst), ∘ = + − × ÷ for op 0..3: a binary op whose second
// operand is broadcast over the leading axes (BatchNorm's per-channel terms).
napi_value BroadcastRows(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t op = a.i(1), rows = a.i(5), cols = a.i(6);
  bool vecFirst = a.i(7) != 0;
  const float* full = a.at(2, rows * cols);
  const float* vec = a.at(3, cols);
  float* out = a.at(4, rows * cols);
  if (!a.ok) return nullptr;
  if (op < 0 || op > 3) {
    a.fail("broadcastRows: op must be 0..3");
    return nullptr;
  }
  auto rowsOf = [&](int64_t r0, int64_t r1, int64_t) {
    for (int64_t r = r0; r < r1; r++) {
      const float* __restrict f = full + r * cols;
      float* __restrict o = out + r * cols;
      switch (op * 2 + (vecFirst ? 1 : 0)) {
        case 0: case 1: for (int64_t c = 0; c < cols; c++) o[c] = f[c] + vec[c]; break;
        case 2: for (int64_t c = 0; c < cols; c++) o[c] = f[c] - vec[c]; break;
        case 3: for (int64_t c = 0; c < cols; c++) o[c] = vec[c] - f[c]; break;
        case 4: case 5: for (int64_t c = 0; c < cols; c++) o[c] = f[c] * vec[c]; break;
        case 6: for (int64_t c = 0; c < cols; c++) o[c] = f[c] / vec[c]; break;
        case 7: for (int64_t c = 0; c < cols; c++) o[c] = vec[c] / f[c]; break;
      }
    }
  };
  parallelFor(rows, rowsOf, threadsFor(double(rows) * cols));
  return nullptr;
}

// ---- threads and module ------------------------------------------------------------------------

// setThreads(n[, minParallelWork]): the number of threads every later call may split its work
// over (≥ 1), and the least work (multiply-adds, element visits) worth splitting (tests pass 0).
napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t n = 1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_range_error(env, nullptr, "setThreads needs an integer ≥ 1");
    return nullptr;
  }
  double minWork = 1 << 22;
  if (argc >= 2 && (napi_get_value_double(env, argv[1], &minWork) != napi_ok || minWork < 0)) {
    napi_throw_range_error(env, nullptr, "setThreads: minParallelWork must be a number ≥ 0");
    return nullptr;
  }
  g_threads = n;
  g_minParallelWork = minWork;
  return nullptr;
}

napi_value Config(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  // One OpenBLAS thread per call: the threads are ours, and two pools would oversubscribe 2 cores.
  openblas_set_num_threads(1);
  struct {
    const char* name;
    napi_callback cb;
  } fns[] = {{"matMul", MatMul},
             {"conv2d", Conv2D},
             {"conv2dBackpropInput", Conv2DBackpropInput},
             {"conv2dBackpropFilter", Conv2DBackpropFilter},
             {"maxPoolGrad", MaxPoolGrad},
             {"sumRows", SumRows},
             {"broadcastRows", BroadcastRows},
             {"setThreads", SetThreads},
             {"config", Config}};
  for (auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
