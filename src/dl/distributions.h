// The likelihoods of NeuralForecast's distribution losses (losses/pytorch.py in NF 3.x):
// DistributionLoss's Normal and StudentT (DeepAR's two), Poisson and NegativeBinomial (for
// counts) and Tweedie, and the mixtures GMM (of Normals), PMM (of Poissons) and NBMM (of
// NegativeBinomials), with NF's maps from a network's raw outputs to the distribution's domain,
// the masked negative log-likelihood NF trains on, the mean and sampling. libtorch's C++ API has
// no torch.distributions, so the densities and samplers are written out here, as
// torch.distributions (and NF's Tweedie) computes them.
//
// NF's parameter maps ("scale_decouple"), given the window's scaler statistics (shift, scale);
// without them, shift 0 and scale 1:
//   Normal           raw (mu, s)    -> loc = mu * scale + shift,
//                                      scale = (softplus(s) + 0.2) * scale
//   StudentT         raw (d, mu, s) -> df = 3 + softplus(d), loc = mu * scale + shift,
//                                      scale = (softplus(s) + 0.1) * scale
//   Poisson          raw (r)        -> rate = softplus(r * scale + shift) + 1e-10
//   NegativeBinomial raw (m, a)     -> mu = (softplus(m) + 1e-8) * scale + shift,
//                                      alpha = (softplus(a) + 1e-8) / (scale + 1),
//                                      total_count = 1 / alpha,
//                                      logits = log(mu * alpha)
//                    (NF's probs are mu alpha / (1 + mu alpha) + 1e-8: the same p = sigmoid(logits)
//                    but for the 1e-8, which in float32 makes p reach 1, and NF fail, for large
//                    mu alpha)
//   Tweedie          raw (m)        -> log_mu = clamp(clamp(softplus(m), 1e-9, 37) + log(shift),
//                                      1e-9, 37): the mean exp(log_mu) is at least 1, and at
//                                      least the window's shift (NF's; with shift 0, as the
//                                      identity scaler's, log_mu is 1e-9 whatever the network
//                                      gives, and NF's Tweedie cannot learn: so neither can ours)
// The mixtures of K components take K raw outputs per component parameter, stacked parameter by
// parameter ([p1 of the K components, p2 of the K, ..., weights]: NF's tensor_split), and with
// `weighted` K more whose softmax are the components' weights (otherwise 1/K each):
//   GMM   (mu, s)  -> as Normal's
//   PMM   (r)      -> rate = softplus(r * scale + shift) + 1e-3
//   NBMM  (m, a)   -> mu = (softplus(m) + 1e-8) * shift, alpha = (softplus(a) + 1e-8) /
//                     (shift + 1), total_count = 1 / alpha, logits = the logit of NF's probs
//                     mu alpha / (1 + mu alpha) + 1e-8 clamped to [eps, 1 - eps], as torch's
//                     NegativeBinomial clamps them (NF's NBMM anchors mu at the shift, not at
//                     shift and scale as NegativeBinomial does)
// ISQF (NF's Incremental Spline Quantile Function, from GluonTS; Park et al. 2022) is a
// distribution given by its quantile function: Q knots at the levels x_1 < ... < x_Q (the
// loss's quantiles, sorted), a monotone piecewise-linear spline of n pieces between each two
// knots, and exponential tails beyond x_1 and x_Q. Its raw outputs, per point, are
// (Q - 1) n knot spacings and (Q - 1) n height spacings (softmax'd per spline, each plus 1e-4
// then renormalized), the tails' beta_l and beta_r (softplus + 1e-4) and Q knot outputs whose
// first is the lowest knot's height and the others (softplus + 1e-4) its increments:
//   ISQF  raw (kx, ky, bl, br, q) -> (kx, ky, softplus(bl) + 1e-4, softplus(br) + 1e-4,
//                                     cumsum(q_1, softplus(q_2..Q) + 1e-4))
// Its "log-likelihood" is NF's: -softplus(CRPS(y)), the CRPS in closed form, evaluated in float64
// (NF's float32 one goes negative for extreme parameters, which a fit can exploit); fitted, as
// Normal, in the scaled units (NF's AffineTransform(loc, scale) adds log(scale) to -log p).
// A mixture's log-likelihood is log sum_k w_k p_k(y), point by point (NF's default, without
// batch or horizon correlation), its mean sum_k w_k mean_k, and a draw picks a component by the
// weights and draws from it (torch's MixtureSameFamily).
// Parameters travel stacked on the last axis in that order: [..., P].
//
// Normal, StudentT and GMM are location-scale families: their -log p in the series' units is the
// scaled one's plus log(scale), so the trainer fits them in the scaled units (no shift, no
// scale). The others are not: they are fitted, as NF fits them, in the series' units
// (in_series_units()).
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

// For a mixture, the family of its components.
enum class DistributionKind { kStudentT, kNormal, kPoisson, kNegativeBinomial, kTweedie, kIsqf };

struct LikelihoodOptions {
  double rho = 1.5;       // Tweedie's variance power, 1 < rho < 2 (NF's `rho`)
  int components = 1;     // a mixture's K >= 1 (NF's n_components)
  bool weighted = false;  // whether a mixture's weights are outputs (NF's `weighted`)
  // ISQF's quantile knots' levels (ascending, in (0, 1), at least 2; NF's: the loss's
  // quantiles, sorted) and its spline pieces between two knots (NF's num_pieces).
  std::vector<double> knots = {};
  int pieces = 5;
};

class Likelihood {
 public:
  // "StudentT", "Normal", "Poisson", "NegativeBinomial", "Tweedie" or "ISQF" (DistributionLoss's),
  // or the mixture "GMM", "PMM" or "NBMM" (NF's loss names); InvalidArgument lists them otherwise,
  // or says which option is out of its range.
  static Result<Likelihood> Make(const std::string& name, const LikelihoodOptions& options = {});

  DistributionKind kind() const { return kind_; }
  bool mixture() const { return mixture_; }
  const LikelihoodOptions& options() const { return options_; }
  const std::string& name() const;
  // The parameters' names: {"loc", "scale"}, {"df", "loc", "scale"}, {"rate"},
  // {"total_count", "logits"} or {"log_mu"} (torch.distributions' constructor arguments; NF's
  // names); ISQF's "spline_knot_1", ..., "spline_height_1", ..., "beta_l", "beta_r",
  // "quantile_knot_1", ... (NF's); a mixture's "mu-1", ..., "mu-K", "std-1", ... (GMM), "lambda-k"
  // (PMM) or "total_count-k", "logits-k" (NBMM), then "weight-k" when weighted.
  std::vector<std::string> param_names() const;
  int num_params() const;

  // Whether the distribution is fitted in the series' units (all but Normal, StudentT, GMM and
  // ISQF) rather than the scaled ones; see above.
  bool in_series_units() const {
    return kind_ != DistributionKind::kNormal && kind_ != DistributionKind::kStudentT &&
           kind_ != DistributionKind::kIsqf;
  }

  // For the location-scale families (Normal, StudentT, GMM), which of the parameters are
  // locations and which scales: the distribution of a + b X has locations a + b l and scales
  // |b| s (what RevIN's inverse map does to a forecast's distribution). Empty for the others
  // (ISQF's affine image with b < 0 is no ISQF of the same knots).
  std::vector<int> LocationParams() const;
  std::vector<int> ScaleParams() const;

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
  // total_count * exp(logits), i.e. mu; Tweedie's exp(log_mu); ISQF's the integral of its
  // quantile function over (0, 1), in closed form, where NF's takes the mean of 1000 draws).
  torch::Tensor Mean(const torch::Tensor& params) const;
  // One draw per parameter set: params [..., P] -> [...]. StudentT draws loc + scale * Z /
  // sqrt(V / df) with Z standard normal and V ~ chi2(df) = 2 * Gamma(df / 2, 1);
  // NegativeBinomial, as torch's, Poisson(G * exp(logits)) with G ~ Gamma(total_count, 1);
  // Tweedie, as NF's, Gamma(N * alpha, rate beta) with N ~ Poisson(lambda) + 1e-5 (so that N = 0
  // gives a draw near 0, not 0), lambda = mu^(2 - rho) / (2 - rho), alpha = (2 - rho) / (rho - 1),
  // beta = mu^(1 - rho) / (rho - 1). ISQF draws its quantile function at a uniform level.
  // `generator` is a CPU generator: for parameters on a GPU, Z and V are drawn on the host and
  // copied over, so a seeded forecast draws the same numbers on either device.
  torch::Tensor Sample(const torch::Tensor& params,
                       c10::optional<at::Generator> generator = c10::nullopt) const;
  // ISQF's quantile function at levels alpha in (0, 1): params [..., P], alpha [...] -> [...]
  // (what its draws are at uniform levels); a c10::Error for the other likelihoods.
  torch::Tensor Quantile(const torch::Tensor& params, const torch::Tensor& alpha) const;
  // NF's DistributionLoss.sample quantiles: `samples` draws per parameter set, then the
  // empirical quantiles at levels q (in [0, 1]), interpolated linearly as torch.quantile does:
  // params [..., P], q [Q] -> [..., Q].
  torch::Tensor SampleQuantiles(const torch::Tensor& params, const torch::Tensor& q,
                                int64_t samples,
                                c10::optional<at::Generator> generator = c10::nullopt) const;

 private:
  Likelihood(DistributionKind kind, bool mixture, const LikelihoodOptions& options)
      : kind_(kind), mixture_(mixture), options_(options) {}
  // Throws a c10::Error naming the likelihood unless params is [..., P].
  void CheckParams(const torch::Tensor& params) const;
  // A mixture's components: the family's likelihood, and the parameters [..., P] as
  // [..., K, p] of it; its weights [..., K].
  Likelihood Component() const;
  torch::Tensor ComponentParams(const torch::Tensor& params) const;
  torch::Tensor Weights(const torch::Tensor& params) const;

  DistributionKind kind_;
  bool mixture_ = false;
  LikelihoodOptions options_;
};

}  // namespace drc::dl
