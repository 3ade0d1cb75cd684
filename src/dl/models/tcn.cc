// TCN: temporal convolution network forecaster, after NeuralForecast 3.1 (Nixtla/neuralforecast
// main around version 3.1.4: models/tcn.py, common/_modules.py TemporalConvolutionEncoder,
// CausalConv1d and MLP; read to learn the architecture and defaults, written anew here).
//
// Forward, as NF's: the window [B, L] is one input channel; a stack of causal dilated Conv1d
// layers (kernel_size 2, dilations 1, 2, 4, 8, 16, encoder_hidden_size channels, ReLU after
// each, no residuals) gives [B, C, L]; a Linear(L -> H) over the time axis (`context_adapter`)
// gives [B, C, H]; NF's MLP decoder (Linear(C, d), ReLU, [Linear(d, d), ReLU] x
// (decoder_layers - 2), Linear(d, 1); any of NF's decoder activations, models/mlp_decoder.h)
// maps each horizon step to one forecast: [B, H].
//
// Differences from NF:
//  - Causality: NF pads (kernel_size - 1) * dilation zeros on both sides and chomps the right
//    end; we pad only the left, which computes the same outputs (and also works for
//    kernel_size 1, where NF's chomp of 0 steps would empty the sequence).
//  - The window length is ModelConfig::input_size (NF's default -1 means 3 * h).
//  - Exogenous variables as NF's: the encoder reads [y | hist | stat | futr over the input] as
//    channels, and the decoder [context | futr over the horizon] per horizon step. The
//    availability mask is not an input (NF's forward does not read it either).
//  - Hyper-parameters are numbers (drc::dl::Params): dilations keep NF's defaults; the unused
//    context_size is not accepted. encoder_activation takes NF's activations by name (ReLU by
//    default; models/mlp_decoder.h), one module per layer as NF builds them (a PReLU slope each).
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <memory>
#include <string>
#include <vector>

#include "src/dl/model.h"
#include "src/dl/models/exog_steps.h"
#include "src/dl/models/mlp_decoder.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "TCN";

struct TcnOptions {
  int kernel_size = 2;
  std::vector<int64_t> dilations = {1, 2, 4, 8, 16};
  int hidden = 128;
  NfActivation activation = NfActivation::kReLU;  // the encoder's
  MlpDecoderOptions decoder;
};

class TcnForecaster final : public ForecastModel {
 public:
  TcnForecaster(const ModelConfig& config, const TcnOptions& options)
      : input_size_(config.input_size),
        kernel_size_(options.kernel_size),
        activation_(options.activation),
        draws_random_(DrawsRandom(options.decoder) || options.activation == NfActivation::kRReLU) {
    int64_t in_channels = 1 + config.hist_exog + config.stat_exog + config.futr_exog;
    for (int64_t dilation : options.dilations) {
      convs_.push_back(register_module(
          "hist_encoder_" + std::to_string(convs_.size()),
          torch::nn::Conv1d(torch::nn::Conv1dOptions(in_channels, options.hidden, kernel_size_)
                                .dilation(dilation))));
      dilations_.push_back(dilation);
      in_channels = options.hidden;
      // NF's CausalConv1d builds its activation after its convolution; PReLU's slope is a
      // constant 0.25 (no draw).
      torch::nn::PReLU prelu{nullptr};
      if (activation_ == NfActivation::kPReLU) {
        prelu = register_module("hist_encoder_activation_" + std::to_string(convs_.size() - 1),
                                torch::nn::PReLU());
      }
      prelus_.push_back(prelu);
    }
    context_adapter_ =
        register_module("context_adapter", torch::nn::Linear(config.input_size, config.horizon));
    // NF's MLP decoder without dropout; its last layer gives NF's Q outputs.
    decoder_ = register_module("mlp_decoder", MlpDecoder(options.hidden + config.futr_exog,
                                                         config.outputs, options.decoder));
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor& y = batch.insample_y;
    TORCH_CHECK(y.defined(), kName, ": insample_y is undefined");
    TORCH_CHECK(y.dim() == 2 && y.size(1) == input_size_, kName, ": insample_y must be [B, ",
                input_size_, "], got ", y.sizes());
    torch::Tensor x = EncoderSteps(batch).transpose(1, 2);  // [B, 1 + X + S + F, L]
    for (size_t i = 0; i < convs_.size(); ++i) {
      const int64_t pad = (kernel_size_ - 1) * dilations_[i];
      if (pad > 0) x = torch::constant_pad_nd(x, {pad, 0});  // left only: causal
      x = ApplyNfActivation(activation_, convs_[i](x), prelus_[i], is_training());  // [B, C, L]
    }
    torch::Tensor context = context_adapter_(x).transpose(1, 2);  // [B, H, C]
    // [B, H, Q] -> [B, H] for one output.
    return decoder_->forward(WithHorizonFutures(context, batch)).squeeze(-1);
  }

  // No dropout, no statistics over the batch; RReLU draws random numbers.
  WindowParallelism WindowParallel() const override {
    return draws_random_ ? WindowParallelism::kNone : WindowParallelism::kDefault;
  }

 private:
  int64_t input_size_;
  int64_t kernel_size_;
  NfActivation activation_;
  bool draws_random_;
  std::vector<torch::nn::PReLU> prelus_;  // the encoder's, one per layer (PReLU only)
  std::vector<torch::nn::Conv1d> convs_;
  std::vector<int64_t> dilations_;
  torch::nn::Linear context_adapter_{nullptr};
  MlpDecoder decoder_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeTcn(const ModelConfig& config) {
  Params params(kName, config.params);
  TcnOptions options;
  options.kernel_size = params.TakeInt("kernel_size", 2);
  options.hidden = params.TakeInt("encoder_hidden_size", 128);
  DRC_ASSIGN_OR_RETURN(options.activation,
                       TakeNfActivation(kName, params, "encoder_activation", NfActivation::kReLU));
  DRC_ASSIGN_OR_RETURN(options.decoder, TakeMlpDecoder(kName, params, NfActivation::kReLU));
  DRC_RETURN_NOT_OK(params.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "kernel_size", options.kernel_size, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "encoder_hidden_size", options.hidden, 1));
  torch::manual_seed(config.seed);  // as NF seeds before building the layers
  return std::make_shared<TcnForecaster>(config, options);
}

}  // namespace

// NF 3.1 TCN's training defaults.
Status RegisterTcnModels(ModelRegistry& registry) {
  TrainDefaults defaults;
  defaults.learning_rate = 1e-3;
  defaults.batch_size = 32;
  defaults.windows_batch_size = 128;
  defaults.num_lr_decays = -1;
  defaults.scaler = "robust";
  defaults.loss = "MAE";
  defaults.grad_clip_norm = 0;
  defaults.ReadAllExog();
  return registry.Register(kName, MakeTcn, defaults);
}

}  // namespace drc::dl
