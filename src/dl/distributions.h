// The likelihoods of NeuralForecast's DistributionLoss (losses/pytorch.py in NF 3.x): Normal and
// StudentT (DeepAR's two), Poisson and NegativeBinomial (for counts), with NF's maps from a
// network's raw outputs to the distribution's domain, the masked negative log-likelihood NF
// trains on, the mean and sampling. libtorch's C++ API has no torch.distributions, so the
// densities and samplers are written out here, as torch.distributions computes them.
//
// NF's parameter maps ("scale_decouple"), given the window's scaler statistics (shift, scale);
// without them, shift 0 and scale 1:
//   Normal           raw (mu, s)    -> loc = mu * scale + shift, scale = (softplus(s) + 0.2) *
//   scale StudentT         raw (d, mu, s) -> df = 3 + softplus(d), loc = mu * scale + shift,
//                                      scale = (softplus(s) + 0.1) * scale
//   Poisson          raw (r)        -> rate = softplus(r * scale + shift) + 1e-10
//   NegativeBinomial raw (m, a)     -> mu = (softplus(m) + 1e-8) * scale + shift,
//                                      alpha = (softplus(a) + 1e-8) / (scale + 1),
//                                      total_count = 1 / alpha,
//                                      logits = log(mu * alpha)
//                    (NF's probs are mu alpha / (1 + mu alpha) + 1e-8: the same p = sigmoid(logits)
//                    but for the 1e-8, which in float32 makes p reach 1, and NF fail, for large
//                    mu alpha)
// Parameters travel stacked on the last axis in that order: [..., P] with P = 1, 2 or 3.
//
// Normal and StudentT are location-scale families: their -log p in the series' units is the
// scaled one's plus log(scale), so the trainer fits them in the scaled units (no shift, no
// scale). Poisson's and NegativeBinomial's are not: they are fitted, as NF fits them, in the
// series' units (in_series_units()).
//
// Stateless and thread-compatible; sampling draws from the generator it is given (or libtorch's
// default one when none is).
#pragma once

#include <ATen/core/Generator.h>
#include <c10/util/Optional.h>
#include <torch/types.h>

#include <string>
#include <vector>

#include "drc/common/result.h"

namespace drc::dl {

enum class DistributionKind { kStudentT, kNormal, kPoisson, kNegativeBinomial };

class Likelihood {
 public:
  // "StudentT", "Normal", "Poisson" or "NegativeBinomial" (NF's names); InvalidArgument lists
  // them otherwise.
  static Result<Likelihood> Make(const std::string& name);
  explicit Likelihood(DistributionKind kind) : kind_(kind) {}

  DistributionKind kind() const { return kind_; }
  const std::string& name() const;
  // The parameters' names: {"loc", "scale"}, {"df", "loc", "scale"}, {"rate"} or
  // {"total_count", "logits"} (torch.distributions' constructor arguments; NF's names).
  const std::vector<std::string>& param_names() const;
  int num_params() const { return static_cast<int>(param_names().size()); }

  // Whether the distribution is fitted in the series' units (Poisson, NegativeBinomial) rather
  // than the scaled ones (Normal, StudentT); see above.
  bool in_series_units() const {
    return kind_ == DistributionKind::kPoisson || kind_ == DistributionKind::kNegativeBinomial;
  }

  // Raw network outputs [..., P] -> parameters in the distribution's domain [..., P], NF's
  // scale_decouple. `shift` and `scale` (both or neither; undefined: 0 and 1) broadcast against
  // raw[..., 0], e.g. [B, 1] for raw [B, H, P].
  torch::Tensor MapParams(const torch::Tensor& raw, const torch::Tensor& shift = {},
                          const torch::Tensor& scale = {}) const;
  // log p(y | params) per point: params [..., P], y [...] -> [...].
  torch::Tensor LogProb(const torch::Tensor& params, const torch::Tensor& y) const;
  // NF's loss: sum(-log p * mask) / max(sum(mask), 1) over the points where mask != 0 (values
  // at masked points, even NaN, do not reach the result).
  torch::Tensor MaskedNll(const torch::Tensor& params, const torch::Tensor& y,
                          const torch::Tensor& mask) const;
  // The distribution's mean [...] (StudentT's df > 2 here, so its mean is loc; NegativeBinomial's
  // total_count * exp(logits), i.e. mu).
  torch::Tensor Mean(const torch::Tensor& params) const;
  // One draw per parameter set: params [..., P] -> [...]. StudentT draws loc + scale * Z /
  // sqrt(V / df) with Z standard normal and V ~ chi2(df) = 2 * Gamma(df / 2, 1);
  // NegativeBinomial, as torch's, Poisson(G * exp(logits)) with G ~ Gamma(total_count, 1).
  // `generator` is a CPU generator: for parameters on a GPU, Z and V are drawn on the host and
  // copied over, so a seeded forecast draws the same numbers on either device.
  torch::Tensor Sample(const torch::Tensor& params,
                       c10::optional<at::Generator> generator = c10::nullopt) const;
  // NF's DistributionLoss.sample quantiles: `samples` draws per parameter set, then the
  // empirical quantiles at levels q (in [0, 1]), interpolated linearly as torch.quantile does:
  // params [..., P], q [Q] -> [..., Q].
  torch::Tensor SampleQuantiles(const torch::Tensor& params, const torch::Tensor& q,
                                int64_t samples,
                                c10::optional<at::Generator> generator = c10::nullopt) const;

 private:
  // Throws a c10::Error naming the likelihood unless params is [..., P].
  void CheckParams(const torch::Tensor& params) const;

  DistributionKind kind_;
};

}  // namespace drc::dl
