#include "src/dl/fast_ops.h"

#include <ATen/Parallel.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cstdint>
#include <vector>

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

}  // namespace

at::Tensor Dense(torch::nn::Linear& linear, const at::Tensor& x) {
  if (x.dim() <= 2) return linear->forward(x);
  std::vector<int64_t> sizes(x.sizes().begin(), x.sizes().end());
  at::Tensor y = linear->forward(x.reshape({-1, sizes.back()}));
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

}  // namespace drc::dl
