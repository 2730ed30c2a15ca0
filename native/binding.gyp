{
  "targets": [
    {
      "target_name": "uib_native",
      "sources": ["uib_native.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-Wall", "-Wextra", "-ffp-contract=off", "-Wno-psabi"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lopenblas", "-pthread"]
    }
  ]
}
