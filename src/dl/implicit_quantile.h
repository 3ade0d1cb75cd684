// NeuralForecast's implicit quantile losses, IQLoss and HuberIQLoss (Gouttes et al. 2021,
// "Probabilistic Time Series Forecasting with Implicit Quantile Networks"): a point model is
// trained to forecast any quantile it is given. Its output y passes through NF's IQN head
// (IQLoss.domain_map): the quantile tau is embedded by cos(pi * k * tau), k = 0 .. D - 1, then
// Linear(D, D), PReLU, Linear(D, 1) give e, and the forecast is PReLU(Linear(1, 1)(y * (1 + e))).
// In training every point of every window gets its own tau, drawn from the loss's Beta
// distribution (uniform by default), and its pinball term (HuberIQLoss: its Huber pinball term)
// is taken at that tau. The head's parameters train with the model's, as NF's loss module's do.
//
// Forecasts: the point forecast is the head at tau = 0.5 (NF's predict() without levels). The
// quantiles asked (levels) are NF's: the head at 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9,
// 0.95, 0.99, and the requested quantiles of those 11 values (numpy's linear interpolation), so
// that they are monotone. Validation (early stopping) takes the pinball loss of the median
// forecast; NF's draws fresh quantiles for its validation windows, a noisier measure.
//
// The trainer draws a step's quantiles for the whole batch before the step runs (PrepareStep,
// WindowBatch::quantiles), so a step may run in window-parallel parts, each with its windows'
// draws.
//
// Differences from NF kept on purpose: under the revin scaler the head sits outside RevIN's
// affine map (ours: on the scaled windows) where NF's sits inside it; a window drawn c times in
// a step shares one draw of tau per point when such draws are merged (RepeatedDraws), so the
// copies do not each get their own. Internal to src/dl.
#pragma once

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <memory>

#include "src/dl/losses.h"
#include "src/dl/model.h"

namespace drc::dl {

class ImplicitQuantileModel final : public ForecastModel {
 public:
  // `inner` must give one output per horizon step ([B, H]); `loss` is IQLoss or HuberIQLoss.
  ImplicitQuantileModel(std::shared_ptr<ForecastModel> inner, const PointLoss& loss);

  // The forecast at tau = 0.5.
  torch::Tensor Forward(const WindowBatch& batch) override;
  // The weighted mean pinball (HuberIQLoss: Huber pinball) loss at the batch's quantiles (drawn
  // here when PrepareStep did not draw them).
  torch::Tensor TrainingLoss(const WindowBatch& batch, const torch::Tensor& y,
                             const torch::Tensor& mask) override;
  torch::Tensor PointForecast(const WindowBatch& batch) override { return Forward(batch); }
  // Draws the step's quantiles, one per window and horizon step (WindowBatch::quantiles).
  void PrepareStep(WindowBatch& batch, int64_t horizon) override;
  QuantileForecast Quantiles(const WindowBatch& batch, const torch::Tensor& q) override;
  void SetPointLoss(const PointLoss& loss) override;
  // A merged window's copies share one draw of tau: merged only as dropout's draws are.
  RepeatedDraws Repeats() const override;
  // The wrapped model's: the quantiles are drawn for the whole batch before a step is split.
  WindowParallelism WindowParallel() const override { return inner_->WindowParallel(); }
  bool SelectsVariables() const override { return inner_->SelectsVariables(); }
  SelectionWeights VariableSelection(const WindowBatch& batch) override {
    return inner_->VariableSelection(batch);
  }

  // The head at quantiles `tau` (y's shape) for the wrapped model's outputs `y` [B, H].
  torch::Tensor Head(const torch::Tensor& y, const torch::Tensor& tau);
  // Quantiles drawn from the loss's Beta distribution, one per entry of `like` (its shape),
  // from libtorch's default generator.
  torch::Tensor DrawQuantiles(const torch::Tensor& like) const;

 private:
  // The wrapped model's output, checked to be [B, H] for `batch`.
  torch::Tensor Inner(const WindowBatch& batch);

  std::shared_ptr<ForecastModel> inner_;
  int embedding_dim_;
  double concentration0_, concentration1_;
  torch::nn::Linear embed_{nullptr}, embed_out_{nullptr}, output_{nullptr};
  torch::nn::PReLU embed_act_{nullptr}, output_act_{nullptr};
};

}  // namespace drc::dl
