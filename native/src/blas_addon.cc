// N-API addon: single-precision GEMM from a system BLAS (OpenBLAS), run in place on
// the tfjs wasm backend's heap (an ArrayBuffer), plus the bias + activation epilogue of
// _FusedMatMul. The BLAS library is opened with dlopen at run time, so the addon builds
// without BLAS headers and loads (reporting "no BLAS") on a machine without the library.
// The float64 LAPACK entry points for rank determinations live in lapack.cc.
#include <node_api.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>

#include "blas_library.h"

namespace {

// CBLAS enum values are fixed by the CBLAS standard; declared here so no header is needed.
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;

using SgemmFn = void (*)(int order, int transA, int transB, int m, int n, int k, float alpha,
                         const float* a, int lda, const float* b, int ldb, float beta, float* c,
                         int ldc);
using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();

struct Blas {
  void* handle = nullptr;
  SgemmFn sgemm = nullptr;
  SetThreadsFn setThreads = nullptr;
  GetThreadsFn getThreads = nullptr;
  std::string library;
};

Blas blas;
// load() may run on the main thread and on spectrum worker threads at once.
std::mutex loadMutex;

// Activation codes match tfjs-backend-wasm's FusableActivation enum.
enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kPrelu = 3, kLeakyRelu = 4, kSigmoid = 5, kElu = 6 };

napi_value Throw(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}

#define CHECK_NAPI(call)                                        \
  do {                                                          \
    if ((call) != napi_ok) return Throw(env, "N-API call failed: " #call); \
  } while (0)

bool TryLoad(const char* name, std::string* errors) {
  void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    *errors += std::string(name) + ": " + (err ? err : "not found") + "; ";
    return false;
  }
  auto sgemm = reinterpret_cast<SgemmFn>(dlsym(handle, "cblas_sgemm"));
  if (sgemm == nullptr) {
    *errors += std::string(name) + ": no cblas_sgemm symbol; ";
    dlclose(handle);
    return false;
  }
  blas.handle = handle;
  blas.sgemm = sgemm;
  blas.setThreads = reinterpret_cast<SetThreadsFn>(dlsym(handle, "openblas_set_num_threads"));
  blas.getThreads = reinterpret_cast<GetThreadsFn>(dlsym(handle, "openblas_get_num_threads"));
  blas.library = name;
  return true;
}

// load(): opens OpenBLAS (else the system libblas) once; returns the library name or throws.
napi_value Load(napi_env env, napi_callback_info) {
  std::lock_guard<std::mutex> lock(loadMutex);
  if (blas.sgemm == nullptr) {
    std::string errors;
    const char* candidates[] = {"libopenblas.so.0", "libblas.so.3"};
    bool ok = false;
    for (const char* name : candidates) {
      if (TryLoad(name, &errors)) {
        ok = true;
        break;
      }
    }
    if (!ok) return Throw(env, "no BLAS library with cblas_sgemm could be opened: " + errors);
  }
  napi_value result;
  CHECK_NAPI(napi_create_string_utf8(env, blas.library.c_str(), blas.library.size(), &result));
  return result;
}

napi_value GetThreads(napi_env env, napi_callback_info) {
  napi_value result;
  int threads = (blas.getThreads != nullptr) ? blas.getThreads() : 1;
  CHECK_NAPI(napi_create_int32(env, threads, &result));
  return result;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t threads = 1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &threads) != napi_ok || threads < 1) {
    return Throw(env, "setThreads(n) needs an integer n >= 1");
  }
  if (blas.setThreads == nullptr) return Throw(env, "the loaded BLAS cannot set its thread count");
  blas.setThreads(threads);
  return nullptr;
}

bool GetHeap(napi_env env, napi_value value, float** data, size_t* floats) {
  void* raw = nullptr;
  size_t bytes = 0;
  if (napi_get_arraybuffer_info(env, value, &raw, &bytes) != napi_ok) return false;
  *data = static_cast<float*>(raw);
  *floats = bytes / sizeof(float);
  return true;
}

bool GetFloat64Array(napi_env env, napi_value value, const double** data, size_t* length) {
  napi_typedarray_type type;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, nullptr, nullptr) != napi_ok)
    return false;
  if (type != napi_float64_array) return false;
  *data = static_cast<const double*>(raw);
  return true;
}

bool GetInt(napi_env env, napi_value value, int64_t* out) {
  return napi_get_value_int64(env, value, out) == napi_ok;
}

bool InRange(double offset, int64_t count, size_t heapFloats) {
  return offset >= 0 && std::floor(offset) == offset &&
         offset + static_cast<double>(count) <= static_cast<double>(heapFloats);
}

// gemm(heap, transA, transB, m, n, k, aOffsets, bOffsets, cOffset)
// For every batch entry i: C_i = op(A at aOffsets[i]) * op(B at bOffsets[i]), row-major,
// with C_i stored contiguously from cOffset. Offsets count floats, not bytes.
napi_value Gemm(napi_env env, napi_callback_info info) {
  if (blas.sgemm == nullptr) return Throw(env, "gemm called before load()");
  size_t argc = 9;
  napi_value argv[9];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != 9) return Throw(env, "gemm expects 9 arguments");
  float* heap = nullptr;
  size_t heapFloats = 0;
  if (!GetHeap(env, argv[0], &heap, &heapFloats)) return Throw(env, "gemm: heap must be an ArrayBuffer");
  bool transA = false, transB = false;
  CHECK_NAPI(napi_get_value_bool(env, argv[1], &transA));
  CHECK_NAPI(napi_get_value_bool(env, argv[2], &transB));
  int64_t m = 0, n = 0, k = 0;
  if (!GetInt(env, argv[3], &m) || !GetInt(env, argv[4], &n) || !GetInt(env, argv[5], &k) || m < 0 ||
      n < 0 || k < 0 || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) {
    return Throw(env, "gemm: m, n, k must be non-negative 32-bit integers");
  }
  const double* aOffsets = nullptr;
  const double* bOffsets = nullptr;
  size_t batchA = 0, batchB = 0;
  if (!GetFloat64Array(env, argv[6], &aOffsets, &batchA) || !GetFloat64Array(env, argv[7], &bOffsets, &batchB) ||
      batchA != batchB) {
    return Throw(env, "gemm: aOffsets and bOffsets must be Float64Arrays of equal length");
  }
  double cOffset = 0;
  CHECK_NAPI(napi_get_value_double(env, argv[8], &cOffset));

  const int64_t sizeA = m * k, sizeB = k * n, sizeC = m * n;
  if (!InRange(cOffset, sizeC * static_cast<int64_t>(batchA), heapFloats))
    return Throw(env, "gemm: output range lies outside the heap");
  for (size_t i = 0; i < batchA; i++) {
    if (!InRange(aOffsets[i], sizeA, heapFloats) || !InRange(bOffsets[i], sizeB, heapFloats))
      return Throw(env, "gemm: an input range lies outside the heap");
  }
  float* c = heap + static_cast<size_t>(cOffset);
  if (sizeC == 0) return nullptr;
  if (k == 0) {
    // An empty inner dimension sums nothing; BLAS may leave C untouched, so zero it here.
    std::memset(c, 0, sizeof(float) * sizeC * batchA);
    return nullptr;
  }
  // Row-major leading dimensions: the stored row length of each operand.
  const int lda = static_cast<int>(transA ? m : k);
  const int ldb = static_cast<int>(transB ? k : n);
  const int ldc = static_cast<int>(n);
  for (size_t i = 0; i < batchA; i++) {
    blas.sgemm(kRowMajor, transA ? kTrans : kNoTrans, transB ? kTrans : kNoTrans, static_cast<int>(m),
               static_cast<int>(n), static_cast<int>(k), 1.0f, heap + static_cast<size_t>(aOffsets[i]),
               lda > 0 ? lda : 1, heap + static_cast<size_t>(bOffsets[i]), ldb > 0 ? ldb : 1, 0.0f,
               c + i * sizeC, ldc > 0 ? ldc : 1);
  }
  return nullptr;
}

// Whether every operand at `offsets` (rows x cols stored with leading dimension ld) lies in the heap.
bool StridedInRange(const double* offsets, size_t count, int64_t rows, int64_t cols, int64_t ld, size_t heapFloats) {
  if (rows == 0 || cols == 0) return true;
  if (ld < cols) return false;
  const int64_t span = (rows - 1) * ld + cols;
  for (size_t i = 0; i < count; i++) {
    if (!InRange(offsets[i], span, heapFloats)) return false;
  }
  return true;
}

// gemmStrided(heap, transA, transB, m, n, k, alpha, aOffsets, lda, bOffsets, ldb, cOffsets, ldc)
// For every batch entry i: C_i = alpha op(A_i) op(B_i), row-major, each operand at its own float
// offset with its own leading dimension: the attention's per-head products read q, k, v straight
// out of the [tokens, 3C] projection and write into [tokens, C] rows, with no transposes around them.
napi_value GemmStrided(napi_env env, napi_callback_info info) {
  if (blas.sgemm == nullptr) return Throw(env, "gemmStrided called before load()");
  size_t argc = 13;
  napi_value argv[13];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != 13) return Throw(env, "gemmStrided expects 13 arguments");
  float* heap = nullptr;
  size_t heapFloats = 0;
  if (!GetHeap(env, argv[0], &heap, &heapFloats)) return Throw(env, "gemmStrided: heap must be an ArrayBuffer");
  bool transA = false, transB = false;
  CHECK_NAPI(napi_get_value_bool(env, argv[1], &transA));
  CHECK_NAPI(napi_get_value_bool(env, argv[2], &transB));
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  double alpha = 1;
  if (!GetInt(env, argv[3], &m) || !GetInt(env, argv[4], &n) || !GetInt(env, argv[5], &k) || !GetInt(env, argv[8], &lda) ||
      !GetInt(env, argv[10], &ldb) || !GetInt(env, argv[12], &ldc) || m < 0 || n < 0 || k < 0 || m > INT32_MAX ||
      n > INT32_MAX || k > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX || ldc > INT32_MAX) {
    return Throw(env, "gemmStrided: m, n, k and the leading dimensions must be non-negative 32-bit integers");
  }
  CHECK_NAPI(napi_get_value_double(env, argv[6], &alpha));
  const double *aOffsets = nullptr, *bOffsets = nullptr, *cOffsets = nullptr;
  size_t batchA = 0, batchB = 0, batchC = 0;
  if (!GetFloat64Array(env, argv[7], &aOffsets, &batchA) || !GetFloat64Array(env, argv[9], &bOffsets, &batchB) ||
      !GetFloat64Array(env, argv[11], &cOffsets, &batchC) || batchA != batchB || batchA != batchC) {
    return Throw(env, "gemmStrided: the offsets must be Float64Arrays of equal length");
  }
  const bool aOk = StridedInRange(aOffsets, batchA, transA ? k : m, transA ? m : k, lda, heapFloats);
  const bool bOk = StridedInRange(bOffsets, batchB, transB ? n : k, transB ? k : n, ldb, heapFloats);
  if (!aOk || !bOk || !StridedInRange(cOffsets, batchC, m, n, ldc, heapFloats))
    return Throw(env, "gemmStrided: an operand lies outside the heap or its leading dimension is too small");
  if (m == 0 || n == 0) return nullptr;
  for (size_t i = 0; i < batchA; i++) {
    float* c = heap + static_cast<size_t>(cOffsets[i]);
    if (k == 0) {
      for (int64_t r = 0; r < m; r++) std::memset(c + r * ldc, 0, sizeof(float) * n);
      continue;
    }
    blas.sgemm(kRowMajor, transA ? kTrans : kNoTrans, transB ? kTrans : kNoTrans, static_cast<int>(m),
               static_cast<int>(n), static_cast<int>(k), static_cast<float>(alpha),
               heap + static_cast<size_t>(aOffsets[i]), static_cast<int>(lda), heap + static_cast<size_t>(bOffsets[i]),
               static_cast<int>(ldb), 0.0f, c, static_cast<int>(ldc));
  }
  return nullptr;
}

// A small operand broadcast over the [rows, n] output: shape [pr, pc] with pr in {1, rowsPerBatch}
// and pc in {1, n}; offset < 0 means absent.
struct Broadcast2D {
  double offset = -1;
  int64_t rows = 1;
  int64_t cols = 1;
  const float* data = nullptr;
  float at(int64_t i, int64_t j) const { return data[(rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j)]; }
};

inline float Activate(int activation, float x, float preluAlpha, float leakyAlpha) {
  switch (activation) {
    case kRelu:
      return x < 0 ? 0 : x;
    case kRelu6:
      return x < 0 ? 0 : (x > 6 ? 6 : x);
    case kPrelu:
      return x < 0 ? preluAlpha * x : x;
    case kLeakyRelu:
      return x < 0 ? leakyAlpha * x : x;
    case kSigmoid:
      return 1.0f / (1.0f + std::exp(-x));
    case kElu:
      return x >= 0 ? x : std::expm1(x);
    default:
      return x;
  }
}

// Each output row += the bias row. A function of its own with restrict pointers so that GCC
// vectorizes it (the general loop below, with its per-element broadcast index and activation
// switch, stays scalar: about 2 ns a float, as long as the product itself for a rank-39 factor);
// on x86-64 also an AVX2 clone, picked at load time. Same float additions as the general loop.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((noinline, target_clones("arch=x86-64-v3", "default")))
#endif
void AddRowBias(float* __restrict c, const float* __restrict bias, int64_t rows, int64_t n) {
  for (int64_t i = 0; i < rows; i++) {
    float* __restrict row = c + i * n;
    for (int64_t j = 0; j < n; j++) row[j] += bias[j];
  }
}

bool ReadBroadcast(napi_env env, napi_value* argv, Broadcast2D* out) {
  int64_t rows = 1, cols = 1;
  if (napi_get_value_double(env, argv[0], &out->offset) != napi_ok) return false;
  if (!GetInt(env, argv[1], &rows) || !GetInt(env, argv[2], &cols)) return false;
  out->rows = rows;
  out->cols = cols;
  return true;
}

// epilogue(heap, cOffset, batch, m, n, biasOffset, biasRows, biasCols, activation,
//          preluOffset, preluRows, preluCols, leakyAlpha)
// In place on C ([batch, m, n]): add the bias, then apply the activation.
napi_value Epilogue(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != 13) return Throw(env, "epilogue expects 13 arguments");
  float* heap = nullptr;
  size_t heapFloats = 0;
  if (!GetHeap(env, argv[0], &heap, &heapFloats)) return Throw(env, "epilogue: heap must be an ArrayBuffer");
  double cOffset = 0;
  int64_t batch = 0, m = 0, n = 0, activation = 0;
  double leakyAlpha = 0;
  CHECK_NAPI(napi_get_value_double(env, argv[1], &cOffset));
  if (!GetInt(env, argv[2], &batch) || !GetInt(env, argv[3], &m) || !GetInt(env, argv[4], &n) ||
      !GetInt(env, argv[8], &activation) || batch < 0 || m < 0 || n < 0) {
    return Throw(env, "epilogue: batch, m, n, activation must be non-negative integers");
  }
  Broadcast2D bias, prelu;
  if (!ReadBroadcast(env, argv + 5, &bias) || !ReadBroadcast(env, argv + 9, &prelu))
    return Throw(env, "epilogue: bad bias or prelu weights description");
  CHECK_NAPI(napi_get_value_double(env, argv[12], &leakyAlpha));
  if (activation < kLinear || activation > kElu) return Throw(env, "epilogue: unknown activation code");
  if (!InRange(cOffset, batch * m * n, heapFloats)) return Throw(env, "epilogue: output outside the heap");
  for (Broadcast2D* operand : {&bias, &prelu}) {
    if (operand->offset < 0) continue;
    if ((operand->rows != 1 && operand->rows != m) || (operand->cols != 1 && operand->cols != n) ||
        !InRange(operand->offset, operand->rows * operand->cols, heapFloats)) {
      return Throw(env, "epilogue: bias or prelu weights do not broadcast to the output");
    }
    operand->data = heap + static_cast<size_t>(operand->offset);
  }
  if (activation == kPrelu && prelu.data == nullptr) return Throw(env, "epilogue: prelu needs its weights");

  float* c = heap + static_cast<size_t>(cOffset);
  const int act = static_cast<int>(activation);
  if (act == kLinear && prelu.data == nullptr && bias.data != nullptr && bias.rows == 1 && bias.cols == n) {
    AddRowBias(c, bias.data, batch * m, n);  // the linear layers' case: one vectorized pass
    return nullptr;
  }
  const float alpha = static_cast<float>(leakyAlpha);
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t i = 0; i < m; i++) {
      float* row = c + (b * m + i) * n;
      for (int64_t j = 0; j < n; j++) {
        float x = row[j];
        if (bias.data != nullptr) x += bias.at(i, j);
        row[j] = Activate(act, x, prelu.data != nullptr ? prelu.at(i, j) : 0.0f, alpha);
      }
    }
  }
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"load", nullptr, Load, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmStrided", nullptr, GemmStrided, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"epilogue", nullptr, Epilogue, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"getThreads", nullptr, GetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lapackAvailable", nullptr, inrank::LapackAvailable, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cholesky", nullptr, inrank::LapackCholesky, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"congruence", nullptr, inrank::LapackCongruence, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"fused", nullptr, inrank::Fused, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"symmetricEigenvalues", nullptr, inrank::LapackSymmetricEigenvalues, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

void* inrank::LoadedBlasHandle() {
  std::lock_guard<std::mutex> lock(loadMutex);
  return blas.handle;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
