{
  "targets": [
    {
      "target_name": "inrank_blas",
      "sources": ["src/blas_addon.cc", "src/lapack.cc", "src/fused.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-trapping-math", "-fno-math-errno"],
      "libraries": ["-ldl"]
    }
  ]
}
