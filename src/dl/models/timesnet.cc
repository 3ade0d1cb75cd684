// TimesNet (Wu et al. 2023), after NeuralForecast 3.x models/timesnet.py (TimesNet, TimesBlock,
// Inception_Block_V1, FFT_for_Period) and common/_modules.py (DataEmbedding, TokenEmbedding,
// PositionalEmbedding); read to learn the architecture and defaults, written anew here.
//
// Forward, as NF's: the window [B, L] is one channel. DataEmbedding maps it to [B, L, D]
// (D = hidden_size): a token embedding (Conv1d(1 -> D), kernel 3, circular padding, no bias,
// Kaiming-normal fan_in init) plus a fixed sinusoidal positional embedding, then dropout. A
// Linear over the time axis (`predict_linear`, L -> L + H) extends it to T = L + H steps.
// encoder_layers TimesBlocks follow, each followed by one shared LayerNorm(D). A TimesBlock
// finds the top_k periods of its input by FFT (the amplitudes |rfft| averaged over batch and
// channels, the zero frequency excluded; period = T / frequency index, integer division), and
// for each period zero-pads the sequence to a multiple of it, folds it to a 2-D
// [rows x period] grid per channel, applies Inception(D -> conv_hidden_size), GELU,
// Inception(conv_hidden_size -> D) and unfolds back to T steps. An Inception block averages
// num_kernels Conv2d with square kernels 1, 3, 5, ... (same padding; Kaiming-normal fan_out
// init, zero bias). The k results are summed with softmax weights of each window's amplitudes at
// the k frequencies, plus the input (residual). A Linear(D -> 1) projects every step and the
// last H steps are the forecast [B, H].
//
// NF defaults: hidden_size 64, dropout 0.1, conv_hidden_size 64, top_k 5, num_kernels 6,
// encoder_layers 2; training: Adam lr 1e-4, no LR decay (num_lr_decays -1), batch_size 32,
// windows_batch_size 64, scaler standard, MAE.
//
// Exogenous inputs, as NF's: with future variables, DataEmbedding adds their temporal embedding
// (a Linear without bias) over the input window; their horizon values are not read (NF's
// forward reads only futr_exog[:, :input_size]), nor are historic or static variables.
//
// Differences from NF:
//  - Hyper-parameters are numbers (drc::dl::Params).
//  - top_k must be at most (L + H) / 2, the number of non-zero frequencies of rfft over L + H
//    steps (NF would pick the zero frequency and divide by zero); hidden_size must be even (NF's
//    sinusoidal embedding fails on odd sizes).
//  - The periods are chosen per batch from the batch's amplitudes, as NF (so a forecast depends
//    on the other windows of its batch, as there).
#include <torch/fft.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/utils.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "TimesNet";

struct TimesNetOptions {
  int hidden_size = 64;
  double dropout = 0.1;
  int conv_hidden_size = 64;
  int top_k = 5;
  int num_kernels = 6;
  int encoder_layers = 2;
};

// NF's Inception_Block_V1: the mean of Conv2d(in, out, 2i + 1, padding i), i < num_kernels,
// computed as one convolution with the mean of the zero-padded kernels, cropped to each grid
// (MeanOfCenteredKernels, SameConv2d in src/dl/fast_ops.h: same result up to summation order,
// 2.4-26x fewer multiply-adds). The parameters are NF's, one Conv2d per kernel size.
class Inception final : public torch::nn::Module {
 public:
  Inception(int64_t in, int64_t out, int num_kernels) {
    for (int i = 0; i < num_kernels; ++i) {
      kernels_.push_back(register_module(
          "kernel" + std::to_string(i),
          torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 2 * i + 1).padding(i))));
    }
    // Re-initialized after all are built, as NF's _initialize_weights (the same draws).
    for (auto& conv : kernels_) {
      torch::nn::init::kaiming_normal_(conv->weight, 0, torch::kFanOut, torch::kReLU);
      torch::nn::init::zeros_(conv->bias);
    }
  }

  // The merged kernel and bias; build them once per forward and Apply them to every grid.
  struct Merged {
    torch::Tensor weight, bias;
  };
  Merged Merge() const {
    std::vector<torch::Tensor> weights, biases;
    for (const auto& conv : kernels_) {
      weights.push_back(conv->weight);
      biases.push_back(conv->bias);
    }
    return {MeanOfCenteredKernels(weights), torch::stack(biases).mean(0)};
  }

  static torch::Tensor Apply(const Merged& m, const torch::Tensor& x) {
    return SameConv2d(x, m.weight, m.bias);
  }

 private:
  std::vector<torch::nn::Conv2d> kernels_;
};

class TimesBlock final : public torch::nn::Module {
 public:
  TimesBlock(int64_t length, const TimesNetOptions& o) : length_(length), top_k_(o.top_k) {
    in_ = register_module(
        "conv_in", std::make_shared<Inception>(o.hidden_size, o.conv_hidden_size, o.num_kernels));
    out_ = register_module(
        "conv_out", std::make_shared<Inception>(o.conv_hidden_size, o.hidden_size, o.num_kernels));
  }

  // x [B, T, D] -> [B, T, D].
  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t b = x.size(0), t = x.size(1), d = x.size(2);
    TORCH_CHECK(t == length_, kName, ": TimesBlock input ", x.sizes(), " has ", t,
                " steps; expected ", length_);
    torch::Tensor amplitude = torch::fft::rfft(x, c10::nullopt, /*dim=*/1).abs();  // [B, F, D]
    torch::Tensor spectrum = amplitude.mean(0).mean(-1).detach().clone();          // [F]
    spectrum[0].fill_(0);                                             // no zero frequency
    torch::Tensor top = std::get<1>(spectrum.topk(top_k_));           // [k] frequency indices
    torch::Tensor weights = amplitude.mean(-1).index_select(1, top);  // [B, k]
    torch::Tensor top_cpu = top.to(torch::kCPU);
    const auto index = top_cpu.accessor<int64_t, 1>();

    const Inception::Merged conv_in = in_->Merge(), conv_out = out_->Merge();
    std::vector<torch::Tensor> results;
    results.reserve(top_k_);
    for (int64_t i = 0; i < top_k_; ++i) {
      const int64_t period = t / index[i];
      const int64_t rows = (t + period - 1) / period;
      torch::Tensor grid = x;
      if (rows * period != t) grid = torch::constant_pad_nd(x, {0, 0, 0, rows * period - t});
      // [B, rows * period, D] -> [B, D, rows, period]: the 2-D view of the periods.
      grid = grid.reshape({b, rows, period, d}).permute({0, 3, 1, 2}).contiguous();
      grid = Inception::Apply(conv_out, torch::gelu(Inception::Apply(conv_in, grid)));
      results.push_back(grid.permute({0, 2, 3, 1}).reshape({b, rows * period, d}).narrow(1, 0, t));
    }
    torch::Tensor stacked = torch::stack(results, -1);                     // [B, T, D, k]
    torch::Tensor w = torch::softmax(weights, 1).view({b, 1, 1, top_k_});  // [B, 1, 1, k]
    return (stacked * w).sum(-1) + x;
  }

 private:
  int64_t length_;
  int64_t top_k_;
  std::shared_ptr<Inception> in_, out_;
};

// NF's PositionalEmbedding rows 0 .. length - 1: sin on even, cos on odd features.
torch::Tensor SinusoidalPositions(int64_t length, int64_t hidden) {
  torch::Tensor position = torch::arange(length, torch::kFloat32).unsqueeze(1);  // [T, 1]
  torch::Tensor div = torch::exp(torch::arange(0, hidden, 2, torch::kFloat32) *
                                 (-std::log(10000.0) / static_cast<double>(hidden)));
  torch::Tensor pe = torch::zeros({length, hidden});
  pe.slice(1, 0, hidden, 2).copy_(torch::sin(position * div));
  pe.slice(1, 1, hidden, 2).copy_(torch::cos(position * div));
  return pe;
}

class TimesNet final : public ForecastModel {
 public:
  TimesNet(const ModelConfig& config, const TimesNetOptions& o)
      : input_size_(config.input_size), horizon_(config.horizon), dropout_(o.dropout) {
    // NF builds the blocks first, then the embedding and the rest; drawn in that order here and
    // registered in this file's order.
    std::vector<std::shared_ptr<TimesBlock>> blocks;
    for (int i = 0; i < o.encoder_layers; ++i) {
      blocks.push_back(std::make_shared<TimesBlock>(input_size_ + horizon_, o));
    }
    token_ = register_module("value_embedding",
                             torch::nn::Conv1d(torch::nn::Conv1dOptions(1, o.hidden_size, 3)
                                                   .padding(1)
                                                   .padding_mode(torch::kCircular)
                                                   .bias(false)));
    torch::nn::init::kaiming_normal_(token_->weight, 0, torch::kFanIn, torch::kLeakyReLU);
    positions_ =
        register_buffer("position_embedding", SinusoidalPositions(input_size_, o.hidden_size));
    if (config.futr_exog > 0) {
      temporal_ = register_module(
          "temporal_embedding",
          torch::nn::Linear(torch::nn::LinearOptions(config.futr_exog, o.hidden_size).bias(false)));
    }
    predict_linear_ =
        register_module("predict_linear", torch::nn::Linear(input_size_, input_size_ + horizon_));
    for (int i = 0; i < o.encoder_layers; ++i) {
      blocks_.push_back(register_module("block" + std::to_string(i), blocks[i]));
    }
    layer_norm_ = register_module(
        "layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden_size})));
    // NF's c_out: one output per step, or MQLoss's Q.
    projection_ = register_module("projection", torch::nn::Linear(o.hidden_size, config.outputs));
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor& y = batch.insample_y;
    TORCH_CHECK(y.defined() && y.dim() == 2 && y.size(1) == input_size_, kName,
                ": insample_y must be [B, ", input_size_, "], got ", ShapeOf(y));
    // DataEmbedding: [B, L] -> [B, 1, L] -> conv [B, D, L] -> [B, L, D], + positions.
    torch::Tensor x = token_->forward(y.unsqueeze(1)).transpose(1, 2) + positions_;
    if (temporal_) x = x + temporal_->forward(batch.futr_exog.slice(1, 0, input_size_));
    x = Dropout(x, dropout_, is_training());
    x = predict_linear_->forward(x.transpose(1, 2)).transpose(1, 2);  // [B, L + H, D]
    for (auto& block : blocks_) x = layer_norm_->forward(block->forward(x));
    torch::Tensor out = projection_->forward(x).squeeze(-1);  // [B, L + H] ([B, L + H, Q])
    return out.narrow(1, input_size_, horizon_);
  }

 private:
  int64_t input_size_, horizon_;
  double dropout_;
  torch::nn::Conv1d token_{nullptr};
  torch::Tensor positions_;
  torch::nn::Linear temporal_{nullptr}, predict_linear_{nullptr}, projection_{nullptr};
  std::vector<std::shared_ptr<TimesBlock>> blocks_;
  torch::nn::LayerNorm layer_norm_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeTimesNet(const ModelConfig& config) {
  Params p(kName, config.params);
  TimesNetOptions o;
  o.hidden_size = p.TakeInt("hidden_size", o.hidden_size);
  o.dropout = p.Take("dropout", o.dropout);
  o.conv_hidden_size = p.TakeInt("conv_hidden_size", o.conv_hidden_size);
  o.top_k = p.TakeInt("top_k", o.top_k);
  o.num_kernels = p.TakeInt("num_kernels", o.num_kernels);
  o.encoder_layers = p.TakeInt("encoder_layers", o.encoder_layers);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "hidden_size", o.hidden_size, 2));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "conv_hidden_size", o.conv_hidden_size, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "top_k", o.top_k, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "num_kernels", o.num_kernels, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "encoder_layers", o.encoder_layers, 1));
  if (o.hidden_size % 2 != 0) {
    return Status::InvalidArgument(kName, ": hidden_size must be even (sinusoidal positions), got ",
                                   o.hidden_size);
  }
  DRC_RETURN_NOT_OK(CheckRate(kName, "dropout", o.dropout));
  const int length = config.input_size + config.horizon;
  if (o.top_k > length / 2) {
    return Status::InvalidArgument(kName, ": top_k (", o.top_k,
                                   ") must be <= (input_size + h) / 2 = ", length / 2,
                                   ", the non-zero frequencies of ", length, " steps");
  }
  torch::manual_seed(config.seed);  // as NF seeds before building the layers
  return std::shared_ptr<ForecastModel>(std::make_shared<TimesNet>(config, o));
}

}  // namespace

Status RegisterTimesNetModels(ModelRegistry& registry) {
  TrainDefaults d{
      .learning_rate = 1e-4, .windows_batch_size = 64, .num_lr_decays = -1, .scaler = "standard"};
  d.futr_exog = true;
  return registry.Register(kName, MakeTimesNet, d);
}

}  // namespace drc::dl
