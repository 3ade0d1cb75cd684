#include "src/dl/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/ops/dropout.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros_like.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <cstdint>
#include <mutex>

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

template <typename T>
void FillMask(T* mask, int64_t n, uint64_t seed, double keep) {
  // Two 32-bit uniforms per 64-bit draw; element i keeps when its uniform < keep * 2^32.
  const auto threshold = static_cast<uint64_t>(std::ldexp(keep, 32));
  const T scale = static_cast<T>(1.0 / keep);
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  at::parallel_for(0, (n + 1) / 2, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      const uint64_t r = SplitMix64(seed + static_cast<uint64_t>(j) * kGolden);
      const int64_t i = 2 * j;
      mask[i] = (r & 0xffffffffULL) < threshold ? scale : T(0);
      if (i + 1 < n) mask[i + 1] = (r >> 32) < threshold ? scale : T(0);
    }
  });
}

}  // namespace

at::Tensor Dropout(const at::Tensor& x, double p, bool training) {
  TORCH_CHECK(p >= 0 && p <= 1, "dropout probability must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  if (!x.device().is_cpu()) return at::dropout(x, p, training);  // CUDA has its own kernel
  if (p == 1) return x * at::zeros_like(x);  // keeps the graph, as torch::dropout
  at::Tensor mask = at::empty(x.sizes(), x.options().requires_grad(false));
  const uint64_t seed = DrawSeed();
  switch (x.scalar_type()) {
    case at::kFloat: FillMask(mask.data_ptr<float>(), mask.numel(), seed, 1 - p); break;
    case at::kDouble: FillMask(mask.data_ptr<double>(), mask.numel(), seed, 1 - p); break;
    default: TORCH_CHECK(false, "dropout: unsupported dtype ", x.scalar_type());
  }
  return x * mask;
}

}  // namespace drc::dl
