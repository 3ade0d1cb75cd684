// The linear baselines of Zeng et al. ("Are transformers effective for time series
// forecasting?", AAAI 2023), as NeuralForecast's DLinear and NLinear:
//   DLinear  the input window splits into a trend, its moving average over moving_avg_window
//            points (odd; the window padded at each end with its first and last values), and
//            the rest; one linear layer maps each to the horizon, and the forecast is their sum.
//   NLinear  the window less its last value goes through one linear layer, and the last value
//            is added back.
// NF defaults for both: Adam lr 1e-4 without LR decay, 32 series and 1024 windows per step,
// identity scaler; DLinear's moving_avg_window 25. Neither reads exogenous variables (NF's do
// not). With Q outputs per step (MQLoss, DistributionLoss), each layer gives H * Q, read as
// [B, H, Q], as NF's.
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/linear.h>

#include "src/dl/model.h"

namespace drc::dl {
namespace {

// What the two share: the horizon and the outputs per step, and the view of a layer's output.
class LinearBaseline : public ForecastModel {
 public:
  explicit LinearBaseline(const ModelConfig& c) : horizon_(c.horizon), outputs_(c.outputs) {}

  // No dropout, no statistics over the batch.
  RepeatedDraws Repeats() const override { return RepeatedDraws::kMerge; }

 protected:
  torch::nn::Linear Layer(const std::string& name, const ModelConfig& c) {
    return register_module(name, torch::nn::Linear(c.input_size, c.horizon * c.outputs));
  }
  torch::Tensor PerStep(const torch::Tensor& out) const {
    return outputs_ == 1 ? out : out.view({out.size(0), horizon_, outputs_});
  }

 private:
  int64_t horizon_, outputs_;
};

class DLinear final : public LinearBaseline {
 public:
  DLinear(const ModelConfig& c, int moving_avg_window)
      : LinearBaseline(c),
        window_(moving_avg_window),
        trend_(Layer("linear_trend", c)),
        season_(Layer("linear_season", c)) {}

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor& x = batch.insample_y;  // [B, L]
    const int64_t pad = (window_ - 1) / 2;
    const torch::Tensor padded = torch::cat(
        {x.narrow(1, 0, 1).expand({-1, pad}), x, x.narrow(1, x.size(1) - 1, 1).expand({-1, pad})},
        1);
    const torch::Tensor trend =
        torch::nn::functional::avg_pool1d(
            padded.unsqueeze(1), torch::nn::functional::AvgPool1dFuncOptions(window_).stride(1))
            .squeeze(1);
    return PerStep(trend_->forward(trend) + season_->forward(x - trend));
  }

 private:
  int64_t window_;
  torch::nn::Linear trend_, season_;
};

class NLinear final : public LinearBaseline {
 public:
  explicit NLinear(const ModelConfig& c) : LinearBaseline(c), linear_(Layer("linear", c)) {}

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor& x = batch.insample_y;  // [B, L]
    const torch::Tensor last = x.narrow(1, x.size(1) - 1, 1);
    torch::Tensor out = linear_->forward(x - last);
    // The last value is added to every output of every step, as NF's (before its reshape).
    return PerStep(out + last);
  }

 private:
  torch::nn::Linear linear_;
};

Result<std::shared_ptr<ForecastModel>> MakeDLinear(const ModelConfig& config) {
  Params p("DLinear", config.params);
  const int window = p.TakeInt("moving_avg_window", 25);
  DRC_RETURN_NOT_OK(p.Finish());
  if (window < 1 || window % 2 == 0) {
    return Status::InvalidArgument("DLinear: moving_avg_window must be odd and >= 1, got ", window);
  }
  return std::shared_ptr<ForecastModel>(std::make_shared<DLinear>(config, window));
}

Result<std::shared_ptr<ForecastModel>> MakeNLinear(const ModelConfig& config) {
  Params p("NLinear", config.params);
  DRC_RETURN_NOT_OK(p.Finish());
  return std::shared_ptr<ForecastModel>(std::make_shared<NLinear>(config));
}

}  // namespace

Status RegisterLinearModels(ModelRegistry& registry) {
  const TrainDefaults d{.learning_rate = 1e-4, .num_lr_decays = -1};
  DRC_RETURN_NOT_OK(registry.Register("DLinear", MakeDLinear, d));
  return registry.Register("NLinear", MakeNLinear, d);
}

}  // namespace drc::dl
