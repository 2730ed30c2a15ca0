// uib's own single-threaded SGEMM, the addon's matrix products where the machine has no OpenBLAS
// (binding.gyp, uib_blas=builtin; native/build.mjs picks the route). See sgemm.cc.
#pragma once

#include <cstdint>

namespace uib {

// C[M×N] = op(A)·op(B) + beta·C, row-major, as cblas_sgemm(CblasRowMajor, …, alpha = 1, …):
// op(A) is A (M×K, row stride lda) or, when transA, Aᵀ of a K×M A; op(B) likewise (K×N or N×K).
// beta 0 never reads C (it may hold NaN or garbage). Safe to call from several threads at once.
//
// Each C[i][j] is one chain of fused multiply-adds over k = 0, 1, …, K−1 in order, started from
// beta·C[i][j] (0 when beta is 0): its bits depend on its own row of op(A), column of op(B) and
// start value only — not on M, N, where it lies in C, the blocking or the thread count. The
// AVX-512 and AVX2 kernels give the same bits; the portable kernel (no FMA) rounds each product.
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The micro-kernel in use: "avx512" (12×32), "avx2" (6×16, FMA) or "portable" (4×8, no FMA),
// the widest this CPU runs, chosen on first use.
const char* sgemmKernel();

// Selects a kernel by name (tests, benchmarks); false (nothing changed) when unknown or when the
// CPU lacks its instructions. Not to be called while another thread is inside sgemm.
bool sgemmSelectKernel(const char* name);

}  // namespace uib
