#include "src/dl/fast_ops.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/einsum.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/exp.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/log_sigmoid.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/maximum.h>
#include <ATen/ops/minimum.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/sum.h>
#include <ATen/ops/tanh.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <c10/util/C++17.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

// at::parallel_for's OpenMP region is compiled in this file (ATen/ParallelOpenMP.h): without
// -fopenmp it runs on one thread, silently (src/dl/CMakeLists.txt sets the flag).
#ifndef _OPENMP
#error "compile with OpenMP (-fopenmp): at::parallel_for below would run on one thread"
#endif

namespace drc::dl {
namespace {

// Below this many multiply-adds per matrix, our loop beats a BLAS call per batch entry.
constexpr int64_t kSmallProduct = int64_t{64} * 64 * 64;

// c = a b for one batch entry (contiguous row-major [m, k] and [k, n]); the inner loop runs
// along c's rows so that it vectorizes without reassociating sums. Compiled for AVX-512, AVX2
// and the baseline, chosen at load time.
template <typename T>
inline void MatmulOne(const T* a, const T* b, T* c, int64_t m, int64_t k, int64_t n) {
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * n;
    std::fill(row, row + n, T(0));
    for (int64_t p = 0; p < k; ++p) {
      const T x = a[i * k + p];
      const T* brow = b + p * n;
      for (int64_t j = 0; j < n; ++j) row[j] += x * brow[j];
    }
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void MatmulFloat(
    const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n) {
  MatmulOne(a, b, c, m, k, n);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void MatmulDouble(
    const double* a, const double* b, double* c, int64_t m, int64_t k, int64_t n) {
  MatmulOne(a, b, c, m, k, n);
}

inline void MatmulEntry(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n) {
  MatmulFloat(a, b, c, m, k, n);
}
inline void MatmulEntry(const double* a, const double* b, double* c, int64_t m, int64_t k,
                        int64_t n) {
  MatmulDouble(a, b, c, m, k, n);
}

// Every batch entry, split over intra-op threads.
template <typename T>
void MatmulLoop(const T* a, const T* b, T* c, int64_t batch, int64_t m, int64_t k, int64_t n) {
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, m * k * n));
  at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      MatmulEntry(a + e * m * k, b + e * k * n, c + e * m * n, m, k, n);
    }
  });
}

at::Tensor Product(const at::Tensor& a_in, const at::Tensor& b_in) {
  const int64_t batch = a_in.size(0), m = a_in.size(1), k = a_in.size(2), n = b_in.size(2);
  if (m * k * n > kSmallProduct || !a_in.device().is_cpu()) return at::bmm(a_in, b_in);
  at::Tensor a = a_in.contiguous(), b = b_in.contiguous();
  at::Tensor c = at::empty({batch, m, n}, a.options());
  switch (a.scalar_type()) {
    case at::kFloat:
      MatmulLoop(a.data_ptr<float>(), b.data_ptr<float>(), c.data_ptr<float>(), batch, m, k, n);
      break;
    case at::kDouble:
      MatmulLoop(a.data_ptr<double>(), b.data_ptr<double>(), c.data_ptr<double>(), batch, m, k, n);
      break;
    default: return at::bmm(a_in, b_in);
  }
  return c;
}

struct BatchedMatmulFunction : public torch::autograd::Function<BatchedMatmulFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a,
                            const at::Tensor& b) {
    ctx->save_for_backward({a, b});
    return Product(a, b);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& a = saved[0];
    const at::Tensor& b = saved[1];
    const at::Tensor& g = grads[0];
    at::Tensor ga, gb;
    if (ctx->needs_input_grad(0)) ga = Product(g, b.transpose(1, 2));
    if (ctx->needs_input_grad(1)) gb = Product(a.transpose(1, 2), g);
    return {ga, gb};
  }
};

// ShortSelfAttention's layout: entry e of N * heads is window e / heads, head e % heads. A
// token's query, key and value of head h start at row * 3D + h * dh, + D, + 2D (D = heads * dh);
// its output at row * D + h * dh; the entry's P x P scores and weights at e * P * P.
struct AttentionShape {
  int64_t windows, tokens, heads, head_dim;
  int64_t width() const { return heads * head_dim; }
};

// fp-contract off from here to the kernels' end: see the next comment.
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")

// The kernels below take one window at a time, all heads together: their loops run along a
// token's D features (contiguous, so they vectorize), a head's weight or score gradient spread
// over its dh features first (Spread). Every element's sum is taken in the same order as a
// loop over one head's dh features would take it, and with fp-contract off each product is
// rounded before it is added (no fused multiply-add in the AVX clones): the results do not
// depend on the instruction set. DH > 0 is the head dimension known at compile time (then the
// per-head loops unroll), 0 reads it from the shape.
template <typename T, int DH>
[[gnu::always_inline]] inline void Spread(const AttentionShape& s, const T* per_head,
                                          int64_t stride, T factor, T* out) {
  const int64_t dh = DH > 0 ? DH : s.head_dim;
  for (int64_t h = 0; h < s.heads; ++h) {
    const T x = per_head[h * stride] * factor;
    std::fill(out + h * dh, out + (h + 1) * dh, x);
  }
}

// out[c] += x[c] * y[c] and out[c] = x[c] * y[c], c < n. The operands are the function's
// restrict parameters, which the vectorizer trusts (restrict locals it does not).
template <typename T>
[[gnu::always_inline]] inline void AddProducts(int64_t n, const T* __restrict x,
                                               const T* __restrict y, T* __restrict out) {
  for (int64_t c = 0; c < n; ++c) out[c] += x[c] * y[c];
}
template <typename T>
[[gnu::always_inline]] inline void Products(int64_t n, const T* __restrict x, const T* __restrict y,
                                            T* __restrict out) {
  for (int64_t c = 0; c < n; ++c) out[c] = x[c] * y[c];
}

// per_head[h * stride] = sum over head h's features of a * b (in feature order).
template <typename T, int DH>
[[gnu::always_inline]] inline void HeadDots(const AttentionShape& s, const T* a, const T* b, T* tmp,
                                            T* per_head, int64_t stride) {
  const int64_t dh = DH > 0 ? DH : s.head_dim;
  Products(s.width(), a, b, tmp);
  for (int64_t h = 0; h < s.heads; ++h) {
    T dot = 0;
    for (int64_t c = 0; c < dh; ++c) dot += tmp[h * dh + c];
    per_head[h * stride] = dot;
  }
}

// Windows [begin, end); tmp holds D values. scores, weights and prev are [N, heads, P, P].
template <typename T, int DH>
[[gnu::always_inline]] inline void AttentionForwardWindows(const AttentionShape& s, T scale,
                                                           const T* qkv, const T* prev, T* out,
                                                           T* scores, T* weights, int64_t begin,
                                                           int64_t end, T* tmp) {
  const int64_t p = s.tokens, d = s.width(), row = 3 * d, hs = p * p;  // hs: a head's stride
  for (int64_t n = begin; n < end; ++n) {
    const T* x = qkv + n * p * row;
    T* sc = scores + n * s.heads * hs;
    T* w = weights + n * s.heads * hs;
    const T* pr = prev != nullptr ? prev + n * s.heads * hs : nullptr;
    for (int64_t i = 0; i < p; ++i) {
      for (int64_t j = 0; j < p; ++j)
        HeadDots<T, DH>(s, x + i * row, x + j * row + d, tmp, sc + i * p + j, hs);
      for (int64_t h = 0; h < s.heads; ++h) {
        T* sch = sc + h * hs + i * p;
        T* wh = w + h * hs + i * p;
        const T* prh = pr != nullptr ? pr + h * hs + i * p : nullptr;
        T top = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < p; ++j) {
          sch[j] = sch[j] * scale;
          if (prh != nullptr) sch[j] += prh[j];
          top = std::max(top, sch[j]);
        }
        T sum = 0;
        for (int64_t j = 0; j < p; ++j) sum += (wh[j] = std::exp(sch[j] - top));
        const T inv = T(1) / sum;
        for (int64_t j = 0; j < p; ++j) wh[j] *= inv;
      }
      T* o = out + (n * p + i) * d;
      std::fill(o, o + d, T(0));
      for (int64_t j = 0; j < p; ++j) {
        Spread<T, DH>(s, w + i * p + j, hs, T(1), tmp);
        AddProducts(d, tmp, x + j * row + 2 * d, o);
      }
    }
  }
}

// g_scores may be null (the scores fed nothing); g_qkv is written in full, d_scores receives
// the gradient of the scores before softmax (that of prev). tmp holds 2 D values.
template <typename T, int DH>
[[gnu::always_inline]] inline void AttentionBackwardWindows(const AttentionShape& s, T scale,
                                                            const T* qkv, const T* weights,
                                                            const T* g_out, const T* g_scores,
                                                            T* g_qkv, T* d_scores, int64_t begin,
                                                            int64_t end, T* tmp) {
  const int64_t p = s.tokens, d = s.width(), row = 3 * d, hs = p * p;
  T* a = tmp;
  T* b = tmp + d;
  for (int64_t n = begin; n < end; ++n) {
    const T* x = qkv + n * p * row;
    T* g = g_qkv + n * p * row;
    const T* w = weights + n * s.heads * hs;
    T* ds = d_scores + n * s.heads * hs;
    const T* gs = g_scores != nullptr ? g_scores + n * s.heads * hs : nullptr;
    const T* go = g_out + n * p * d;
    for (int64_t j = 0; j < p; ++j) std::fill(g + j * row + d, g + (j + 1) * row, T(0));
    for (int64_t i = 0; i < p; ++i) {
      const T* goi = go + i * d;
      // d weights = g_out v^T, then through the softmax.
      for (int64_t j = 0; j < p; ++j)
        HeadDots<T, DH>(s, goi, x + j * row + 2 * d, a, ds + i * p + j, hs);
      for (int64_t h = 0; h < s.heads; ++h) {
        T* dsh = ds + h * hs + i * p;
        const T* wh = w + h * hs + i * p;
        T dot = 0;
        for (int64_t j = 0; j < p; ++j) dot += dsh[j] * wh[j];
        for (int64_t j = 0; j < p; ++j) {
          T y = wh[j] * (dsh[j] - dot);
          if (gs != nullptr) y += gs[h * hs + i * p + j];
          dsh[j] = y;
        }
      }
      // g_v += weights^T g_out; g_q = scale * ds k; g_k += scale * ds^T q.
      T* gqi = g + i * row;
      std::fill(gqi, gqi + d, T(0));
      for (int64_t j = 0; j < p; ++j) {
        Spread<T, DH>(s, w + i * p + j, hs, T(1), a);
        Spread<T, DH>(s, ds + i * p + j, hs, scale, b);
        AddProducts(d, a, goi, g + j * row + 2 * d);      // g_v
        AddProducts(d, b, x + j * row + d, gqi);          // g_q
        AddProducts(d, b, x + i * row, g + j * row + d);  // g_k
      }
    }
  }
}

// The kernels, compiled for AVX-512, AVX2 and the baseline (chosen at load); the templates
// above are always inlined so that each clone has its own copy.
template <typename T>
using AttentionForwardKernel = void (*)(const AttentionShape&, T, const T*, const T*, T*, T*, T*,
                                        int64_t, int64_t, T*);
template <typename T>
using AttentionBackwardKernel = void (*)(const AttentionShape&, T, const T*, const T*, const T*,
                                         const T*, T*, T*, int64_t, int64_t, T*);
#define DRC_ATTENTION_KERNELS(T, DH, Suffix)                                                    \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void AttentionForward##Suffix(   \
      const AttentionShape& s, T scale, const T* qkv, const T* prev, T* out, T* scores,         \
      T* weights, int64_t begin, int64_t end, T* tmp) {                                         \
    AttentionForwardWindows<T, DH>(s, scale, qkv, prev, out, scores, weights, begin, end, tmp); \
  }                                                                                             \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void AttentionBackward##Suffix(  \
      const AttentionShape& s, T scale, const T* qkv, const T* weights, const T* g_out,         \
      const T* g_scores, T* g_qkv, T* d_scores, int64_t begin, int64_t end, T* tmp) {           \
    AttentionBackwardWindows<T, DH>(s, scale, qkv, weights, g_out, g_scores, g_qkv, d_scores,   \
                                    begin, end, tmp);                                           \
  }
DRC_ATTENTION_KERNELS(float, 8, Float8)    // PatchTST's default: 16 heads of 8
DRC_ATTENTION_KERNELS(float, 16, Float16)  // 8 heads of 16
DRC_ATTENTION_KERNELS(float, 0, Float)
DRC_ATTENTION_KERNELS(double, 0, Double)
#undef DRC_ATTENTION_KERNELS
#pragma GCC pop_options

std::pair<AttentionForwardKernel<float>, AttentionBackwardKernel<float>> AttentionKernels(
    const AttentionShape& s, float) {
  if (s.head_dim == 8) return {AttentionForwardFloat8, AttentionBackwardFloat8};
  if (s.head_dim == 16) return {AttentionForwardFloat16, AttentionBackwardFloat16};
  return {AttentionForwardFloat, AttentionBackwardFloat};
}
std::pair<AttentionForwardKernel<double>, AttentionBackwardKernel<double>> AttentionKernels(
    const AttentionShape&, double) {
  return {AttentionForwardDouble, AttentionBackwardDouble};
}

// Runs kernel(begin, end, tmp) over the windows on the intra-op threads, tmp holding tmp_size
// values per thread.
template <typename T, typename Kernel>
void ForWindows(const AttentionShape& s, int64_t tmp_size, const Kernel& kernel) {
  const int64_t per_window = s.tokens * s.tokens * s.width();
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 13) / std::max<int64_t>(1, per_window));
  at::parallel_for(0, s.windows, grain, [&](int64_t begin, int64_t end) {
    std::vector<T> tmp(tmp_size);
    kernel(begin, end, tmp.data());
  });
}

template <typename T>
void AttentionForward(const AttentionShape& s, T scale, const T* qkv, const T* prev, T* out,
                      T* scores, T* weights) {
  const auto kernel = AttentionKernels(s, T()).first;
  ForWindows<T>(s, s.width(), [&](int64_t begin, int64_t end, T* tmp) {
    kernel(s, scale, qkv, prev, out, scores, weights, begin, end, tmp);
  });
}

template <typename T>
void AttentionBackward(const AttentionShape& s, T scale, const T* qkv, const T* weights,
                       const T* g_out, const T* g_scores, T* g_qkv, T* d_scores) {
  const auto kernel = AttentionKernels(s, T()).second;
  ForWindows<T>(s, 2 * s.width(), [&](int64_t begin, int64_t end, T* tmp) {
    kernel(s, scale, qkv, weights, g_out, g_scores, g_qkv, d_scores, begin, end, tmp);
  });
}

struct ShortSelfAttentionFunction : public torch::autograd::Function<ShortSelfAttentionFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& qkv_in, const at::Tensor& prev_in,
                                                bool has_prev, int64_t heads, double scale) {
    const at::Tensor qkv = qkv_in.contiguous();
    const at::Tensor prev = has_prev ? prev_in.contiguous() : at::Tensor();
    const AttentionShape s{qkv.size(0), qkv.size(1), heads, qkv.size(2) / 3 / heads};
    at::Tensor out = at::empty({s.windows, s.tokens, s.width()}, qkv.options());
    at::Tensor scores = at::empty({s.windows, heads, s.tokens, s.tokens}, qkv.options());
    at::Tensor weights = at::empty_like(scores);
    AT_DISPATCH_FLOATING_TYPES(qkv.scalar_type(), "ShortSelfAttention", [&] {
      AttentionForward<scalar_t>(s, static_cast<scalar_t>(scale), qkv.data_ptr<scalar_t>(),
                                 prev.defined() ? prev.data_ptr<scalar_t>() : nullptr,
                                 out.data_ptr<scalar_t>(), scores.data_ptr<scalar_t>(),
                                 weights.data_ptr<scalar_t>());
    });
    ctx->save_for_backward({qkv, weights});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["scale"] = scale;
    ctx->set_materialize_grads(false);
    return {out, scores};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& qkv = saved[0];
    const at::Tensor& weights = saved[1];
    const int64_t heads = ctx->saved_data["heads"].toInt();
    const double scale = ctx->saved_data["scale"].toDouble();
    const AttentionShape s{qkv.size(0), qkv.size(1), heads, qkv.size(2) / 3 / heads};
    const at::Tensor g_out = grads[0].defined()
                                 ? grads[0].contiguous()
                                 : at::zeros({s.windows, s.tokens, s.width()}, qkv.options());
    const at::Tensor g_scores = grads[1].defined() ? grads[1].contiguous() : grads[1];
    at::Tensor g_qkv = at::empty_like(qkv);
    at::Tensor d_scores = at::empty_like(weights);
    AT_DISPATCH_FLOATING_TYPES(qkv.scalar_type(), "ShortSelfAttentionBackward", [&] {
      AttentionBackward<scalar_t>(s, static_cast<scalar_t>(scale), qkv.data_ptr<scalar_t>(),
                                  weights.data_ptr<scalar_t>(), g_out.data_ptr<scalar_t>(),
                                  g_scores.defined() ? g_scores.data_ptr<scalar_t>() : nullptr,
                                  g_qkv.data_ptr<scalar_t>(), d_scores.data_ptr<scalar_t>());
    });
    return {g_qkv, ctx->needs_input_grad(1) ? d_scores : at::Tensor(), at::Tensor(), at::Tensor(),
            at::Tensor()};
  }
};

// libtorch 1.13's custom functions take no undefined tensor: an empty one stands for none (the
// functions get a flag saying whether the tensor was given).
at::Tensor OrEmpty(const at::Tensor& t, const at::TensorOptions& options) {
  return t.defined() ? t : at::empty({0}, options);
}

// Row-major c [m, n] = a [m, k] (or a^T, stored [k, m]) times b [k, n] (or b^T, stored [n, k]),
// plus beta * c, on oneDNN's sgemm: 1.1-1.4x OpenBLAS's on the forecasting models' shapes
// (bench/gemm_small.cc). Every operand contiguous.
void Sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
           const float* b, float beta, float* c) {
  const dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f,
                                          a, trans_a ? m : k, b, trans_b ? k : n, beta, c, n);
  TORCH_CHECK(status == dnnl_success, "dnnl_sgemm failed (status ", static_cast<int>(status),
              ") on ", m, "x", k, "x", n);
}

// y = x w^T + b for contiguous float x [m, k], w [n, k], b [n] (undefined: none).
struct SgemmLinearFunction : public torch::autograd::Function<SgemmLinearFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& w, const at::Tensor& b, bool has_bias) {
    const int64_t m = x.size(0), k = x.size(1), n = w.size(0);
    // A fresh output: for one row, b.expand({1, n}).contiguous() would be the bias itself, and
    // the sgemm below would accumulate into the parameter.
    at::Tensor y = at::empty({m, n}, x.options());
    if (has_bias) y.copy_(b.expand({m, n}));
    Sgemm(false, true, m, n, k, x.data_ptr<float>(), w.data_ptr<float>(), has_bias ? 1.0f : 0.0f,
          y.data_ptr<float>());
    ctx->save_for_backward({x, w});
    ctx->saved_data["has_bias"] = has_bias;
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& w = saved[1];
    const at::Tensor g = grads[0].contiguous();
    const int64_t m = x.size(0), k = x.size(1), n = w.size(0);
    at::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) {  // [m, n] x [n, k]
      gx = at::empty({m, k}, x.options());
      Sgemm(false, false, m, k, n, g.data_ptr<float>(), w.data_ptr<float>(), 0.0f,
            gx.data_ptr<float>());
    }
    if (ctx->needs_input_grad(1)) {  // [n, m] x [m, k]
      gw = at::empty({n, k}, w.options());
      Sgemm(true, false, n, k, m, g.data_ptr<float>(), x.data_ptr<float>(), 0.0f,
            gw.data_ptr<float>());
    }
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)) gb = g.sum(0);
    return {gx, gw, gb, at::Tensor()};
  }
};

}  // namespace

at::Tensor Linear2d(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  TORCH_CHECK(x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(1),
              "linear: expected [rows, in] and [out, in], got ", x.sizes(), " and ", w.sizes());
  // oneDNN 3 headers are a torch wheel's own (its oneDNN is not exported), not those of the
  // oneDNN 2 library linked (Debian's): then libtorch's linear, as for the RNN layers
  // (dnnl_rnn.h).
  constexpr bool kOneDnnSgemm = DNNL_VERSION_MAJOR < 3;
  if (!kOneDnnSgemm || !x.device().is_cpu() || x.scalar_type() != at::kFloat ||
      w.scalar_type() != at::kFloat || x.numel() == 0 || w.numel() == 0) {
    return at::linear(x, w, b);
  }
  return SgemmLinearFunction::apply(x.contiguous(), w.contiguous(), OrEmpty(b, w.options()),
                                    b.defined());
}

at::Tensor Dense(torch::nn::Linear& linear, const at::Tensor& x) {
  // linear->bias is undefined when the Linear has none.
  if (x.dim() <= 2) {
    return x.dim() == 2 ? Linear2d(x, linear->weight, linear->bias) : linear->forward(x);
  }
  std::vector<int64_t> sizes(x.sizes().begin(), x.sizes().end());
  at::Tensor y = Linear2d(x.reshape({-1, sizes.back()}), linear->weight, linear->bias);
  sizes.back() = y.size(1);
  return y.view(sizes);
}

at::Tensor EmbeddedDense(torch::nn::Linear& linear, const at::Tensor& values,
                         const at::Tensor& vectors, const at::Tensor& embedding_bias) {
  const int64_t n = vectors.size(0), width = vectors.size(1);
  TORCH_CHECK(values.dim() >= 1 && values.size(-1) == n &&
                  embedding_bias.sizes() == vectors.sizes() && linear->weight.size(1) == n * width,
              "embedded linear: expected values [..., ", n, "], an embedding [", n, ", ", width,
              "] twice and a Linear of ", n * width, " inputs, got ", values.sizes(), ", ",
              embedding_bias.sizes(), " and ", linear->weight.sizes());
  const at::Tensor w = linear->weight.reshape({-1, n, width});  // [out, n, width]
  const at::Tensor folded_w = (w * vectors).sum(-1);            // [out, n]
  at::Tensor folded_b = (w * embedding_bias).sum({1, 2});       // [out]
  if (linear->bias.defined()) folded_b = folded_b + linear->bias;
  std::vector<int64_t> sizes(values.sizes().begin(), values.sizes().end());
  const at::Tensor y = Linear2d(values.reshape({-1, n}), folded_w, folded_b);
  sizes.back() = y.size(1);
  return y.view(sizes);
}

at::Tensor BatchedMatmul(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1),
              "batched matmul: expected [batch, m, k] and [batch, k, n], got ", a.sizes(), " and ",
              b.sizes());
  TORCH_CHECK(a.scalar_type() == b.scalar_type(),
              "batched matmul: dtypes differ: ", a.scalar_type(), " and ", b.scalar_type());
  return BatchedMatmulFunction::apply(a, b);
}

std::pair<at::Tensor, at::Tensor> ShortSelfAttention(const at::Tensor& qkv, const at::Tensor& prev,
                                                     int64_t heads, double scale) {
  TORCH_CHECK(heads > 0 && qkv.dim() == 3 && qkv.size(2) % (3 * heads) == 0,
              "self-attention: expected [windows, tokens, 3 * heads * head_dim] projections for ",
              heads, " heads, got ", qkv.sizes());
  TORCH_CHECK(qkv.device().is_cpu() &&
                  (qkv.scalar_type() == at::kFloat || qkv.scalar_type() == at::kDouble),
              "self-attention: CPU float or double projections expected, got ", qkv.scalar_type(),
              " on ", qkv.device());
  if (prev.defined()) {
    const int64_t n = qkv.size(0), p = qkv.size(1);
    TORCH_CHECK(prev.sizes() == at::IntArrayRef({n, heads, p, p}) &&
                    prev.scalar_type() == qkv.scalar_type() && prev.device() == qkv.device(),
                "self-attention: previous scores must be [", n, ", ", heads, ", ", p, ", ", p,
                "] of the projections' dtype, got ", prev.sizes(), " ", prev.scalar_type());
  }
  auto outputs = ShortSelfAttentionFunction::apply(qkv, OrEmpty(prev, qkv.options()),
                                                   prev.defined(), heads, scale);
  return {outputs[0], outputs[1]};
}

at::Tensor MeanOfCenteredKernels(at::TensorList kernels) {
  TORCH_CHECK(!kernels.empty(), "MeanOfCenteredKernels: no kernels");
  int64_t size = 0;
  for (const at::Tensor& k : kernels) {
    TORCH_CHECK(k.dim() == 4 && k.size(2) == k.size(3) && k.size(2) % 2 == 1,
                "MeanOfCenteredKernels: kernel ", k.sizes(), " is not [out, in, k, k] with k odd");
    TORCH_CHECK(k.size(0) == kernels[0].size(0) && k.size(1) == kernels[0].size(1),
                "MeanOfCenteredKernels: kernel ", k.sizes(), " and ", kernels[0].sizes(),
                " differ in channels");
    size = std::max(size, k.size(2));
  }
  at::Tensor sum;
  for (const at::Tensor& k : kernels) {
    const int64_t pad = (size - k.size(2)) / 2;
    at::Tensor padded = pad == 0 ? k : at::constant_pad_nd(k, {pad, pad, pad, pad});
    sum = sum.defined() ? sum + padded : padded;
  }
  return sum / static_cast<double>(kernels.size());
}

at::Tensor SameConv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(x.dim() == 4 && weight.dim() == 4 && x.size(1) == weight.size(1) &&
                  weight.size(2) % 2 == 1 && weight.size(3) % 2 == 1,
              "SameConv2d: input ", x.sizes(), " and kernel ", weight.sizes(),
              " are not [batch, in, rows, cols] and [out, in, odd, odd]");
  const int64_t kh = std::min(weight.size(2), 2 * x.size(2) - 1);
  const int64_t kw = std::min(weight.size(3), 2 * x.size(3) - 1);
  at::Tensor taps =
      weight.narrow(2, (weight.size(2) - kh) / 2, kh).narrow(3, (weight.size(3) - kw) / 2, kw);
  return at::conv2d(x, taps, bias, /*stride=*/{1, 1}, /*padding=*/{(kh - 1) / 2, (kw - 1) / 2});
}

// ---- AdamStep ---------------------------------------------------------------------------------

namespace {

// One Adam update of n elements, in libtorch's order of operations (each product rounded
// before it is added: fp-contract off). The file is compiled with -fno-math-errno
// (CMakeLists.txt), so that the square root is an instruction and the loop vectorizes.
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
struct AdamScalars {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, sqrt_correction2, eps, neg_step;
};

__attribute__((target_clones("avx512f", "avx2", "default"))) void AdamUpdate(
    float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
    int64_t n, AdamScalars s) {
  for (int64_t i = 0; i < n; ++i) {
    const float grad = g[i];
    const float mi = m[i] * s.beta1 + s.one_minus_beta1 * grad;
    const float vi = v[i] * s.beta2 + s.one_minus_beta2 * grad * grad;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / s.sqrt_correction2 + s.eps;
    p[i] = p[i] + s.neg_step * mi / denom;
  }
}
#pragma GCC pop_options

bool FusesAdam(const torch::optim::AdamOptions& options, const at::Tensor& p) {
  const at::Tensor& g = p.grad();
  return !options.amsgrad() && options.weight_decay() == 0 && p.device().is_cpu() &&
         p.scalar_type() == at::kFloat && p.is_contiguous() && g.scalar_type() == at::kFloat &&
         g.is_contiguous() && !g.is_sparse() && g.sizes() == p.sizes();
}

}  // namespace

void AdamStep(torch::optim::Adam& optimizer) {
  using torch::optim::AdamOptions;
  using torch::optim::AdamParamState;
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const AdamOptions&>(group.options());
    for (const auto& p : group.params()) {
      if (p.grad().defined() && !FusesAdam(options, p)) {
        optimizer.step();
        return;
      }
    }
  }
  auto& states = optimizer.state();
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const AdamOptions&>(group.options());
    const auto [beta1, beta2] = options.betas();
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
      auto found = states.find(key);
      if (found == states.end()) {
        auto state = std::make_unique<AdamParamState>();
        state->step(0);
        state->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
        state->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
        found = states.emplace(key, std::move(state)).first;
      }
      auto& state = static_cast<AdamParamState&>(*found->second);
      state.step(state.step() + 1);
      const double correction1 = 1 - std::pow(beta1, static_cast<double>(state.step()));
      const double correction2 = 1 - std::pow(beta2, static_cast<double>(state.step()));
      const AdamScalars s{static_cast<float>(beta1),
                          static_cast<float>(1 - beta1),
                          static_cast<float>(beta2),
                          static_cast<float>(1 - beta2),
                          static_cast<float>(std::sqrt(correction2)),
                          static_cast<float>(options.eps()),
                          static_cast<float>(-options.lr() / correction1)};
      float* pp = p.data_ptr<float>();
      const float* gp = p.grad().data_ptr<float>();
      float* mp = state.exp_avg().data_ptr<float>();
      float* vp = state.exp_avg_sq().data_ptr<float>();
      at::parallel_for(0, p.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
        AdamUpdate(pp + begin, gp + begin, mp + begin, vp + begin, end - begin, s);
      });
    }
  }
}

namespace {

// The mexican-hat wavelet layer before its batch norm, out[b, o] = sum over l of w[o, l] *
// psi((x[b, l] - t[o, l]) / s[o, l]), psi(u) = C (u^2 - 1) exp(-u^2 / 2), in one pass over the
// [B, h, L] terms forward and one backward (psi'(u) = C u (3 - u^2) exp(-u^2 / 2)), on the intra-op
// threads. NF's composition takes ten elementwise passes over them forward and more backward.
struct MexicanHatFunction : public torch::autograd::Function<MexicanHatFunction> {
  static float Scale() {
    constexpr double kPi = 3.14159265358979323846;
    return static_cast<float>(2 / (std::sqrt(3.0) * std::pow(kPi, 0.25)));
  }
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x_in,
                            const at::Tensor& t_in, const at::Tensor& s_in,
                            const at::Tensor& w_in) {
    const at::Tensor x = x_in.contiguous(), t = t_in.contiguous(), s = s_in.contiguous(),
                     w = w_in.contiguous();
    ctx->save_for_backward({x, t, s, w});
    const int64_t B = x.size(0), L = x.size(1), H = t.size(0);
    at::Tensor out = at::empty({B, H}, x.options());
    const float *px = x.data_ptr<float>(), *pt = t.data_ptr<float>(), *ps = s.data_ptr<float>(),
                *pw = w.data_ptr<float>();
    float* po = out.data_ptr<float>();
    const float c = Scale();
    at::parallel_for(0, B, std::max<int64_t>(1, 4096 / (H * L)), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        for (int64_t o = 0; o < H; ++o) {
          float acc = 0;
          for (int64_t l = 0; l < L; ++l) {
            const float u = (px[b * L + l] - pt[o * L + l]) / ps[o * L + l];
            const float sq = u * u;
            acc += pw[o * L + l] * (c * (sq - 1) * std::exp(-0.5f * sq));
          }
          po[b * H + o] = acc;
        }
      }
    });
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &t = saved[1], &s = saved[2], &w = saved[3];
    const at::Tensor g = grad[0].contiguous();
    const int64_t B = x.size(0), L = x.size(1), H = t.size(0);
    at::Tensor dx = at::empty_like(x);
    // Each thread's sums over its windows of the gradients of w, t and s, then their total.
    const int threads = at::get_num_threads();
    std::vector<std::vector<float>> parts(threads, std::vector<float>(3 * H * L, 0.0f));
    const float *px = x.data_ptr<float>(), *pt = t.data_ptr<float>(), *ps = s.data_ptr<float>(),
                *pw = w.data_ptr<float>(), *pg = g.data_ptr<float>();
    float* pdx = dx.data_ptr<float>();
    const float c = Scale();
    at::parallel_for(0, B, std::max<int64_t>(1, 4096 / (H * L)), [&](int64_t b0, int64_t b1) {
      std::vector<float>& part = parts[at::get_thread_num()];
      float *dw = part.data(), *dt = dw + H * L, *ds = dt + H * L;
      for (int64_t b = b0; b < b1; ++b) {
        float* dxb = pdx + b * L;
        std::fill(dxb, dxb + L, 0.0f);
        for (int64_t o = 0; o < H; ++o) {
          const float gbo = pg[b * H + o];
          for (int64_t l = 0; l < L; ++l) {
            const int64_t k = o * L + l;
            const float u = (px[b * L + l] - pt[k]) / ps[k];
            const float sq = u * u, e = std::exp(-0.5f * sq);
            const float q = gbo * pw[k] * (c * u * (3 - sq) * e) / ps[k];  // dL/du / s
            dxb[l] += q;
            dw[k] += gbo * (c * (sq - 1) * e);
            dt[k] -= q;
            ds[k] -= q * u;
          }
        }
      }
    });
    at::Tensor sums = at::zeros({3, H, L}, x.options());
    float* total = sums.data_ptr<float>();
    for (const std::vector<float>& part : parts) {
      for (int64_t i = 0; i < 3 * H * L; ++i) total[i] += part[i];
    }
    return {dx, sums[1], sums[2], sums[0]};
  }
};

}  // namespace

// ---- BlockDiagonalLinear ----------------------------------------------------------------------

namespace {

// y[r, b * out + o] = sum over d, in order, of x[r, b * in + d] * wt[b, d, o] (+ bias[b * out +
// o]), for rows [begin, end): wt holds each block's matrix as [in, out], so that the loop over a
// block's outputs is contiguous.
template <typename T>
void BlockRows(const T* x, const T* wt, const T* bias, T* y, int64_t begin, int64_t end,
               int64_t blocks, int64_t in, int64_t out) {
  for (int64_t r = begin; r < end; ++r) {
    const T* xr = x + r * blocks * in;
    T* yr = y + r * blocks * out;
    for (int64_t b = 0; b < blocks; ++b) {
      const T* __restrict wb = wt + b * in * out;
      const T* __restrict xb = xr + b * in;
      T* __restrict yb = yr + b * out;
      for (int64_t o = 0; o < out; ++o) yb[o] = 0;
      for (int64_t d = 0; d < in; ++d) {
        for (int64_t o = 0; o < out; ++o) yb[o] += xb[d] * wb[d * out + o];
      }
      if (bias != nullptr) {
        for (int64_t o = 0; o < out; ++o) yb[o] += bias[b * out + o];
      }
    }
  }
}

// BlockRows of 4 x 4 float blocks (xLSTM's), each block's four sums in one vector register.
__attribute__((target_clones("avx512f", "avx2", "default"))) void BlockRows4(
    const float* x, const float* wt, const float* bias, float* y, int64_t begin, int64_t end,
    int64_t blocks) {
  for (int64_t r = begin; r < end; ++r) {
    const float* xr = x + r * blocks * 4;
    float* yr = y + r * blocks * 4;
    for (int64_t b = 0; b < blocks; ++b) {
      const float* __restrict wb = wt + b * 16;
      const float* __restrict xb = xr + b * 4;
      float acc[4] = {};
      for (int d = 0; d < 4; ++d) {
        for (int o = 0; o < 4; ++o) acc[o] += xb[d] * wb[d * 4 + o];
      }
      if (bias != nullptr) {
        for (int o = 0; o < 4; ++o) acc[o] += bias[b * 4 + o];
      }
      std::copy(acc, acc + 4, yr + b * 4);
    }
  }
}

// x [rows, blocks * in] -> [rows, blocks * out] by w (w's blocks transposed: in and out swap),
// plus bias [blocks * out] when defined.
at::Tensor ApplyBlocks(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                       bool transposed) {
  const int64_t blocks = w.size(0);
  const int64_t out = transposed ? w.size(2) : w.size(1), in = transposed ? w.size(1) : w.size(2);
  const int64_t rows = x.size(0);
  at::Tensor y = at::empty({rows, blocks * out}, x.options());
  // Each block as [in, out]: w's transpose forward, w itself for the transposed product.
  const at::Tensor wt = transposed ? w : w.transpose(1, 2).contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "ApplyBlocks", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* wp = wt.data_ptr<scalar_t>();
    const scalar_t* bp = bias.defined() ? bias.data_ptr<scalar_t>() : nullptr;
    scalar_t* yp = y.data_ptr<scalar_t>();
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / (blocks * in * out));
    at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
      if (x.scalar_type() == at::kFloat && in == 4 && out == 4) {  // xLSTM's blocks
        BlockRows4(reinterpret_cast<const float*>(xp), reinterpret_cast<const float*>(wp),
                   reinterpret_cast<const float*>(bp), reinterpret_cast<float*>(yp), begin, end,
                   blocks);
        return;
      }
      BlockRows(xp, wp, bp, yp, begin, end, blocks, in, out);
    });
  });
  return y;
}

// gw[b, o, d] += sum over rows r, in order, of g[r, b * out + o] * x[r, b * in + d], blocks
// [begin, end).
template <typename T>
void BlockWeightRows(const T* g, const T* x, T* gw, int64_t rows, int64_t begin, int64_t end,
                     int64_t blocks, int64_t in, int64_t out) {
  constexpr int64_t kTile = 64;  // rows per pass over the blocks (their data stays in cache)
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    const int64_t r1 = std::min(rows, r0 + kTile);
    for (int64_t b = begin; b < end; ++b) {
      T* __restrict wb = gw + b * out * in;
      for (int64_t r = r0; r < r1; ++r) {
        const T* __restrict gb = g + r * blocks * out + b * out;
        const T* __restrict xb = x + r * blocks * in + b * in;
        for (int64_t o = 0; o < out; ++o) {
          for (int64_t d = 0; d < in; ++d) wb[o * in + d] += gb[o] * xb[d];
        }
      }
    }
  }
}

// BlockWeightRows of 4 x 4 float blocks: a block's 16 sums stay in registers over a tile of rows.
__attribute__((target_clones("avx512f", "avx2", "default"))) void BlockWeightRows4(
    const float* g, const float* x, float* gw, int64_t rows, int64_t begin, int64_t end,
    int64_t blocks) {
  constexpr int64_t kTile = 64;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    const int64_t r1 = std::min(rows, r0 + kTile);
    for (int64_t b = begin; b < end; ++b) {
      float acc[16];
      std::copy(gw + b * 16, gw + b * 16 + 16, acc);
      for (int64_t r = r0; r < r1; ++r) {
        const float* __restrict gb = g + (r * blocks + b) * 4;
        const float* __restrict xb = x + (r * blocks + b) * 4;
        for (int o = 0; o < 4; ++o) {
          for (int d = 0; d < 4; ++d) acc[o * 4 + d] += gb[o] * xb[d];
        }
      }
      std::copy(acc, acc + 16, gw + b * 16);
    }
  }
}

// The weight's gradient, the blocks split over the threads.
at::Tensor BlockWeightGrad(const at::Tensor& g, const at::Tensor& x, int64_t blocks, int64_t out,
                           int64_t in) {
  const int64_t rows = x.size(0);
  at::Tensor gw = at::zeros({blocks, out, in}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "BlockWeightGrad", [&] {
    const scalar_t* gp = g.data_ptr<scalar_t>();
    const scalar_t* xp = x.data_ptr<scalar_t>();
    scalar_t* wp = gw.data_ptr<scalar_t>();
    at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
      if (x.scalar_type() == at::kFloat && in == 4 && out == 4) {
        BlockWeightRows4(reinterpret_cast<const float*>(gp), reinterpret_cast<const float*>(xp),
                         reinterpret_cast<float*>(wp), rows, begin, end, blocks);
        return;
      }
      BlockWeightRows(gp, xp, wp, rows, begin, end, blocks, in, out);
    });
  });
  return gw;
}

struct BlockDiagonalFunction : public torch::autograd::Function<BlockDiagonalFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& w, const at::Tensor& bias, bool has_bias) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["has_bias"] = has_bias;
    return ApplyBlocks(x, w, has_bias ? bias : at::Tensor(), /*transposed=*/false);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& w = saved[1];
    const at::Tensor g = grads[0].contiguous();
    at::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) gx = ApplyBlocks(g, w, at::Tensor(), /*transposed=*/true);
    if (ctx->needs_input_grad(1)) gw = BlockWeightGrad(g, x, w.size(0), w.size(1), w.size(2));
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)) gb = g.sum(0);
    return {gx, gw, gb, at::Tensor()};
  }
};

}  // namespace

at::Tensor BlockDiagonalLinear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
  TORCH_CHECK(w.dim() == 3 && x.dim() >= 1 && x.size(-1) == w.size(0) * w.size(2),
              "block-diagonal linear: expected x [..., blocks * in] and w [blocks, out, in], got ",
              x.sizes(), " and ", w.sizes());
  TORCH_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == w.size(0) * w.size(1)),
              "block-diagonal linear: expected a bias of ", w.size(0) * w.size(1), " values, got ",
              bias.sizes());
  std::vector<int64_t> sizes = x.sizes().vec();
  sizes.back() = w.size(0) * w.size(1);
  if (!x.is_cpu() || x.scalar_type() != w.scalar_type() ||
      (bias.defined() && bias.scalar_type() != w.scalar_type()) ||
      (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble)) {
    const at::Tensor blocks = x.reshape({-1, w.size(0), w.size(2)});
    const at::Tensor y = at::einsum("nhd,hod->nho", {blocks, w}).reshape(sizes);
    return bias.defined() ? y + bias : y;
  }
  const at::Tensor rows = x.reshape({-1, x.size(-1)}).contiguous();
  return BlockDiagonalFunction::apply(
             rows, w.contiguous(), bias.defined() ? bias.contiguous() : at::empty({0}, w.options()),
             bias.defined())
      .view(sizes);
}

// ---- CausalDepthwiseConv1d -------------------------------------------------------------------

namespace {

// y = conv(x) for windows [begin, end): x, y [B, L, C], wt [K, C] (the kernel transposed so that
// the channel loop is contiguous), bias [C].
__attribute__((target_clones("avx512f", "avx2", "default"))) void CausalConvRows(
    const float* x, const float* wt, const float* bias, float* y, int64_t begin, int64_t end,
    int64_t l, int64_t c, int64_t k) {
  for (int64_t b = begin; b < end; ++b) {
    for (int64_t t = 0; t < l; ++t) {
      float* __restrict yt = y + (b * l + t) * c;
      std::copy(bias, bias + c, yt);
      for (int64_t j = 0; j < k; ++j) {
        const int64_t src = t - k + 1 + j;
        if (src < 0) continue;
        const float* __restrict xs = x + (b * l + src) * c;
        const float* __restrict wj = wt + j * c;
        for (int64_t ch = 0; ch < c; ++ch) yt[ch] += xs[ch] * wj[ch];
      }
    }
  }
}

// gx[b, s, c] = sum over j of g[b, s + K - 1 - j, c] * w[c, j] (steps within [0, L)), windows
// [begin, end).
__attribute__((target_clones("avx512f", "avx2", "default"))) void CausalConvInputGrad(
    const float* g, const float* wt, float* gx, int64_t begin, int64_t end, int64_t l, int64_t c,
    int64_t k) {
  for (int64_t b = begin; b < end; ++b) {
    for (int64_t s = 0; s < l; ++s) {
      float* __restrict gs = gx + (b * l + s) * c;
      std::fill(gs, gs + c, 0.0f);
      for (int64_t j = 0; j < k; ++j) {
        const int64_t t = s + k - 1 - j;
        if (t >= l) continue;
        const float* __restrict gt = g + (b * l + t) * c;
        const float* __restrict wj = wt + j * c;
        for (int64_t ch = 0; ch < c; ++ch) gs[ch] += gt[ch] * wj[ch];
      }
    }
  }
}

// gwt[j, c] += sum over (b, t), in order, of g[b, t, c] * x[b, t - K + 1 + j, c] and gb[c] +=
// sum of g[b, t, c], for channels [c0, c1).
__attribute__((target_clones("avx512f", "avx2", "default"))) void CausalConvWeightGrad(
    const float* g, const float* x, float* gwt, float* gb, int64_t batch, int64_t l, int64_t c,
    int64_t k, int64_t c0, int64_t c1) {
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < l; ++t) {
      const float* __restrict gt = g + (b * l + t) * c;
      for (int64_t ch = c0; ch < c1; ++ch) gb[ch] += gt[ch];
      for (int64_t j = 0; j < k; ++j) {
        const int64_t src = t - k + 1 + j;
        if (src < 0) continue;
        const float* __restrict xs = x + (b * l + src) * c;
        float* __restrict gj = gwt + j * c;
        for (int64_t ch = c0; ch < c1; ++ch) gj[ch] += gt[ch] * xs[ch];
      }
    }
  }
}

struct CausalConvFunction : public torch::autograd::Function<CausalConvFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& weight, const at::Tensor& bias) {
    const int64_t batch = x.size(0), l = x.size(1), c = x.size(2), k = weight.size(2);
    const at::Tensor wt = weight.reshape({c, k}).t().contiguous();
    ctx->save_for_backward({x, wt});
    at::Tensor y = at::empty_like(x);
    const float* xp = x.data_ptr<float>();
    const float* wp = wt.data_ptr<float>();
    const float* bp = bias.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, l * c));
    at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
      CausalConvRows(xp, wp, bp, yp, begin, end, l, c, k);
    });
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& wt = saved[1];  // [K, C]
    const at::Tensor g = grads[0].contiguous();
    const int64_t batch = x.size(0), l = x.size(1), c = x.size(2), k = wt.size(0);
    at::Tensor gx, gw, gb;
    const float* gp = g.data_ptr<float>();
    if (ctx->needs_input_grad(0)) {
      gx = at::empty_like(x);
      const float* wp = wt.data_ptr<float>();
      float* gxp = gx.data_ptr<float>();
      const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, l * c));
      at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
        CausalConvInputGrad(gp, wp, gxp, begin, end, l, c, k);
      });
    }
    if (ctx->needs_input_grad(1) || ctx->needs_input_grad(2)) {
      at::Tensor gwt = at::zeros({k, c}, x.options());
      gb = at::zeros({c}, x.options());
      const float* xp = x.data_ptr<float>();
      float* gwp = gwt.data_ptr<float>();
      float* gbp = gb.data_ptr<float>();
      // Channel ranges of whole cache lines, so that threads do not share one.
      at::parallel_for(0, (c + 15) / 16, 1, [&](int64_t begin, int64_t end) {
        CausalConvWeightGrad(gp, xp, gwp, gbp, batch, l, c, k, begin * 16, std::min(c, end * 16));
      });
      gw = gwt.t().reshape({c, 1, k});
    }
    return {gx, gw, gb};
  }
};

}  // namespace

at::Tensor CausalDepthwiseConv1d(const at::Tensor& x, const at::Tensor& weight,
                                 const at::Tensor& bias) {
  TORCH_CHECK(x.dim() == 3 && weight.dim() == 3 && weight.size(0) == x.size(2) &&
                  weight.size(1) == 1 && weight.size(2) >= 1 && bias.dim() == 1 &&
                  bias.size(0) == x.size(2),
              "causal depthwise conv1d: expected x [B, L, C], weight [C, 1, K] and bias [C], got ",
              x.sizes(), ", ", weight.sizes(), " and ", bias.sizes());
  if (!x.is_cpu() || x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat ||
      bias.scalar_type() != at::kFloat) {
    const int64_t l = x.size(1), k = weight.size(2);
    const at::Tensor padded = at::constant_pad_nd(x, {0, 0, k - 1, 0});
    at::Tensor y = bias;
    for (int64_t j = 0; j < k; ++j)
      y = y + padded.narrow(1, j, l) * weight.select(1, 0).select(1, j);
    return y;
  }
  return CausalConvFunction::apply(x.contiguous(), weight, bias.contiguous());
}

// ---- MLstmCell --------------------------------------------------------------------------------

namespace {

constexpr float kMLstmEps = 1e-6f;

// The cell in libtorch ops, as the xlstm package computes it (other dtypes and devices).
at::Tensor MLstmCellComposed(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& igate, const at::Tensor& fgate) {
  const int64_t b = q.size(0), l = q.size(1), nh = igate.size(2), dh = q.size(2) / nh;
  auto heads = [&](const at::Tensor& t) { return t.view({b, l, nh, dh}).transpose(1, 2); };
  const at::Tensor log_f = at::cumsum(at::log_sigmoid(fgate.transpose(1, 2)), -1);  // [B, NH, L]
  const at::Tensor causal = at::ones({l, l}, q.options().dtype(at::kBool)).tril();
  const at::Tensor log_d =
      (log_f.unsqueeze(-1) - log_f.unsqueeze(-2) + igate.transpose(1, 2).unsqueeze(-2))
          .masked_fill(causal.logical_not(), -std::numeric_limits<double>::infinity());
  const at::Tensor max_log_d = std::get<0>(log_d.max(-1, true));
  const at::Tensor c =
      at::matmul(heads(q), (heads(k) / std::sqrt(static_cast<double>(dh))).transpose(-2, -1)) *
      at::exp(log_d - max_log_d);
  const at::Tensor n = at::maximum(c.sum(-1, true).abs(), at::exp(-max_log_d));
  return at::matmul(c / (n + kMLstmEps), heads(v)).transpose(1, 2).reshape({b, l, nh * dh});
}

// One window and head's forward terms, recomputed by the backward pass: all L x L row-major,
// entries j > i unused.
struct MLstmTerms {
  std::vector<float> f;       // [L] F_i
  std::vector<float> m;       // [L] m_i
  std::vector<int64_t> amax;  // [L] the first j with log D_ij = m_i
  std::vector<float> d;       // [L, L] exp(log D_ij - m_i)
  std::vector<float> s;       // [L, L] q_i . k_j / sqrt(DH)
  std::vector<float> r;       // [L] sum over j of C_ij
  std::vector<float> n;       // [L] max(|r_i|, exp(-m_i))
  std::vector<float> kt;      // [DH, LP] k / sqrt(DH), transposed and zero-padded
  int64_t lp;                 // L rounded up to a multiple of 32: the row stride of s and kt
  explicit MLstmTerms(int64_t l, int64_t dh)
      : f(l),
        m(l),
        amax(l),
        d(l * l),
        s(l * Padded(l)),
        r(l),
        n(l),
        kt(dh * Padded(l), 0.0f),
        lp(Padded(l)) {}
  static int64_t Padded(int64_t l) { return (l + 31) / 32 * 32; }
};

// out[j] = sum over e < dh, in order, of x[e] * m[e * lp + j] for j < lp (a multiple of 32):
// 32 sums at a time, kept in registers (a loop that adds into `out` in memory waits on its own
// stores).
[[gnu::always_inline]] inline void RowTimesPadded(const float* x, const float* m, int64_t dh,
                                                  int64_t lp, float* out) {
  for (int64_t j0 = 0; j0 < lp; j0 += 32) {
    float acc[32] = {};
    for (int64_t e = 0; e < dh; ++e) {
      const float xe = x[e];
      const float* __restrict row = m + e * lp + j0;
      for (int j = 0; j < 32; ++j) acc[j] += xe * row[j];
    }
    std::copy(acc, acc + 32, out + j0);
  }
}

// Row i of a [*, L, NH * DH] tensor's head `h` in window `b`.
struct HeadRows {
  int64_t l, nh, dh;
  int64_t At(int64_t b, int64_t i, int64_t h) const { return ((b * l + i) * nh + h) * dh; }
};

float LogSigmoid(float x) { return std::min(x, 0.0f) - std::log1p(std::exp(-std::abs(x))); }

__attribute__((target_clones("avx512f", "avx2", "default"))) void MLstmForwardTerms(
    const float* q, const float* k, const float* ig, const float* fg, const HeadRows& rows,
    int64_t b, int64_t h, MLstmTerms& t) {
  const int64_t l = rows.l, nh = rows.nh, dh = rows.dh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  float acc = 0;
  for (int64_t i = 0; i < l; ++i) {
    acc += LogSigmoid(fg[(b * l + i) * nh + h]);
    t.f[i] = acc;
  }
  for (int64_t j = 0; j < l; ++j) {
    const float* kj = k + rows.At(b, j, h);
    for (int64_t e = 0; e < dh; ++e) t.kt[e * t.lp + j] = kj[e] * scale;
  }
  for (int64_t i = 0; i < l; ++i) {
    float* __restrict d = t.d.data() + i * l;
    float m = -std::numeric_limits<float>::infinity();
    int64_t amax = 0;
    for (int64_t j = 0; j <= i; ++j) {
      d[j] = t.f[i] - t.f[j] + ig[(b * l + j) * nh + h];
      if (d[j] > m) m = d[j], amax = j;
    }
    t.m[i] = m;
    t.amax[i] = amax;
    for (int64_t j = 0; j <= i; ++j) d[j] = std::exp(d[j] - m);
    // Scores along j: s_ij = sum over e of q_i[e] kt[e, j], for every j < LP (entries j > i
    // are not read).
    float* __restrict s = t.s.data() + i * t.lp;
    RowTimesPadded(q + rows.At(b, i, h), t.kt.data(), dh, t.lp, s);
    float r = 0;
    for (int64_t j = 0; j <= i; ++j) r += s[j] * d[j];
    t.r[i] = r;
    t.n[i] = std::max(std::abs(r), std::exp(-m));
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void MLstmForwardHead(
    const float* q, const float* k, const float* v, const float* ig, const float* fg, float* out,
    const HeadRows& rows, int64_t b, int64_t h, MLstmTerms& t) {
  MLstmForwardTerms(q, k, ig, fg, rows, b, h, t);
  const int64_t l = rows.l, dh = rows.dh;
  for (int64_t i = 0; i < l; ++i) {
    float* __restrict oi = out + rows.At(b, i, h);
    std::fill(oi, oi + dh, 0.0f);
    const float denom = t.n[i] + kMLstmEps;
    for (int64_t j = 0; j <= i; ++j) {
      const float w = t.s[i * t.lp + j] * t.d[i * l + j] / denom;
      const float* __restrict vj = v + rows.At(b, j, h);
      for (int64_t e = 0; e < dh; ++e) oi[e] += w * vj[e];
    }
  }
}

// The gradients of one window and head: gq, gk, gv [B, L, NH * DH] and gig, gfg [B, L, NH]
// (rows of this head only, written whole).
__attribute__((target_clones("avx512f", "avx2", "default"))) void MLstmBackwardHead(
    const float* q, const float* k, const float* v, const float* ig, const float* fg,
    const float* gout, float* gq, float* gk, float* gv, float* gig, float* gfg,
    const HeadRows& rows, int64_t b, int64_t h, MLstmTerms& t, std::vector<float>& g_log_d,
    std::vector<float>& vt, std::vector<float>& g_f, std::vector<float>& g_ig,
    std::vector<float>& gs_row) {
  MLstmForwardTerms(q, k, ig, fg, rows, b, h, t);
  const int64_t l = rows.l, nh = rows.nh, dh = rows.dh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  for (int64_t j = 0; j < l; ++j) {
    const float* vj = v + rows.At(b, j, h);
    for (int64_t e = 0; e < dh; ++e) vt[e * t.lp + j] = vj[e];
    float* __restrict gvj = gv + rows.At(b, j, h);
    std::fill(gvj, gvj + dh, 0.0f);
    float* __restrict gkj = gk + rows.At(b, j, h);
    std::fill(gkj, gkj + dh, 0.0f);
  }
  std::fill(g_f.begin(), g_f.end(), 0.0f);
  std::fill(g_ig.begin(), g_ig.end(), 0.0f);
  for (int64_t i = 0; i < l; ++i) {
    const float* gi = gout + rows.At(b, i, h);
    const float* s = t.s.data() + i * t.lp;
    const float* d = t.d.data() + i * l;
    const float denom = t.n[i] + kMLstmEps;
    // gN_ij = gout_i . v_j, along j.
    float* __restrict gn = gs_row.data();
    RowTimesPadded(gi, vt.data(), dh, t.lp, gn);
    // gv_j += N_ij gout_i; the normaliser's gradient.
    float g_denom = 0;
    for (int64_t j = 0; j <= i; ++j) {
      const float c = s[j] * d[j];
      const float w = c / denom;
      float* __restrict gvj = gv + rows.At(b, j, h);
      for (int64_t e = 0; e < dh; ++e) gvj[e] += w * gi[e];
      g_denom -= gn[j] * c / (denom * denom);
    }
    // n_i = max(|r_i|, exp(-m_i)) (ties: half to each, as torch.maximum's gradient).
    const float abs_r = std::abs(t.r[i]), floor = std::exp(-t.m[i]);
    const float g_abs = abs_r > floor ? g_denom : abs_r == floor ? g_denom / 2 : 0.0f;
    const float g_floor = g_denom - g_abs;
    const float g_r = t.r[i] > 0 ? g_abs : t.r[i] < 0 ? -g_abs : 0.0f;
    float g_m = -g_floor * floor;
    float* __restrict gld = g_log_d.data() + i * l;
    for (int64_t j = 0; j <= i; ++j) {
      const float g_c = gn[j] / denom + g_r;
      gn[j] = g_c * d[j];          // now the scores' gradient
      gld[j] = g_c * s[j] * d[j];  // log D's, through exp(log D - m)
      g_m -= gld[j];
    }
    gld[t.amax[i]] += g_m;
    // log D_ij = F_i - F_j + igate_j.
    for (int64_t j = 0; j <= i; ++j) {
      g_f[i] += gld[j];
      g_f[j] -= gld[j];
      g_ig[j] += gld[j];
    }
    // Scores s_ij = q_i . k_j * scale: gq_i = sum over j of gs_ij k_j scale, gk_j += gs_ij q_i
    // scale.
    float* __restrict gqi = gq + rows.At(b, i, h);
    std::fill(gqi, gqi + dh, 0.0f);
    const float* qi = q + rows.At(b, i, h);
    for (int64_t j = 0; j <= i; ++j) {
      const float gsij = gn[j];
      const float* __restrict kj = k + rows.At(b, j, h);
      for (int64_t e = 0; e < dh; ++e) gqi[e] += gsij * (kj[e] * scale);
      float* __restrict gkj = gk + rows.At(b, j, h);
      for (int64_t e = 0; e < dh; ++e) gkj[e] += gsij * qi[e];
    }
  }
  for (int64_t j = 0; j < l; ++j) {
    float* __restrict gkj = gk + rows.At(b, j, h);
    for (int64_t e = 0; e < dh; ++e) gkj[e] *= scale;
  }
  // F is the cumulative sum of log sigmoid(fgate): its gradient sums from the end.
  float acc = 0;
  for (int64_t i = l - 1; i >= 0; --i) {
    acc += g_f[i];
    const float x = fg[(b * l + i) * nh + h];
    gfg[(b * l + i) * nh + h] = acc / (1.0f + std::exp(x));  // d log sigmoid(x) = sigmoid(-x)
    gig[(b * l + i) * nh + h] = g_ig[i];
  }
}

struct MLstmCellFunction : public torch::autograd::Function<MLstmCellFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q,
                            const at::Tensor& k, const at::Tensor& v, const at::Tensor& ig,
                            const at::Tensor& fg) {
    ctx->save_for_backward({q, k, v, ig, fg});
    const HeadRows rows{q.size(1), ig.size(2), q.size(2) / ig.size(2)};
    at::Tensor out = at::empty_like(q);
    const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
    const float *igp = ig.data_ptr<float>(), *fgp = fg.data_ptr<float>();
    float* op = out.data_ptr<float>();
    at::parallel_for(0, q.size(0) * rows.nh, 1, [&](int64_t begin, int64_t end) {
      MLstmTerms t(rows.l, rows.dh);
      for (int64_t e = begin; e < end; ++e) {
        MLstmForwardHead(qp, kp, vp, igp, fgp, op, rows, e / rows.nh, e % rows.nh, t);
      }
    });
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &ig = saved[3], &fg = saved[4];
    const at::Tensor g = grads[0].contiguous();
    const HeadRows rows{q.size(1), ig.size(2), q.size(2) / ig.size(2)};
    at::Tensor gq = at::empty_like(q), gk = at::empty_like(k), gv = at::empty_like(v);
    at::Tensor gig = at::empty_like(ig), gfg = at::empty_like(fg);
    const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
    const float *igp = ig.data_ptr<float>(), *fgp = fg.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    float *gqp = gq.data_ptr<float>(), *gkp = gk.data_ptr<float>(), *gvp = gv.data_ptr<float>();
    float *gigp = gig.data_ptr<float>(), *gfgp = gfg.data_ptr<float>();
    at::parallel_for(0, q.size(0) * rows.nh, 1, [&](int64_t begin, int64_t end) {
      MLstmTerms t(rows.l, rows.dh);
      std::vector<float> g_log_d(rows.l * rows.l), vt(rows.dh * t.lp, 0.0f);
      std::vector<float> g_f(rows.l), g_ig(rows.l), gs_row(t.lp);  // per head, reset there
      for (int64_t e = begin; e < end; ++e) {
        MLstmBackwardHead(qp, kp, vp, igp, fgp, gp, gqp, gkp, gvp, gigp, gfgp, rows, e / rows.nh,
                          e % rows.nh, t, g_log_d, vt, g_f, g_ig, gs_row);
      }
    });
    return {gq, gk, gv, gig, gfg};
  }
};

}  // namespace

at::Tensor MLstmCell(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& igate, const at::Tensor& fgate) {
  TORCH_CHECK(q.dim() == 3 && q.sizes() == k.sizes() && q.sizes() == v.sizes() &&
                  igate.dim() == 3 && igate.sizes() == fgate.sizes() &&
                  igate.size(0) == q.size(0) && igate.size(1) == q.size(1) && igate.size(2) > 0 &&
                  q.size(2) % igate.size(2) == 0,
              "mLSTM cell: expected q, k, v [B, L, NH * DH] and gates [B, L, NH], got ", q.sizes(),
              ", ", k.sizes(), ", ", v.sizes(), ", ", igate.sizes(), " and ", fgate.sizes());
  const bool fast = q.is_cpu() && q.scalar_type() == at::kFloat && k.scalar_type() == at::kFloat &&
                    v.scalar_type() == at::kFloat && igate.scalar_type() == at::kFloat &&
                    fgate.scalar_type() == at::kFloat;
  if (!fast) return MLstmCellComposed(q, k, v, igate, fgate);
  return MLstmCellFunction::apply(q.contiguous(), k.contiguous(), v.contiguous(),
                                  igate.contiguous(), fgate.contiguous());
}

// ---- SLstmCell --------------------------------------------------------------------------------

namespace {

// The cell in libtorch ops, step by step, as the xlstm package's vanilla backend computes it.
at::Tensor SLstmCellComposed(const at::Tensor& wx, const at::Tensor& r, const at::Tensor& bias) {
  const int64_t l = wx.size(0), b = wx.size(1), d = wx.size(3), nh = r.size(0), dh = r.size(1);
  at::Tensor y = at::zeros({b, d}, wx.options());
  at::Tensor c = y, n = y, m = y;
  const at::Tensor one = at::ones({}, wx.options());
  std::vector<at::Tensor> ys;
  ys.reserve(static_cast<size_t>(l));
  for (int64_t t = 0; t < l; ++t) {
    const at::Tensor ry = at::bmm(y.view({b, nh, dh}).transpose(0, 1), r)  // [NH, B, 4 DH]
                              .view({nh, b, 4, dh})
                              .permute({2, 1, 0, 3})
                              .reshape({4, b, d});
    const at::Tensor raw = wx[t].transpose(0, 1) + ry + bias.unsqueeze(1);  // [4, B, D]
    const at::Tensor iraw = raw[0], fraw = raw[1], zraw = raw[2], oraw = raw[3];
    const at::Tensor log_f_plus_m = m + at::log_sigmoid(fraw);
    const at::Tensor m_new = t == 0 ? iraw : at::maximum(iraw, log_f_plus_m);
    const at::Tensor igate = at::minimum(at::exp(iraw - m_new), one);
    const at::Tensor fgate = at::minimum(at::exp(log_f_plus_m - m_new), one);
    c = fgate * c + igate * at::tanh(zraw);
    n = fgate * n + igate;
    y = at::sigmoid(oraw) * c / n;
    m = m_new;
    ys.push_back(y);
  }
  return at::stack(ys);
}

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
// The share of a gradient that torch's minimum(a, 1) gives a: all below 1, half at 1, none above.
inline float BelowOne(float a) { return a < 1.0f ? 1.0f : (a == 1.0f ? 0.5f : 0.0f); }

struct SLstmShape {
  int64_t l, b, nh, dh, d;
};

// acc[g * D + h * DH + o] = sum over k < DH of y[h * DH + k] r[h, k, g * DH + o] (+= into acc).
__attribute__((target_clones("avx512f", "avx2", "default"))) void RecurrentInputs(
    const float* y, const float* r, const SLstmShape& s, float* acc) {
  const int64_t w = 4 * s.dh;
  for (int64_t h = 0; h < s.nh; ++h) {
    for (int64_t k = 0; k < s.dh; ++k) {
      const float a = y[h * s.dh + k];
      if (a == 0.0f) continue;
      const float* row = r + (h * s.dh + k) * w;
      for (int64_t g = 0; g < 4; ++g) {
        float* out = acc + g * s.d + h * s.dh;
        const float* in = row + g * s.dh;
        for (int64_t o = 0; o < s.dh; ++o) out[o] += a * in[o];
      }
    }
  }
}

// The terms of one step that the backward pass reads, per feature: [L, B, kSLstmTerms, D]. The
// input gate's pre-activation settles the stabiliser's max; the other gates' are not kept.
enum SLstmTerm {
  kOutGate,
  kCellInput,
  kExpIn,
  kExpForget,
  kLogFPlusM,
  kSigmoidNegF,
  kInGateRaw,
  kSLstmTerms
};

// Window b forward: terms [L, B, kSLstmTerms, D] (SLstmTerm), c, n, m, y [L, B, D].
void SLstmForwardRow(const float* wx, const float* r, const float* bias, const SLstmShape& s,
                     int64_t b, float* terms, float* c, float* n, float* m, float* y) {
  const int64_t d = s.d;
  std::vector<float> zeros(static_cast<size_t>(d), 0.0f), raw(static_cast<size_t>(4 * d));
  float* g = raw.data();  // this step's gates' pre-activations
  for (int64_t t = 0; t < s.l; ++t) {
    const int64_t row = t * s.b + b;
    const float* x = wx + row * 4 * d;
    for (int64_t j = 0; j < 4 * d; ++j) g[j] = x[j] + bias[j];
    const int64_t prev = row - s.b;  // window b at t - 1
    const float* y_prev = t == 0 ? zeros.data() : y + prev * d;
    const float* c_prev = t == 0 ? zeros.data() : c + prev * d;
    const float* n_prev = t == 0 ? zeros.data() : n + prev * d;
    const float* m_prev = t == 0 ? zeros.data() : m + prev * d;
    if (t > 0) RecurrentInputs(y_prev, r, s, g);
    float *c_t = c + row * d, *n_t = n + row * d, *m_t = m + row * d, *y_t = y + row * d;
    float* term = terms + row * kSLstmTerms * d;
    for (int64_t k = 0; k < d; ++k) {
      const float i = g[k], f = g[d + k], z = g[2 * d + k], o = g[3 * d + k];
      // log sigmoid(f) and sigmoid(-f) from one exp.
      const float e = std::exp(-std::abs(f));
      const float lfm = m_prev[k] + (std::min(f, 0.0f) - std::log1p(e));
      const float m_new = t == 0 ? i : std::max(i, lfm);
      const float ei = std::exp(i - m_new), ef = std::exp(lfm - m_new);
      const float ig = std::min(ei, 1.0f), fg = std::min(ef, 1.0f);
      const float zt = std::tanh(z), og = Sigmoid(o);
      c_t[k] = fg * c_prev[k] + ig * zt;
      n_t[k] = fg * n_prev[k] + ig;
      m_t[k] = m_new;
      y_t[k] = og * c_t[k] / n_t[k];
      term[kOutGate * d + k] = og;
      term[kCellInput * d + k] = zt;
      term[kExpIn * d + k] = ei;
      term[kExpForget * d + k] = ef;
      term[kLogFPlusM * d + k] = lfm;
      term[kSigmoidNegF * d + k] = f >= 0 ? e / (1.0f + e) : 1.0f / (1.0f + e);
      term[kInGateRaw * d + k] = i;
    }
  }
}

// out[h * DH + k] = sum over j < 4 DH of gates[(j / DH) * D + h * DH + j % DH] rt[h, j, k] (rt:
// r transposed per head, [NH, 4 DH, DH]), overwriting out.
__attribute__((target_clones("avx512f", "avx2", "default"))) void RecurrentGrad(const float* gates,
                                                                                const float* rt,
                                                                                const SLstmShape& s,
                                                                                float* out) {
  std::fill(out, out + s.d, 0.0f);
  for (int64_t h = 0; h < s.nh; ++h) {
    float* acc = out + h * s.dh;
    for (int64_t g = 0; g < 4; ++g) {
      for (int64_t o = 0; o < s.dh; ++o) {
        const float a = gates[g * s.d + h * s.dh + o];
        const float* row = rt + (h * 4 * s.dh + g * s.dh + o) * s.dh;
        for (int64_t k = 0; k < s.dh; ++k) acc[k] += a * row[k];
      }
    }
  }
}

// Window b backward: gy [L, B, D], the gradient of y; writes the gradient of the gates'
// pre-activations into graw [L, B, 4, D]. rt: r transposed per head, [NH, 4 DH, DH].
void SLstmBackwardRow(const float* gy, const float* rt, const float* terms, const float* c,
                      const float* n, const SLstmShape& s, int64_t b, float* graw) {
  const int64_t d = s.d;
  std::vector<float> zeros(static_cast<size_t>(d), 0.0f), dc(d, 0.0f), dn(d, 0.0f), dm(d, 0.0f),
      dy_rec(d, 0.0f);
  for (int64_t t = s.l - 1; t >= 0; --t) {
    const int64_t row = t * s.b + b, prev = row - s.b;
    const float* term = terms + row * kSLstmTerms * d;
    const float* c_prev = t == 0 ? zeros.data() : c + prev * d;
    const float* n_prev = t == 0 ? zeros.data() : n + prev * d;
    const float *c_t = c + row * d, *n_t = n + row * d;
    const float* gy_t = gy + row * d;
    float* gg = graw + row * 4 * d;
    for (int64_t k = 0; k < d; ++k) {
      const float i = term[kInGateRaw * d + k];
      const float og = term[kOutGate * d + k], zt = term[kCellInput * d + k];
      const float ei = term[kExpIn * d + k], ef = term[kExpForget * d + k];
      const float lfm = term[kLogFPlusM * d + k];
      const float ig = std::min(ei, 1.0f), fg = std::min(ef, 1.0f);
      const float dy = gy_t[k] + dy_rec[k];
      const float inv_n = 1.0f / n_t[k];
      const float d_og = dy * c_t[k] * inv_n;
      const float dc_t = dc[k] + dy * og * inv_n;
      const float dn_t = dn[k] - dy * og * c_t[k] * inv_n * inv_n;
      const float dfg = dc_t * c_prev[k] + dn_t * n_prev[k];
      const float dig = dc_t * zt + dn_t;
      const float dzt = dc_t * ig;
      dc[k] = dc_t * fg;
      dn[k] = dn_t * fg;
      float dm_new = dm[k];
      float di = 0.0f, dlfm = 0.0f;
      const float gi = dig * BelowOne(ei) * ei;  // through exp(i - m_new)
      di += gi;
      dm_new -= gi;
      const float gf = dfg * BelowOne(ef) * ef;  // through exp(lfm - m_new)
      dlfm += gf;
      dm_new -= gf;
      if (t == 0 || i > lfm) {
        di += dm_new;
      } else if (i < lfm) {
        dlfm += dm_new;
      } else {  // a tie: half each, as torch's maximum
        di += 0.5f * dm_new;
        dlfm += 0.5f * dm_new;
      }
      dm[k] = dlfm;  // lfm = m_prev + log sigmoid(f)
      gg[k] = di;
      gg[d + k] = dlfm * term[kSigmoidNegF * d + k];
      gg[2 * d + k] = dzt * (1.0f - zt * zt);
      gg[3 * d + k] = d_og * og * (1.0f - og);
    }
    // The previous step's output fed every gate through r: dy_rec = r[h] graw_h per head.
    if (t > 0) RecurrentGrad(gg, rt, s, dy_rec.data());
  }
}

struct SLstmCellFunction : public torch::autograd::Function<SLstmCellFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& wx,
                            const at::Tensor& r, const at::Tensor& bias) {
    const SLstmShape s{wx.size(0), wx.size(1), r.size(0), r.size(1), wx.size(3)};
    at::Tensor terms = at::empty({s.l, s.b, kSLstmTerms, s.d}, wx.options());
    at::Tensor c = at::empty({s.l, s.b, s.d}, wx.options()), n = at::empty_like(c),
               m = at::empty_like(c), y = at::empty_like(c);
    const float *wxp = wx.data_ptr<float>(), *rp = r.data_ptr<float>(),
                *bp = bias.data_ptr<float>();
    float *tp = terms.data_ptr<float>(), *cp = c.data_ptr<float>(), *np = n.data_ptr<float>(),
          *mp = m.data_ptr<float>(), *yp = y.data_ptr<float>();
    at::parallel_for(0, s.b, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        SLstmForwardRow(wxp, rp, bp, s, b, tp, cp, np, mp, yp);
      }
    });
    ctx->save_for_backward({r, terms, c, n, y});
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &r = saved[0], &terms = saved[1], &c = saved[2], &n = saved[3], &y = saved[4];
    const at::Tensor gy = grads[0].contiguous();
    const SLstmShape s{terms.size(0), terms.size(1), r.size(0), r.size(1), terms.size(3)};
    at::Tensor graw = at::empty({s.l, s.b, 4, s.d}, gy.options());
    const at::Tensor rt = r.transpose(1, 2).contiguous();  // [NH, 4 DH, DH]
    const float *gyp = gy.data_ptr<float>(), *rp = rt.data_ptr<float>(),
                *tp = terms.data_ptr<float>(), *cp = c.data_ptr<float>(), *np = n.data_ptr<float>();
    float* grawp = graw.data_ptr<float>();
    at::parallel_for(0, s.b, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        SLstmBackwardRow(gyp, rp, tp, cp, np, s, b, grawp);
      }
    });
    // r's gradient: sum over steps t >= 1 and windows of y_{t-1} (per head) times the gates'
    // gradients at t; the bias's: the gates' gradients summed.
    at::Tensor gr = at::zeros_like(r);
    if (s.l > 1) {
      const int64_t rows = (s.l - 1) * s.b;
      const at::Tensor y_prev =
          y.narrow(0, 0, s.l - 1).reshape({rows, s.nh, s.dh}).permute({1, 2, 0});  // [NH, DH, R]
      const at::Tensor g_next = graw.narrow(0, 1, s.l - 1)
                                    .reshape({rows, 4, s.nh, s.dh})
                                    .permute({2, 0, 1, 3})
                                    .reshape({s.nh, rows, 4 * s.dh});  // [NH, R, 4 DH]
      gr = at::bmm(y_prev, g_next);
    }
    const at::Tensor gbias = graw.sum(at::IntArrayRef{0, 1});
    return {graw, gr, gbias};
  }
};

}  // namespace

at::Tensor SLstmCell(const at::Tensor& wx, const at::Tensor& r, const at::Tensor& bias) {
  TORCH_CHECK(wx.dim() == 4 && wx.size(2) == 4 && r.dim() == 3 && r.size(2) == 4 * r.size(1) &&
                  wx.size(3) == r.size(0) * r.size(1) && bias.dim() == 2 && bias.size(0) == 4 &&
                  bias.size(1) == wx.size(3),
              "sLSTM cell: expected wx [L, B, 4, NH * DH], r [NH, DH, 4 DH] and bias [4, NH * DH], "
              "got ",
              wx.sizes(), ", ", r.sizes(), " and ", bias.sizes());
  const bool fast = wx.is_cpu() && wx.scalar_type() == at::kFloat &&
                    r.scalar_type() == at::kFloat && bias.scalar_type() == at::kFloat;
  if (!fast) return SLstmCellComposed(wx, r, bias);
  return SLstmCellFunction::apply(wx.contiguous(), r.contiguous(), bias.contiguous());
}

// ---- ProjectedLstmLayer -------------------------------------------------------------------------

namespace {

// The layer in libtorch ops, step by step, as torch's LSTM with proj_size computes it.
std::tuple<at::Tensor, at::Tensor> ProjectedLstmComposed(
    const at::Tensor& x, const at::Tensor& w_ih, const at::Tensor& w_hh, const at::Tensor& b_ih,
    const at::Tensor& b_hh, const at::Tensor& w_hr, const at::Tensor& h0, const at::Tensor& c0) {
  at::Tensor h = h0, c = c0;
  std::vector<at::Tensor> outputs;
  outputs.reserve(static_cast<size_t>(x.size(0)));
  for (int64_t t = 0; t < x.size(0); ++t) {
    const at::Tensor gates = at::linear(x[t], w_ih, b_ih) + at::linear(h, w_hh, b_hh);
    const auto g = gates.chunk(4, 1);
    c = at::sigmoid(g[1]) * c + at::sigmoid(g[0]) * at::tanh(g[2]);
    h = at::linear(at::sigmoid(g[3]) * at::tanh(c), w_hr);
    outputs.push_back(h);
  }
  return {at::stack(outputs), c};
}

// tanh(x) = 2 sigmoid(2x) - 1, on expf: glibc's tanhf (through expm1f) took twice as long here,
// and the absolute error (~1e-7) is float's.
inline float TanhViaExp(float x) { return 2.0f / (1.0f + std::exp(-2.0f * x)) - 1.0f; }

struct PlstmShape {
  int64_t t, b, h, p;  // steps, windows, cells, projected outputs
};

// Window b forward. gx [T, B, 4H]: the input's share of the gates plus both biases; whh_t [P, 4H]
// (w_hh transposed); writes the activated gates (i, f, g, o) into acts [T, B, 4H], c_t and
// tanh(c_t) into cs and tcs [T, B, H], h_t into out [T, B, P].
void PlstmForwardRow(const float* gx, const float* whh_t, const float* whr, const float* h0,
                     const float* c0, const PlstmShape& s, int64_t b, float* acts, float* cs,
                     float* tcs, float* out) {
  const int64_t nh = s.h, ng = 4 * s.h, np = s.p;
  for (int64_t t = 0; t < s.t; ++t) {
    const int64_t row = t * s.b + b, prev = row - s.b;
    const float* h_prev = t == 0 ? h0 + b * np : out + prev * np;
    const float* c_prev = t == 0 ? c0 + b * nh : cs + prev * nh;
    float* g = acts + row * ng;
    std::copy(gx + row * ng, gx + (row + 1) * ng, g);
    for (int64_t q = 0; q < np; ++q) {
      const float a = h_prev[q];
      const float* w = whh_t + q * ng;
      for (int64_t m = 0; m < ng; ++m) g[m] += a * w[m];
    }
    float *c_t = cs + row * nh, *tc_t = tcs + row * nh;
    for (int64_t k = 0; k < nh; ++k) {
      const float i = Sigmoid(g[k]), f = Sigmoid(g[nh + k]), z = TanhViaExp(g[2 * nh + k]),
                  o = Sigmoid(g[3 * nh + k]);
      g[k] = i;
      g[nh + k] = f;
      g[2 * nh + k] = z;
      g[3 * nh + k] = o;
      c_t[k] = f * c_prev[k] + i * z;
      tc_t[k] = TanhViaExp(c_t[k]);
    }
    float* h_t = out + row * np;
    for (int64_t q = 0; q < np; ++q) {
      const float* w = whr + q * nh;
      float acc = 0;
      for (int64_t k = 0; k < nh; ++k) acc += g[3 * nh + k] * tc_t[k] * w[k];
      h_t[q] = acc;
    }
  }
}

// Window b backward: gout [T, B, P], the outputs' gradient; gc_last [B, H] the last cell
// state's (or null); whh [4H, P]. Writes the gates' pre-activation gradients into dgates
// [T, B, 4H], each step's output gradient (carry included) into dhs [T, B, P], and the initial
// states' gradients into dh0 [B, P] and dc0 [B, H].
void PlstmBackwardRow(const float* gout, const float* gc_last, const float* whh, const float* whr,
                      const float* acts, const float* cs, const float* tcs, const float* c0,
                      const PlstmShape& s, int64_t b, float* dgates, float* dhs, float* dh0,
                      float* dc0) {
  const int64_t nh = s.h, ng = 4 * s.h, np = s.p;
  std::vector<float> dh(static_cast<size_t>(np), 0.0f), dc(static_cast<size_t>(nh), 0.0f),
      dr(static_cast<size_t>(nh));
  if (gc_last != nullptr) std::copy(gc_last + b * nh, gc_last + (b + 1) * nh, dc.begin());
  for (int64_t t = s.t - 1; t >= 0; --t) {
    const int64_t row = t * s.b + b, prev = row - s.b;
    const float* c_prev = t == 0 ? c0 + b * nh : cs + prev * nh;
    const float* a = acts + row * ng;
    const float* tc = tcs + row * nh;
    float* dh_t = dhs + row * np;
    for (int64_t q = 0; q < np; ++q) dh_t[q] = gout[row * np + q] + dh[q];
    std::fill(dr.begin(), dr.end(), 0.0f);  // the gradient of sigmoid(o) tanh(c_t)
    for (int64_t q = 0; q < np; ++q) {
      const float d = dh_t[q];
      const float* w = whr + q * nh;
      for (int64_t k = 0; k < nh; ++k) dr[k] += d * w[k];
    }
    float* dg = dgates + row * ng;
    for (int64_t k = 0; k < nh; ++k) {
      const float i = a[k], f = a[nh + k], z = a[2 * nh + k], o = a[3 * nh + k];
      const float dct = dc[k] + dr[k] * o * (1.0f - tc[k] * tc[k]);
      dg[k] = dct * z * i * (1.0f - i);
      dg[nh + k] = dct * c_prev[k] * f * (1.0f - f);
      dg[2 * nh + k] = dct * i * (1.0f - z * z);
      dg[3 * nh + k] = dr[k] * tc[k] * o * (1.0f - o);
      dc[k] = dct * f;
    }
    std::fill(dh.begin(), dh.end(), 0.0f);  // to h_{t-1}, through w_hh
    for (int64_t m = 0; m < ng; ++m) {
      const float d = dg[m];
      const float* w = whh + m * np;
      for (int64_t q = 0; q < np; ++q) dh[q] += d * w[q];
    }
  }
  std::copy(dh.begin(), dh.end(), dh0 + b * np);
  std::copy(dc.begin(), dc.end(), dc0 + b * nh);
}

struct ProjectedLstmFunction : public torch::autograd::Function<ProjectedLstmFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& x, const at::Tensor& w_ih,
                                                const at::Tensor& w_hh, const at::Tensor& b_ih,
                                                const at::Tensor& b_hh, const at::Tensor& w_hr,
                                                const at::Tensor& h0, const at::Tensor& c0) {
    const PlstmShape s{x.size(0), x.size(1), w_hr.size(1), w_hr.size(0)};
    const at::Tensor gx =
        at::linear(x.reshape({s.t * s.b, x.size(2)}), w_ih, b_ih + b_hh).contiguous();
    const at::Tensor whh_t = w_hh.t().contiguous();
    at::Tensor acts = at::empty({s.t, s.b, 4 * s.h}, x.options());
    at::Tensor cs = at::empty({s.t, s.b, s.h}, x.options()), tcs = at::empty_like(cs);
    at::Tensor out = at::empty({s.t, s.b, s.p}, x.options());
    const float *gxp = gx.data_ptr<float>(), *wp = whh_t.data_ptr<float>(),
                *rp = w_hr.data_ptr<float>(), *h0p = h0.data_ptr<float>(),
                *c0p = c0.data_ptr<float>();
    float *ap = acts.data_ptr<float>(), *cp = cs.data_ptr<float>(), *tp = tcs.data_ptr<float>(),
          *op = out.data_ptr<float>();
    at::parallel_for(0, s.b, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        PlstmForwardRow(gxp, wp, rp, h0p, c0p, s, b, ap, cp, tp, op);
      }
    });
    ctx->save_for_backward({x, w_ih, w_hh, w_hr, h0, c0, acts, cs, tcs, out});
    return {out, cs[s.t - 1].clone()};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w_ih = saved[1], &w_hh = saved[2], &w_hr = saved[3],
                     &h0 = saved[4], &c0 = saved[5], &acts = saved[6], &cs = saved[7],
                     &tcs = saved[8], &out = saved[9];
    const PlstmShape s{x.size(0), x.size(1), w_hr.size(1), w_hr.size(0)};
    const at::Tensor gout = grads[0].defined() ? grads[0].contiguous() : at::zeros_like(out);
    const at::Tensor gc_last = grads[1].defined() ? grads[1].contiguous() : at::Tensor();
    at::Tensor dgates = at::empty_like(acts), dhs = at::empty_like(out);
    at::Tensor dh0 = at::empty_like(h0), dc0 = at::empty_like(c0);
    const float *gp = gout.data_ptr<float>(),
                *gcp = gc_last.defined() ? gc_last.data_ptr<float>() : nullptr,
                *wp = w_hh.data_ptr<float>(), *rp = w_hr.data_ptr<float>(),
                *ap = acts.data_ptr<float>(), *cp = cs.data_ptr<float>(),
                *tp = tcs.data_ptr<float>(), *c0p = c0.data_ptr<float>();
    float *dgp = dgates.data_ptr<float>(), *dhp = dhs.data_ptr<float>(),
          *dh0p = dh0.data_ptr<float>(), *dc0p = dc0.data_ptr<float>();
    at::parallel_for(0, s.b, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        PlstmBackwardRow(gp, gcp, wp, rp, ap, cp, tp, c0p, s, b, dgp, dhp, dh0p, dc0p);
      }
    });
    // The weights' gradients, summed over steps and windows as products.
    const int64_t rows = s.t * s.b;
    const at::Tensor dg = dgates.view({rows, 4 * s.h});
    const at::Tensor h_prev =
        at::cat({h0.unsqueeze(0), out.narrow(0, 0, s.t - 1)}).reshape({rows, s.p});
    const at::Tensor r = (acts.narrow(2, 3 * s.h, s.h) * tcs).reshape({rows, s.h});
    const at::Tensor db = dg.sum(0);
    return {dg.mm(w_ih).view(x.sizes()),
            dg.t().mm(x.reshape({rows, x.size(2)})),
            dg.t().mm(h_prev),
            db,
            db,
            dhs.view({rows, s.p}).t().mm(r),
            dh0,
            dc0};
  }
};

}  // namespace

std::tuple<at::Tensor, at::Tensor> ProjectedLstmLayer(
    const at::Tensor& x, const at::Tensor& w_ih, const at::Tensor& w_hh, const at::Tensor& b_ih,
    const at::Tensor& b_hh, const at::Tensor& w_hr, const at::Tensor& h0, const at::Tensor& c0) {
  const int64_t hidden = w_hr.dim() == 2 ? w_hr.size(1) : -1,
                proj = w_hr.dim() == 2 ? w_hr.size(0) : -1;
  TORCH_CHECK(x.dim() == 3 && x.size(0) > 0 && w_ih.dim() == 2 && w_ih.size(0) == 4 * hidden &&
                  w_ih.size(1) == x.size(2) && w_hh.dim() == 2 && w_hh.size(0) == 4 * hidden &&
                  w_hh.size(1) == proj && b_ih.sizes() == at::IntArrayRef{4 * hidden} &&
                  b_hh.sizes() == at::IntArrayRef{4 * hidden} &&
                  h0.sizes() == at::IntArrayRef({x.size(1), proj}) &&
                  c0.sizes() == at::IntArrayRef({x.size(1), hidden}),
              "projected LSTM layer: expected x [T, B, C], w_ih [4H, C], w_hh [4H, P], b_ih and "
              "b_hh [4H], w_hr [P, H], h0 [B, P] and c0 [B, H], got ",
              x.sizes(), ", ", w_ih.sizes(), ", ", w_hh.sizes(), ", ", b_ih.sizes(), ", ",
              b_hh.sizes(), ", ", w_hr.sizes(), ", ", h0.sizes(), " and ", c0.sizes());
  bool fast = true;
  for (const at::Tensor* t : {&x, &w_ih, &w_hh, &b_ih, &b_hh, &w_hr, &h0, &c0}) {
    fast = fast && t->is_cpu() && t->scalar_type() == at::kFloat;
  }
  if (!fast) return ProjectedLstmComposed(x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0);
  auto out = ProjectedLstmFunction::apply(x.contiguous(), w_ih.contiguous(), w_hh.contiguous(),
                                          b_ih.contiguous(), b_hh.contiguous(), w_hr.contiguous(),
                                          h0.contiguous(), c0.contiguous());
  return {out[0], out[1]};
}

at::Tensor MexicanHatWavelets(const at::Tensor& x, const at::Tensor& t, const at::Tensor& s,
                              const at::Tensor& w) {
  TORCH_CHECK(x.dim() == 2 && t.dim() == 2 && t.sizes() == s.sizes() && t.sizes() == w.sizes() &&
                  x.size(1) == t.size(1),
              "mexican-hat wavelets: expected x [B, L] and t, s, w [h, L], got ", x.sizes(), ", ",
              t.sizes(), ", ", s.sizes(), ", ", w.sizes());
  TORCH_CHECK(x.is_cpu() && x.scalar_type() == at::kFloat && t.scalar_type() == at::kFloat &&
                  s.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat,
              "mexican-hat wavelets: float CPU tensors only");
  return MexicanHatFunction::apply(x, t, s, w);
}

}  // namespace drc::dl
