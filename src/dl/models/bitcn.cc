// BiTCN, the bidirectional temporal convolution network of Sprangers, Schelter and de Rijke
// ("Parameter-efficient deep probabilistic forecasting", IJF 2023), as NeuralForecast 3.3's
// BiTCN, layer for layer:
//   - A Linear maps each input step's values (y, the historic variables, the static ones and the
//     future ones over the input: exog_steps.h's EncoderSteps) to hidden_size channels, then
//     dropout.
//   - A backward-looking TCN of ceil(log2(input_size)) cells (kernel 2, dilations 1, 2, 4, ...)
//     runs over them. A cell is a dilated causal Conv1d, GELU and dropout, then a 1x1 Conv1d to
//     twice the channels: one half is added to the cell's input (the residual stream), the other
//     to a sum over the cells (the skip stream), which is the TCN's output.
//   - With future variables, a Linear maps them to hidden_size channels over input and horizon
//     (dropout), and a forward-looking TCN of ceil(log2(input_size + h)) cells (the same cells,
//     padded on the right) runs over them; its output over the input is stacked on the
//     backward TCN's as more channels, and its output over the horizon joins at the end.
//   - Dense layers across time map each channel's input steps to the horizon: Linear(input_size
//     -> hidden_size), GELU, dropout, Linear(hidden_size -> h).
//   - A Linear maps each horizon step's channels to the loss's outputs.
//
// NF defaults: hidden_size 16, dropout 0.5 (NF's signature; its docstring says 0.1); Adam lr
// 1e-3 without LR decay, 32 series and 1024 windows per step, identity scaler. The convolutions
// draw their initial weights and biases uniformly from +-1/sqrt(in_channels * kernel), as NF's
// CustomConv1d does with torch.rand, and the layers are built in NF's order, so a seed gives
// NF's initial parameters. exclude_insample_y is not built (no model here has it).
#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/model.h"
#include "src/dl/models/exog_steps.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "BiTCN";
constexpr int64_t kKernel = 2;  // NF's fixed kernel_size

// NF's CustomConv1d: a Conv1d padded `padding` steps on the left (backward: step t reads steps
// up to t) or on the right (forward: step t reads steps from t on).
class PaddedConv : public torch::nn::Module {
 public:
  PaddedConv(int64_t in, int64_t out, int64_t kernel, int64_t padding, int64_t dilation,
             bool forward_looking)
      : padding_(padding), dilation_(dilation), forward_(forward_looking) {
    const double k = std::sqrt(1.0 / static_cast<double>(in * kernel));
    // NF: -k + 2 * k * torch.rand(...), the weight first.
    weight_ = register_parameter("weight", torch::rand({out, in, kernel}) * (2 * k) + (-k));
    bias_ = register_parameter("bias", torch::rand({out}) * (2 * k) + (-k));
  }

  torch::Tensor forward(const torch::Tensor& x) {  // [B, C, T] -> [B, out, T]
    const torch::Tensor padded =
        padding_ == 0 ? x
                      : torch::constant_pad_nd(x, forward_ ? std::vector<int64_t>{0, padding_}
                                                           : std::vector<int64_t>{padding_, 0});
    const int64_t stride = 1, no_padding = 0;
    return torch::conv1d(padded, weight_, bias_, torch::IntArrayRef(stride),
                         torch::IntArrayRef(no_padding), torch::IntArrayRef(dilation_));
  }

 private:
  int64_t padding_, dilation_;
  bool forward_;
  torch::Tensor weight_, bias_;
};

// NF's TCNCell: (h, out) -> (h + a, out + b), where [a | b] = conv2(dropout(gelu(conv1(h)))).
class TcnCell : public torch::nn::Module {
 public:
  TcnCell(int64_t hidden, int64_t dilation, bool forward_looking, double dropout)
      : dropout_(dropout) {
    conv1_ = register_module(
        "conv1", std::make_shared<PaddedConv>(hidden, hidden, kKernel, (kKernel - 1) * dilation,
                                              dilation, forward_looking));
    conv2_ = register_module("conv2", std::make_shared<PaddedConv>(hidden, 2 * hidden, 1, 0, 1,
                                                                   /*forward_looking=*/false));
  }

  void forward(torch::Tensor& h, torch::Tensor& out) {
    const torch::Tensor a = Dropout(torch::gelu(conv1_->forward(h)), dropout_, is_training());
    const auto halves = conv2_->forward(a).chunk(2, 1);
    h = h + halves[0];
    out = out.defined() ? out + halves[1] : halves[1];
  }

 private:
  double dropout_;
  std::shared_ptr<PaddedConv> conv1_, conv2_;
};

// The sum of the cells' skip outputs over `x` [B, C, T].
torch::Tensor RunTcn(std::vector<std::shared_ptr<TcnCell>>& cells, torch::Tensor x) {
  torch::Tensor out;
  for (auto& cell : cells) cell->forward(x, out);
  return out;
}

// ceil(log2((span - 1) / (kernel - 1) + 1)): the cells whose receptive field covers `span` steps.
int CellsFor(int64_t span) {
  return static_cast<int>(
      std::ceil(std::log2(static_cast<double>(span - 1) / static_cast<double>(kKernel - 1) + 1)));
}

struct BiTcnOptions {
  int hidden_size = 16;
  double dropout = 0.5;
};

class BiTcn final : public ForecastModel {
 public:
  BiTcn(const ModelConfig& c, const BiTcnOptions& o)
      : input_size_(c.input_size), outputs_(c.outputs), dropout_(o.dropout), futr_(c.futr_exog) {
    const int64_t hidden = o.hidden_size;
    // Built in NF's order: each layer draws its initial values when it is built.
    lin_hist_ = register_module(
        "lin_hist", torch::nn::Linear(1 + c.hist_exog + c.stat_exog + c.futr_exog, hidden));
    // NF's nn.Sequential of cells: parameters named net_bwd.0.conv1.weight and so on.
    auto cells = [&](const std::string& name, int n, bool forward_looking) {
      std::vector<std::shared_ptr<TcnCell>> out;
      torch::nn::ModuleList list;
      for (int i = 0; i < n; ++i) {
        out.push_back(
            std::make_shared<TcnCell>(hidden, int64_t{1} << i, forward_looking, o.dropout));
        list->push_back(out.back());
      }
      register_module(name, list);
      return out;
    };
    bwd_ = cells("net_bwd", CellsFor(c.input_size), /*forward_looking=*/false);
    int64_t channels = hidden;
    if (futr_ > 0) {
      lin_futr_ = register_module("lin_futr", torch::nn::Linear(futr_, hidden));
      fwd_ = cells("net_fwd", CellsFor(c.input_size + c.horizon), /*forward_looking=*/true);
      channels += 2 * hidden;
    }
    temporal_lin1_ = register_module("temporal_lin1", torch::nn::Linear(c.input_size, hidden));
    temporal_lin2_ = register_module("temporal_lin2", torch::nn::Linear(hidden, c.horizon));
    output_lin_ = register_module("output_lin", torch::nn::Linear(channels, c.outputs));
  }

  // Windows are independent apart from dropout.
  RepeatedDraws Repeats() const override {
    return dropout_ > 0 ? RepeatedDraws::kMergeSharingDropout : RepeatedDraws::kMerge;
  }
  WindowParallelism WindowParallel() const override {
    return dropout_ > 0 ? WindowParallelism::kNone : WindowParallelism::kAllowed;
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor& y = batch.insample_y;
    TORCH_CHECK(y.defined() && y.dim() == 2 && y.size(1) == input_size_, kName,
                ": insample_y must be [B, ", input_size_, "], got ",
                y.defined() ? y.sizes() : torch::IntArrayRef{});
    const bool training = is_training();
    torch::Tensor futr_input, futr_horizon;  // [B, hidden, L], [B, hidden, H]
    if (futr_ > 0) {
      const torch::Tensor f =
          Dropout(lin_futr_->forward(batch.futr_exog), dropout_, training).transpose(1, 2);
      const torch::Tensor out = RunTcn(fwd_, f);  // [B, hidden, L + H]
      futr_input = out.narrow(2, 0, input_size_);
      futr_horizon = out.narrow(2, input_size_, out.size(2) - input_size_);
    }
    torch::Tensor x = Dropout(lin_hist_->forward(EncoderSteps(batch)), dropout_, training)
                          .transpose(1, 2);  // [B, hidden, L]
    x = RunTcn(bwd_, x);
    if (futr_ > 0) x = torch::cat({x, futr_input}, 1);  // [B, 2 hidden, L]
    // Across time: [B, C, L] -> [B, C, hidden] -> [B, C, H].
    x = Dropout(torch::gelu(temporal_lin1_->forward(x)), dropout_, training);
    x = temporal_lin2_->forward(x);
    if (futr_ > 0) x = torch::cat({x, futr_horizon}, 1);                // [B, 3 hidden, H]
    const torch::Tensor out = output_lin_->forward(x.transpose(1, 2));  // [B, H, Q]
    return outputs_ == 1 ? out.squeeze(-1) : out;
  }

 private:
  int64_t input_size_, outputs_;
  double dropout_;
  int futr_;
  torch::nn::Linear lin_hist_{nullptr}, lin_futr_{nullptr}, temporal_lin1_{nullptr},
      temporal_lin2_{nullptr}, output_lin_{nullptr};
  std::vector<std::shared_ptr<TcnCell>> bwd_, fwd_;
};

Result<std::shared_ptr<ForecastModel>> MakeBiTcn(const ModelConfig& config) {
  Params p(kName, config.params);
  BiTcnOptions o;
  o.hidden_size = p.TakeInt("hidden_size", o.hidden_size);
  o.dropout = p.Take("dropout", o.dropout);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "hidden_size", o.hidden_size, 1));
  DRC_RETURN_NOT_OK(CheckRate(kName, "dropout", o.dropout));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "input_size", config.input_size, 2));
  return std::shared_ptr<ForecastModel>(std::make_shared<BiTcn>(config, o));
}

}  // namespace

Status RegisterBiTcnModels(ModelRegistry& registry) {
  TrainDefaults d{.num_lr_decays = -1};
  d.ReadAllExog();
  return registry.Register(kName, MakeBiTcn, d);
}

}  // namespace drc::dl
