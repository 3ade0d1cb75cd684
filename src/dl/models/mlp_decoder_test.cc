// The MLP decoder's activations (models/mlp_decoder.h) over [-3, 3], against each one's formula
// with NF's (torch.nn's) default constants, through a decoder whose Linears pass a value through
// unchanged: the decoder's output is then the activation of its input.
#include "src/dl/models/mlp_decoder.h"

#include <gtest/gtest.h>
#include <torch/utils.h>

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "src/dl/named_params.h"

namespace drc::dl {
namespace {

torch::Tensor Activated(NfActivation activation, const torch::Tensor& x, bool training) {
  MlpDecoderOptions o;
  o.hidden = 1;
  o.layers = 2;
  o.activation = activation;
  MlpDecoder decoder(1, 1, o);
  torch::NoGradGuard no_grad;
  for (auto& p : decoder->named_parameters()) {
    if (p.key().find("weight") != std::string::npos && p.key() != "1.weight") p.value().fill_(1);
    if (p.key().find("bias") != std::string::npos) p.value().zero_();
  }
  decoder->train(training);
  return decoder->forward(x.unsqueeze(-1)).squeeze(-1);
}

TEST(MlpDecoder, ActivationsFollowTheirFormulas) {
  const torch::Tensor x = torch::linspace(-3, 3, 61);
  const torch::Tensor zero = torch::zeros_like(x);
  const double selu_scale = 1.0507009873554805, selu_alpha = 1.6732632423543772;
  auto elu = [&](double alpha) { return torch::where(x > 0, x, alpha * (torch::exp(x) - 1)); };
  auto sigmoid = [&] { return 1 / (1 + torch::exp(-x)); };
  auto softplus = [&] { return torch::log1p(torch::exp(x)); };
  const std::vector<std::pair<std::string, std::function<torch::Tensor()>>> cases = {
      {"ReLU", [&] { return torch::clamp_min(x, 0); }},
      {"Softplus", softplus},
      {"Tanh", [&] { return (torch::exp(2 * x) - 1) / (torch::exp(2 * x) + 1); }},
      {"SELU",
       [&] { return selu_scale * torch::where(x > 0, x, selu_alpha * (torch::exp(x) - 1)); }},
      {"LeakyReLU", [&] { return torch::where(x > 0, x, 0.01 * x); }},
      {"PReLU", [&] { return torch::where(x > 0, x, 0.25 * x); }},
      {"Sigmoid", sigmoid},
      {"GELU", [&] { return 0.5 * x * (1 + torch::erf(x / std::sqrt(2.0))); }},
      {"ELU", [&] { return elu(1.0); }},
      {"SiLU", [&] { return x * sigmoid(); }},
      {"Mish", [&] { return x * torch::tanh(softplus()); }},
      {"Softsign", [&] { return x / (1 + x.abs()); }},
      {"Hardshrink", [&] { return torch::where(x.abs() > 0.5, x, zero); }},
      {"Softshrink", [&] { return torch::where(x.abs() > 0.5, x - 0.5 * torch::sign(x), zero); }},
      {"RReLU", [&] { return torch::where(x >= 0, x, (1.0 / 8 + 1.0 / 3) / 2 * x); }},
      {"CELU", [&] { return elu(1.0); }},
      {"LogSigmoid", [&] { return torch::log(sigmoid()); }},
      {"Hardtanh", [&] { return torch::clamp(x, -1, 1); }},
      {"Hardswish", [&] { return x * torch::clamp(x + 3, 0, 6) / 6; }},
      {"Identity", [&] { return x; }},
  };
  for (const auto& [name, formula] : cases) {
    const auto code = NamedParamCode("decoder_activation", name);
    ASSERT_TRUE(code.has_value()) << name;
    const torch::Tensor got = Activated(static_cast<NfActivation>(*code), x, false);
    EXPECT_TRUE(torch::allclose(got, formula(), 1e-5, 1e-6)) << name << ": " << got;
  }
}

// RReLU's slopes in training are drawn from [1/8, 1/3], one per negative value.
TEST(MlpDecoder, RReluDrawsItsSlopesInTraining) {
  const torch::Tensor x = -torch::ones({1000});
  torch::manual_seed(3);
  const torch::Tensor slopes = -Activated(NfActivation::kRReLU, x, true);
  EXPECT_GE(slopes.min().item<double>(), 1.0 / 8);
  EXPECT_LE(slopes.max().item<double>(), 1.0 / 3);
  EXPECT_GT(slopes.std().item<double>(), 0.03);  // U(1/8, 1/3): sd 0.06
}

// One layer is one Linear(in, out): no hidden layer, no activation.
TEST(MlpDecoder, OneLayerIsOneLinear) {
  MlpDecoderOptions o;
  o.layers = 1;
  o.activation = NfActivation::kPReLU;
  MlpDecoder decoder(5, 3, o);
  int64_t count = 0;
  for (const auto& p : decoder->parameters()) count += p.numel();
  EXPECT_EQ(count, 5 * 3 + 3);
  EXPECT_EQ(decoder->forward(torch::randn({2, 4, 5})).sizes(), (std::vector<int64_t>{2, 4, 3}));
}

}  // namespace
}  // namespace drc::dl
