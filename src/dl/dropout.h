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

// Dropout of x [B, L, C] where NF drops the same values laid out as [B, C, L] (a Conv1d's
// output, or its transpose back): NF's masks fall on x's elements as they do in NF's layout. The
// counter-based masks do not need it (then simply Dropout).
at::Tensor ChannelsFirstDropout(const at::Tensor& x, double p, bool training);

// Dropout of x, the part [start, start + x.size(dim)) along `dim` of a tensor of sizes `whole`
// that NF drops whole (where a model computes only the steps it needs): with NF's masks it draws
// the whole mask, as NF's contiguous tensor, and applies its part, so that the draws stay NF's.
// Otherwise Dropout(x).
at::Tensor PartDropout(const at::Tensor& x, at::IntArrayRef whole, int64_t dim, int64_t start,
                       double p, bool training);

// While one is alive on a thread (and `on`), Dropout, AddDropout and the two above draw their
// masks as NF's training does: as torch 2.x's CPU dropout in NF 3.3, bernoulli_(1 - p) into a
// tensor of x's layout, from libtorch's default CPU generator (two 32-bit draws per element,
// serially; libtorch 1.13's bernoulli_ gives the same masks from the same generator state).
// Slower than the counter-based masks; the trainer uses it for TrainOptions::nf_dropout.
class NfDropoutMasks {
 public:
  explicit NfDropoutMasks(bool on = true);
  ~NfDropoutMasks();
  NfDropoutMasks(const NfDropoutMasks&) = delete;
  NfDropoutMasks& operator=(const NfDropoutMasks&) = delete;

 private:
  bool saved_;
};

// src + Dropout(x) (times 1) or src + Dropout(Dropout(x)) (times 2), the same p, in one pass
// forward and one backward: the same masks (seeds drawn in the same order) and the same bits as
// the composition. Falls back to the composition off the CPU, for p = 1, other dtypes or
// shapes that differ (broadcasting).
at::Tensor AddDropout(const at::Tensor& src, const at::Tensor& x, double p, int times,
                      bool training);

}  // namespace drc::dl
