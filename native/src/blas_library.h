// The BLAS library the addon opened (blas_addon.cc), shared with the LAPACK entry points.
#pragma once

#include <node_api.h>

namespace inrank {

// dlopen handle of the library load() opened, or nullptr before a successful load().
void* LoadedBlasHandle();

// Float64 linear algebra on small dense matrices (lapack.cc); each is a napi callback.
napi_value LapackAvailable(napi_env env, napi_callback_info info);
napi_value LapackCholesky(napi_env env, napi_callback_info info);
napi_value LapackCongruence(napi_env env, napi_callback_info info);
napi_value LapackSymmetricEigenvalues(napi_env env, napi_callback_info info);

// Fused elementwise kernels on the wasm heap (fused.cc).
napi_value Fused(napi_env env, napi_callback_info info);

}  // namespace inrank
