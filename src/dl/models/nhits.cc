// NHITS (NeuralForecast's NHITS, Challu et al. 2023): NBEATS-style stacks whose blocks see the
// input max-pooled (kernel n_pool_kernel_size, ceil mode) and emit max(H / n_freq_downsample, 1)
// knots that are linearly interpolated to the horizon. NF defaults: 3 identity stacks of 1 block,
// n_pool_kernel_size [2, 2, 1], n_freq_downsample [4, 2, 1], mlp_units 3 x [512, 512], MaxPool,
// linear interpolation; Adam lr 1e-3 with 3 StepLR decays, 1024 windows per step, identity scaler.
// Exogenous variables, as NF's: each block pools the historic ([B, L, X]) and future
// ([B, L + H, F]) ones over time as it pools y and reads [y | hist | futr | stat] flattened.
// With Q outputs per step (MQLoss), a block emits Q rows of knots ([B, Q, K], as NF's), each
// interpolated to the horizon: [B, H, Q].
#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <vector>

#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/models/residual_stack.h"

namespace drc::dl {
namespace {

namespace F = torch::nn::functional;

class NHitsBlock final : public torch::nn::Module {
 public:
  NHitsBlock(const ModelConfig& c, int pool, int downsample, int units, int layers)
      : input_size_(c.input_size), horizon_(c.horizon), outputs_(c.outputs), pool_(pool) {
    const int pooled = (c.input_size + pool - 1) / pool;
    const int pooled_futr = (c.input_size + c.horizon + pool - 1) / pool;
    const int knots = std::max(c.horizon / downsample, 1);
    const int in = pooled + c.hist_exog * pooled + c.futr_exog * pooled_futr + c.stat_exog;
    first_ = register_module("in", torch::nn::Linear(in, units));
    for (int i = 0; i < layers; ++i) {
      hidden_.push_back(
          register_module("hidden" + std::to_string(i), torch::nn::Linear(units, units)));
    }
    out_ = register_module("theta", torch::nn::Linear(units, c.input_size + c.outputs * knots));
  }

  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& residuals,
                                                  const WindowBatch& batch) {
    const auto pool = F::MaxPool1dFuncOptions(pool_).stride(pool_).ceil_mode(true);
    auto x = F::max_pool1d(residuals.unsqueeze(1), pool).squeeze(1);
    const int64_t b = x.size(0);
    std::vector<torch::Tensor> parts = {x};
    // [B, T, C] -> pooled over T, flattened time-major.
    for (const auto* exog : {&batch.hist_exog, &batch.futr_exog}) {
      if (exog->defined()) {
        parts.push_back(
            F::max_pool1d(exog->permute({0, 2, 1}), pool).permute({0, 2, 1}).reshape({b, -1}));
      }
    }
    if (batch.stat_exog.defined()) parts.push_back(batch.stat_exog.reshape({b, -1}));
    if (parts.size() > 1) x = torch::cat(parts, 1);
    x = Dense(first_, x);
    for (auto& layer : hidden_) x = torch::relu(Dense(layer, x));
    auto theta = Dense(out_, x);
    auto backcast = theta.slice(1, 0, input_size_);
    auto knots = theta.slice(1, input_size_).reshape({b, outputs_, -1});  // [B, Q, K], as NF's
    auto forecast = F::interpolate(knots, F::InterpolateFuncOptions()
                                              .size(std::vector<int64_t>{horizon_})
                                              .mode(torch::kLinear)
                                              .align_corners(false));  // [B, Q, H]
    return {backcast, outputs_ == 1 ? forecast.squeeze(1) : forecast.permute({0, 2, 1})};
  }

 private:
  int input_size_, horizon_, outputs_, pool_;
  torch::nn::Linear first_{nullptr}, out_{nullptr};
  std::vector<torch::nn::Linear> hidden_;
};

class NHits final : public ForecastModel {
 public:
  NHits(const ModelConfig& c, int n_blocks, int units, int layers)
      : horizon_(c.horizon), outputs_(c.outputs) {
    const int pools[] = {2, 2, 1};
    const int downsample[] = {4, 2, 1};
    int i = 0;
    for (int s = 0; s < 3; ++s) {
      for (int b = 0; b < n_blocks; ++b) {
        blocks_.push_back(register_module(
            "block" + std::to_string(i++),
            std::make_shared<NHitsBlock>(c, pools[s], downsample[s], units, layers)));
      }
    }
  }

  // No dropout, no statistics over the batch.
  RepeatedDraws Repeats() const override { return RepeatedDraws::kMerge; }
  // Windows in parts measured slower here (1024-wide GEMMs already split well over cores).
  WindowParallelism WindowParallel() const override { return WindowParallelism::kAllowed; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    return ResidualStackForecast(batch, horizon_, outputs_, blocks_);
  }

 private:
  int64_t horizon_, outputs_;
  std::vector<std::shared_ptr<NHitsBlock>> blocks_;
};

Result<std::shared_ptr<ForecastModel>> MakeNHits(const ModelConfig& config) {
  Params p("NHITS", config.params);
  const int n_blocks = p.TakeInt("n_blocks", 1);
  const int units = p.TakeInt("mlp_units", 512);
  const int layers = p.TakeInt("mlp_layers", 3);
  DRC_RETURN_NOT_OK(p.Finish());
  if (n_blocks < 1 || units < 1 || layers < 1) {
    return Status::InvalidArgument("NHITS: n_blocks, mlp_units and mlp_layers must be >= 1");
  }
  return std::shared_ptr<ForecastModel>(std::make_shared<NHits>(config, n_blocks, units, layers));
}

}  // namespace

Status RegisterNHitsModels(ModelRegistry& registry) {
  TrainDefaults d;
  d.ReadAllExog();
  return registry.Register("NHITS", MakeNHits, d);
}

}  // namespace drc::dl
