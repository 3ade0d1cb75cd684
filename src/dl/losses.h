// NeuralForecast's point losses (neuralforecast.losses.pytorch), chosen by name for a point
// model's training and validation (drc forecast --loss, MODEL.loss): MAE (the default), MSE,
// RMSE, MAPE, SMAPE, MASE(seasonality), HuberLoss(delta = 1), FreDF(alpha = 0.5), QuantileLoss(q),
// HuberQLoss(q, delta = 1), MQLoss
// (level = [80, 90], or quantiles), HuberMQLoss (the same and delta = 1), the implicit quantile
// losses IQLoss and HuberIQLoss, and DistributionLoss (Normal, StudentT, Poisson,
// NegativeBinomial, Tweedie or ISQF, level = [80, 90], or quantiles) and the mixtures. Each is NF's
// weighted mean of a per-point term over the points with nonzero weight (the availability mask
// times a window's draws), RMSE the root of MSE's; MQLoss's term is the mean over its quantiles of
// QuantileLoss's (NF 3.3's is their sum: its 1 / len(quantiles) divides by the first dimension,
// 1, of a [1, 1, 1, Q] tensor; a constant factor that Adam and early stopping ignore), its
// weights broadcast over the quantiles as NF's, so that the mean is over the points only,
// HuberMQLoss's the same with each side of the pinball term passed through the Huber function
// (NF's huber_loss(q * max(y - y_hat, 0), 0, delta) + huber_loss((1 - q) * max(y_hat - y, 0), 0,
// delta)); DistributionLoss's (Normal, StudentT, Poisson, NegativeBinomial, Tweedie, ISQF) and
// the mixtures' (GMM, PMM, NBMM) the negative log-likelihood of the point under the distribution
// whose raw parameters the model gives (distributions.h). Training computes it on the scaled
// windows (all but Normal, StudentT, GMM and ISQF in the series' units, as NF's), validation in the
// series' units, as NF's training_step and valid_loss do. Internal to src/dl.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "drc/common/result.h"
#include "src/dl/distributions.h"

namespace drc::dl {

struct PointLoss {
  enum Kind {
    kMae,
    kMse,
    kRmse,
    kMape,
    kSmape,
    kHuber,
    kQuantile,
    kMultiQuantile,
    kHuberMultiQuantile,
    kDistribution,
    kHuberQuantile,
    kImplicitQuantile,
    kHuberImplicitQuantile,
    kMase,
    kFreDF
  };
  Kind kind = kMae;
  double parameter = 0;  // QuantileLoss's and HuberQLoss's q, FreDF's alpha
  double delta = 1;     // the Huber losses' delta (HuberLoss, HuberQLoss, HuberMQLoss, HuberIQLoss)
  int seasonality = 0;  // MASE's: the lag of the seasonal naive forecast it scales by
  // IQLoss and HuberIQLoss (NF's implicit quantile losses): the model is trained at quantiles
  // drawn per point from Beta(concentration1, concentration0) (NF's Beta(concentration0=c0,
  // concentration1=c1): torch's Beta takes concentration1 as its alpha), which an IQN head of
  // cos_embedding_dim cosines feeds in (implicit_quantile.h).
  int cos_embedding_dim = 64;
  double concentration0 = 1, concentration1 = 1;
  // MQLoss: its quantiles in the order of the model's outputs, as NF's: from `levels`, the
  // median, then 50 -+ L/2 % of every level L ascending; or as given (MQLoss(quantiles=...)),
  // which must include the median, the point forecast. DistributionLoss: the quantiles its
  // forecasts give by default (from `levels` as MQLoss's; as given, ascending, otherwise).
  std::vector<double> quantiles = {};
  std::vector<double> levels = {};  // level=[...], ascending; empty when quantiles given
  // DistributionLoss and the mixtures: the likelihood ("Normal", ..., "Tweedie", "ISQF", or the
  // mixture's loss name "GMM", "PMM" or "NBMM"; distributions.h) and its options (Tweedie's rho,
  // ISQF's knots (the quantiles, sorted) and num_pieces, a mixture's n_components and weighted),
  // how many draws its quantiles are taken from (NF's num_samples), and the seed of those draws
  // (the run's, set by Trainer::Make; NF samples from its global generator).
  std::string distribution = {};
  LikelihoodOptions distribution_options = {};
  int num_samples = 1000;
  uint64_t sampling_seed = 1;
  // As written: "MAE", "HuberLoss(0.5)", "QuantileLoss(0.9)", "MQLoss(level=[80, 90])",
  // "DistributionLoss(StudentT, level=[80, 90])", "DistributionLoss(Tweedie, rho=1.5,
  // level=[80, 90])", "GMM(n_components=3, weighted=True, level=[80, 90])", "HuberQLoss(0.9,
  // delta=1)", "IQLoss", "HuberIQLoss(cos_embedding_dim=32, delta=0.5)".
  std::string Name() const;
  // How many outputs per horizon step the model gives (NF's outputsize_multiplier): the
  // number of MQLoss's quantiles, DistributionLoss's parameters (Poisson and Tweedie 1,
  // Normal and NegativeBinomial 2, StudentT 3; a mixture's per component times n_components,
  // with one more per component when weighted), else 1.
  int Outputs() const;
  // MQLoss or HuberMQLoss: one output per quantile.
  bool multi_quantile() const { return kind == kMultiQuantile || kind == kHuberMultiQuantile; }
  bool is_distribution() const { return kind == kDistribution; }
  // IQLoss or HuberIQLoss: a model of quantiles it is given (implicit_quantile.h).
  bool implicit_quantile() const {
    return kind == kImplicitQuantile || kind == kHuberImplicitQuantile;
  }
  // A DistributionLoss's likelihood (distributions.h); only for is_distribution().
  Likelihood likelihood() const;
  // Whether NF's loss reads a multivariate model's N * Q outputs of a step as N groups of Q
  // (MQLoss, HuberMQLoss, the mixtures and ISQF reshape them so) rather than Q groups of N (the
  // other distributions split them so): ModelConfig::series_major_outputs.
  bool series_major_outputs() const;
  // Whether the model's forecasts come with quantiles of their own (MQLoss, DistributionLoss,
  // IQLoss; the last at any level asked, none by default, as NF's).
  bool gives_quantiles() const {
    return multi_quantile() || is_distribution() || implicit_quantile();
  }
  // Which of those outputs is the point forecast: MQLoss's median, else 0 (DistributionLoss's
  // point forecast is its distribution's mean, not an output).
  int PointOutput() const;
  // Whether the loss is a mean of per-point terms (all but RMSE and FreDF): a batch's loss is
  // then the weight-weighted average of its parts' (window-parallel steps, ranks' validation
  // sums).
  bool IsMean() const { return kind != kRmse && kind != kFreDF; }
};

// "MAE", "MSE", "RMSE", "MAPE", "SMAPE", "HuberLoss" or "HuberLoss(DELTA)" (DELTA > 0),
// "MASE(M)" or "MASE(seasonality=M)" (M a whole number >= 1; NF's has no default),
// "QuantileLoss(Q)" (0 < Q < 1), "HuberQLoss(Q)" or "HuberQLoss(Q, delta=D)" (or q=Q; NF's
// default delta 1), "IQLoss" and "HuberIQLoss", bare or with NF's keyword arguments
// cos_embedding_dim=N (default 64), concentration0=C and concentration1=C (> 0, default 1) and
// HuberIQLoss's delta=D, "MQLoss" (NF's default level [80, 90]),
// "MQLoss(level=[L, ...])" (0 < L < 100) or "MQLoss(quantiles=[Q, ...])" (0 < Q < 1, 0.5 among
// them), "HuberMQLoss" with the same arguments and delta=D (D > 0, default 1), e.g.
// "HuberMQLoss(level=[80], delta=0.5)"; "DistributionLoss(D)" with D Normal, StudentT, Poisson,
// NegativeBinomial, Tweedie or ISQF (quoted or not, or distribution=D; Tweedie needs rho=R,
// 1 < R < 2, as NF's; ISQF takes num_pieces=N, default 5, and at least 2 quantiles), then
// optionally level=[L, ...] or quantiles=[Q, ...] and num_samples=N, as NF's keyword arguments;
// "GMM", "PMM" or "NBMM", bare or with n_components=K (NF's defaults: 1, 10 and 1),
// weighted=True|False, level, quantiles and num_samples (batch_correlation and horizon_correlation
// only False: not built); repeated levels or quantiles count once, as NF's. InvalidArgument lists
// them.
Result<PointLoss> ParsePointLoss(const std::string& text);

// The per-point terms of the loss for targets y and forecasts y_hat (same shape; for MQLoss,
// y_hat has a last axis more, one entry per quantile, and the terms y's shape; for
// DistributionLoss, one entry per raw distribution parameter, and the terms are -log p(y)).
// IQLoss's and HuberIQLoss's are those of the median forecast (their validation: see
// implicit_quantile.h; training gives each point its own quantile, QuantileTerms). MASE's are
// NF's |y - y_hat| / s with s per window the mean |x_t - x_(t - M)| over its input `insample`
// [B, L] (0 where s is 0), which MASE needs (an std::invalid_argument without it or with
// L <= M); the other losses ignore it.
torch::Tensor PointLossTerms(const PointLoss& loss, const torch::Tensor& y,
                             const torch::Tensor& y_hat, const torch::Tensor& insample = {});
// NF's FreDF(alpha): (1 - alpha) times MSE's weighted mean over the points plus alpha times the
// mean over the windows (weighted by `window_weights` [B], e.g. their draw counts; undefined: 1
// each) of each window's mean over its frequency bins (and series) of |rfft(y) - rfft(y_hat)|
// along the horizon (axis 1). As in NF the frequency term ignores the availability mask, but a
// point at zero weight counts with y = 0 (NF's padding holds 0 there), so that a missing value
// does not spread.
torch::Tensor FreDFLoss(const PointLoss& loss, const torch::Tensor& y, const torch::Tensor& y_hat,
                        const torch::Tensor& weights, const torch::Tensor& window_weights = {});
// FreDF's frequency term per window: [B] from y and y_hat [B, H] or [B, H, N].
torch::Tensor FrequencyTerms(const torch::Tensor& y, const torch::Tensor& y_hat);
// NF's reduction of `terms` with `weights` (same shape): the weighted mean over the points with
// nonzero weight (0 when there are none), the root of it for RMSE. `weights` undefined: all 1.
torch::Tensor ReducePointLoss(const PointLoss& loss, const torch::Tensor& terms,
                              const torch::Tensor& weights);
// The pinball terms of quantiles `q` (a tensor that broadcasts against y) for y and y_hat:
// NF's QuantileLoss's q * max(y - y_hat, 0) + (1 - q) * max(y_hat - y, 0) with delta <= 0, else
// HuberQLoss's q * huber(max(y - y_hat, 0)) + (1 - q) * huber(max(y_hat - y, 0)) with that delta.
torch::Tensor QuantileTerms(const torch::Tensor& y, const torch::Tensor& y_hat,
                            const torch::Tensor& q, double delta);
// The two: the loss of a batch.
torch::Tensor ComputePointLoss(const PointLoss& loss, const torch::Tensor& y,
                               const torch::Tensor& y_hat, const torch::Tensor& weights,
                               const torch::Tensor& insample = {});

}  // namespace drc::dl
