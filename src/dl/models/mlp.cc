// MLP (NeuralForecast's MLP): num_layers fully connected ReLU layers of hidden_size units on the
// input window, then a linear layer to the horizon. NF defaults: num_layers 2, hidden_size 1024;
// Adam lr 1e-3 without LR decay, 1024 windows per step, identity scaler. Exogenous variables
// are flattened after the input window, as NF's: [y (L) | hist (L x X) | futr ((L + H) x F) |
// stat (S)], each time-major. With Q outputs per step (MQLoss), the last layer gives H * Q,
// read as [B, H, Q], as NF's.
#include <torch/nn/modules/linear.h>

#include <vector>

#include "src/dl/model.h"

namespace drc::dl {
namespace {

class Mlp final : public ForecastModel {
 public:
  Mlp(const ModelConfig& c, int num_layers, int hidden_size)
      : hist_(c.hist_exog),
        futr_(c.futr_exog),
        stat_(c.stat_exog),
        horizon_(c.horizon),
        outputs_(c.outputs) {
    int in = c.input_size + c.hist_exog * c.input_size + c.futr_exog * (c.input_size + c.horizon) +
             c.stat_exog;
    for (int i = 0; i < num_layers; ++i) {
      layers_.push_back(
          register_module("mlp" + std::to_string(i), torch::nn::Linear(in, hidden_size)));
      in = hidden_size;
    }
    out_ = register_module("out", torch::nn::Linear(in, c.horizon * c.outputs));
  }

  // No dropout, no statistics over the batch.
  RepeatedDraws Repeats() const override { return RepeatedDraws::kMerge; }
  // Windows in parts measured slower here (1024-wide GEMMs already split well over cores).
  WindowParallelism WindowParallel() const override { return WindowParallelism::kAllowed; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    auto x = batch.insample_y;
    const int64_t b = x.size(0);
    x = WithFlatExog(x, batch, hist_, futr_, stat_);
    for (auto& layer : layers_) x = torch::relu(layer->forward(x));
    auto out = out_->forward(x);
    return outputs_ == 1 ? out : out.view({b, horizon_, outputs_});
  }

 private:
  int hist_, futr_, stat_;
  int64_t horizon_, outputs_;
  std::vector<torch::nn::Linear> layers_;
  torch::nn::Linear out_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeMlp(const ModelConfig& config) {
  Params p("MLP", config.params);
  const int num_layers = p.TakeInt("num_layers", 2);
  const int hidden_size = p.TakeInt("hidden_size", 1024);
  DRC_RETURN_NOT_OK(p.Finish());
  if (num_layers < 1 || hidden_size < 1) {
    return Status::InvalidArgument("MLP: num_layers and hidden_size must be >= 1, got ", num_layers,
                                   " and ", hidden_size);
  }
  return std::shared_ptr<ForecastModel>(std::make_shared<Mlp>(config, num_layers, hidden_size));
}

}  // namespace

Status RegisterMlpModels(ModelRegistry& registry) {
  TrainDefaults d{.num_lr_decays = -1};
  d.ReadAllExog();
  return registry.Register("MLP", MakeMlp, d);
}

}  // namespace drc::dl
