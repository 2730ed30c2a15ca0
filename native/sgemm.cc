// uib's own single-threaded SGEMM (sgemm.h), for machines without OpenBLAS: no BLAS with C
// sources installs from the npm registry, and the wasm kernels are 5-10× slower than the addon.
//
// The usual Goto/BLIS structure, single-threaded (the addon's pool splits the work, in pieces
// fixed by the shape): op(B) is packed KC rows × NC columns at a time into column panels NR wide,
// op(A) one MR-row panel at a time, and a register-blocked micro-kernel computes an MR×NR tile of
// C over the KC rows, holding the tile in vector registers: per k it loads NR floats of the B
// panel, broadcasts MR floats of the A panel and does MR·NR/lanes fused multiply-adds. A row-major
// op(A) is read in place rather than packed. Edge tiles are computed by the smallest tile
// function that covers them (4 or 8 rows, one vector of columns) on zero-padded panels, into a
// scratch tile, then copied out.
//
// Determinism: a tile starts from C (or 0 for beta 0 on the first KC block) and goes on with one
// FMA per k in order, so every C[i][j] is the same chain of FMAs over k = 0 … K−1 whatever the
// blocking, its place in C or the shape of the call; lanes never mix. The AVX-512 and AVX2
// kernels therefore give the same bits. binding.gyp's -ffp-contract=off does not touch the
// explicit FMA intrinsics; the portable kernel (no FMA) keeps products and sums apart.
//
// The kernels are compiled for their instruction sets by `#pragma GCC target` and picked at run
// time (__builtin_cpu_supports), so the build needs no -march and the addon runs on any x86-64.

#include "sgemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__x86_64__) || defined(__i386__)
#define UIB_X86 1
#include <immintrin.h>
#endif

namespace uib {
namespace {

// An R-row × NV-vector tile of C (row stride ldc) over kc steps of k, kept in registers:
// load: start from c, else from 0. A is a packed panel (lda 0: op(A)[i][k] at a[k·AS + i]) or,
// lda > 0, R rows of a row-major A read in place (op(A)[i][k] at a[i·lda + k]), which spares
// packing A (~30 % of the time where N is 64); B a packed panel (BS floats a k).
// The full tile is the kernel's MR × NR; the smaller ones (fewer rows or one vector) do the edges
// without computing the padding, through a scratch tile.
using Kernel = void (*)(int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                        int64_t ldc, bool load);
// The tile function for a panel of mr ≤ MR rows (read in place or packed) and nr ≤ NR columns.
using Pick = Kernel (*)(bool inPlace, int64_t mr, int64_t nr);

#ifdef UIB_X86

#pragma GCC push_options
#pragma GCC target("avx512f")
// 12×32: 24 accumulators, 2 B vectors and a broadcast among the 32 zmm registers.
template <bool InPlace, int R, int NV>
void avx512Tile(int64_t kc, const float* __restrict a, int64_t lda, const float* __restrict b,
                float* __restrict c, int64_t ldc, bool load) {
  constexpr int AS = 12, BS = 32;
  __m512 acc[R][NV];
#pragma GCC unroll 12
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++)
      acc[i][v] = load ? _mm512_loadu_ps(c + i * ldc + 16 * v) : _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    __m512 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
      const __m512 ai = _mm512_set1_ps(InPlace ? a[i * lda] : a[i]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += InPlace ? 1 : AS;
    b += BS;
  }
#pragma GCC unroll 12
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) _mm512_storeu_ps(c + i * ldc + 16 * v, acc[i][v]);
}
Kernel pickAvx512(bool inPlace, int64_t mr, int64_t nr) {
  const bool two = nr > 16;
  if (inPlace) return two ? avx512Tile<true, 12, 2> : avx512Tile<true, 12, 1>;
  if (mr <= 4) return two ? avx512Tile<false, 4, 2> : avx512Tile<false, 4, 1>;
  if (mr <= 8) return two ? avx512Tile<false, 8, 2> : avx512Tile<false, 8, 1>;
  return two ? avx512Tile<false, 12, 2> : avx512Tile<false, 12, 1>;
}
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma")
// 6×16: 12 accumulators, 2 B vectors and a broadcast among the 16 ymm registers.
template <bool InPlace, int R, int NV>
void avx2Tile(int64_t kc, const float* __restrict a, int64_t lda, const float* __restrict b,
              float* __restrict c, int64_t ldc, bool load) {
  constexpr int AS = 6, BS = 16;
  __m256 acc[R][NV];
#pragma GCC unroll 6
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++)
      acc[i][v] = load ? _mm256_loadu_ps(c + i * ldc + 8 * v) : _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) bv[v] = _mm256_load_ps(b + 8 * v);
#pragma GCC unroll 6
    for (int i = 0; i < R; i++) {
      const __m256 ai = _mm256_broadcast_ss(InPlace ? a + i * lda : a + i);
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += InPlace ? 1 : AS;
    b += BS;
  }
#pragma GCC unroll 6
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) _mm256_storeu_ps(c + i * ldc + 8 * v, acc[i][v]);
}
Kernel pickAvx2(bool inPlace, int64_t mr, int64_t nr) {
  const bool two = nr > 8;
  if (inPlace) return two ? avx2Tile<true, 6, 2> : avx2Tile<true, 6, 1>;
  if (mr <= 2) return two ? avx2Tile<false, 2, 2> : avx2Tile<false, 2, 1>;
  if (mr <= 4) return two ? avx2Tile<false, 4, 2> : avx2Tile<false, 4, 1>;
  return two ? avx2Tile<false, 6, 2> : avx2Tile<false, 6, 1>;
}
#pragma GCC pop_options

#endif  // UIB_X86

// 4×8 in GCC vector extensions (SSE2 on x86-64, NEON on arm64, scalar elsewhere): a product
// and a sum per step, rounded apart (no FMA under -ffp-contract=off).
typedef float V4 __attribute__((vector_size(16)));
inline V4 loadV4(const float* p) {
  V4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void storeV4(float* p, V4 v) { std::memcpy(p, &v, sizeof v); }

template <bool InPlace>
void portableTile(int64_t kc, const float* __restrict a, int64_t lda, const float* __restrict b,
                  float* __restrict c, int64_t ldc, bool load) {
  constexpr int MR = 4;
  V4 acc[MR][2];
#pragma GCC unroll 4
  for (int i = 0; i < MR; i++) {
    acc[i][0] = load ? loadV4(c + i * ldc) : V4{};
    acc[i][1] = load ? loadV4(c + i * ldc + 4) : V4{};
  }
  for (int64_t k = 0; k < kc; k++) {
    const V4 b0 = loadV4(b), b1 = loadV4(b + 4);
#pragma GCC unroll 4
    for (int i = 0; i < MR; i++) {
      const float ai = InPlace ? a[i * lda] : a[i];
      acc[i][0] += ai * b0;
      acc[i][1] += ai * b1;
    }
    a += InPlace ? 1 : MR;
    b += 8;
  }
#pragma GCC unroll 4
  for (int i = 0; i < MR; i++) {
    storeV4(c + i * ldc, acc[i][0]);
    storeV4(c + i * ldc + 4, acc[i][1]);
  }
}
Kernel pickPortable(bool inPlace, int64_t, int64_t) {
  return inPlace ? portableTile<true> : portableTile<false>;
}

struct KernelInfo {
  const char* name;
  Pick pick;
  int64_t MR, NR;
  // op(B) is packed KC × NC at a time (KC·NC·4 bytes: 1 MB for the AVX-512 kernel, kept in L2).
  int64_t KC, NC;
  bool (*supported)();
};

bool always() { return true; }
#ifdef UIB_X86
bool hasAvx512() { return __builtin_cpu_supports("avx512f"); }
bool hasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif

const KernelInfo kKernels[] = {
#ifdef UIB_X86
    {"avx512", pickAvx512, 12, 32, 256, 1024, hasAvx512},
    {"avx2", pickAvx2, 6, 16, 256, 1024, hasAvx2},
#endif
    {"portable", pickPortable, 4, 8, 256, 1024, always},
};

const KernelInfo* widest() {
#ifdef UIB_X86
  __builtin_cpu_init();
#endif
  for (const KernelInfo& k : kKernels)
    if (k.supported()) return &k;
  return &kKernels[sizeof kKernels / sizeof kKernels[0] - 1];
}

// The kernel in use; the pool's threads read it at once (two may both pick the widest first).
std::atomic<const KernelInfo*> g_kernel{nullptr};

const KernelInfo& kernel() {
  const KernelInfo* k = g_kernel.load(std::memory_order_acquire);
  if (k == nullptr) {
    k = widest();
    g_kernel.store(k, std::memory_order_release);
  }
  return *k;
}

// Per-thread packing buffers, 64-byte aligned, grown as needed, kept for the thread's life.
struct Buffer {
  float* data = nullptr;
  size_t size = 0;
  float* get(size_t n) {
    if (n > size) {
      std::free(data);
      data = static_cast<float*>(std::aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64));
      if (data == nullptr) throw std::bad_alloc();
      size = n;
    }
    return data;
  }
  ~Buffer() { std::free(data); }
};

// dst[(p·kc + k)·NR + j] = op(B)[k0 + k][j0 + p·NR + j], 0 past column j0 + nc.
void packB(bool transB, const float* B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0,
           int64_t nc, int64_t NR, float* __restrict dst) {
  for (int64_t jp = 0; jp < nc; jp += NR, dst += kc * NR) {
    const int64_t w = std::min(NR, nc - jp);
    if (!transB) {
      const float* src = B + k0 * ldb + j0 + jp;
      for (int64_t k = 0; k < kc; k++, src += ldb) {
        float* d = dst + k * NR;
        for (int64_t j = 0; j < w; j++) d[j] = src[j];
        for (int64_t j = w; j < NR; j++) d[j] = 0.0f;
      }
    } else {
      // op(B)[k][j] = B[j][k]: each column of the panel is a row of B.
      for (int64_t j = 0; j < w; j++) {
        const float* src = B + (j0 + jp + j) * ldb + k0;
        for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = src[k];
      }
      for (int64_t j = w; j < NR; j++)
        for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = 0.0f;
    }
  }
}

// dst[k·MR + i] = op(A)[i0 + i][k0 + k] for i < mr, 0 for mr ≤ i < MR.
void packA(bool transA, const float* A, int64_t lda, int64_t i0, int64_t mr, int64_t k0,
           int64_t kc, int64_t MR, float* __restrict dst) {
  if (transA) {
    const float* src = A + k0 * lda + i0;
    for (int64_t k = 0; k < kc; k++, src += lda) {
      float* d = dst + k * MR;
      for (int64_t i = 0; i < mr; i++) d[i] = src[i];
      for (int64_t i = mr; i < MR; i++) d[i] = 0.0f;
    }
  } else {
    for (int64_t i = 0; i < mr; i++) {
      const float* src = A + (i0 + i) * lda + k0;
      for (int64_t k = 0; k < kc; k++) dst[k * MR + i] = src[k];
    }
    for (int64_t i = mr; i < MR; i++)
      for (int64_t k = 0; k < kc; k++) dst[k * MR + i] = 0.0f;
  }
}

}  // namespace

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  // beta other than 0 and 1 (the addon passes neither): scale C first, then accumulate onto it.
  if (beta != 0.0f && beta != 1.0f) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] *= beta;
    beta = 1.0f;
  }
  if (K <= 0) {
    if (beta == 0.0f)
      for (int64_t i = 0; i < M; i++) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  const KernelInfo& kern = kernel();
  const int64_t MR = kern.MR, NR = kern.NR, KC = kern.KC, NC = kern.NC;
  static thread_local Buffer bBuf, aBuf;
  float* bPack = bBuf.get(size_t(KC) * ((std::min(N, NC) + NR - 1) / NR) * NR);
  float* aPack = aBuf.get(size_t(KC) * MR);
  alignas(64) float tile[12 * 32];  // the largest MR×NR
  // K in equal blocks of at most KC (288 = 144 + 144, not 256 + 32: a short block pays a whole
  // pass over the C tiles for little work). The bits do not depend on the blocking.
  const int64_t kBlocks = (K + KC - 1) / KC;
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t kb = 0; kb < kBlocks; kb++) {
      const int64_t pc = K * kb / kBlocks, kc = K * (kb + 1) / kBlocks - pc;
      const bool load = pc > 0 || beta != 0.0f;
      packB(transB, B, ldb, pc, kc, jc, nc, NR, bPack);
      for (int64_t ic = 0; ic < M; ic += MR) {
        const int64_t mr = std::min(MR, M - ic);
        // A row-major A is read in place by whole panels; a transposed one (MR floats per k
        // lda apart) and the last, short panel are packed.
        const bool inPlace = !transA && mr == MR;
        const float* ap = inPlace ? A + ic * lda + pc : aPack;
        const int64_t apStride = inPlace ? lda : 0;
        if (!inPlace) packA(transA, A, lda, ic, mr, pc, kc, MR, aPack);
        const Kernel full = kern.pick(inPlace, MR, NR);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min(NR, nc - jr);
          float* c = C + ic * ldc + jc + jr;
          const float* bp = bPack + (jr / NR) * kc * NR;
          if (mr == MR && nr == NR) {
            full(kc, ap, apStride, bp, c, ldc, load);
            continue;
          }
          // An edge: the smallest tile that covers it, into the scratch tile.
          if (load) {
            std::fill(tile, tile + MR * NR, 0.0f);  // the padding too: no uninitialised reads
            for (int64_t i = 0; i < mr; i++) std::memcpy(tile + i * NR, c + i * ldc, nr * 4);
          }
          kern.pick(inPlace, mr, nr)(kc, ap, apStride, bp, tile, NR, load);
          for (int64_t i = 0; i < mr; i++) std::memcpy(c + i * ldc, tile + i * NR, nr * 4);
        }
      }
    }
  }
}

const char* sgemmKernel() { return kernel().name; }

bool sgemmSelectKernel(const char* name) {
  for (const KernelInfo& k : kKernels) {
    if (std::strcmp(k.name, name) == 0 && k.supported()) {
      g_kernel.store(&k, std::memory_order_release);
      return true;
    }
  }
  return false;
}

}  // namespace uib
