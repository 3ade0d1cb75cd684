// NeuralForecast's point losses (neuralforecast.losses.pytorch), chosen by name for a point
// model's training and validation (drc forecast --loss, MODEL.loss): MAE (the default), MSE,
// RMSE, MAPE, SMAPE, HuberLoss(delta = 1) and QuantileLoss(q). Each is NF's weighted mean of a
// per-point term over the points with nonzero weight (the availability mask times a window's
// draws), RMSE the root of MSE's. Training computes it on the scaled windows, validation in
// the series' units, as NF's training_step and valid_loss do. Internal to src/dl.
#pragma once

#include <torch/types.h>

#include <string>

#include "drc/common/result.h"

namespace drc::dl {

struct PointLoss {
  enum Kind { kMae, kMse, kRmse, kMape, kSmape, kHuber, kQuantile };
  Kind kind = kMae;
  double parameter = 0;  // HuberLoss's delta, QuantileLoss's q
  // As written: "MAE", "HuberLoss(0.5)", "QuantileLoss(0.9)".
  std::string Name() const;
  // Whether the loss is a mean of per-point terms (all but RMSE): a batch's loss is then the
  // weight-weighted average of its parts' (window-parallel steps, ranks' validation sums).
  bool IsMean() const { return kind != kRmse; }
};

// "MAE", "MSE", "RMSE", "MAPE", "SMAPE", "HuberLoss" or "HuberLoss(DELTA)" (DELTA > 0),
// "QuantileLoss(Q)" (0 < Q < 1); InvalidArgument lists them.
Result<PointLoss> ParsePointLoss(const std::string& text);

// The per-point terms of the loss for targets y and forecasts y_hat (same shape).
torch::Tensor PointLossTerms(const PointLoss& loss, const torch::Tensor& y,
                             const torch::Tensor& y_hat);
// NF's reduction of `terms` with `weights` (same shape): the weighted mean over the points with
// nonzero weight (0 when there are none), the root of it for RMSE. `weights` undefined: all 1.
torch::Tensor ReducePointLoss(const PointLoss& loss, const torch::Tensor& terms,
                              const torch::Tensor& weights);
// The two: the loss of a batch.
torch::Tensor ComputePointLoss(const PointLoss& loss, const torch::Tensor& y,
                               const torch::Tensor& y_hat, const torch::Tensor& weights);

}  // namespace drc::dl
