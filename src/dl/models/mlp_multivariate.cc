// MLPMultivariate (NeuralForecast 3.3's MLPMultivariate): the MLP on a multivariate window
// (TrainDefaults::multivariate). The L values of all N series are flattened step by step,
// [W, L, N] -> [W, L * N], pass num_layers fully connected ReLU layers of hidden_size units, and
// a linear layer gives the H * N forecasts, read as [W, H, N]. Exogenous variables are flattened
// after the window, as NF's: the historic ones as [X, L, N], the future ones as [F, L + H, N],
// the static ones as [N, S]. NF defaults: num_layers 2, hidden_size 1024; Adam lr 1e-3 without LR
// decays, 32 windows per step, the identity scaler. Categorical variables arrive embedded
// (categorical.h), as NF's. With Q outputs per step (MQLoss, a DistributionLoss) the last layer
// gives h * N * Q, read as NF's loss reads them (MixedSeriesOutputs).
#include <torch/nn/modules/linear.h>

#include <memory>
#include <string>
#include <vector>

#include "src/dl/fast_ops.h"
#include "src/dl/model.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "MLPMultivariate";

class MlpMultivariate final : public ForecastModel {
 public:
  MlpMultivariate(const ModelConfig& c, int num_layers, int hidden_size)
      : input_size_(c.input_size),
        horizon_(c.horizon),
        n_series_(c.n_series),
        outputs_(c.outputs),
        series_major_(c.series_major_outputs),
        hist_(c.hist_exog),
        futr_(c.futr_exog),
        stat_(c.stat_exog) {
    int64_t in = static_cast<int64_t>(c.n_series) *
                 (c.input_size * (1 + hist_) + futr_ * (c.input_size + c.horizon) + stat_);
    for (int i = 0; i < num_layers; ++i) {
      layers_.push_back(
          register_module("mlp" + std::to_string(i), torch::nn::Linear(in, hidden_size)));
      in = hidden_size;
    }
    out_ = register_module(
        "out", torch::nn::Linear(in, static_cast<int64_t>(c.horizon) * c.n_series * c.outputs));
  }

  // The rows of a window are its series, which the trainer keeps together.
  RepeatedDraws Repeats() const override { return RepeatedDraws::kCompute; }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kNone; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor y = MultivariateWindows(kName, batch.insample_y, n_series_, input_size_);
    const int64_t W = y.size(0);
    std::vector<torch::Tensor> parts = {y.permute({0, 2, 1}).reshape({W, -1})};  // [W, L * N]
    // A window's rows [N, T, C] -> NF's [C, T, N], flattened.
    auto flat = [&](const torch::Tensor& v) {
      return v.view({W, n_series_, v.size(1), v.size(2)}).permute({0, 3, 2, 1}).reshape({W, -1});
    };
    if (hist_ > 0) parts.push_back(flat(batch.hist_exog));
    if (futr_ > 0) parts.push_back(flat(batch.futr_exog));
    if (stat_ > 0) {  // one row per series, the same in every window: [N * S]
      parts.push_back(batch.stat_exog.view({W, -1}).narrow(0, 0, 1).expand({W, -1}));
    }
    torch::Tensor x = parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
    for (auto& layer : layers_) x = torch::relu(Dense(layer, x));
    // [W, H * N * Q] read as [W, H, N * Q] -> a row per series.
    const torch::Tensor z = Dense(out_, x).view({W, horizon_, -1});
    return MultivariateRows(MixedSeriesOutputs(z, n_series_, outputs_, series_major_), horizon_,
                            outputs_);
  }

 private:
  int64_t input_size_, horizon_, n_series_, outputs_;
  bool series_major_;
  int hist_, futr_, stat_;
  std::vector<torch::nn::Linear> layers_;
  torch::nn::Linear out_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeMlpMultivariate(const ModelConfig& config) {
  Params p(kName, config.params);
  const int num_layers = p.TakeInt("num_layers", 2);
  const int hidden_size = p.TakeInt("hidden_size", 1024);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "num_layers", num_layers, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "hidden_size", hidden_size, 1));
  DRC_RETURN_NOT_OK(CheckMultivariateConfig(kName, config));
  return std::shared_ptr<ForecastModel>(
      std::make_shared<MlpMultivariate>(config, num_layers, hidden_size));
}

}  // namespace

Status RegisterMlpMultivariateModels(ModelRegistry& registry) {
  TrainDefaults d = MultivariateTrainDefaults();
  d.ReadAllExog();
  return registry.Register(kName, MakeMlpMultivariate, d);
}

}  // namespace drc::dl
