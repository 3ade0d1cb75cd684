#include "src/dl/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/ops/dropout.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros_like.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>

// at::parallel_for's OpenMP region is compiled in this file (ATen/ParallelOpenMP.h): without
// -fopenmp it runs on one thread, silently (src/dl/CMakeLists.txt sets the flag).
#ifndef _OPENMP
#error "compile with OpenMP (-fopenmp): at::parallel_for below would run on one thread"
#endif

namespace drc::dl {
namespace {

inline uint64_t SplitMix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t DrawSeed() {
  auto* gen = at::check_generator<at::CPUGeneratorImpl>(at::detail::getDefaultCPUGenerator());
  std::lock_guard<std::mutex> lock(gen->mutex_);
  return gen->random64();
}

// out[i] = in[i] * (keep_i ? 1 / keep : 0), where keep_i comes from splitmix64 of (seed, i / 2):
// two 32-bit uniforms per 64-bit draw; element i keeps when its uniform < keep * 2^32. The same
// call masks the input in forward and the gradient in backward (the mask is never stored).
// Compiled for x86-64-v4 (AVX-512 with 64-bit vector multiplies), AVX2 and the baseline.
template <typename T>
inline void MaskedScale(const T* __restrict in, T* __restrict out, int64_t begin, int64_t end,
                        int64_t n, uint64_t seed, uint64_t threshold, T scale) {
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  const int64_t pairs = std::min(end, n / 2);  // a branch-free loop over whole pairs vectorizes
  for (int64_t j = begin; j < pairs; ++j) {
    const uint64_t r = SplitMix64(seed + static_cast<uint64_t>(j) * kGolden);
    out[2 * j] = in[2 * j] * ((r & 0xffffffffULL) < threshold ? scale : T(0));
    out[2 * j + 1] = in[2 * j + 1] * ((r >> 32) < threshold ? scale : T(0));
  }
  if (end > pairs && n % 2 == 1) {  // the last, unpaired element
    const uint64_t r = SplitMix64(seed + static_cast<uint64_t>(n / 2) * kGolden);
    out[n - 1] = in[n - 1] * ((r & 0xffffffffULL) < threshold ? scale : T(0));
  }
}

__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void MaskedScaleFloat(
    const float* in, float* out, int64_t begin, int64_t end, int64_t n, uint64_t seed,
    uint64_t threshold, float scale) {
  MaskedScale(in, out, begin, end, n, seed, threshold, scale);
}

__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void MaskedScaleDouble(
    const double* in, double* out, int64_t begin, int64_t end, int64_t n, uint64_t seed,
    uint64_t threshold, double scale) {
  MaskedScale(in, out, begin, end, n, seed, threshold, scale);
}

// A new tensor: x (any layout) times the mask of `seed`.
at::Tensor ApplyMask(const at::Tensor& x_in, uint64_t seed, double keep) {
  const at::Tensor x = x_in.contiguous();
  at::Tensor out = at::empty(x.sizes(), x.options());
  const int64_t n = x.numel();
  const auto threshold = static_cast<uint64_t>(std::ldexp(keep, 32));
  at::parallel_for(0, (n + 1) / 2, 1 << 14, [&](int64_t begin, int64_t end) {
    switch (x.scalar_type()) {
      case at::kFloat:
        MaskedScaleFloat(x.data_ptr<float>(), out.data_ptr<float>(), begin, end, n, seed, threshold,
                         static_cast<float>(1.0 / keep));
        break;
      case at::kDouble:
        MaskedScaleDouble(x.data_ptr<double>(), out.data_ptr<double>(), begin, end, n, seed,
                          threshold, 1.0 / keep);
        break;
      default: TORCH_CHECK(false, "dropout: unsupported dtype ", x.scalar_type());
    }
  });
  return out;
}

struct DropoutFunction : public torch::autograd::Function<DropoutFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            double keep) {
    const uint64_t seed = DrawSeed();
    // The seed's 64 bits travel as an int64 (IValue has no unsigned integers).
    ctx->saved_data["seed"] = static_cast<int64_t>(seed);
    ctx->saved_data["keep"] = keep;
    return ApplyMask(x, seed, keep);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    return {ApplyMask(grads[0], seed, ctx->saved_data["keep"].toDouble()), at::Tensor()};
  }
};

}  // namespace

at::Tensor Dropout(const at::Tensor& x, double p, bool training) {
  TORCH_CHECK(p >= 0 && p <= 1, "dropout probability must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  if (!x.device().is_cpu()) return at::dropout(x, p, training);  // CUDA has its own kernel
  if (p == 1) return x * at::zeros_like(x);  // keeps the graph, as torch::dropout
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
              "dropout: unsupported dtype ", x.scalar_type());
  return DropoutFunction::apply(x, 1 - p);
}

}  // namespace drc::dl
