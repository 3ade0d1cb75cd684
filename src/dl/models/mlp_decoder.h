// NeuralForecast's MLP (common/_modules.py), the decoder of RNN, LSTM, GRU, DilatedRNN, TCN, DeepAR
// and xLSTM: one Linear(in, out) when it has one layer, else Linear(in, d), activation, dropout,
// [Linear(d, d), activation, dropout] x (layers - 2), Linear(d, out). The activation is one of
// NF's ACTIVATIONS by name (`decoder_activation`, named_params.h); NF builds one activation module
// and uses it after every hidden layer, so PReLU has a single slope, shared by the layers.
// The same activations serve TCN's encoder (`encoder_activation`). Internal to the zoo (libtorch
// header).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <string>
#include <vector>

#include "src/dl/model.h"

namespace drc::dl {

// NF's ACTIVATIONS (common/_modules.py), in its order: the codes of named_params.h's
// decoder_activation and encoder_activation names.
enum class NfActivation : int {
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
  kGLU,  // refused: it halves the width, and NF's next layer then fails
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
  NfActivation activation = NfActivation::kReLU;
  double dropout = 0;  // after each hidden layer's activation
};

// Whether the decoder draws random numbers in training (dropout, RReLU's slopes): a model with
// such a decoder cannot split its windows over threads, nor merge repeated draws unless they may
// share the draws.
inline bool DrawsRandom(const MlpDecoderOptions& o) {
  return o.layers > 1 && (o.dropout > 0 || o.activation == NfActivation::kRReLU);
}

// Reads the activation named by `key` (`fallback` when absent) and checks it: InvalidArgument
// naming the model and the key for a code out of range, GLU and Threshold.
Result<NfActivation> TakeNfActivation(const std::string& model, Params& params,
                                      const std::string& key, NfActivation fallback);
// x through the activation, with NF's (torch.nn's) default constants. prelu: PReLU's module (its
// one slope), defined only for PReLU. In training RReLU draws its slopes.
torch::Tensor ApplyNfActivation(NfActivation activation, const torch::Tensor& x,
                                torch::nn::PReLU& prelu, bool training);

// Reads decoder_hidden_size, decoder_layers and decoder_activation (its default `activation`)
// and checks them: InvalidArgument naming the model and the key.
Result<MlpDecoderOptions> TakeMlpDecoder(const std::string& model, Params& params,
                                         NfActivation activation);

class MlpDecoderImpl : public torch::nn::Module {
 public:
  MlpDecoderImpl(int64_t in, int64_t out, const MlpDecoderOptions& options);
  // [..., in] -> [..., out]; dropout and RReLU draw random numbers in training.
  torch::Tensor forward(torch::Tensor x);

 private:
  MlpDecoderOptions options_;
  std::vector<torch::nn::Linear> layers_;  // registered as "0", "2", ... (the activations' odd)
  torch::nn::PReLU prelu_{nullptr};        // "1", PReLU's slope
};
TORCH_MODULE(MlpDecoder);

}  // namespace drc::dl
