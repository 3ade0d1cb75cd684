#include "src/dl/models/mlp_decoder.h"

#include <ATen/ops/celu.h>
#include <ATen/ops/elu.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/hardshrink.h>
#include <ATen/ops/hardswish.h>
#include <ATen/ops/hardtanh.h>
#include <ATen/ops/leaky_relu.h>
#include <ATen/ops/log_sigmoid.h>
#include <ATen/ops/mish.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/rrelu.h>
#include <ATen/ops/selu.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/silu.h>
#include <ATen/ops/softplus.h>
#include <ATen/ops/softshrink.h>
#include <ATen/ops/tanh.h>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"

namespace drc::dl {

Result<DecoderActivation> TakeDecoderActivation(const std::string& model, Params& params,
                                                DecoderActivation fallback) {
  const int code = params.TakeInt("decoder_activation", static_cast<int>(fallback));
  DRC_RETURN_NOT_OK(CheckNamedCode(model, "decoder_activation", code));
  const auto activation = static_cast<DecoderActivation>(code);
  if (activation == DecoderActivation::kGLU) {
    return Status::InvalidArgument(
        model,
        ": decoder_activation GLU is not offered: it halves the hidden layer's width, so the "
        "decoder's next Linear does not fit it (NF's decoder fails the same way)");
  }
  if (activation == DecoderActivation::kThreshold) {
    return Status::InvalidArgument(
        model,
        ": decoder_activation Threshold is not offered: it needs a threshold and a value, and NF "
        "builds it with neither (which fails there)");
  }
  return activation;
}

Result<MlpDecoderOptions> TakeMlpDecoder(const std::string& model, Params& params,
                                         DecoderActivation activation) {
  MlpDecoderOptions o;
  o.hidden = params.TakeInt("decoder_hidden_size", static_cast<int>(o.hidden));
  o.layers = params.TakeInt("decoder_layers", o.layers);
  DRC_ASSIGN_OR_RETURN(o.activation, TakeDecoderActivation(model, params, activation));
  DRC_RETURN_NOT_OK(CheckAtLeast(model, "decoder_hidden_size", static_cast<double>(o.hidden), 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(model, "decoder_layers", o.layers, 1));
  return o;
}

MlpDecoderImpl::MlpDecoderImpl(int64_t in, int64_t out, const MlpDecoderOptions& options)
    : options_(options) {
  // NF builds the activation before the Linears; PReLU's slope is a constant 0.25 (no draw).
  if (options.layers > 1 && options.activation == DecoderActivation::kPReLU) {
    prelu_ = register_module("1", torch::nn::PReLU());
  }
  for (int i = 0; i < options.layers; ++i) {
    const int64_t from = i == 0 ? in : options.hidden;
    const int64_t to = i + 1 == options.layers ? out : options.hidden;
    layers_.push_back(register_module(std::to_string(2 * i), torch::nn::Linear(from, to)));
  }
}

torch::Tensor MlpDecoderImpl::Activate(const torch::Tensor& x) {
  switch (options_.activation) {
    case DecoderActivation::kReLU: return at::relu(x);
    case DecoderActivation::kSoftplus: return at::softplus(x);  // beta 1, threshold 20
    case DecoderActivation::kTanh: return at::tanh(x);
    case DecoderActivation::kSELU: return at::selu(x);
    case DecoderActivation::kLeakyReLU: return at::leaky_relu(x);  // slope 0.01
    case DecoderActivation::kPReLU: return prelu_->forward(x);
    case DecoderActivation::kSigmoid: return at::sigmoid(x);
    case DecoderActivation::kGELU: return at::gelu(x);  // the exact (erf) form, nn.GELU's default
    case DecoderActivation::kELU: return at::elu(x);
    case DecoderActivation::kSiLU: return at::silu(x);
    case DecoderActivation::kMish: return at::mish(x);
    case DecoderActivation::kSoftsign: return x / (x.abs() + 1);
    case DecoderActivation::kHardshrink: return at::hardshrink(x);  // lambda 0.5
    case DecoderActivation::kSoftshrink: return at::softshrink(x);  // lambda 0.5
    case DecoderActivation::kRReLU:
      // Slopes drawn from U(1/8, 1/3) in training, their mean in evaluation.
      return at::rrelu(x, 1.0 / 8.0, 1.0 / 3.0, is_training());
    case DecoderActivation::kCELU: return at::celu(x);
    case DecoderActivation::kLogSigmoid: return at::log_sigmoid(x);
    case DecoderActivation::kHardtanh: return at::hardtanh(x);  // [-1, 1]
    case DecoderActivation::kHardswish: return at::hardswish(x);
    case DecoderActivation::kIdentity: return x;
    case DecoderActivation::kGLU:
    case DecoderActivation::kThreshold: break;  // refused by TakeDecoderActivation
  }
  TORCH_CHECK(false, "MLP decoder: activation code ", static_cast<int>(options_.activation),
              " is not offered");
}

torch::Tensor MlpDecoderImpl::forward(torch::Tensor x) {
  const bool training = is_training();
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    x = Dropout(Activate(Dense(layers_[i], x)), options_.dropout, training);
  }
  return Dense(layers_.back(), x);
}

}  // namespace drc::dl
