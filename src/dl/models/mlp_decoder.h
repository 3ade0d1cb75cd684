// NeuralForecast's MLP (common/_modules.py), the decoder of RNN, LSTM, GRU, DilatedRNN, TCN, DeepAR
// and xLSTM: one Linear(in, out) when it has one layer, else Linear(in, d), activation, dropout,
// [Linear(d, d), activation, dropout] x (layers - 2), Linear(d, out). The activation is one of
// NF's ACTIVATIONS by name (`decoder_activation`, named_params.h); NF builds one activation module
// and uses it after every hidden layer, so PReLU has a single slope, shared by the layers.
// Internal to the zoo (libtorch header).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <string>
#include <vector>

#include "src/dl/model.h"

namespace drc::dl {

// The codes of named_params.h's decoder_activation names, in NF's ACTIVATIONS order.
enum class DecoderActivation : int {
  kReLU,
  kSoftplus,
  kTanh,
  kSELU,
  kLeakyReLU,
  kPReLU,
  kSigmoid,
  kGELU,
  kELU,
  kSiLU,
  kMish,
  kGLU,  // refused: it halves the width, and NF's next Linear then fails
  kSoftsign,
  kHardshrink,
  kSoftshrink,
  kThreshold,  // refused: NF constructs nn.Threshold without its two arguments, which fails
  kRReLU,
  kCELU,
  kLogSigmoid,
  kHardtanh,
  kHardswish,
  kIdentity,
};

struct MlpDecoderOptions {
  int64_t hidden = 128;
  int layers = 2;  // Linear layers in all; 1 is one Linear(in, out), without an activation
  DecoderActivation activation = DecoderActivation::kReLU;
  double dropout = 0;  // after each hidden layer's activation
};

// Whether the decoder draws random numbers in training (dropout, RReLU's slopes): a model with
// such a decoder cannot split its windows over threads, nor merge repeated draws unless they may
// share the draws.
inline bool DrawsRandom(const MlpDecoderOptions& o) {
  return o.layers > 1 && (o.dropout > 0 || o.activation == DecoderActivation::kRReLU);
}

// Reads decoder_hidden_size, decoder_layers and decoder_activation (its default `activation`)
// and checks them: InvalidArgument naming the model and the key.
Result<MlpDecoderOptions> TakeMlpDecoder(const std::string& model, Params& params,
                                         DecoderActivation activation);
// decoder_activation alone, checked (for DeepAR, whose layer keys differ).
Result<DecoderActivation> TakeDecoderActivation(const std::string& model, Params& params,
                                                DecoderActivation fallback);

class MlpDecoderImpl : public torch::nn::Module {
 public:
  MlpDecoderImpl(int64_t in, int64_t out, const MlpDecoderOptions& options);
  // [..., in] -> [..., out]; dropout and RReLU draw random numbers in training.
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::Tensor Activate(const torch::Tensor& x);

  MlpDecoderOptions options_;
  std::vector<torch::nn::Linear> layers_;  // registered as "0", "2", ... (the activations' odd)
  torch::nn::PReLU prelu_{nullptr};        // "1", PReLU's slope
};
TORCH_MODULE(MlpDecoder);

}  // namespace drc::dl
