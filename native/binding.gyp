{
  "variables": {
    "uib_blas%": "openblas"
  },
  "targets": [
    {
      "target_name": "uib_native",
      "sources": ["uib_native.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-Wall", "-Wextra", "-ffp-contract=off", "-fno-math-errno", "-Wno-psabi"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [
        ["uib_blas=='builtin'", {
          "sources": ["sgemm.cc"],
          "defines": ["UIB_BUILTIN_GEMM"],
          "libraries": ["-pthread"]
        }, {
          "libraries": ["-lopenblas", "-pthread"]
        }]
      ]
    }
  ]
}
