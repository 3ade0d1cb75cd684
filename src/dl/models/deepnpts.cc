// DeepNPTS, the deep non-parametric time series forecaster (Rangapuram et al., "Deep
// non-parametric time series forecaster", 2023), as NeuralForecast 3.3's DeepNPTS, layer for
// layer: an MLP reads the input window and the exogenous variables and gives, per horizon step,
// a weight for each of the window's L values; the forecast of the step is the softmax-weighted
// mean of those values (in the scaled space), so it always lies within the window's range.
//   - The MLP's input, as NF's: per input step [y | future variables | historic variables],
//     flattened step by step, then the static variables, then the future variables over the
//     horizon, flattened step by step.
//   - n_layers blocks of Linear, ReLU, BatchNorm1d (batch_norm) and dropout, then a Linear to
//     L * h weights, read as [L, h].
//
// NF defaults: hidden_size 32, batch_norm on, dropout 0.1, n_layers 2; Adam lr 1e-3 with 3
// StepLR decays, 1024 windows per step, standard scaler. As NF's, it takes point losses only
// (one output per step: MAE, MSE, ... and the implicit quantile losses, whose head acts on the
// output); MQLoss and DistributionLoss are refused. NF's default valid_loss is MAE whatever the
// training loss; validation here takes the training loss, as for the other point models.
// BatchNorm's statistics run over the batch, so a window drawn c times is computed c times, as
// NF does.
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

constexpr const char* kName = "DeepNPTS";

struct DeepNptsOptions {
  int hidden_size = 32;
  bool batch_norm = true;
  double dropout = 0.1;
  int n_layers = 2;
};

class DeepNpts final : public ForecastModel {
 public:
  DeepNpts(const ModelConfig& c, const DeepNptsOptions& o)
      : input_size_(c.input_size),
        horizon_(c.horizon),
        hist_(c.hist_exog),
        futr_(c.futr_exog),
        stat_(c.stat_exog),
        batch_norm_(o.batch_norm),
        dropout_(o.dropout) {
    int64_t in = static_cast<int64_t>(c.input_size) * (1 + futr_ + hist_) + stat_ +
                 static_cast<int64_t>(c.horizon) * futr_;
    // NF's nn.Sequential numbers its modules: Linear, ReLU, BatchNorm1d, Dropout per layer.
    const int per_layer = 2 + (o.batch_norm ? 1 : 0) + (o.dropout > 0 ? 1 : 0);
    for (int i = 0; i < o.n_layers; ++i) {
      linears_.push_back(register_module("deepnptsnetwork_" + std::to_string(i * per_layer),
                                         torch::nn::Linear(in, o.hidden_size)));
      if (o.batch_norm) {
        norms_.push_back(register_module("deepnptsnetwork_" + std::to_string(i * per_layer + 2),
                                         torch::nn::BatchNorm1d(o.hidden_size)));
      }
      in = o.hidden_size;
    }
    out_ = register_module("deepnptsnetwork_" + std::to_string(o.n_layers * per_layer),
                           torch::nn::Linear(in, static_cast<int64_t>(c.input_size) * c.horizon));
  }

  RepeatedDraws Repeats() const override {
    if (batch_norm_) return RepeatedDraws::kCompute;
    return dropout_ > 0 ? RepeatedDraws::kMergeSharingDropout : RepeatedDraws::kMerge;
  }
  WindowParallelism WindowParallel() const override {
    return batch_norm_ || dropout_ > 0 ? WindowParallelism::kNone : WindowParallelism::kAllowed;
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor& y = batch.insample_y;  // [B, L]
    TORCH_CHECK(y.defined() && y.dim() == 2 && y.size(1) == input_size_, kName,
                ": insample_y must be [B, ", input_size_, "], got ",
                y.defined() ? y.sizes() : torch::IntArrayRef{});
    const int64_t b = y.size(0);
    std::vector<torch::Tensor> steps;  // per input step: y, future, historic
    steps.reserve(3);
    steps.push_back(y.unsqueeze(-1));
    if (futr_ > 0) steps.push_back(batch.futr_exog.narrow(1, 0, input_size_));
    if (hist_ > 0) steps.push_back(batch.hist_exog);
    std::vector<torch::Tensor> parts;
    parts.reserve(3);
    parts.push_back(steps.size() == 1 ? y : torch::cat(steps, 2).flatten(1));
    if (stat_ > 0) parts.push_back(batch.stat_exog);
    if (futr_ > 0) parts.push_back(batch.futr_exog.narrow(1, input_size_, horizon_).flatten(1));
    torch::Tensor x = parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
    const bool training = is_training();
    for (size_t i = 0; i < linears_.size(); ++i) {
      x = torch::relu(Dense(linears_[i], x));
      if (batch_norm_) x = norms_[i]->forward(x);
      x = Dropout(x, dropout_, training);
    }
    // [B, L * H] -> [B, L, H]: a softmax over the window's steps weighs its values per horizon
    // step.
    const torch::Tensor weights = torch::softmax(Dense(out_, x).view({b, input_size_, -1}), 1);
    return (weights * y.unsqueeze(-1)).sum(1);  // [B, H]
  }

 private:
  int64_t input_size_, horizon_;
  int hist_, futr_, stat_;
  bool batch_norm_;
  double dropout_;
  std::vector<torch::nn::Linear> linears_;
  std::vector<torch::nn::BatchNorm1d> norms_;
  torch::nn::Linear out_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeDeepNpts(const ModelConfig& config) {
  Params p(kName, config.params);
  DeepNptsOptions o;
  o.hidden_size = p.TakeInt("hidden_size", o.hidden_size);
  const double batch_norm = p.Take("batch_norm", 1);
  o.dropout = p.Take("dropout", o.dropout);
  o.n_layers = p.TakeInt("n_layers", o.n_layers);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "hidden_size", o.hidden_size, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "n_layers", o.n_layers, 1));
  DRC_RETURN_NOT_OK(CheckRate(kName, "dropout", o.dropout));
  DRC_RETURN_NOT_OK(CheckFlag(kName, "batch_norm", batch_norm));
  o.batch_norm = batch_norm == 1;
  if (config.outputs != 1) {
    return Status::InvalidArgument(
        kName,
        " forecasts each step as a weighted mean of its input window's values, so it takes point "
        "losses only (MAE, MSE, ..., IQLoss), as NF's; this loss asks for ",
        config.outputs, " outputs per step");
  }
  return std::shared_ptr<ForecastModel>(std::make_shared<DeepNpts>(config, o));
}

}  // namespace

Status RegisterDeepNptsModels(ModelRegistry& registry) {
  TrainDefaults d;  // NF's BaseModel defaults: 3 LR decays, 1024 windows
  d.scaler = "standard";
  d.ReadAllExog();
  return registry.Register(kName, MakeDeepNpts, d);
}

}  // namespace drc::dl
