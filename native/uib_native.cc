// uib's native training kernels for the tfjs wasm backend (see src/backend/native/).
//
// Every function computes in place on the wasm heap: JS passes the heap as a Float32Array and the
// element index of each tensor in it, so no tensor is copied in or out. Matrix products are
// OpenBLAS sgemm, or uib's own (sgemm.cc) where the machine has no OpenBLAS (binding.gyp's
// uib_blas, picked by native/build.mjs), single-threaded per call; the threads are ours: work is
// split over the batch (convolutions, pooling), rows (sums, elementwise passes) or tiles of a
// product, `g_threads` ways (UIB_THREADS).
// Convolutions are NHWC with HWIO filters, lowered to im2col + sgemm one batch chunk at a time.
//
// No result depends on the thread count (nor on minParallelWork). OpenBLAS sgemm's bits depend on
// the shape of each call (and on its own threads, kept at 1), so products are cut into pieces
// fixed by the shape alone (`Parts`), whatever the number of threads that then share them; sums
// over a split dimension (a batch, rows) go into one partial per piece, added in piece order.
// Work done per sample or per element needs neither: any split gives the same bits.

#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifdef UIB_BUILTIN_GEMM
#include "sgemm.h"
#else
extern "C" {
#include <cblas.h>
// LAPACK's divide-and-conquer symmetric eigensolver, in the same library as OpenBLAS's BLAS.
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info);
}
#endif

namespace {

int g_threads = 1;

// A pool of worker threads that live as long as the process: OpenBLAS gives every new thread its
// own buffers on first use, so threads spawned per call would pay that allocation each time.
//
// Hand-offs spin before they sleep. A training step is a chain of parallel regions a few tens of
// microseconds apart (the JS between kernels); waking a thread blocked on a condition variable
// costs a futex call and a reschedule (10-50 µs in a VM, more on a busy host), which cancelled
// the second thread on an MLP's products. So a worker that finishes a job watches the generation
// counter for kSpin before it blocks, and the caller watches the pending count the same way.
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
      pending_.store(t - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();  // no system call when every worker is still spinning
    job(0);
    if (spinUntil([this] { return pending_.load(std::memory_order_acquire) == 0; })) return;
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
  }

 private:
  static constexpr std::chrono::microseconds kSpin{200};

  // Polls `ready` for up to kSpin; true as soon as it holds.
  template <class P>
  static bool spinUntil(P ready) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0;; i++) {
      if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return ready();
    }
  }

  void loop(int64_t id) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t)>* job;
      bool mine;
      spinUntil([&] { return generation_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
        // Read with the job under the lock: a worker that lagged takes the current job, once.
        seen = generation_.load(std::memory_order_relaxed);
        mine = id < active_;
        job = job_;
      }
      if (!mine) continue;
      (*job)(id);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(m_);
        done_.notify_one();
      }
    }
  }
  std::mutex callerMutex_, m_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t active_ = 0;
  std::atomic<int64_t> pending_{0};
  std::atomic<uint64_t> generation_{0};
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
// Threads for one elementwise pass over n floats: each element costs several multiply-adds' time
// (memory-bound), so passes split from ~0.5M floats (~0.1 ms).
int64_t threadsForPass(double n) { return threadsFor(n * 8); }

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

// ---- fixed partitions --------------------------------------------------------------------------
//
// A partition of [0, n) into `count` contiguous pieces fixed by the shape, never by g_threads:
// threads take whole pieces (parallelFor over the pieces), so each piece is computed by the same
// calls, and a sum over pieces is added in the same order, whatever the thread count.
struct Parts {
  int64_t n, count;
  int64_t begin(int64_t p) const { return n * p / count; }
  int64_t end(int64_t p) const { return n * (p + 1) / count; }
  int64_t largest() const { return (n + count - 1) / count; }
};

// Pieces a batch or a run of rows is cut into when work on it is shared: 12 share evenly among
// 1, 2, 3, 4, 6 or 12 threads.
constexpr int64_t kParts = 12;
// Least work (multiply-adds, element visits) of a piece: smaller ones cost more in partials and
// hand-offs than they save (any split needs 2²² in all, threadsFor).
constexpr double kLeastPieceWork = double(1 << 16);
// Floats that the per-piece partial sums of one call may take (64 MB): a larger output gets fewer
// pieces (a ResNet-18 filter gradient of 2.4M floats gets 7).
constexpr double kPartialFloats = double(1 << 24);

// The pieces of `n` items of `itemWork` each: kParts (fewer where a piece would get under
// kLeastPieceWork; more where a piece may hold at most `most` items), at most n, and at most
// kPartialFloats / `partialFloats` where each piece keeps a partial of that many floats (0: none).
Parts partsOf(int64_t n, double itemWork, int64_t most = INT64_MAX, double partialFloats = 0) {
  const double worthIt = std::max(1.0, std::floor(double(n) * itemWork / kLeastPieceWork));
  int64_t count = std::min<int64_t>(std::min<int64_t>(n, kParts), int64_t(std::min(worthIt, 1e9)));
  count = std::max(count, n / most + (n % most != 0 ? 1 : 0));
  if (partialFloats > 0)
    count = std::min<int64_t>(count, std::max<int64_t>(1, int64_t(kPartialFloats / partialFloats)));
  return {n, std::max<int64_t>(1, std::min(count, n))};
}

// Runs f(p) for every piece p of `parts`, the pieces shared by at most `threads` threads.
template <class F>
void forParts(const Parts& parts, int64_t threads, F f) {
  parallelFor(parts.count, [&](int64_t p0, int64_t p1, int64_t) {
    for (int64_t p = p0; p < p1; p++) f(p);
  }, std::min(threads, parts.count));
}

// out[j] = scale · Σ_p partials[p·n + j] over the `count` pieces in order, in double; j split
// across threads (each j's sum has the same order on any of them).
template <class T>
void addPartials(const T* partials, int64_t count, int64_t n, float* out, double scale) {
  parallelFor(n, [&](int64_t j0, int64_t j1, int64_t) {
    for (int64_t j = j0; j < j1; j++) {
      double s = 0;
      for (int64_t p = 0; p < count; p++) s += partials[p * n + j];
      out[j] = static_cast<float>(s * scale);
    }
  }, threadsForPass(double(count) * n));
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

// Row-major C[M×N] = op(A)·op(B) + beta·C on one thread: OpenBLAS's cblas_sgemm (alpha 1) or
// uib's own (sgemm.h: each entry one FMA chain over k, whatever the shape of the call).
inline void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#ifdef UIB_BUILTIN_GEMM
  uib::sgemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
#else
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
              K, 1.0f, A, lda, B, ldb, beta, C, ldc);
#endif
}

// C[M,N] = op(A)·op(B) + beta·C, row-major, in 1, 2 or 4 tiles of whole 16-row (or 16-column)
// blocks fixed by the shape, each one sgemm over all of K. Tiles split the longer side of C: a
// tile packs the other operand again, so that is the smaller one. Products under 4M multiply-adds
// are one tile; a tile keeps at least 64 rows (columns), where sgemm stays efficient.
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B,
          float beta, float* C) {
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  const double work = double(M) * N * K;
  const bool byRows = M >= N;
  const int64_t side = byRows ? M : N, blocks = (side + 15) / 16;
  int64_t tiles = work < double(1 << 22) ? 1 : work < double(1 << 24) ? 2 : 4;
  while (tiles > 1 && side < 64 * tiles) tiles /= 2;
  const Parts parts{blocks, std::min(tiles, blocks)};
  forParts(parts, threadsFor(work), [&](int64_t t) {
    const int64_t d0 = parts.begin(t) * 16, d1 = std::min(side, parts.end(t) * 16);
    if (byRows)
      sgemm(ta, tb, d1 - d0, N, K, A + (ta ? d0 : d0 * K), lda, B, ldb, beta, C + d0 * N, N);
    else
      sgemm(ta, tb, M, d1 - d0, K, A, lda, B + (tb ? d0 * K : d0), ldb, beta, C + d0, N);
  });
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

// The output columns whose whole window row lies inside the image (dilation 1): there one
// window row (KW·Ci floats) is contiguous in x and in cols, so it moves as one block.
inline void interiorColumns(const Conv& g, int64_t& lo, int64_t& hi) {
  if (g.dw != 1) {
    lo = hi = 0;
    return;
  }
  lo = std::min(g.OW, (g.pl + g.sw - 1) / g.sw);
  hi = g.W - g.KW + g.pl < 0 ? 0 : std::min(g.OW, (g.W - g.KW + g.pl) / g.sw + 1);
  if (hi < lo) hi = lo;
}

// cols[(b·OH + oh)·OW + ow, (kh·KW + kw)·Ci + ci] = x[b0 + b, ih, iw, ci] (0 outside the image).
void im2col(const Conv& g, const float* x, int64_t b0, int64_t nb, float* cols) {
  const int64_t K = g.K(), row = g.KW * g.Ci;
  int64_t lo, hi;
  interiorColumns(g, lo, hi);
  for (int64_t b = 0; b < nb; b++) {
    const float* xb = x + (b0 + b) * g.H * g.W * g.Ci;
    for (int64_t oh = 0; oh < g.OH; oh++) {
      for (int64_t ow = 0; ow < g.OW; ow++) {
        float* dst = cols + ((b * g.OH + oh) * g.OW + ow) * K;
        const bool inside = ow >= lo && ow < hi;
        for (int64_t kh = 0; kh < g.KH; kh++) {
          int64_t ih = oh * g.sh - g.pt + kh * g.dh;
          if (inside && ih >= 0 && ih < g.H) {
            std::memcpy(dst, xb + (ih * g.W + ow * g.sw - g.pl) * g.Ci, row * sizeof(float));
            dst += row;
            continue;
          }
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
  const int64_t K = g.K(), row = g.KW * g.Ci;
  int64_t lo, hi;
  interiorColumns(g, lo, hi);
  for (int64_t b = 0; b < nb; b++) {
    float* xb = dx + (b0 + b) * g.H * g.W * g.Ci;
    for (int64_t oh = 0; oh < g.OH; oh++) {
      for (int64_t ow = 0; ow < g.OW; ow++) {
        const float* src = cols + ((b * g.OH + oh) * g.OW + ow) * K;
        const bool inside = ow >= lo && ow < hi;
        for (int64_t kh = 0; kh < g.KH; kh++) {
          int64_t ih = oh * g.sh - g.pt + kh * g.dh;
          if (inside && ih >= 0 && ih < g.H) {
            float* __restrict d = xb + (ih * g.W + ow * g.sw - g.pl) * g.Ci;
            const float* __restrict sv = src;
            for (int64_t j = 0; j < row; j++) d[j] += sv[j];
            src += row;
            continue;
          }
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

// ---- convolutions with a small window -----------------------------------------------------------
//
// When the window holds few values (K = KH·KW·Ci ≤ 32: a first layer on 1-3 channels), sgemm gets
// little to multiply per output while im2col, and a pass for bias and relu, cost as much: there a
// direct loop runs instead, one output row at a time, output channels in blocks of 16 held in
// vector registers (one AVX-512 register, two AVX2 ones, four SSE ones). target_clones compiles it
// for each and picks at load time, so the build machine's CPU does not decide.
typedef float Lanes __attribute__((vector_size(16 * sizeof(float))));
constexpr int64_t kLanes = 16;
__attribute__((always_inline)) inline Lanes loadLanes(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline void storeLanes(float* p, Lanes v) { std::memcpy(p, &v, sizeof v); }

bool smallWindow(const Conv& g) { return g.K() <= 32 && g.Co % kLanes == 0 && g.Co <= 256; }

// The output columns [lo, hi) whose input column ow·sw − pl + kw·dw lies inside the image.
inline void validColumns(const Conv& g, int64_t kw, int64_t& lo, int64_t& hi) {
  const int64_t off = kw * g.dw - g.pl;  // iw = ow·sw + off
  lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw;
  hi = g.W - off <= 0 ? 0 : std::min(g.OW, (g.W - off + g.sw - 1) / g.sw);
}

// y = act(conv(x, w) + bias) for samples [s0, s1).
__attribute__((target_clones("avx512f", "avx2", "default"))) void convSmallForward(
    const Conv& g, const float* x, const float* w, const float* bias, bool relu, float* y,
    int64_t s0, int64_t s1) {
  const int64_t Co = g.Co, blocks = Co / kLanes;
  // Floats, not Lanes: a vector of Lanes is not allocated 64-byte aligned in every clone.
  std::vector<float> accv(g.OW * Co);
  float* acc = accv.data();
  for (int64_t b = s0; b < s1; b++) {
    const float* xb = x + b * g.H * g.W * g.Ci;
    for (int64_t oh = 0; oh < g.OH; oh++) {
      for (int64_t ow = 0; ow < g.OW; ow++)
        for (int64_t j = 0; j < blocks; j++)
          storeLanes(acc + (ow * blocks + j) * kLanes,
                     bias != nullptr ? loadLanes(bias + j * kLanes) : Lanes{});
      for (int64_t kh = 0; kh < g.KH; kh++) {
        const int64_t ih = oh * g.sh - g.pt + kh * g.dh;
        if (ih < 0 || ih >= g.H) continue;
        const float* xrow = xb + ih * g.W * g.Ci;
        for (int64_t kw = 0; kw < g.KW; kw++) {
          int64_t lo, hi;
          validColumns(g, kw, lo, hi);
          const int64_t off = kw * g.dw - g.pl;
          for (int64_t ci = 0; ci < g.Ci; ci++) {
            const float* wr = w + ((kh * g.KW + kw) * g.Ci + ci) * Co;
            for (int64_t j = 0; j < blocks; j++) {
              const Lanes wj = loadLanes(wr + j * kLanes);
              for (int64_t ow = lo; ow < hi; ow++) {
                float* a = acc + (ow * blocks + j) * kLanes;
                storeLanes(a, loadLanes(a) + xrow[(ow * g.sw + off) * g.Ci + ci] * wj);
              }
            }
          }
        }
      }
      float* out = y + (b * g.OH + oh) * g.OW * Co;
      for (int64_t i = 0; i < g.OW * blocks; i++) {
        Lanes v = loadLanes(acc + i * kLanes);
        if (relu) v = v > 0 ? v : Lanes{};
        storeLanes(out + i * kLanes, v);
      }
    }
  }
}

// dwAcc += Σ over the samples [s0, s1) of window ⊗ dy, summed per sample in float registers and
// then in double (many thousands of terms per entry).
__attribute__((target_clones("avx512f", "avx2", "default"))) void convSmallFilterGrad(
    const Conv& g, const float* x, const float* dy, double* dwAcc, int64_t s0, int64_t s1) {
  const int64_t Co = g.Co, blocks = Co / kLanes;
  for (int64_t b = s0; b < s1; b++) {
    const float* xb = x + b * g.H * g.W * g.Ci;
    const float* db = dy + b * g.pixels() * Co;
    for (int64_t kh = 0; kh < g.KH; kh++) {
      for (int64_t kw = 0; kw < g.KW; kw++) {
        int64_t lo, hi;
        validColumns(g, kw, lo, hi);
        const int64_t off = kw * g.dw - g.pl;
        for (int64_t ci = 0; ci < g.Ci; ci++) {
          for (int64_t j = 0; j < blocks; j++) {
            Lanes acc{};
            for (int64_t oh = 0; oh < g.OH; oh++) {
              const int64_t ih = oh * g.sh - g.pt + kh * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              const float* xrow = xb + ih * g.W * g.Ci;
              const float* drow = db + oh * g.OW * Co + j * kLanes;
              for (int64_t ow = lo; ow < hi; ow++)
                acc += xrow[(ow * g.sw + off) * g.Ci + ci] * loadLanes(drow + ow * Co);
            }
            double* d = dwAcc + ((kh * g.KW + kw) * g.Ci + ci) * Co + j * kLanes;
            for (int64_t l = 0; l < kLanes; l++) d[l] += acc[l];
          }
        }
      }
    }
  }
}

// Narrow outputs (16 or 32 channels: the first ResNet blocks) at stride 1 leave sgemm an N too
// narrow for its micro-kernel: a direct loop over a zero-padded copy of each sample does better,
// 4 output pixels × Co/16 register blocks at a time. Sums may contract into fused multiply-adds
// here (rounding differs from sgemm's no more than sgemm's own order does).
bool directNarrow(const Conv& g) {
  return (g.Co == 16 || g.Co == 32) && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 &&
         !smallWindow(g);
}

// The sample b of x inside a zero border of the convolution's padding (stride 1): Hp × Wp × Ci.
void padSample(const Conv& g, const float* x, int64_t b, int64_t Hp, int64_t Wp, float* padded) {
  std::fill(padded, padded + Hp * Wp * g.Ci, 0.0f);
  const float* xb = x + b * g.H * g.W * g.Ci;
  const int64_t c0 = std::max<int64_t>(0, g.pl), i0 = std::max<int64_t>(0, -g.pl);
  const int64_t n = std::min(g.W - i0, Wp - c0);
  for (int64_t ih = 0; ih < g.H; ih++) {
    const int64_t r = ih + g.pt;
    if (r < 0 || r >= Hp || n <= 0) continue;
    std::memcpy(padded + (r * Wp + c0) * g.Ci, xb + (ih * g.W + i0) * g.Ci, n * g.Ci * sizeof(float));
  }
}

template <int kBlocks, int kPixels>
__attribute__((always_inline)) inline void directPixels(const Conv& g, const float* xp, int64_t Wp,
                                                        const float* w, const float* bias,
                                                        bool relu, int64_t oh, int64_t ow,
                                                        float* out) {
  const int64_t Ci = g.Ci, Co = g.Co;
  Lanes acc[kPixels][kBlocks];
  for (int p = 0; p < kPixels; p++)
    for (int j = 0; j < kBlocks; j++) acc[p][j] = bias != nullptr ? loadLanes(bias + j * kLanes) : Lanes{};
  for (int64_t kh = 0; kh < g.KH; kh++) {
    const float* row = xp + ((oh + kh) * Wp + ow) * Ci;
    for (int64_t kw = 0; kw < g.KW; kw++) {
      const float* base = row + kw * Ci;
      const float* wk = w + (kh * g.KW + kw) * Ci * Co;
      for (int64_t ci = 0; ci < Ci; ci++) {
        Lanes wv[kBlocks];
        for (int j = 0; j < kBlocks; j++) wv[j] = loadLanes(wk + ci * Co + j * kLanes);
        for (int p = 0; p < kPixels; p++) {
          const float v = base[p * Ci + ci];
          for (int j = 0; j < kBlocks; j++) acc[p][j] += v * wv[j];
        }
      }
    }
  }
  for (int p = 0; p < kPixels; p++)
    for (int j = 0; j < kBlocks; j++) {
      Lanes v = acc[p][j];
      if (relu) v = v > 0 ? v : Lanes{};
      storeLanes(out + p * Co + j * kLanes, v);
    }
}

template <int kBlocks>
__attribute__((always_inline)) inline void directForward(const Conv& g, const float* x,
                                                         const float* w, const float* bias,
                                                         bool relu, float* y, int64_t s0,
                                                         int64_t s1) {
  const int64_t Hp = g.OH + g.KH - 1, Wp = g.OW + g.KW - 1;
  std::vector<float> padded(Hp * Wp * g.Ci);
  for (int64_t b = s0; b < s1; b++) {
    // The sample inside a zero border: the window never needs a bounds check.
    padSample(g, x, b, Hp, Wp, padded.data());
    for (int64_t oh = 0; oh < g.OH; oh++) {
      float* out = y + (b * g.OH + oh) * g.OW * g.Co;
      int64_t ow = 0;
      for (; ow + 4 <= g.OW; ow += 4)
        directPixels<kBlocks, 4>(g, padded.data(), Wp, w, bias, relu, oh, ow, out + ow * g.Co);
      for (; ow < g.OW; ow++)
        directPixels<kBlocks, 1>(g, padded.data(), Wp, w, bias, relu, oh, ow, out + ow * g.Co);
    }
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=fast"))) void
convDirectForward(const Conv& g, const float* x, const float* w, const float* bias, bool relu,
                  float* y, int64_t s0, int64_t s1) {
  if (g.Co == 16)
    directForward<1>(g, x, w, bias, relu, y, s0, s1);
  else
    directForward<2>(g, x, w, bias, relu, y, s0, s1);
}

// The filter gradient for kQ input channels from ci0 at window place (kh, kw), over one padded
// sample: kQ × Co/16 register sums over its pixels, added into part.
template <int kBlocks, int kQ>
__attribute__((always_inline)) inline void directFilterRows(const Conv& g, const float* xp,
                                                            int64_t Wp, const float* db,
                                                            int64_t kh, int64_t kw, int64_t ci0,
                                                            float* part) {
  const int64_t Ci = g.Ci, Co = g.Co;
  Lanes acc[kQ][kBlocks];
  for (int q = 0; q < kQ; q++)
    for (int j = 0; j < kBlocks; j++) acc[q][j] = Lanes{};
  for (int64_t oh = 0; oh < g.OH; oh++) {
    const float* xr = xp + ((oh + kh) * Wp + kw) * Ci + ci0;
    const float* dr = db + oh * g.OW * Co;
    for (int64_t ow = 0; ow < g.OW; ow++) {
      Lanes d[kBlocks];
      for (int j = 0; j < kBlocks; j++) d[j] = loadLanes(dr + ow * Co + j * kLanes);
      for (int q = 0; q < kQ; q++) {
        const float v = xr[ow * Ci + q];
        for (int j = 0; j < kBlocks; j++) acc[q][j] += v * d[j];
      }
    }
  }
  for (int q = 0; q < kQ; q++)
    for (int j = 0; j < kBlocks; j++) {
      float* at = part + ((kh * g.KW + kw) * Ci + ci0 + q) * Co + j * kLanes;
      storeLanes(at, loadLanes(at) + acc[q][j]);
    }
}

template <int kBlocks>
__attribute__((always_inline)) inline void directFilterGrad(const Conv& g, const float* x,
                                                            const float* dy, double* dwAcc,
                                                            int64_t s0, int64_t s1) {
  const int64_t Hp = g.OH + g.KH - 1, Wp = g.OW + g.KW - 1, KC = g.K() * g.Co;
  std::vector<float> padded(Hp * Wp * g.Ci), part(KC);
  for (int64_t b = s0; b < s1; b++) {
    padSample(g, x, b, Hp, Wp, padded.data());
    std::fill(part.begin(), part.end(), 0.0f);
    const float* db = dy + b * g.pixels() * g.Co;
    for (int64_t kh = 0; kh < g.KH; kh++)
      for (int64_t kw = 0; kw < g.KW; kw++) {
        int64_t ci = 0;
        for (; ci + 4 <= g.Ci; ci += 4)
          directFilterRows<kBlocks, 4>(g, padded.data(), Wp, db, kh, kw, ci, part.data());
        for (; ci < g.Ci; ci++)
          directFilterRows<kBlocks, 1>(g, padded.data(), Wp, db, kh, kw, ci, part.data());
      }
    // Each sample's sums in float (≤ a few thousand terms), the batch's in double.
    for (int64_t j = 0; j < KC; j++) dwAcc[j] += part[j];
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=fast"))) void
convDirectFilterGrad(const Conv& g, const float* x, const float* dy, double* dwAcc, int64_t s0,
                     int64_t s1) {
  if (g.Co == 16)
    directFilterGrad<1>(g, x, dy, dwAcc, s0, s1);
  else
    directFilterGrad<2>(g, x, dy, dwAcc, s0, s1);
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
  if (smallWindow(g)) {
    parallelFor(g.B, [&](int64_t s0, int64_t s1, int64_t) {
      convSmallForward(g, x, w, bias, relu, y, s0, s1);
    }, threads);
    return nullptr;
  }
  if (directNarrow(g)) {
    parallelFor(g.B, [&](int64_t s0, int64_t s1, int64_t) {
      convDirectForward(g, x, w, bias, relu, y, s0, s1);
    }, threads);
    return nullptr;
  }
  // One sgemm per piece of the batch (at most a chunk each), the pieces fixed by the shape.
  const Parts parts = partsOf(g.B, double(P) * K * g.Co, chunk);
  parallelFor(parts.count, [&](int64_t p0, int64_t p1, int64_t) {
    std::vector<float> cols(g.pointwise() ? 0 : parts.largest() * P * K);
    for (int64_t p = p0; p < p1; p++) {
      const int64_t b0 = parts.begin(p), nb = parts.end(p) - b0;
      const float* A = x + b0 * P * K;
      if (!g.pointwise()) {
        im2col(g, x, b0, nb, cols.data());
        A = cols.data();
      }
      float* out = y + b0 * P * g.Co;
      sgemm(false, false, nb * P, g.Co, K, A, K, w, g.Co, 0.0f, out, g.Co);
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
  }, std::min(threads, parts.count));
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
  // At stride 1 the input gradient is the forward convolution of dy with the filter turned by
  // 180° and its channel axes swapped, under the complementary padding: narrow inputs (16 or 32
  // channels) go through the direct forward loop.
  if (g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1) {
    Conv t{g.B, g.OH, g.OW, g.Co, g.H, g.W, g.Ci, g.KH, g.KW, 1, 1, 1, 1,
           g.KH - 1 - g.pt, g.KW - 1 - g.pl};
    if (directNarrow(t) && t.pt >= 0 && t.pl >= 0) {
      std::vector<float> turned(t.K() * t.Co);
      for (int64_t kh = 0; kh < g.KH; kh++)
        for (int64_t kw = 0; kw < g.KW; kw++)
          for (int64_t ci = 0; ci < g.Ci; ci++)
            for (int64_t co = 0; co < g.Co; co++)
              turned[(((g.KH - 1 - kh) * g.KW + (g.KW - 1 - kw)) * g.Co + co) * g.Ci + ci] =
                  w[((kh * g.KW + kw) * g.Ci + ci) * g.Co + co];
      parallelFor(g.B, [&](int64_t s0, int64_t s1, int64_t) {
        convDirectForward(t, dy, turned.data(), nullptr, false, dx, s0, s1);
      }, threadsFor(double(g.B) * g.pixels() * g.K() * g.Co));
      return nullptr;
    }
  }
  // One sgemm per piece of the batch, the pieces fixed by the shape (as in Conv2D).
  const int64_t K = g.K(), P = g.pixels();
  const Parts parts = partsOf(g.B, double(P) * K * g.Co, g.chunk());
  parallelFor(parts.count, [&](int64_t p0, int64_t p1, int64_t) {
    std::vector<float> cols(g.pointwise() ? 0 : parts.largest() * P * K);
    for (int64_t p = p0; p < p1; p++) {
      const int64_t b0 = parts.begin(p), nb = parts.end(p) - b0;
      if (g.pointwise()) {
        sgemm(false, true, nb * P, K, g.Co, dy + b0 * P * g.Co, g.Co, w, g.Co, 0.0f,
              dx + b0 * P * K, K);
        continue;
      }
      std::fill(dx + b0 * g.H * g.W * g.Ci, dx + (b0 + nb) * g.H * g.W * g.Ci, 0.0f);
      sgemm(false, true, nb * P, K, g.Co, dy + b0 * P * g.Co, g.Co, w, g.Co, 0.0f, cols.data(),
            K);
      col2imAdd(g, cols.data(), b0, nb, dx);
    }
  }, std::min(threadsFor(double(g.B) * P * K * g.Co), parts.count));
  return nullptr;
}

// conv2dBackpropFilter(heap, x, dy, dw, geometry…): dw = Σ_samples im2col(x)ᵀ · dy. The batch is
// cut into pieces fixed by the shape (partsOf); each piece sums its samples into a partial of its
// own, and the partials are added in piece order, so dw has the same bits on any thread count.
napi_value Conv2DBackpropFilter(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  Conv g = readConv(a, 4);
  const float* x = a.at(1, g.B * g.H * g.W * g.Ci);
  const float* dy = a.at(2, g.B * g.pixels() * g.Co);
  float* dw = a.at(3, g.K() * g.Co);
  if (!a.ok) return nullptr;
  const int64_t K = g.K(), P = g.pixels(), KC = K * g.Co, chunk = g.chunk();
  const int64_t threads = threadsFor(double(g.B) * P * KC);
  if (smallWindow(g) || directNarrow(g)) {
    const Parts parts = partsOf(g.B, double(P) * KC, INT64_MAX, 2.0 * KC);  // partials in double
    std::vector<double> acc(parts.count * KC, 0.0);
    forParts(parts, threads, [&](int64_t p) {
      if (smallWindow(g))
        convSmallFilterGrad(g, x, dy, acc.data() + p * KC, parts.begin(p), parts.end(p));
      else
        convDirectFilterGrad(g, x, dy, acc.data() + p * KC, parts.begin(p), parts.end(p));
    });
    addPartials(acc.data(), parts.count, KC, dw, 1.0);
    return nullptr;
  }
  // A piece of more than a chunk (only where the partials' memory limits the pieces) runs as
  // chunks from its first sample, accumulated by sgemm in order.
  const Parts parts = partsOf(g.B, double(P) * KC, chunk, double(KC));
  // Uninitialised: each piece's first sgemm (beta 0) writes all of its partial.
  std::unique_ptr<float[]> partials(new float[parts.count * KC]);
  parallelFor(parts.count, [&](int64_t p0, int64_t p1, int64_t) {
    std::vector<float> cols(g.pointwise() ? 0 : std::min(chunk, parts.largest()) * P * K);
    for (int64_t p = p0; p < p1; p++) {
      for (int64_t b0 = parts.begin(p); b0 < parts.end(p); b0 += chunk) {
        const int64_t nb = std::min(chunk, parts.end(p) - b0);
        const float* A = x + b0 * P * K;
        if (!g.pointwise()) {
          im2col(g, x, b0, nb, cols.data());
          A = cols.data();
        }
        sgemm(true, false, K, g.Co, nb * P, A, K, dy + b0 * P * g.Co, g.Co,
              b0 == parts.begin(p) ? 0.0f : 1.0f, partials.get() + p * KC, g.Co);
      }
    }
  }, std::min(threads, parts.count));
  addPartials(partials.get(), parts.count, KC, dw, 1.0);
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
  }, threadsForPass(double(B) * H * W * C));
  return nullptr;
}

// maxPool(heap, x, out, B, H, W, C, OH, OW, FH, FW, sh, sw, pt, pl): the maximum of each window
// (positions in the padding excluded), as on tfjs's cpu backend: a NaN never wins (`v > best`),
// so an all-NaN window gives −∞. Channels contiguous (NHWC), so the channel loop vectorises.
napi_value MaxPool(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t B = a.i(3), H = a.i(4), W = a.i(5), C = a.i(6), OH = a.i(7), OW = a.i(8);
  int64_t FH = a.i(9), FW = a.i(10), sh = a.i(11), sw = a.i(12), pt = a.i(13), pl = a.i(14);
  const float* x = a.at(1, B * H * W * C);
  float* out = a.at(2, B * OH * OW * C);
  if (!a.ok) return nullptr;
  parallelFor(B, [&](int64_t s0, int64_t s1, int64_t) {
    for (int64_t b = s0; b < s1; b++) {
      const float* xb = x + b * H * W * C;
      for (int64_t oh = 0; oh < OH; oh++) {
        int64_t r0 = std::max<int64_t>(0, oh * sh - pt), r1 = std::min(H, oh * sh - pt + FH);
        for (int64_t ow = 0; ow < OW; ow++) {
          int64_t c0 = std::max<int64_t>(0, ow * sw - pl), c1 = std::min(W, ow * sw - pl + FW);
          float* __restrict best = out + ((b * OH + oh) * OW + ow) * C;
          std::fill(best, best + C, -__builtin_inff());
          for (int64_t r = r0; r < r1; r++) {
            for (int64_t c = c0; c < c1; c++) {
              const float* __restrict xv = xb + (r * W + c) * C;
              for (int64_t ch = 0; ch < C; ch++) best[ch] = xv[ch] > best[ch] ? xv[ch] : best[ch];
            }
          }
        }
      }
    }
  }, threadsForPass(double(B) * H * W * C));
  return nullptr;
}

// elementwise(heap, op, a, b, out, n): out = a ∘ b over n floats of the same shape, ∘ = + − × ÷
// for op 0..3, each rounded once in float32 as the stock kernels round it; split over threads
// (the stock kernels run on one), so a ResNet's residual additions and their gradients scale.
napi_value Elementwise(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t op = a.i(1), n = a.i(5);
  const float* x = a.at(2, n);
  const float* y = a.at(3, n);
  float* out = a.at(4, n);
  if (!a.ok) return nullptr;
  if (op < 0 || op > 3) {
    a.fail("elementwise: op must be 0..3");
    return nullptr;
  }
  parallelFor(n, [&](int64_t i0, int64_t i1, int64_t) {
    const float* __restrict u = x;
    const float* __restrict v = y;
    float* __restrict o = out;
    switch (op) {
      case 0: for (int64_t i = i0; i < i1; i++) o[i] = u[i] + v[i]; break;
      case 1: for (int64_t i = i0; i < i1; i++) o[i] = u[i] - v[i]; break;
      case 2: for (int64_t i = i0; i < i1; i++) o[i] = u[i] * v[i]; break;
      default: for (int64_t i = i0; i < i1; i++) o[i] = u[i] / v[i]; break;
    }
  }, threadsForPass(double(n)));
  return nullptr;
}

// relu(heap, x, out, n): out = max(0, x) as tfjs's cpu backend computes it (Math.max): a NaN
// stays NaN and −0 becomes 0.
napi_value Relu(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t n = a.i(3);
  const float* x = a.at(1, n);
  float* out = a.at(2, n);
  if (!a.ok) return nullptr;
  parallelFor(n, [&](int64_t i0, int64_t i1, int64_t) {
    const float* __restrict u = x;
    float* __restrict o = out;
    for (int64_t i = i0; i < i1; i++) o[i] = u[i] != u[i] ? u[i] : (u[i] > 0.0f ? u[i] : 0.0f);
  }, threadsForPass(double(n)));
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
  // Rows in pieces fixed by the shape, a partial each, added in piece order.
  const Parts parts = partsOf(rows, double(cols), INT64_MAX, 2.0 * cols);
  std::vector<double> partials(parts.count * cols, 0.0);
  forParts(parts, threadsForPass(double(rows) * cols), [&](int64_t p) {
    double* acc = partials.data() + p * cols;
    for (int64_t r = parts.begin(p); r < parts.end(p); r++)
      for (int64_t c = 0; c < cols; c++) acc[c] += x[r * cols + c];
  });
  addPartials(partials.data(), parts.count, cols, out, scale);
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

// convSquaredGrad(heap, x, dy, out, geometry…): out = Σ_b (im2col(x_b)ᵀ · dy_b)², the sum over
// examples of each example's squared filter gradient (the diagonal empirical Fisher of a conv
// kernel, uib/curvature.ts), without materialising the [B, K, Co] per-example gradients: one
// sample's im2col and sgemm at a time, squares summed in double.
napi_value ConvSquaredGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  Conv g = readConv(a, 4);
  const float* x = a.at(1, g.B * g.H * g.W * g.Ci);
  const float* dy = a.at(2, g.B * g.pixels() * g.Co);
  float* out = a.at(3, g.K() * g.Co);
  if (!a.ok) return nullptr;
  const int64_t K = g.K(), P = g.pixels(), KC = K * g.Co;
  // Samples in pieces fixed by the shape, one partial each, added in piece order (as in
  // Conv2DBackpropFilter): the same bits on any thread count.
  const Parts parts = partsOf(g.B, double(P) * KC, INT64_MAX, 2.0 * KC);
  std::vector<double> acc(parts.count * KC, 0.0);
  parallelFor(parts.count, [&](int64_t p0, int64_t p1, int64_t) {
    std::vector<float> cols(g.pointwise() ? 0 : P * K), grad(KC);
    for (int64_t p = p0; p < p1; p++) {
      double* sum = acc.data() + p * KC;
      for (int64_t b = parts.begin(p); b < parts.end(p); b++) {
        const float* A = x + b * P * K;
        if (!g.pointwise()) {
          im2col(g, x, b, 1, cols.data());
          A = cols.data();
        }
        sgemm(true, false, K, g.Co, P, A, K, dy + b * P * g.Co, g.Co, 0.0f, grad.data(), g.Co);
        for (int64_t j = 0; j < KC; j++) sum[j] += double(grad[j]) * grad[j];
      }
    }
  }, std::min(threadsFor(double(g.B) * P * KC), parts.count));
  addPartials(acc.data(), parts.count, KC, out, 1.0);
  return nullptr;
}

// reluGrad(heap, dy, x, out, n): out = dy · step(x), step = 1 where x > 0, 0 elsewhere and NaN at
// NaN, as tfjs's relu gradient (Step, Cast, Multiply: three passes over the activation) computes it.
napi_value ReluGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t n = a.i(4);
  const float* dy = a.at(1, n);
  const float* x = a.at(2, n);
  float* out = a.at(3, n);
  if (!a.ok) return nullptr;
  parallelFor(n, [&](int64_t i0, int64_t i1, int64_t) {
    for (int64_t i = i0; i < i1; i++) {
      const float v = x[i];
      const float step = v != v ? v : (v > 0 ? 1.0f : 0.0f);
      out[i] = dy[i] * step;
    }
  }, threadsForPass(double(n)));
  return nullptr;
}

// ---- batch normalisation (training) ------------------------------------------------------------
//
// x is seen as rows × cols with the channels last (NHWC flattened): per-channel statistics are
// column reductions, summed in double over pieces of rows fixed by the shape, then over the
// pieces in order (the same bits on any thread count).

// nSums column sums over all rows: f(r0, r1, acc) adds rows [r0, r1) into acc (nSums × cols).
template <class F>
void columnSums(int64_t rows, int64_t cols, int64_t nSums, std::vector<double>& out, F f) {
  const int64_t width = nSums * cols;
  const Parts parts = partsOf(rows, double(width), INT64_MAX, 2.0 * width);
  std::vector<double> partials(parts.count * width, 0.0);
  forParts(parts, threadsForPass(double(rows) * width), [&](int64_t p) {
    f(parts.begin(p), parts.end(p), partials.data() + p * width);
  });
  out.assign(width, 0.0);
  for (int64_t p = 0; p < parts.count; p++)
    for (int64_t j = 0; j < width; j++) out[j] += partials[p * width + j];
}

// moments(heap, x, mean, variance, rows, cols): per column mean and biased variance (two passes,
// as tfjs's moments: the mean, then the mean of squared deviations).
napi_value Moments(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t rows = a.i(4), cols = a.i(5);
  const float* x = a.at(1, rows * cols);
  float* mean = a.at(2, cols);
  float* variance = a.at(3, cols);
  if (!a.ok || rows <= 0) return nullptr;
  std::vector<double> s;
  columnSums(rows, cols, 1, s, [&](int64_t r0, int64_t r1, double* acc) {
    for (int64_t r = r0; r < r1; r++)
      for (int64_t c = 0; c < cols; c++) acc[c] += x[r * cols + c];
  });
  for (int64_t c = 0; c < cols; c++) mean[c] = static_cast<float>(s[c] / rows);
  columnSums(rows, cols, 1, s, [&](int64_t r0, int64_t r1, double* acc) {
    for (int64_t r = r0; r < r1; r++)
      for (int64_t c = 0; c < cols; c++) {
        const float d = x[r * cols + c] - mean[c];
        acc[c] += d * d;
      }
  });
  for (int64_t c = 0; c < cols; c++) variance[c] = static_cast<float>(s[c] / rows);
  return nullptr;
}

// momentsGrad(heap, dmean, dvariance, x, mean, dx, rows, cols): the gradient of moments:
// dx = dmean/N + dvariance · 2(x − mean)/N.
napi_value MomentsGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t rows = a.i(6), cols = a.i(7);
  const float* dmean = a.at(1, cols);
  const float* dvar = a.at(2, cols);
  const float* x = a.at(3, rows * cols);
  const float* mean = a.at(4, cols);
  float* dx = a.at(5, rows * cols);
  if (!a.ok || rows <= 0) return nullptr;
  std::vector<float> m(cols), v(cols);
  for (int64_t c = 0; c < cols; c++) {
    m[c] = static_cast<float>(double(dmean[c]) / rows);
    v[c] = static_cast<float>(2.0 * dvar[c] / rows);
  }
  parallelFor(rows, [&](int64_t r0, int64_t r1, int64_t) {
    for (int64_t r = r0; r < r1; r++) {
      const float* __restrict xr = x + r * cols;
      float* __restrict d = dx + r * cols;
      for (int64_t c = 0; c < cols; c++) d[c] = m[c] + v[c] * (xr[c] - mean[c]);
    }
  }, threadsForPass(double(rows) * cols));
  return nullptr;
}

// batchNorm(heap, x, mean, variance, offset (−1: none), scale (−1: none), y, rows, cols, eps):
// y = (x − mean) · rsqrt(variance + eps) · scale + offset, per column.
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t rows = a.i(7), cols = a.i(8);
  double eps = 0;
  if (a.argc < 10 || napi_get_value_double(env, a.argv[9], &eps) != napi_ok) a.fail("expected eps");
  const float* x = a.at(1, rows * cols);
  const float* mean = a.at(2, cols);
  const float* variance = a.at(3, cols);
  const float* offset = a.i(4) >= 0 ? a.at(4, cols) : nullptr;
  const float* scale = a.i(5) >= 0 ? a.at(5, cols) : nullptr;
  float* y = a.at(6, rows * cols);
  if (!a.ok) return nullptr;
  std::vector<float> mul(cols), add(cols);
  for (int64_t c = 0; c < cols; c++) {
    const float inv = 1.0f / std::sqrt(variance[c] + static_cast<float>(eps));
    mul[c] = inv * (scale != nullptr ? scale[c] : 1.0f);
    add[c] = offset != nullptr ? offset[c] : 0.0f;
  }
  parallelFor(rows, [&](int64_t r0, int64_t r1, int64_t) {
    for (int64_t r = r0; r < r1; r++) {
      const float* __restrict xr = x + r * cols;
      float* __restrict yr = y + r * cols;
      for (int64_t c = 0; c < cols; c++) yr[c] = (xr[c] - mean[c]) * mul[c] + add[c];
    }
  }, threadsForPass(double(rows) * cols));
  return nullptr;
}

// batchNormGrad(heap, dy, x, mean, variance, scale (−1: none), dx, dmean, dvariance, dscale,
// doffset, rows, cols, eps): the gradients of batchNorm with respect to each of its inputs, the
// mean and variance taken as inputs of their own (tfjs's FusedBatchNorm gradient, in two passes):
//   dx = dy · scale · inv,  dmean = −scale · inv · Σdy,  dvariance = −½ · scale · inv³ · Σdy(x − mean),
//   dscale = inv · Σdy(x − mean),  doffset = Σdy,  inv = rsqrt(variance + eps).
napi_value BatchNormGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t rows = a.i(11), cols = a.i(12);
  double eps = 0;
  if (a.argc < 14 || napi_get_value_double(env, a.argv[13], &eps) != napi_ok) a.fail("expected eps");
  const float* dy = a.at(1, rows * cols);
  const float* x = a.at(2, rows * cols);
  const float* mean = a.at(3, cols);
  const float* variance = a.at(4, cols);
  const float* scale = a.i(5) >= 0 ? a.at(5, cols) : nullptr;
  float* dx = a.at(6, rows * cols);
  float* dmean = a.at(7, cols);
  float* dvar = a.at(8, cols);
  float* dscale = a.at(9, cols);
  float* doffset = a.at(10, cols);
  if (!a.ok) return nullptr;
  std::vector<float> inv(cols), gain(cols);
  for (int64_t c = 0; c < cols; c++) {
    inv[c] = 1.0f / std::sqrt(variance[c] + static_cast<float>(eps));
    gain[c] = inv[c] * (scale != nullptr ? scale[c] : 1.0f);
  }
  std::vector<double> s;  // [Σdy | Σdy(x − mean)]
  columnSums(rows, cols, 2, s, [&](int64_t r0, int64_t r1, double* acc) {
    double* sdy = acc;
    double* sdyx = acc + cols;
    for (int64_t r = r0; r < r1; r++) {
      const float* dr = dy + r * cols;
      const float* xr = x + r * cols;
      float* dxr = dx + r * cols;
      for (int64_t c = 0; c < cols; c++) {
        sdy[c] += dr[c];
        sdyx[c] += dr[c] * (xr[c] - mean[c]);
        dxr[c] = dr[c] * gain[c];
      }
    }
  });
  for (int64_t c = 0; c < cols; c++) {
    const double sc = scale != nullptr ? scale[c] : 1.0, iv = inv[c];
    dmean[c] = static_cast<float>(-sc * iv * s[c]);
    dvar[c] = static_cast<float>(-0.5 * sc * iv * iv * iv * s[cols + c]);
    dscale[c] = static_cast<float>(iv * s[cols + c]);
    doffset[c] = static_cast<float>(s[c]);
  }
  return nullptr;
}

// ---- optimiser -----------------------------------------------------------------------------------

// One optimiser update of the elements [i0, i1), specialised at compile time (kind 0 Adam, 1 SGD
// with momentum, 2 SGD without; a mask or not; weight decay or not) so each loop vectorises.
struct OptimizerArgs {
  const float *theta, *grad;
  float *m, *v, *out;
  const uint8_t* mask;
  float lr, wd, b1, b2, nb1, nb2, c1, c2, eps;
};

template <int kKind, bool kMask, bool kDecay>
__attribute__((always_inline)) inline void optimizerLoop(const OptimizerArgs& p, int64_t i0,
                                                         int64_t i1) {
  const float* __restrict theta = p.theta;
  const float* __restrict grad = p.grad;
  float* __restrict m = p.m;
  float* __restrict v = p.v;
  float* __restrict out = p.out;
  const uint8_t* __restrict mask = p.mask;
  // The hyperparameters in locals: read through `p` inside the loop, the vectoriser could not
  // prove that the stores to m, v and out leave them unchanged, and the loop ran scalar.
  const float b1 = p.b1, b2 = p.b2, nb1 = p.nb1, nb2 = p.nb2, c1 = p.c1, c2 = p.c2, eps = p.eps;
  const float wd = p.wd, lr = p.lr;
  for (int64_t i = i0; i < i1; i++) {
    const bool on = !kMask || mask[i] != 0;
    const float g = on ? grad[i] : 0.0f;
    float update;
    if (kKind == 0) {
      const float mi = m[i] * b1 + g * nb1;
      const float vi = v[i] * b2 + (g * g) * nb2;
      m[i] = mi;
      v[i] = vi;
      update = (mi / c1) / (__builtin_sqrtf(vi / c2) + eps);
    } else if (kKind == 1) {
      const float mi = m[i] * b1 + g;
      m[i] = mi;
      update = mi;
    } else {
      update = g;
    }
    if (kDecay) update = update + theta[i] * wd;
    const float next = theta[i] - update * lr;
    out[i] = on ? next : theta[i];
  }
}

template <int kKind>
__attribute__((always_inline)) inline void optimizerKind(const OptimizerArgs& p, int64_t i0,
                                                         int64_t i1) {
  const bool decay = p.wd > 0;
  if (p.mask != nullptr)
    decay ? optimizerLoop<kKind, true, true>(p, i0, i1) : optimizerLoop<kKind, true, false>(p, i0, i1);
  else
    decay ? optimizerLoop<kKind, false, true>(p, i0, i1)
          : optimizerLoop<kKind, false, false>(p, i0, i1);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void optimizerRange(
    int kind, const OptimizerArgs& p, int64_t i0, int64_t i1) {
  if (kind == 0)
    optimizerKind<0>(p, i0, i1);
  else if (kind == 1)
    optimizerKind<1>(p, i0, i1);
  else
    optimizerKind<2>(p, i0, i1);
}

// optimizerStep(heap, kind, n, theta, grad, m, v, out, maskByte, lr, wd, a, b, c1, c2, eps): one
// step of MaskedOptimizer (src/train/optimizer.ts) on one variable of n floats, in the order of
// its tfjs ops and in float32 like them, so the result matches to rounding. kind 0 = Adam (a, b =
// β1, β2; c1, c2 = the bias corrections 1 − βᵗ), kind 1 = SGD (a = momentum; m = −1: none).
// m and v (the optimiser's own state) are updated in place; the new θ goes to `out`. maskByte
// (−1: none) is the byte offset of a bool mask: where it is 0 the gradient counts as 0 and θ
// keeps its value exactly.
napi_value OptimizerStep(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  int64_t kind = a.i(1), n = a.i(2);
  const float* theta = a.at(3, n);
  const float* grad = a.at(4, n);
  float* m = a.i(5) >= 0 ? a.at(5, n) : nullptr;
  float* v = kind == 0 ? a.at(6, n) : nullptr;
  float* out = a.at(7, n);
  int64_t maskByte = a.i(8);
  double hp[7];
  for (size_t k = 0; k < 7; k++)
    if (a.ok && napi_get_value_double(env, a.argv[9 + k], &hp[k]) != napi_ok) a.fail("expected a number");
  if (!a.ok) return nullptr;
  if (kind < 0 || kind > 1 || (kind == 0 && m == nullptr)) {
    a.fail("optimizerStep: kind must be 0 (Adam, with m and v) or 1 (SGD)");
    return nullptr;
  }
  const uint8_t* mask = nullptr;
  if (maskByte >= 0) {
    if (static_cast<uint64_t>(maskByte + n) > a.heapLength * sizeof(float)) {
      a.fail("mask lies outside the wasm heap");
      return nullptr;
    }
    mask = reinterpret_cast<const uint8_t*>(a.heap) + maskByte;
  }
  const float lr = float(hp[0]), wd = float(hp[1]), b1 = float(hp[2]), b2 = float(hp[3]);
  const float c1 = float(hp[4]), c2 = float(hp[5]), eps = float(hp[6]);
  // Products and sums round one by one as tfjs's separate kernels round them (binding.gyp:
  // -ffp-contract=off, no fused multiply-add); 1 − β as the JS side computes it, in double,
  // then rounded to float32 like a tfjs scalar.
  const float nb1 = float(1.0 - hp[2]), nb2 = float(1.0 - hp[3]);
  const OptimizerArgs p{theta, grad, m, v, out, mask, lr, wd, b1, b2, nb1, nb2, c1, c2, eps};
  const int k = kind == 0 ? 0 : m != nullptr ? 1 : 2;
  // ~7 floats read or written per element: split from ~130k elements (a dense layer's weights).
  parallelFor(n, [&](int64_t i0, int64_t i1, int64_t) { optimizerRange(k, p, i0, i1); },
              threadsForPass(double(n) * 4));
  return nullptr;
}

// ---- symmetric eigendecomposition --------------------------------------------------------------

// The data of argument v when it is a Float64Array of exactly `length` entries, else nullptr (an
// empty array's data may be null: then a placeholder that is never read).
double* float64Array(napi_env env, napi_value v, int64_t length) {
  static double none = 0;
  napi_typedarray_type type;
  size_t have;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &have, &data, &buffer, &offset) != napi_ok ||
      type != napi_float64_array || int64_t(have) != length)
    return nullptr;
  return data ? static_cast<double*>(data) : &none;
}

napi_value boolean(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

// symmetricEigen(a, n, values, vectors) → bool: the eigendecomposition of the symmetric part
// (a + aᵀ)/2 of the row-major n×n Float64Array a, as src/unlearn/uib/linalg.ts's symmetricEigen
// gives it (values ascending; vectors row-major, column j the unit eigenvector of values[j]), by
// LAPACK's dsyevd, single-threaded (the K-FAC prior's Gram matrices: ~14× the JS solver).
// false, with nothing written, where it does not apply — uib's own GEMM has no LAPACK, an entry is
// not finite (the JS solver names it), or LAPACK reports a failure — so the caller runs the JS one.
napi_value SymmetricEigen(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int64_t n = -1;
  if (argc < 4 || napi_get_value_int64(env, argv[1], &n) != napi_ok || n < 0 || n > 46340) {
    napi_throw_range_error(env, nullptr, "symmetricEigen: n must be an integer in 0..46340");
    return nullptr;
  }
  const double* a = float64Array(env, argv[0], n * n);
  double* values = float64Array(env, argv[2], n);
  double* vectors = float64Array(env, argv[3], n * n);
  if (!a || !values || !vectors) {
    napi_throw_type_error(env, nullptr,
                          "symmetricEigen(a, n, values, vectors): Float64Arrays of n², n, n²");
    return nullptr;
  }
#ifdef UIB_BUILTIN_GEMM
  return boolean(env, false);
#else
  if (n == 0) return boolean(env, true);
  // Symmetric, so the row-major symmetric part is its own column-major form.
  std::vector<double> w(size_t(n) * n);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) {
      const double x = 0.5 * (a[i * n + j] + a[j * n + i]);
      if (!std::isfinite(x)) return boolean(env, false);
      w[i * n + j] = x;
    }
  const int nn = int(n);
  int status = 0, lwork = -1, liwork = -1, iwq = 0;
  double wq = 0;
  std::vector<double> w8(n);
  dsyevd_("V", "L", &nn, w.data(), &nn, w8.data(), &wq, &lwork, &iwq, &liwork, &status);
  if (status != 0) return boolean(env, false);
  lwork = int(wq);
  liwork = iwq;
  std::vector<double> work(std::max(lwork, 1));
  std::vector<int> iwork(std::max(liwork, 1));
  // On one thread, as every OpenBLAS call here: the same bits whatever the thread setting (two
  // threads gained 20 % on a 1,000-row matrix, not worth a result that depends on UIB_THREADS).
  dsyevd_("V", "L", &nn, w.data(), &nn, w8.data(), work.data(), &lwork, iwork.data(), &liwork,
          &status);
  if (status != 0) return boolean(env, false);
  // LAPACK's column j (w[j·n + k]) is the eigenvector of values[j]; row-major V wants it at k·n + j.
  std::memcpy(values, w8.data(), sizeof(double) * n);
  for (int64_t j = 0; j < n; j++)
    for (int64_t k = 0; k < n; k++) vectors[k * n + j] = w[j * n + k];
  return boolean(env, true);
#endif
}

// dgemm(a, b, c, r, k, n, transA, transB) → bool: row-major float64 C[r×n] = op(A)·op(B) on one
// thread through OpenBLAS (linalg.ts's matmul, for the K-FAC prior's products: float64, since its
// complement form subtracts near-equal terms). false, with nothing written, on uib's own GEMM (it
// has no float64 product) or an empty dimension, so the caller runs the JS product.
napi_value Dgemm(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int64_t dims[3] = {-1, -1, -1};
  bool trans[2] = {false, false};
  bool ok = argc >= 8;
  for (int d = 0; ok && d < 3; d++)
    ok = napi_get_value_int64(env, argv[3 + d], &dims[d]) == napi_ok && dims[d] >= 0;
  for (int d = 0; ok && d < 2; d++) ok = napi_get_value_bool(env, argv[6 + d], &trans[d]) == napi_ok;
  if (!ok) {
    napi_throw_type_error(env, nullptr, "dgemm(a, b, c, r, k, n, transA, transB): sizes ≥ 0, flags");
    return nullptr;
  }
  const int64_t r = dims[0], k = dims[1], n = dims[2];
  const double* a = float64Array(env, argv[0], r * k);
  const double* b = float64Array(env, argv[1], k * n);
  double* c = float64Array(env, argv[2], r * n);
  if (!a || !b || !c) {
    napi_throw_type_error(env, nullptr, "dgemm: a, b, c must be Float64Arrays of r·k, k·n, r·n");
    return nullptr;
  }
#ifdef UIB_BUILTIN_GEMM
  return boolean(env, false);
#else
  if (r == 0 || k == 0 || n == 0) return boolean(env, false);
  cblas_dgemm(CblasRowMajor, trans[0] ? CblasTrans : CblasNoTrans,
              trans[1] ? CblasTrans : CblasNoTrans, r, n, k, 1.0, a, trans[0] ? r : k, b,
              trans[1] ? k : n, 0.0, c, n);
  return boolean(env, true);
#endif
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
#ifndef UIB_BUILTIN_GEMM
  // Again here, in case anything else in the process raised it: OpenBLAS's own threads split a
  // product by the thread count, and its bits change with the split.
  openblas_set_num_threads(1);
#endif
  return nullptr;
}

napi_value String(napi_env env, const char* s) {
  napi_value out;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out);
  return out;
}

// config(): the BLAS's description (OpenBLAS's build line; uib's GEMM and its micro-kernel).
napi_value Config(napi_env env, napi_callback_info) {
#ifdef UIB_BUILTIN_GEMM
  const std::string line = std::string("uib built-in GEMM, ") + uib::sgemmKernel() + " kernel";
  return String(env, line.c_str());
#else
  return String(env, openblas_get_config());
#endif
}

// blas(): "openblas" or "builtin", the route this addon was built with.
napi_value Blas(napi_env env, napi_callback_info) {
#ifdef UIB_BUILTIN_GEMM
  return String(env, "builtin");
#else
  return String(env, "openblas");
#endif
}

// gemmKernel(): the micro-kernel products run on: uib's "avx512", "avx2" or "portable", or
// OpenBLAS's core name (e.g. "SkylakeX").
napi_value GemmKernel(napi_env env, napi_callback_info) {
#ifdef UIB_BUILTIN_GEMM
  return String(env, uib::sgemmKernel());
#else
  return String(env, openblas_get_corename());
#endif
}

// selectGemmKernel(name): uib's GEMM only (tests, benchmarks): use that micro-kernel from now on;
// false when this CPU lacks it or the addon is built with OpenBLAS.
napi_value SelectGemmKernel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char name[32] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "selectGemmKernel needs a kernel name");
    return nullptr;
  }
  bool ok = false;
#ifdef UIB_BUILTIN_GEMM
  ok = uib::sgemmSelectKernel(name);
#endif
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

// sgemm(heap, transA, transB, M, N, K, a, lda, b, ldb, beta, c, ldc): one single-threaded
// row-major product c = op(a)·op(b) + beta·c through the addon's BLAS, as its kernels call it
// (tests of the GEMM itself; beta 0 does not read c).
napi_value Sgemm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  if (!a.ok) return nullptr;
  const bool ta = a.i(1) != 0, tb = a.i(2) != 0;
  const int64_t M = a.i(3), N = a.i(4), K = a.i(5), lda = a.i(7), ldb = a.i(9), ldc = a.i(12);
  double beta = 0;
  if (a.ok && (a.argc <= 10 || napi_get_value_double(env, a.argv[10], &beta) != napi_ok))
    a.fail("expected a number");
  if (!a.ok) return nullptr;
  if (M < 1 || N < 1 || K < 1 || lda < (ta ? M : K) || ldb < (tb ? K : N) || ldc < N) {
    a.fail("sgemm: M, N, K must be ≥ 1 and each leading dimension at least its row's length");
    return nullptr;
  }
  const float* A = a.at(6, ((ta ? K : M) - 1) * lda + (ta ? M : K));
  const float* B = a.at(8, ((tb ? N : K) - 1) * ldb + (tb ? K : N));
  float* C = a.at(11, (M - 1) * ldc + N);
  if (!a.ok) return nullptr;
  sgemm(ta, tb, M, N, K, A, lda, B, ldb, float(beta), C, ldc);
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
#ifndef UIB_BUILTIN_GEMM
  // One OpenBLAS thread per call: the threads are ours, and two pools would oversubscribe 2 cores.
  openblas_set_num_threads(1);
#endif
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
             {"optimizerStep", OptimizerStep},
             {"maxPool", MaxPool},
             {"elementwise", Elementwise},
             {"relu", Relu},
             {"reluGrad", ReluGrad},
             {"convSquaredGrad", ConvSquaredGrad},
             {"moments", Moments},
             {"momentsGrad", MomentsGrad},
             {"batchNorm", BatchNorm},
             {"batchNormGrad", BatchNormGrad},
             {"setThreads", SetThreads},
             {"config", Config},
             {"blas", Blas},
             {"gemmKernel", GemmKernel},
             {"selectGemmKernel", SelectGemmKernel},
             {"sgemm", Sgemm},
             {"symmetricEigen", SymmetricEigen},
             {"dgemm", Dgemm}};
  for (auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
