// Dropout with a counter-based mask (internal to the dl layer).
//
// libtorch 1.13's CPU dropout draws one Mersenne-Twister number per element, serially
// (bernoulli_): on PatchTST's default shapes that was 55 ms of a 145 ms training step. Here the
// mask comes from splitmix64 of (seed, element index), computed over intra-op threads; the seed
// is one draw from libtorch's default CPU generator, so torch::manual_seed and checkpointed
// generator state keep runs reproducible (with any thread count). The mask is never stored:
// forward scales the input by it in one pass and backward regenerates it from the seed to scale
// the gradient (vectorized for AVX-512 and AVX2). Semantics are
// torch::dropout's: in training, each element is zeroed with probability p and the others are
// scaled by 1 / (1 - p); p = 1 gives zeros; outside training, or with p = 0, x is returned.
#pragma once

#include <ATen/core/Tensor.h>

namespace drc::dl {

at::Tensor Dropout(const at::Tensor& x, double p, bool training);

// src + Dropout(x) (times 1) or src + Dropout(Dropout(x)) (times 2), the same p, in one pass
// forward and one backward: the same masks (seeds drawn in the same order) and the same bits as
// the composition. Falls back to the composition off the CPU, for p = 1, other dtypes or
// shapes that differ (broadcasting).
at::Tensor AddDropout(const at::Tensor& src, const at::Tensor& x, double p, int times,
                      bool training);

}  // namespace drc::dl
