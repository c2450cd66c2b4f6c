// Float64 Cholesky, triangular congruence and symmetric eigenvalues from the LAPACK and
// CBLAS routines OpenBLAS ships, for the rank determination's host work (k x k, k up to a
// few hundred), where JavaScript loops take tens of milliseconds per layer.
//
// Matrices cross the boundary row-major. LAPACK is column-major; a symmetric matrix reads the
// same either way, and a row-major lower-triangular L is a column-major upper-triangular U = L^T,
// which is how the calls below are phrased. Every function copies its inputs.
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "blas_library.h"

namespace inrank {
namespace {

constexpr int kColMajor = 102;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;
constexpr int kUpper = 121;
constexpr int kNonUnit = 131;
constexpr int kLeft = 141;
constexpr int kRight = 142;

// Fortran LAPACK (gfortran ABI: a hidden length follows every character argument).
using DpotrfFn = void (*)(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t uploLen);
using DsyevFn = void (*)(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                         double* work, const int* lwork, int* info, size_t jobzLen, size_t uploLen);
using DtrmmFn = void (*)(int order, int side, int uplo, int transA, int diag, int m, int n, double alpha,
                         const double* a, int lda, double* b, int ldb);

struct Lapack {
  DpotrfFn dpotrf = nullptr;
  DsyevFn dsyev = nullptr;
  DtrmmFn dtrmm = nullptr;
};

// Resolved on each call: dlsym is cheap next to the O(n^3) work, and this keeps no state.
bool Resolve(Lapack* out) {
  void* handle = LoadedBlasHandle();
  if (handle == nullptr) return false;
  out->dpotrf = reinterpret_cast<DpotrfFn>(dlsym(handle, "dpotrf_"));
  out->dsyev = reinterpret_cast<DsyevFn>(dlsym(handle, "dsyev_"));
  out->dtrmm = reinterpret_cast<DtrmmFn>(dlsym(handle, "cblas_dtrmm"));
  return out->dpotrf != nullptr && out->dsyev != nullptr && out->dtrmm != nullptr;
}

napi_value Throw(napi_env env, const char* message) {
  napi_throw_error(env, nullptr, message);
  return nullptr;
}

// Reads a Float64Array argument of exactly n * n entries.
bool SquareMatrix(napi_env env, napi_value value, int n, const double** data) {
  napi_typedarray_type type;
  size_t length = 0;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, value, &type, &length, &raw, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_float64_array || length != static_cast<size_t>(n) * static_cast<size_t>(n)) return false;
  *data = static_cast<const double*>(raw);
  return true;
}

bool Dimension(napi_env env, napi_value value, int* n) {
  int32_t v = 0;
  if (napi_get_value_int32(env, value, &v) != napi_ok || v < 1 || v > 46340) return false;  // n * n fits an int
  *n = v;
  return true;
}

// The common start of every call: exactly `count` arguments, and the routines resolved; on
// failure an exception is pending and the caller returns nullptr.
bool Begin(napi_env env, napi_callback_info info, size_t count, napi_value* argv, Lapack* lapack, const char* usage) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != count) {
    Throw(env, usage);
    return false;
  }
  if (!Resolve(lapack)) {
    Throw(env, "no LAPACK (dpotrf_, dsyev_, cblas_dtrmm) in the loaded BLAS, or load() not called");
    return false;
  }
  return true;
}

napi_value NewFloat64Array(napi_env env, const std::vector<double>& values) {
  void* raw = nullptr;
  napi_value buffer, array;
  if (napi_create_arraybuffer(env, values.size() * sizeof(double), &raw, &buffer) != napi_ok) return nullptr;
  std::memcpy(raw, values.data(), values.size() * sizeof(double));
  if (napi_create_typedarray(env, napi_float64_array, values.size(), buffer, 0, &array) != napi_ok) return nullptr;
  return array;
}

}  // namespace

// available(): whether the loaded library has dpotrf_, dsyev_ and cblas_dtrmm.
napi_value LapackAvailable(napi_env env, napi_callback_info) {
  Lapack lapack;
  napi_value result;
  napi_get_boolean(env, Resolve(&lapack), &result);
  return result;
}

// cholesky(a, n, relativeFloor): row-major lower L with a = L L^T, or null when a pivot is at
// or below relativeFloor x a's largest diagonal entry (not positive definite to its precision).
napi_value LapackCholesky(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  Lapack lapack;
  if (!Begin(env, info, 3, argv, &lapack, "cholesky(a, n, relativeFloor)")) return nullptr;
  int n = 0;
  const double* a = nullptr;
  double relativeFloor = 0;
  if (!Dimension(env, argv[1], &n) || !SquareMatrix(env, argv[0], n, &a) || napi_get_value_double(env, argv[2], &relativeFloor) != napi_ok)
    return Throw(env, "cholesky: a must be a Float64Array of n * n entries, n >= 1, relativeFloor a number");
  std::vector<double> u(a, a + static_cast<size_t>(n) * n);
  double maxDiag = 0;
  for (int j = 0; j < n; j++) maxDiag = std::max(maxDiag, u[static_cast<size_t>(j) * n + j]);
  int infoCode = 0;
  lapack.dpotrf("U", &n, u.data(), &n, &infoCode, 1);
  napi_value nullValue;
  napi_get_null(env, &nullValue);
  if (infoCode != 0) return nullValue;
  const double floor = relativeFloor * maxDiag;
  for (int j = 0; j < n; j++) {
    const double pivot = u[static_cast<size_t>(j) * n + j];
    if (!(pivot * pivot > floor)) return nullValue;
  }
  // Column-major upper U is row-major lower L; clear the other triangle, which dpotrf leaves as input.
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) u[static_cast<size_t>(i) * n + j] = 0;
  return NewFloat64Array(env, u);
}

// congruence(l, g, n): C = L^T G L for row-major lower-triangular L and symmetric G.
napi_value LapackCongruence(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  Lapack lapack;
  if (!Begin(env, info, 3, argv, &lapack, "congruence(l, g, n)")) return nullptr;
  int n = 0;
  const double* l = nullptr;
  const double* g = nullptr;
  if (!Dimension(env, argv[2], &n) || !SquareMatrix(env, argv[0], n, &l) || !SquareMatrix(env, argv[1], n, &g))
    return Throw(env, "congruence: l and g must be Float64Arrays of n * n entries, n >= 1");
  // Column-major, the buffer l is U = L^T, so C = U G U^T: first T = G U^T, then C = U T.
  std::vector<double> c(g, g + static_cast<size_t>(n) * n);
  lapack.dtrmm(kColMajor, kRight, kUpper, kTrans, kNonUnit, n, n, 1.0, l, n, c.data(), n);
  lapack.dtrmm(kColMajor, kLeft, kUpper, kNoTrans, kNonUnit, n, n, 1.0, l, n, c.data(), n);
  // Exactly symmetric, as the JavaScript congruence returns it.
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      const double v = 0.5 * (c[static_cast<size_t>(i) * n + j] + c[static_cast<size_t>(j) * n + i]);
      c[static_cast<size_t>(i) * n + j] = v;
      c[static_cast<size_t>(j) * n + i] = v;
    }
  return NewFloat64Array(env, c);
}

// symmetricEigenvalues(a, n): the eigenvalues of symmetric a, descending.
napi_value LapackSymmetricEigenvalues(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Lapack lapack;
  if (!Begin(env, info, 2, argv, &lapack, "symmetricEigenvalues(a, n)")) return nullptr;
  int n = 0;
  const double* a = nullptr;
  if (!Dimension(env, argv[1], &n) || !SquareMatrix(env, argv[0], n, &a))
    return Throw(env, "symmetricEigenvalues: a must be a Float64Array of n * n entries, n >= 1");
  std::vector<double> work(a, a + static_cast<size_t>(n) * n);
  std::vector<double> w(n);
  int infoCode = 0;
  int query = -1;
  double bestWork = 0;
  lapack.dsyev("N", "U", &n, work.data(), &n, w.data(), &bestWork, &query, &infoCode, 1, 1);
  if (infoCode != 0) return Throw(env, "symmetricEigenvalues: dsyev workspace query failed");
  int lwork = std::max(static_cast<int>(bestWork), 3 * n);
  std::vector<double> scratch(lwork);
  lapack.dsyev("N", "U", &n, work.data(), &n, w.data(), scratch.data(), &lwork, &infoCode, 1, 1);
  if (infoCode != 0) return Throw(env, "symmetricEigenvalues: dsyev did not converge");
  std::reverse(w.begin(), w.end());  // LAPACK returns them ascending
  return NewFloat64Array(env, w);
}

}  // namespace inrank
