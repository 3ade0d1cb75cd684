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

Result<NfActivation> TakeNfActivation(const std::string& model, Params& params,
                                      const std::string& key, NfActivation fallback) {
  const int code = params.TakeInt(key, static_cast<int>(fallback));
  DRC_RETURN_NOT_OK(CheckNamedCode(model, key, code));
  const auto activation = static_cast<NfActivation>(code);
  if (activation == NfActivation::kGLU) {
    return Status::InvalidArgument(
        model, ": ", key,
        " GLU is not offered: it halves its input's last dimension, which NF's model cannot then "
        "use (it fails there)");
  }
  if (activation == NfActivation::kThreshold) {
    return Status::InvalidArgument(
        model, ": ", key,
        " Threshold is not offered: it needs a threshold and a value, and NF builds it with "
        "neither (which fails there)");
  }
  return activation;
}

Result<MlpDecoderOptions> TakeMlpDecoder(const std::string& model, Params& params,
                                         NfActivation activation) {
  MlpDecoderOptions o;
  o.hidden = params.TakeInt("decoder_hidden_size", static_cast<int>(o.hidden));
  o.layers = params.TakeInt("decoder_layers", o.layers);
  DRC_ASSIGN_OR_RETURN(o.activation,
                       TakeNfActivation(model, params, "decoder_activation", activation));
  DRC_RETURN_NOT_OK(CheckAtLeast(model, "decoder_hidden_size", static_cast<double>(o.hidden), 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(model, "decoder_layers", o.layers, 1));
  return o;
}

torch::Tensor ApplyNfActivation(NfActivation activation, const torch::Tensor& x,
                                torch::nn::PReLU& prelu, bool training) {
  switch (activation) {
    case NfActivation::kReLU: return at::relu(x);
    case NfActivation::kSoftplus: return at::softplus(x);  // beta 1, threshold 20
    case NfActivation::kTanh: return at::tanh(x);
    case NfActivation::kSELU: return at::selu(x);
    case NfActivation::kLeakyReLU: return at::leaky_relu(x);  // slope 0.01
    case NfActivation::kPReLU: return prelu->forward(x);
    case NfActivation::kSigmoid: return at::sigmoid(x);
    case NfActivation::kGELU: return at::gelu(x);  // the exact (erf) form, nn.GELU's default
    case NfActivation::kELU: return at::elu(x);
    case NfActivation::kSiLU: return at::silu(x);
    case NfActivation::kMish: return at::mish(x);
    case NfActivation::kSoftsign: return x / (x.abs() + 1);
    case NfActivation::kHardshrink: return at::hardshrink(x);  // lambda 0.5
    case NfActivation::kSoftshrink: return at::softshrink(x);  // lambda 0.5
    case NfActivation::kRReLU:
      // Slopes drawn from U(1/8, 1/3) in training, their mean in evaluation.
      return at::rrelu(x, 1.0 / 8.0, 1.0 / 3.0, training);
    case NfActivation::kCELU: return at::celu(x);
    case NfActivation::kLogSigmoid: return at::log_sigmoid(x);
    case NfActivation::kHardtanh: return at::hardtanh(x);  // [-1, 1]
    case NfActivation::kHardswish: return at::hardswish(x);
    case NfActivation::kIdentity: return x;
    case NfActivation::kGLU:
    case NfActivation::kThreshold: break;  // refused by TakeNfActivation
  }
  TORCH_CHECK(false, "activation code ", static_cast<int>(activation), " is not offered");
}

MlpDecoderImpl::MlpDecoderImpl(int64_t in, int64_t out, const MlpDecoderOptions& options)
    : options_(options) {
  // NF builds the activation before the Linears; PReLU's slope is a constant 0.25 (no draw).
  if (options.layers > 1 && options.activation == NfActivation::kPReLU) {
    prelu_ = register_module("1", torch::nn::PReLU());
  }
  for (int i = 0; i < options.layers; ++i) {
    const int64_t from = i == 0 ? in : options.hidden;
    const int64_t to = i + 1 == options.layers ? out : options.hidden;
    layers_.push_back(register_module(std::to_string(2 * i), torch::nn::Linear(from, to)));
  }
}

torch::Tensor MlpDecoderImpl::forward(torch::Tensor x) {
  const bool training = is_training();
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    x = Dropout(ApplyNfActivation(options_.activation, Dense(layers_[i], x), prelu_, training),
                options_.dropout, training);
  }
  return Dense(layers_.back(), x);
}

}  // namespace drc::dl
