// Fused elementwise kernels on the tfjs wasm heap: tanh GELU forward and backward, LayerNorm
// forward and backward, the AdamW update, softmax cross-entropy forward and backward, and the
// dropout masks (the JavaScript counter-based generator's numbers, bit for bit). Each replaces 5 to 12 separate wasm kernels
// (one pass over memory each, plus tfjs's bookkeeping per kernel) by one pass. Buffers are
// float offsets into the heap ArrayBuffer, as in gemm; every range is checked before use.
// Arithmetic follows the generic tfjs formulation of harness/train/ops (float32, same order
// where it matters); row reductions accumulate in double.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "blas_library.h"

namespace inrank {
namespace {

enum Op { kGeluFwd = 0, kGeluBwd = 1, kLayerNormFwd = 2, kLayerNormBwd = 3, kAdamW = 4, kSumSquares = 5,
          kSoftmaxXentFwd = 6, kSoftmaxXentBwd = 7, kDropoutMask = 8, kCausalSoftmax = 9, kSoftmaxGrad = 10,
          kDropoutApply = 11, kDropoutAdd = 12, kAdamWInPlace = 13,
          kGeluExactFwd = 14, kGeluExactBwd = 15, kGeluSavedFwd = 16, kGeluSavedBwd = 17,
          kCausalDropout = 18, kCausalSoftmaxGrad = 19 };

constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluA = 0.044715f;

napi_value Fail(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, ("fused: " + message).c_str());
  return nullptr;
}

// e^x in float32, branch-free so that the compiler vectorizes the loops that call it (std::exp
// is a library call per element): range reduction x = n ln2 + r with |r| <= ln2 / 2, a degree-6
// polynomial for e^r (Cephes' expf coefficients, about 1 ulp), and 2^n put into the exponent bits.
inline float FastExp(float x) {
  // (selects, not branches: with -fno-trapping-math, binding.gyp, the loops vectorize)
  x = x > -87.0f ? x : -87.0f;
  x = x < 88.0f ? x : 88.0f;
  // floor by truncating a positive number (no library call; SSE2 has no vector floor)
  const int32_t ni = static_cast<int32_t>(x * 1.44269504088896341f + 128.5f) - 128;
  const float n = static_cast<float>(ni);
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * r * r + r + 1.0f;
  const int32_t bits = (ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return er * scale;
}

// Each kernel stays a function of its own: inlined into Fused's switch, GCC no longer versions
// its loop for aliasing and leaves it scalar. On x86-64 each also gets an AVX2 + FMA clone,
// picked at load time where the CPU has them (about 6x faster GELU than the SSE2 baseline).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NOINLINE __attribute__((noinline, target_clones("arch=x86-64-v3", "default")))
#else
#define NOINLINE __attribute__((noinline))
#endif

// 1 / d for d >= 1 without a divide, whose vector form is slow on x86 cores (as slow as the rest
// of a tanh GELU together): the exponent-flipping estimate 0x7EF311C7 - bits(d), within 12%,
// then three Newton steps, each squaring the error. d is capped at 1e37 so that every step stays
// a normal float (a subnormal would be slow and the estimate wrong); 1 / d is below 1e-37 past
// it and read as 1e-37 (a sigmoid that small: the generic tanh formulation gives exactly 0 there).
inline float ReciprocalAtLeastOne(float d) {
  d = d < 1e37f ? d : 1e37f;
  int32_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  bits = 0x7EF311C7 - bits;
  float r;
  std::memcpy(&r, &bits, sizeof r);
  r = r * (2.0f - d * r);
  r = r * (2.0f - d * r);
  // The last step as r + r e with the residual e = 1 - d r: contracted to fused multiply-adds (the
  // x86-64-v3 clone), e is exact and r lands on the divide's result or next to it (1 ulp). The
  // backward's 1 - s needs that: 2 ulp off in s near 1 came out as 5e-6 in dx.
  return r + r * (1.0f - d * r);
}

inline float Sigmoid(float z) { return ReciprocalAtLeastOne(1.0f + FastExp(-z)); }

// y = x sigmoid(2c (x + a x^3))  (= 0.5 x (1 + tanh(c (x + a x^3))))
NOINLINE void GeluFwd(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    y[i] = v * Sigmoid(2.0f * kGeluC * (v + kGeluA * v * v * v));
  }
}

// dx = dy (s + x s (1 - s) u'),  u' = 2c (1 + 3a x^2)
NOINLINE void GeluBwd(const float* x, const float* dy, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    const float s = Sigmoid(2.0f * kGeluC * (v + kGeluA * v * v * v));
    const float du = 2.0f * kGeluC * (1.0f + 3.0f * kGeluA * v * v);
    dx[i] = dy[i] * (s + v * s * (1.0f - s) * du);
  }
}

// Row reductions in double with four partial sums (so that they vectorize; a single running
// sum is a chain of dependent adds).
inline double RowSum(const float* __restrict x, int64_t n) {
  double acc[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    for (int l = 0; l < 4; l++) acc[l] += x[j + l];
  }
  double s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; j < n; j++) s += x[j];
  return s;
}

inline double RowSquaredDeviation(const float* __restrict x, int64_t n, float mu) {
  double acc[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    for (int l = 0; l < 4; l++) acc[l] += static_cast<double>(x[j + l] - mu) * (x[j + l] - mu);
  }
  double s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; j < n; j++) s += static_cast<double>(x[j] - mu) * (x[j] - mu);
  return s;
}

inline double RowDot(const float* __restrict a, const float* __restrict b, int64_t n) {
  double acc[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    for (int l = 0; l < 4; l++) acc[l] += static_cast<double>(a[j + l]) * b[j + l];
  }
  double s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; j < n; j++) s += static_cast<double>(a[j]) * b[j];
  return s;
}

// The largest of x[0..n) (n >= 1), with eight running maxima so that it vectorizes (one is a
// chain of dependent compares); the same value as the single running maximum for finite input.
inline float RowMax(const float* __restrict x, int64_t n) {
  float acc[8];
  for (int l = 0; l < 8; l++) acc[l] = x[0];
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int l = 0; l < 8; l++) acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
  }
  float max = acc[0];
  for (int l = 1; l < 8; l++) max = acc[l] > max ? acc[l] : max;
  for (; j < n; j++) max = x[j] > max ? x[j] : max;
  return max;
}

// The normal CDF Phi(x) = 0.5 erfc(-x / sqrt 2), branch-free so that the loops vectorize:
// erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + |z| / 2), with the Chebyshev fit of Numerical Recipes'
// erfcc (fractional error below 1.2e-7 for every z >= 0), and erfc(-z) = 2 - erfc(z). Phi's
// relative error is then about 1e-7 everywhere, the far negative tail included.
inline float NormalCdf(float x) {
  const float z = -x * 0.70710678118654752f;
  const float az = z < 0 ? -z : z;
  const float t = ReciprocalAtLeastOne(1.0f + 0.5f * az);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  const float erfcAbs = t * FastExp(-az * az + p);
  const float erfc = z < 0 ? 2.0f - erfcAbs : erfcAbs;
  return 0.5f * erfc;
}

// Exact (erf) GELU: y = x Phi(x).
NOINLINE void GeluExactFwd(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] * NormalCdf(x[i]);
}

// dx = dy (Phi(x) + x pdf(x)), pdf(x) = exp(-x^2 / 2) / sqrt(2 pi).
NOINLINE void GeluExactBwd(const float* __restrict x, const float* __restrict dy, float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    const float pdf = FastExp(-0.5f * v * v) * 0.3989422804014327f;
    dx[i] = dy[i] * (NormalCdf(v) + v * pdf);
  }
}

// GeluFwd that also writes s = sigmoid(2c (x + a x^3)) for backward, and GeluBwd from that s:
// the same numbers without the second exp and division (a tanh-GELU backward is otherwise the
// costliest elementwise kernel of a step).
NOINLINE void GeluSavedFwd(const float* __restrict x, float* __restrict y, float* __restrict sOut, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    const float s = Sigmoid(2.0f * kGeluC * (v + kGeluA * v * v * v));
    sOut[i] = s;
    y[i] = v * s;
  }
}

NOINLINE void GeluSavedBwd(const float* __restrict x, const float* __restrict sIn, const float* __restrict dy,
                           float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    const float s = sIn[i];
    const float du = 2.0f * kGeluC * (1.0f + 3.0f * kGeluA * v * v);
    dx[i] = dy[i] * (s + v * s * (1.0f - s) * du);
  }
}

// Per row: mean, rstd = 1 / sqrt(var + eps) (biased variance), y = (x - mean) rstd w + b.
NOINLINE void LayerNormFwd(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                  int64_t rows, int64_t cols, float eps) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    const float mu = static_cast<float>(RowSum(xr, cols) / cols);
    const double sq = RowSquaredDeviation(xr, cols, mu);
    const float rs = 1.0f / std::sqrt(static_cast<float>(sq / cols) + eps);
    float* yr = y + r * cols;
    for (int64_t j = 0; j < cols; j++) yr[j] = (xr[j] - mu) * rs * w[j] + b[j];
    mean[r] = mu;
    rstd[r] = rs;
  }
}

// dw = sum_rows dy xhat, db = sum_rows dy, dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)).
NOINLINE void LayerNormBwd(const float* dy, const float* x, const float* w, const float* mean, const float* rstd,
                  float* dx, float* dw, float* db, int64_t rows, int64_t cols) {
  std::vector<double> dwAcc(cols, 0.0), dbAcc(cols, 0.0);
  for (int64_t r = 0; r < rows; r++) {
    const float* dyr = dy + r * cols;
    const float* xr = x + r * cols;
    const float mu = mean[r], rs = rstd[r];
    double m1 = 0, m2 = 0;
    for (int64_t j = 0; j < cols; j++) {
      const float xhat = (xr[j] - mu) * rs;
      const float dxhat = dyr[j] * w[j];
      m1 += dxhat;
      m2 += static_cast<double>(dxhat) * xhat;
      dwAcc[j] += static_cast<double>(dyr[j]) * xhat;
      dbAcc[j] += dyr[j];
    }
    const float m1f = static_cast<float>(m1 / cols), m2f = static_cast<float>(m2 / cols);
    float* dxr = dx + r * cols;
    for (int64_t j = 0; j < cols; j++) {
      const float xhat = (xr[j] - mu) * rs;
      dxr[j] = (dyr[j] * w[j] - m1f - xhat * m2f) * rs;
    }
  }
  for (int64_t j = 0; j < cols; j++) {
    dw[j] = static_cast<float>(dwAcc[j]);
    db[j] = static_cast<float>(dbAcc[j]);
  }
}

// One element of AdamW's step: the new moments m and v and the new parameter, from the old ones.
struct AdamWStep {
  float b1, b2, eps, decay, bc2Sqrt, gm, step;
  explicit AdamWStep(const double* k)
      : b1(k[1]), b2(k[2]), eps(k[3]), decay(k[4]), bc2Sqrt(k[6]), gm(k[7]), step(float(k[0]) / float(k[5])) {}
  inline void operator()(float p, float g0, float m, float v, float& pOut, float& mOut, float& vOut) const {
    const float g = g0 * gm;
    const float m1 = m * b1 + g * (1.0f - b1);
    const float v1 = v * b2 + g * g * (1.0f - b2);
    mOut = m1;
    vOut = v1;
    pOut = p * decay - (m1 / (std::sqrt(v1) / bc2Sqrt + eps)) * step;
  }
};

// torch's AdamW step as harness/train/optim/adamw.ts writes it; p[6] = {lr, beta1, beta2, eps,
// decay factor 1 - lr wd (1 without decay), bias correction 1, sqrt of bias correction 2, grad multiplier}.
// The seven buffers are distinct tensors (the outputs are fresh): restrict lets GCC vectorize
// without run-time overlap checks, which it gives up on for this many pointers.
NOINLINE void AdamW(const float* __restrict p, const float* __restrict g0, const float* __restrict m,
           const float* __restrict v, float* __restrict pOut, float* __restrict mOut, float* __restrict vOut,
           int64_t n, const double* __restrict k) {
  const AdamWStep at(k);
  for (int64_t i = 0; i < n; i++) at(p[i], g0[i], m[i], v[i], pOut[i], mOut[i], vOut[i]);
}

// AdamW in place on the parameter and its moments (the optimizer owns their memory alone: the
// caller checks): the same arithmetic as AdamW above, without three fresh outputs per parameter.
NOINLINE void AdamWInPlace(float* __restrict p, const float* __restrict g0, float* __restrict m, float* __restrict v,
                           int64_t n, const double* __restrict k) {
  const AdamWStep at(k);
  for (int64_t i = 0; i < n; i++) at(p[i], g0[i], m[i], v[i], p[i], m[i], v[i]);
}

// e = exp(x - max) over one row, returns the row's sum (a loop of its own so that it vectorizes).
NOINLINE double ExpRow(const float* x, float* e, int64_t v, float max) {
  float sum = 0;
  for (int64_t j = 0; j < v; j++) {
    e[j] = FastExp(x[j] - max);
    sum += e[j];
  }
  return sum;
}

// p = softmax(logits) per row; loss = mean over rows of -log(max(p[target], floor)).
// Returns false when a target lies outside [0, v).
NOINLINE bool SoftmaxXentFwd(const float* logits, const int32_t* targets, float* p, float* loss, int64_t n, int64_t v,
                             float floor) {
  double total = 0;
  for (int64_t r = 0; r < n; r++) {
    const float* x = logits + r * v;
    float* pr = p + r * v;
    if (targets[r] < 0 || targets[r] >= v) return false;
    const float max = RowMax(x, v);
    const float inv = static_cast<float>(1.0 / ExpRow(x, pr, v, max));
    for (int64_t j = 0; j < v; j++) pr[j] *= inv;
    const float pt = pr[targets[r]];
    total += -std::log(pt > floor ? pt : floor);
  }
  *loss = static_cast<float>(total / n);
  return true;
}

// dlogits = (p - onehot(target)) scale.
NOINLINE bool SoftmaxXentBwd(const float* p, const int32_t* targets, float* d, int64_t n, int64_t v, float scale) {
  for (int64_t r = 0; r < n; r++) {
    if (targets[r] < 0 || targets[r] >= v) return false;
    const float* pr = p + r * v;
    float* dr = d + r * v;
    for (int64_t j = 0; j < v; j++) dr[j] = pr[j] * scale;
    dr[targets[r]] = (pr[targets[r]] - 1.0f) * scale;
  }
  return true;
}

// harness/train/ops/random.ts's counter-based uniforms, bit for bit: u(key, i) = fmix32(key ^
// fmix32(i + 0x632be5ab)) / 2^32 (i wraps to 32 bits there too), and a mask element keeps
// (1 / (1 - p), as float) when u >= p. u is an integer over 2^32, so u >= p is u >= ceil(p 2^32).
inline uint32_t Fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// The uniforms' threshold for keep probability 1 - p, and the kept value (0 when nothing is kept).
struct MaskRule {
  uint32_t threshold;
  float keep;
};

inline MaskRule MaskRuleOf(double p, float keep) {
  const double t = std::ceil(p * 4294967296.0);
  if (t >= 4294967296.0) keep = 0.0f;  // no u reaches 2^32: nothing is kept
  return {t <= 0 ? 0u : (t >= 4294967296.0 ? 0u : static_cast<uint32_t>(t)), keep};
}

inline float MaskAt(uint32_t key, uint32_t i, MaskRule rule) {
  return Fmix32(key ^ Fmix32(i + 0x632be5abu)) >= rule.threshold ? rule.keep : 0.0f;
}

NOINLINE void DropoutMask(float* mask, int64_t n, uint32_t key, double p, float keep) {
  const MaskRule rule = MaskRuleOf(p, keep);
  // 32-bit indices and compares keep the loop vectorizable (n < 2^32 here: a tensor on the wasm heap)
  const uint32_t count = static_cast<uint32_t>(n);
  for (uint32_t i = 0; i < count; i++) mask[i] = MaskAt(key, i, rule);
}

// out = x mask, the mask drawn on the fly (the same numbers as DropoutMask): no mask tensor is
// written, and backward draws it again instead of keeping it.
NOINLINE void DropoutApply(const float* __restrict x, float* __restrict out, int64_t n, uint32_t key, double p, float keep) {
  const MaskRule rule = MaskRuleOf(p, keep);
  const uint32_t count = static_cast<uint32_t>(n);
  for (uint32_t i = 0; i < count; i++) out[i] = x[i] * MaskAt(key, i, rule);
}

// out = base + x mask (a residual connection after dropout); the product is rounded before the
// sum, as the separate multiply and add do: GCC would contract them into one fused multiply-add
// in the AVX2 clone, so contraction is off here.
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
NOINLINE void DropoutAdd(const float* __restrict base, const float* __restrict x, float* __restrict out, int64_t n,
                         uint32_t key, double p, float keep) {
  const MaskRule rule = MaskRuleOf(p, keep);
  const uint32_t count = static_cast<uint32_t>(n);
  for (uint32_t i = 0; i < count; i++) {
    const float dropped = x[i] * MaskAt(key, i, rule);
    out[i] = base[i] + dropped;
  }
}
#pragma GCC pop_options

// Attention probabilities: row r of x [rows, t] is query position r % t; keys after it get 0
// (the generic path adds -1e9 there, whose exp is 0 in float32), the rest a softmax.
NOINLINE void CausalSoftmax(const float* x, float* p, int64_t rows, int64_t t) {
  for (int64_t r = 0; r < rows; r++) {
    const int64_t valid = r % t + 1;
    const float* xr = x + r * t;
    float* pr = p + r * t;
    const float max = RowMax(xr, valid);
    const float inv = static_cast<float>(1.0 / ExpRow(xr, pr, valid, max));
    for (int64_t j = 0; j < valid; j++) pr[j] *= inv;
    for (int64_t j = valid; j < t; j++) pr[j] = 0.0f;
  }
}

// One row's softmax backward over its first n entries: ds = p (dp - sum(dp p)) scale.
inline void SoftmaxGradRow(const float* pr, const float* dr, float* out, int64_t n, float scale) {
  const float s = static_cast<float>(RowDot(pr, dr, n));
  for (int64_t j = 0; j < n; j++) out[j] = pr[j] * (dr[j] - s) * scale;
}

// Softmax backward per row.
NOINLINE void SoftmaxGrad(const float* p, const float* dp, float* ds, int64_t rows, int64_t cols, float scale) {
  for (int64_t r = 0; r < rows; r++) SoftmaxGradRow(p + r * cols, dp + r * cols, ds + r * cols, cols, scale);
}

// The attention dropout on causal rows [rows, t] (row r is query r % t): out = x mask on keys up
// to the query (the mask element of flat index r t + j, as DropoutMask draws it), 0 after. The
// probabilities are 0 there anyway, so about half the draws are skipped, and x is not read there.
NOINLINE void CausalDropout(const float* __restrict x, float* __restrict out, int64_t rows, int64_t t, uint32_t key,
                            double p, float keep) {
  const MaskRule rule = MaskRuleOf(p, keep);
  for (int64_t r = 0; r < rows; r++) {
    const uint32_t valid = static_cast<uint32_t>(r % t + 1);
    const uint32_t base = static_cast<uint32_t>(r * t);
    const float* xr = x + r * t;
    float* o = out + r * t;
    for (uint32_t j = 0; j < valid; j++) o[j] = xr[j] * MaskAt(key, base + j, rule);
    for (int64_t j = valid; j < t; j++) o[j] = 0.0f;
  }
}

// SoftmaxGrad on causal rows: p is 0 after the query's own key, so only the keys up to it are read
// (dp after them may be unwritten: the head kernels skip those blocks) and ds is 0 there.
NOINLINE void CausalSoftmaxGrad(const float* p, const float* dp, float* ds, int64_t rows, int64_t t, float scale) {
  for (int64_t r = 0; r < rows; r++) {
    const int64_t valid = r % t + 1;
    float* out = ds + r * t;
    SoftmaxGradRow(p + r * t, dp + r * t, out, valid, scale);
    for (int64_t j = valid; j < t; j++) out[j] = 0.0f;
  }
}

// Eight partial sums: one running sum is a chain of dependent double adds (about 4 cycles a
// float, 7 ms a step for the bench models' gradients); eight independent ones vectorize.
NOINLINE double SumSquares(const float* __restrict x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) acc[l] += static_cast<double>(x[i + l]) * x[i + l];
  }
  double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; i++) s += static_cast<double>(x[i]) * x[i];
  return s;
}

// The float count each buffer of an op spans, in the order the op takes them; empty: unknown op.
std::vector<int64_t> Extents(int op, const double* k, size_t nk) {
  const int64_t n = nk > 0 ? static_cast<int64_t>(k[0]) : -1;
  const int64_t cols = nk > 1 ? static_cast<int64_t>(k[1]) : -1;
  switch (op) {
    case kGeluFwd: return {n, n};
    case kGeluBwd: return {n, n, n};
    case kGeluExactFwd: return {n, n};
    case kGeluSavedFwd: return {n, n, n};
    case kGeluSavedBwd: return {n, n, n, n};
    case kGeluExactBwd: return {n, n, n};
    case kLayerNormFwd: return {n * cols, cols, cols, n * cols, 2 * n};      // stats: mean row, rstd row
    case kLayerNormBwd: return {n * cols, n * cols, cols, 2 * n, n * cols, cols, cols};
    case kAdamW: return {n, n, n, n, n, n, n};
    case kAdamWInPlace: return {n, n, n, n};
    case kSumSquares: return {n};
    case kSoftmaxXentFwd: return {n * cols, n, n * cols, 1};  // logits, targets (int32), p, loss
    case kSoftmaxXentBwd: return {n * cols, n, n * cols};     // p, targets (int32), dlogits
    case kDropoutMask: return {n};
    case kDropoutApply: return {n, n};
    case kDropoutAdd: return {n, n, n};
    case kCausalSoftmax: return {n * cols, n * cols};
    case kSoftmaxGrad: return {n * cols, n * cols, n * cols};
    case kCausalDropout: return {n * cols, n * cols};
    case kCausalSoftmaxGrad: return {n * cols, n * cols, n * cols};
    default: return {};
  }
}

size_t ParamCount(int op) {
  switch (op) {
    case kLayerNormFwd: return 3;
    case kLayerNormBwd: return 2;
    case kAdamW: return 9;
    case kAdamWInPlace: return 9;
    case kSoftmaxXentFwd: return 3;
    case kSoftmaxXentBwd: return 3;
    case kDropoutMask: return 4;  // n, key, p, keep
    case kDropoutApply: return 4;
    case kDropoutAdd: return 4;
    case kCausalSoftmax: return 2;
    case kSoftmaxGrad: return 3;
    case kCausalDropout: return 5;  // rows, t, key, p, keep
    case kCausalSoftmaxGrad: return 3;  // rows, t, scale
    default: return 1;
  }
}

bool Float64Array(napi_env env, napi_value value, const double** data, size_t* length) {
  napi_typedarray_type type;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, nullptr, nullptr) != napi_ok) return false;
  *data = static_cast<const double*>(raw);
  return type == napi_float64_array;
}

}  // namespace

// fused(heap, op, offsets: Float64Array, params: Float64Array) -> number | undefined
// params[0] is the element count (rows for LayerNorm), params[1] the columns for LayerNorm.
napi_value Fused(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 4) return Fail(env, "expects 4 arguments");
  void* raw = nullptr;
  size_t bytes = 0;
  if (napi_get_arraybuffer_info(env, argv[0], &raw, &bytes) != napi_ok) return Fail(env, "heap must be an ArrayBuffer");
  float* heap = static_cast<float*>(raw);
  const double heapFloats = static_cast<double>(bytes / sizeof(float));
  int32_t op = -1;
  if (napi_get_value_int32(env, argv[1], &op) != napi_ok) return Fail(env, "op must be an integer");
  const double* off = nullptr;
  const double* k = nullptr;
  size_t noff = 0, nk = 0;
  if (!Float64Array(env, argv[2], &off, &noff) || !Float64Array(env, argv[3], &k, &nk)) return Fail(env, "offsets and params must be Float64Arrays");
  if (nk != ParamCount(op)) return Fail(env, "wrong parameter count for op " + std::to_string(op));
  const std::vector<int64_t> extents = Extents(op, k, nk);
  if (extents.empty() || extents.size() != noff) return Fail(env, "unknown op or wrong buffer count");
  std::vector<float*> buf(noff);
  for (size_t i = 0; i < noff; i++) {
    if (extents[i] < 0 || off[i] < 0 || std::floor(off[i]) != off[i] || off[i] + extents[i] > heapFloats) {
      return Fail(env, "buffer " + std::to_string(i) + " lies outside the heap");
    }
    buf[i] = heap + static_cast<size_t>(off[i]);
  }
  const int64_t n = static_cast<int64_t>(k[0]);
  switch (op) {
    case kGeluFwd: GeluFwd(buf[0], buf[1], n); break;
    case kGeluBwd: GeluBwd(buf[0], buf[1], buf[2], n); break;
    case kGeluExactFwd: GeluExactFwd(buf[0], buf[1], n); break;
    case kGeluSavedFwd: GeluSavedFwd(buf[0], buf[1], buf[2], n); break;
    case kGeluSavedBwd: GeluSavedBwd(buf[0], buf[1], buf[2], buf[3], n); break;
    case kGeluExactBwd: GeluExactBwd(buf[0], buf[1], buf[2], n); break;
    case kLayerNormFwd:
      LayerNormFwd(buf[0], buf[1], buf[2], buf[3], buf[4], buf[4] + n, n, static_cast<int64_t>(k[1]), static_cast<float>(k[2]));
      break;
    case kLayerNormBwd:
      LayerNormBwd(buf[0], buf[1], buf[2], buf[3], buf[3] + n, buf[4], buf[5], buf[6], n, static_cast<int64_t>(k[1]));
      break;
    case kAdamW: AdamW(buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], n, k + 1); break;
    case kAdamWInPlace: AdamWInPlace(buf[0], buf[1], buf[2], buf[3], n, k + 1); break;
    case kSoftmaxXentFwd:
      if (!SoftmaxXentFwd(buf[0], reinterpret_cast<const int32_t*>(buf[1]), buf[2], buf[3], n, static_cast<int64_t>(k[1]),
                          static_cast<float>(k[2])))
        return Fail(env, "a target id lies outside the vocabulary");
      break;
    case kSoftmaxXentBwd:
      if (!SoftmaxXentBwd(buf[0], reinterpret_cast<const int32_t*>(buf[1]), buf[2], n, static_cast<int64_t>(k[1]),
                          static_cast<float>(k[2])))
        return Fail(env, "a target id lies outside the vocabulary");
      break;
    case kDropoutMask:
      DropoutMask(buf[0], n, static_cast<uint32_t>(k[1]), k[2], static_cast<float>(k[3]));
      break;
    case kDropoutApply:
      DropoutApply(buf[0], buf[1], n, static_cast<uint32_t>(k[1]), k[2], static_cast<float>(k[3]));
      break;
    case kDropoutAdd:
      DropoutAdd(buf[0], buf[1], buf[2], n, static_cast<uint32_t>(k[1]), k[2], static_cast<float>(k[3]));
      break;
    case kCausalSoftmax: CausalSoftmax(buf[0], buf[1], n, static_cast<int64_t>(k[1])); break;
    case kSoftmaxGrad: SoftmaxGrad(buf[0], buf[1], buf[2], n, static_cast<int64_t>(k[1]), static_cast<float>(k[2])); break;
    case kCausalDropout:
      if (n > 0 && k[1] < 1) return Fail(env, "causal dropout needs t >= 1");
      CausalDropout(buf[0], buf[1], n, static_cast<int64_t>(k[1]), static_cast<uint32_t>(k[2]), k[3], static_cast<float>(k[4]));
      break;
    case kCausalSoftmaxGrad:
      if (n > 0 && k[1] < 1) return Fail(env, "causal softmax gradient needs t >= 1");
      CausalSoftmaxGrad(buf[0], buf[1], buf[2], n, static_cast<int64_t>(k[1]), static_cast<float>(k[2]));
      break;
    case kSumSquares: {
      napi_value result;
      napi_create_double(env, SumSquares(buf[0], n), &result);
      return result;
    }
  }
  return nullptr;
}

}  // namespace inrank
