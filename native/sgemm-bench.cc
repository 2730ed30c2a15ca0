// Checks and times uib's own SGEMM (sgemm.cc) outside Node; a developer's tool, not part of the
// addon. With -DWITH_OPENBLAS it also times OpenBLAS's cblas_sgemm on one thread, alternating
// with uib's on every repetition so that a loaded machine's drift hits both alike.
//
//   g++ -O3 -std=c++17 -ffp-contract=off native/sgemm.cc native/sgemm-bench.cc
//     -DWITH_OPENBLAS -lopenblas -o /tmp/sgemm-bench
//   /tmp/sgemm-bench check          # every kernel against a scalar FMA chain, bit for bit
//   /tmp/sgemm-bench time [reps]    # GFLOP/s on the CNN/MLP shapes (median of reps)
//   /tmp/sgemm-bench time 7 avx2 128 10 128 0 0   # one shape on one kernel

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "sgemm.h"

#ifdef WITH_OPENBLAS
extern "C" {
#include <cblas.h>
}
#endif

namespace {

float opA(bool t, const float* A, int64_t lda, int64_t i, int64_t k) {
  return t ? A[k * lda + i] : A[i * lda + k];
}

// The chain sgemm.h promises: from beta·C (0 for beta 0), one FMA (or, portable, a product and a
// sum) per k in order.
void reference(bool fused, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      volatile float s = beta == 0.0f ? 0.0f : beta == 1.0f ? C[i * ldc + j] : beta * C[i * ldc + j];
      for (int64_t k = 0; k < K; k++) {
        const float a = opA(ta, A, lda, i, k), b = opA(!tb, B, ldb, j, k);
        if (fused) {
          s = std::fma(a, b, s);
        } else {
          volatile float p = a * b;
          s = s + p;
        }
      }
      C[i * ldc + j] = s;
    }
}

int check() {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  const int64_t shapes[][3] = {{1, 1, 1},   {17, 33, 5},  {5, 17, 33},  {12, 32, 256},
                               {13, 33, 257}, {25, 65, 600}, {1, 100, 3},  {100, 1, 3},
                               {31, 7, 1100}, {3, 1030, 9},  {9, 45, 17},  {64, 10, 128}};
  int failures = 0, runs = 0;
  for (const char* name : {"avx512", "avx2", "portable"}) {
    if (!uib::sgemmSelectKernel(name)) {
      std::printf("%-8s not supported on this CPU, skipped\n", name);
      continue;
    }
    const bool fused = std::strcmp(name, "portable") != 0;
    for (auto& s : shapes)
      for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
          for (float beta : {0.0f, 1.0f, 0.5f}) {
            const int64_t M = s[0], N = s[1], K = s[2];
            const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
            std::vector<float> A((ta ? K : M) * lda), B((tb ? N : K) * ldb), C(M * ldc);
            for (float& v : A) v = normal(rng);
            for (float& v : B) v = normal(rng);
            for (float& v : C) v = normal(rng);
            std::vector<float> want = C, got = C;
            if (beta == 0.0f)  // beta 0 must not read C
              for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) got[i * ldc + j] = NAN;
            reference(fused, ta, tb, M, N, K, A.data(), lda, B.data(), ldb, beta, want.data(), ldc);
            uib::sgemm(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, beta, got.data(), ldc);
            runs++;
            if (std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) != 0) {
              failures++;
              std::printf("FAIL %s %lldx%lldx%lld ta=%d tb=%d beta=%g\n", name, (long long)M,
                          (long long)N, (long long)K, ta, tb, beta);
            }
          }
    std::printf("%-8s checked\n", name);
  }
  std::printf("%d of %d cases bit-identical to the reference chain\n", runs - failures, runs);
  return failures == 0 ? 0 : 1;
}

struct Shape {
  const char* what;
  bool ta, tb;
  int64_t M, N, K;
};

// The products the project's CNN (batch 128; conv_2 on 13×13×32 → 11×11×64, one batch piece of
// 11 samples = 1331 rows, as the addon cuts it) and MLP (784-256-256-10) run in a training step.
const Shape kShapes[] = {
    {"cnn conv_2 forward   (im2col·W)", false, false, 1331, 64, 288},
    {"cnn conv_2 filter grad (colsᵀ·dy)", true, false, 288, 64, 1331},
    {"cnn conv_2 input grad (dy·Wᵀ)", false, true, 1331, 288, 64},
    {"cnn conv_2 per-example grad (Fisher)", true, false, 288, 64, 121},
    {"cnn dense_1 forward  128×1600·128", false, false, 128, 128, 1600},
    {"cnn dense_1 dW  1600×128·128 (xᵀ·dy)", true, false, 1600, 128, 128},
    {"mlp dense_1 forward  128×784·256", false, false, 128, 256, 784},
    {"brief: im2col 128·26·26 × 288 × 64", false, false, 128 * 26 * 26 / 12, 64, 288},
    {"brief: dense 128 × 9216 × 128", false, false, 128, 128, 9216},
};

double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int timeShapes(int reps, const std::vector<Shape>& shapes) {
#ifdef WITH_OPENBLAS
  openblas_set_num_threads(1);
  std::printf("OpenBLAS: %s\n", openblas_get_config());
#endif
  std::printf("uib kernel: %s\n", uib::sgemmKernel());
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::printf("%-40s %10s %10s %7s\n", "shape (M×N×K)", "uib GF/s", "OpenBLAS", "ratio");
  for (const Shape& s : shapes) {
    const int64_t lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
    std::vector<float> A(s.M * s.K), B(s.K * s.N), C(s.M * s.N);
    for (float& v : A) v = normal(rng);
    for (float& v : B) v = normal(rng);
    const double flops = 2.0 * s.M * s.N * s.K;
    // Enough calls per sample for ~20 ms.
    const int calls = std::max(1, int(2e9 * 0.02 / flops * 50));
    std::vector<double> ours, theirs;
    for (int r = 0; r < reps; r++) {
      double t0 = seconds();
      for (int c = 0; c < calls; c++)
        uib::sgemm(s.ta, s.tb, s.M, s.N, s.K, A.data(), lda, B.data(), ldb, 0.0f, C.data(), s.N);
      ours.push_back(flops * calls / (seconds() - t0) / 1e9);
#ifdef WITH_OPENBLAS
      t0 = seconds();
      for (int c = 0; c < calls; c++)
        cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans,
                    s.M, s.N, s.K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), s.N);
      theirs.push_back(flops * calls / (seconds() - t0) / 1e9);
#endif
    }
    auto median = [](std::vector<double> v) {
      if (v.empty()) return 0.0;
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    const double o = median(ours), t = median(theirs);
    char label[80];
    std::snprintf(label, sizeof label, "%s%s %lld×%lld×%lld", s.ta ? "T" : "N", s.tb ? "T" : "N",
                  (long long)s.M, (long long)s.N, (long long)s.K);
    std::printf("%-40s %10.1f %10.1f %7.2f   %s\n", label, o, t, t > 0 ? o / t : 0.0, s.what);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "check";
  if (argc > 3) {
    if (!uib::sgemmSelectKernel(argv[3])) {
      std::printf("kernel %s not supported\n", argv[3]);
      return 2;
    }
  }
  if (std::strcmp(what, "check") == 0) return check();
  std::vector<Shape> shapes(std::begin(kShapes), std::end(kShapes));
  if (argc > 8)  // time reps kernel M N K transA transB: that shape alone
    shapes = {{"", std::atoi(argv[7]) != 0, std::atoi(argv[8]) != 0, std::atoll(argv[4]),
               std::atoll(argv[5]), std::atoll(argv[6])}};
  if (std::strcmp(what, "time") == 0) return timeShapes(argc > 2 ? std::atoi(argv[2]) : 7, shapes);
  std::printf("usage: sgemm-bench check | time [reps [kernel [M N K transA transB]]]\n");
  return 2;
}
