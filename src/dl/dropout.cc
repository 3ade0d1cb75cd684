#include "src/dl/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/bernoulli.h>
#include <ATen/ops/div.h>
#include <ATen/ops/dropout.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <vector>

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
// kTimes masks (seeds[0], then seeds[1], ...) are applied one after the other, each product
// rounded, and with kAdd the result is added to add[i]: the same bits as kTimes separate passes
// and an addition (fp-contract is off here, so no fused multiply-add joins them).
// Compiled for x86-64-v4 (AVX-512 with 64-bit vector multiplies), AVX2 and the baseline.
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
template <typename T, int kTimes, bool kAdd>
[[gnu::always_inline]] inline void MaskedScale(const T* __restrict in, const T* __restrict add,
                                               T* __restrict out, int64_t begin, int64_t end,
                                               int64_t n, const uint64_t* seeds, uint64_t threshold,
                                               T scale) {
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  uint64_t seed[kTimes];
  for (int t = 0; t < kTimes; ++t) seed[t] = seeds[t];
  const int64_t pairs = std::min(end, n / 2);  // a branch-free loop over whole pairs vectorizes
  for (int64_t j = begin; j < pairs; ++j) {
    T lo = in[2 * j], hi = in[2 * j + 1];
    for (int t = 0; t < kTimes; ++t) {
      const uint64_t r = SplitMix64(seed[t] + static_cast<uint64_t>(j) * kGolden);
      lo = lo * ((r & 0xffffffffULL) < threshold ? scale : T(0));
      hi = hi * ((r >> 32) < threshold ? scale : T(0));
    }
    out[2 * j] = kAdd ? add[2 * j] + lo : lo;
    out[2 * j + 1] = kAdd ? add[2 * j + 1] + hi : hi;
  }
  if (end > pairs && n % 2 == 1) {  // the last, unpaired element
    T last = in[n - 1];
    for (int t = 0; t < kTimes; ++t) {
      const uint64_t r = SplitMix64(seed[t] + static_cast<uint64_t>(n / 2) * kGolden);
      last = last * ((r & 0xffffffffULL) < threshold ? scale : T(0));
    }
    out[n - 1] = kAdd ? add[n - 1] + last : last;
  }
}

#define DRC_MASKED_SCALE(T, kTimes, kAdd, Name)                                         \
  __attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void Name(        \
      const T* in, const T* add, T* out, int64_t begin, int64_t end, int64_t n,         \
      const uint64_t* seeds, uint64_t threshold, T scale) {                             \
    MaskedScale<T, kTimes, kAdd>(in, add, out, begin, end, n, seeds, threshold, scale); \
  }
DRC_MASKED_SCALE(float, 1, false, MaskedScaleFloat)
DRC_MASKED_SCALE(double, 1, false, MaskedScaleDouble)
DRC_MASKED_SCALE(float, 2, false, MaskedScaleTwiceFloat)
DRC_MASKED_SCALE(double, 2, false, MaskedScaleTwiceDouble)
DRC_MASKED_SCALE(float, 1, true, AddMaskedFloat)
DRC_MASKED_SCALE(double, 1, true, AddMaskedDouble)
DRC_MASKED_SCALE(float, 2, true, AddMaskedTwiceFloat)
DRC_MASKED_SCALE(double, 2, true, AddMaskedTwiceDouble)
#undef DRC_MASKED_SCALE
#pragma GCC pop_options

// A new tensor: x (any layout) times the masks of `seeds` (1 or 2, applied in order), plus
// `add` (same shape and dtype) when it is defined.
at::Tensor ApplyMasks(const at::Tensor& x_in, const at::Tensor& add_in,
                      const std::vector<uint64_t>& seeds, double keep) {
  const at::Tensor x = x_in.contiguous();
  const at::Tensor add = add_in.defined() ? add_in.contiguous() : add_in;
  at::Tensor out = at::empty(x.sizes(), x.options());
  const int64_t n = x.numel();
  const auto threshold = static_cast<uint64_t>(std::ldexp(keep, 32));
  const bool twice = seeds.size() == 2, with_add = add.defined();
  TORCH_CHECK(seeds.size() == 1 || twice, "dropout: 1 or 2 masks, got ", seeds.size());
  at::parallel_for(0, (n + 1) / 2, 1 << 14, [&](int64_t begin, int64_t end) {
    switch (x.scalar_type()) {
      case at::kFloat: {
        const auto kernel = with_add ? (twice ? AddMaskedTwiceFloat : AddMaskedFloat)
                                     : (twice ? MaskedScaleTwiceFloat : MaskedScaleFloat);
        kernel(x.data_ptr<float>(), with_add ? add.data_ptr<float>() : nullptr,
               out.data_ptr<float>(), begin, end, n, seeds.data(), threshold,
               static_cast<float>(1.0 / keep));
        break;
      }
      case at::kDouble: {
        const auto kernel = with_add ? (twice ? AddMaskedTwiceDouble : AddMaskedDouble)
                                     : (twice ? MaskedScaleTwiceDouble : MaskedScaleDouble);
        kernel(x.data_ptr<double>(), with_add ? add.data_ptr<double>() : nullptr,
               out.data_ptr<double>(), begin, end, n, seeds.data(), threshold, 1.0 / keep);
        break;
      }
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
    return ApplyMasks(x, {}, {seed}, keep);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    return {ApplyMasks(grads[0], {}, {seed}, ctx->saved_data["keep"].toDouble()), at::Tensor()};
  }
};

// src + Dropout applied `times` (1 or 2) times to x, in one pass each way.
struct AddDropoutFunction : public torch::autograd::Function<AddDropoutFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& src,
                            const at::Tensor& x, double keep, int64_t times) {
    std::vector<uint64_t> seeds;
    for (int64_t t = 0; t < times; ++t) seeds.push_back(DrawSeed());  // as successive Dropouts
    std::vector<int64_t> saved(seeds.begin(), seeds.end());
    ctx->saved_data["seeds"] = saved;
    ctx->saved_data["keep"] = keep;
    return ApplyMasks(x, src, seeds, keep);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    // The gradient passes the masks in reverse order, as the separate Dropouts' backward would.
    const std::vector<int64_t> saved = ctx->saved_data["seeds"].toIntVector();
    const std::vector<uint64_t> seeds(saved.rbegin(), saved.rend());
    at::Tensor g_x;
    if (ctx->needs_input_grad(1)) {
      g_x = ApplyMasks(grads[0], {}, seeds, ctx->saved_data["keep"].toDouble());
    }
    return {grads[0], g_x, at::Tensor(), at::Tensor()};
  }
};

thread_local bool t_nf_masks = false;

// torch 2.x's CPU dropout noise (_dropout_impl), which NF 3.3 draws: `noise` (uninitialized, of
// the layout NF's tensor has) filled with bernoulli(1 - p) / (1 - p); p < 1.
at::Tensor NfNoise(at::Tensor noise, double p) {
  noise.bernoulli_(1 - p);
  noise.div_(1 - p);
  return noise;
}

// torch 2.x's CPU dropout: the noise has x's memory layout. libtorch 1.13's at::dropout makes it
// contiguous, which puts the same draws on other elements when x is not (a transposed
// embedding, say).
at::Tensor NfDropout(const at::Tensor& x, double p) {
  if (p == 1) return x * at::zeros({}, x.options());
  return x * NfNoise(at::empty_like(x), p);
}

}  // namespace

NfDropoutMasks::NfDropoutMasks(bool on) : saved_(t_nf_masks) { t_nf_masks = t_nf_masks || on; }

NfDropoutMasks::~NfDropoutMasks() { t_nf_masks = saved_; }

at::Tensor Dropout(const at::Tensor& x, double p, bool training) {
  TORCH_CHECK(p >= 0 && p <= 1, "dropout probability must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  if (!x.device().is_cpu()) return at::dropout(x, p, training);  // CUDA has its own kernel
  if (t_nf_masks) return NfDropout(x, p);
  if (p == 1) return x * at::zeros_like(x);  // keeps the graph, as torch::dropout
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
              "dropout: unsupported dtype ", x.scalar_type());
  return DropoutFunction::apply(x, 1 - p);
}

at::Tensor ChannelsFirstDropout(const at::Tensor& x, double p, bool training) {
  if (!t_nf_masks || !training || p == 0 || x.dim() != 3) return Dropout(x, p, training);
  return Dropout(x.transpose(1, 2).contiguous(), p, training).transpose(1, 2);
}

at::Tensor PartDropout(const at::Tensor& x, at::IntArrayRef whole, int64_t dim, int64_t start,
                       double p, bool training) {
  if (!t_nf_masks || !training || p == 0 || !x.device().is_cpu()) return Dropout(x, p, training);
  if (p == 1) return x * at::zeros({}, x.options());
  return x * NfNoise(at::empty(whole, x.options()), p).narrow(dim, start, x.size(dim));
}

at::Tensor AddDropout(const at::Tensor& src, const at::Tensor& x, double p, int times,
                      bool training) {
  TORCH_CHECK(times == 1 || times == 2, "AddDropout: 1 or 2 dropouts, got ", times);
  TORCH_CHECK(p >= 0 && p <= 1, "dropout probability must be in [0, 1], got ", p);
  if (!training || p == 0) return src + x;
  if (!x.device().is_cpu() || t_nf_masks || p == 1 || src.sizes() != x.sizes() ||
      src.scalar_type() != x.scalar_type() ||
      (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble)) {
    at::Tensor y = x;
    for (int t = 0; t < times; ++t) y = Dropout(y, p, training);
    return src + y;
  }
  return AddDropoutFunction::apply(src, x, 1 - p, times);
}

}  // namespace drc::dl
