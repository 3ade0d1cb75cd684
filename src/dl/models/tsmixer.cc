// TSMixer, the all-MLP multivariate forecaster (Chen et al., "TSMixer: An All-MLP Architecture
// for Time Series Forecasting", 2023), as NeuralForecast 3.3's TSMixer, layer for layer. It is
// multivariate (TrainDefaults::multivariate): a window holds every series over the same L steps,
// [W, L, N], and the model mixes along time and across series.
//   - RevIN over each series' window (NF's RevINMultivariate: mean and population std over the
//     L steps plus 1e-5, an affine weight and bias per series), undone on the output.
//   - n_block mixing layers, each a time mixing (BatchNorm1d over the N * L values, Linear(L, L),
//     ReLU, dropout, residual) then a feature mixing (BatchNorm1d over the L * N values,
//     Linear(N, ff_dim), ReLU, dropout, Linear(ff_dim, N), dropout, residual).
//   - A Linear(L, h) per series maps the mixed window to the horizon.
//
// NF defaults: n_block 2, ff_dim 64, dropout 0.9, revin on; Adam lr 1e-3 without LR decays, 32
// windows per step, the identity scaler. The batch norms use NF's eps 1e-3 and momentum 0.01.
// Their statistics run over the batch, so every draw is computed (as NF). NF's series order in a
// training window is its data loader's epoch order (windows.h), which the feature mixing reads
// position by position, as NF's does. Point losses only for now (one output per step):
// MQLoss and DistributionLoss are refused with that reason.
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <string>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/model.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "TSMixer";

struct TsMixerOptions {
  int n_block = 2;
  int ff_dim = 64;
  double dropout = 0.9;
  bool revin = true;
};

torch::nn::BatchNorm1d NfBatchNorm(int64_t features) {
  return torch::nn::BatchNorm1d(torch::nn::BatchNorm1dOptions(features).eps(1e-3).momentum(0.01));
}

class TsMixer final : public ForecastModel {
 public:
  TsMixer(const ModelConfig& c, const TsMixerOptions& o)
      : input_size_(c.input_size),
        horizon_(c.horizon),
        n_series_(c.n_series),
        dropout_(o.dropout),
        revin_(o.revin) {
    const int64_t L = input_size_, N = n_series_;
    if (revin_) {
      affine_weight_ = register_parameter("norm_affine_weight", torch::ones({1, 1, N}));
      affine_bias_ = register_parameter("norm_affine_bias", torch::zeros({1, 1, N}));
    }
    // Built in NF's order, so that a seed gives NF's initial weights.
    for (int i = 0; i < o.n_block; ++i) {
      const std::string at = "mixing_layers_" + std::to_string(i) + "_";
      Block b;
      b.temporal_norm = register_module(at + "temporal_norm", NfBatchNorm(N * L));
      b.temporal_lin = register_module(at + "temporal_lin", torch::nn::Linear(L, L));
      b.feature_norm = register_module(at + "feature_norm", NfBatchNorm(N * L));
      b.feature_lin_1 = register_module(at + "feature_lin_1", torch::nn::Linear(N, o.ff_dim));
      b.feature_lin_2 = register_module(at + "feature_lin_2", torch::nn::Linear(o.ff_dim, N));
      blocks_.push_back(b);
    }
    out_ = register_module("out", torch::nn::Linear(L, horizon_));
  }

  RepeatedDraws Repeats() const override { return RepeatedDraws::kCompute; }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kNone; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    torch::Tensor x = MultivariateWindows(kName, batch.insample_y, n_series_, input_size_);
    const int64_t W = x.size(0), L = input_size_, N = n_series_;
    const bool training = is_training();
    x = x.permute({0, 2, 1});  // [W, L, N]
    torch::Tensor mean, std;
    if (revin_) {
      mean = x.mean(1, /*keepdim=*/true).detach();
      std = torch::sqrt(x.var(1, /*unbiased=*/false, /*keepdim=*/true) + 1e-5).detach();
      x = (x - mean) / std * affine_weight_ + affine_bias_;
    }
    for (Block& b : blocks_) {
      // Time mixing: [W, L, N] -> [W, N, L] for the norm and the Linear over L, then back.
      torch::Tensor t = b.temporal_norm->forward(x.permute({0, 2, 1}).reshape({W, N * L}));
      t = torch::relu(Dense(b.temporal_lin, t.view({W, N, L}))).permute({0, 2, 1});
      x = Dropout(t, dropout_, training) + x;
      // Feature mixing over the series: [W, L, N] -> [W, L, ff_dim] -> [W, L, N].
      torch::Tensor f = b.feature_norm->forward(x.reshape({W, L * N})).view({W, L, N});
      f = Dropout(torch::relu(Dense(b.feature_lin_1, f)), dropout_, training);
      x = Dropout(Dense(b.feature_lin_2, f), dropout_, training) + x;
    }
    torch::Tensor z = Dense(out_, x.permute({0, 2, 1}));  // [W, N, H]
    if (revin_) {
      const torch::Tensor m = mean.permute({0, 2, 1}), s = std.permute({0, 2, 1});  // [W, N, 1]
      z = (z - affine_bias_.view({1, N, 1})) / affine_weight_.view({1, N, 1}) * s + m;
    }
    return z.reshape({W * N, horizon_});
  }

 private:
  struct Block {
    torch::nn::BatchNorm1d temporal_norm{nullptr}, feature_norm{nullptr};
    torch::nn::Linear temporal_lin{nullptr}, feature_lin_1{nullptr}, feature_lin_2{nullptr};
  };
  int64_t input_size_, horizon_, n_series_;
  double dropout_;
  bool revin_;
  torch::Tensor affine_weight_, affine_bias_;
  std::vector<Block> blocks_;
  torch::nn::Linear out_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeTsMixer(const ModelConfig& config) {
  Params p(kName, config.params);
  TsMixerOptions o;
  o.n_block = p.TakeInt("n_block", o.n_block);
  o.ff_dim = p.TakeInt("ff_dim", o.ff_dim);
  o.dropout = p.Take("dropout", o.dropout);
  const double revin = p.Take("revin", 1);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "n_block", o.n_block, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "ff_dim", o.ff_dim, 1));
  DRC_RETURN_NOT_OK(CheckRate(kName, "dropout", o.dropout));
  DRC_RETURN_NOT_OK(CheckFlag(kName, "revin", revin));
  o.revin = revin == 1;
  DRC_RETURN_NOT_OK(CheckMultivariateConfig(kName, config));
  return std::shared_ptr<ForecastModel>(std::make_shared<TsMixer>(config, o));
}

}  // namespace

Status RegisterTsMixerModels(ModelRegistry& registry) {
  return registry.Register(kName, MakeTsMixer, MultivariateTrainDefaults());
}

}  // namespace drc::dl
