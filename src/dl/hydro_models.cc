// NeuralHydrology's CudaLSTM and EA-LSTM (see hydro_models.h for the architectures). NH
// defaults as its example configs set them: hidden_size 128 (531-basin config; the one-basin
// tutorial uses 20), initial_forget_bias 3, output_dropout 0.4, a linear regression head.
#include "src/dl/hydro_models.h"

#include <torch/nn/init.h>
#include <torch/utils.h>

#include <cmath>

#include "drc/dl/model_names.h"
#include "src/dl/fused_rnn.h"
#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

void CheckBatch(const char* model, const HydroBatch& batch, const HydroModelOptions& options,
                int64_t last_n) {
  TORCH_CHECK(
      batch.x_d.defined() && batch.x_d.dim() == 3 && batch.x_d.size(2) == options.dynamic_inputs,
      model, ": x_d must be [B, L, ", options.dynamic_inputs, "], got ",
      batch.x_d.defined() ? batch.x_d.sizes() : c10::IntArrayRef{});
  const int64_t b = batch.x_d.size(0);
  if (options.static_inputs > 0) {
    TORCH_CHECK(batch.x_s.defined() && batch.x_s.dim() == 2 && batch.x_s.size(0) == b &&
                    batch.x_s.size(1) == options.static_inputs,
                model, ": x_s must be [", b, ", ", options.static_inputs, "], got ",
                batch.x_s.defined() ? batch.x_s.sizes() : c10::IntArrayRef{});
  }
  TORCH_CHECK(last_n >= 1 && last_n <= batch.x_d.size(1), model, ": last_n ", last_n,
              " must be in [1, sequence length ", batch.x_d.size(1), "]");
}

}  // namespace

CudaLstm::CudaLstm(const HydroModelOptions& options) : options_(options) {
  lstm_ = register_module(
      "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(options.dynamic_inputs + options.static_inputs,
                                                     options.hidden_size)
                                  .batch_first(true)));
  dropout_ = register_module("dropout", torch::nn::Dropout(options.output_dropout));
  head_ = register_module("head", torch::nn::Linear(options.hidden_size, 1));
  if (!std::isnan(options.initial_forget_bias)) {
    // torch's gate order is (input, forget, cell, output): the forget slice is [H, 2H). NH sets
    // it in bias_hh only; bias_ih keeps torch's uniform initialisation.
    torch::NoGradGuard no_grad;
    const int64_t h = options.hidden_size;
    lstm_->named_parameters()["bias_hh_l0"].narrow(0, h, h).fill_(options.initial_forget_bias);
  }
}

torch::Tensor CudaLstm::Forward(const HydroBatch& batch, int64_t last_n) {
  CheckBatch("LSTM", batch, options_, last_n);
  torch::Tensor x = batch.x_d;
  const int64_t b = x.size(0), l = x.size(1);
  if (options_.static_inputs > 0) {
    x = torch::cat({x, batch.x_s.unsqueeze(1).expand({b, l, options_.static_inputs})}, 2);
  }
  torch::Tensor states = std::get<0>(FusedLstm(lstm_, x));  // [B, L, H]
  states = states.narrow(1, l - last_n, last_n);
  return head_(dropout_(states)).squeeze(-1);  // [B, last_n]
}

EaLstm::EaLstm(const HydroModelOptions& options) : options_(options) {
  const int64_t h = options.hidden_size;
  input_net_ = register_module("input_net", torch::nn::Linear(options.static_inputs, h));
  weight_ih_ = register_parameter("weight_ih", torch::empty({options.dynamic_inputs, 3 * h}));
  weight_hh_ = register_parameter("weight_hh", torch::empty({h, 3 * h}));
  bias_ = register_parameter("bias", torch::empty({3 * h}));
  dropout_ = register_module("dropout", torch::nn::Dropout(options.output_dropout));
  head_ = register_module("head", torch::nn::Linear(h, 1));
  torch::NoGradGuard no_grad;
  torch::nn::init::orthogonal_(weight_ih_);
  weight_hh_.copy_(torch::eye(h).repeat({1, 3}));
  bias_.zero_();
  if (!std::isnan(options.initial_forget_bias)) {
    bias_.narrow(0, 0, h).fill_(options.initial_forget_bias);  // gate order (forget, output, cell)
  }
}

void EaLstm::CheckShapes(const HydroBatch& batch) const {
  TORCH_CHECK(
      batch.x_s.defined() && batch.x_s.dim() == 2 && batch.x_s.size(1) == options_.static_inputs,
      "EA-LSTM: x_s must be [B, ", options_.static_inputs, "], got ",
      batch.x_s.defined() ? batch.x_s.sizes() : c10::IntArrayRef{});
}

torch::Tensor EaLstm::InputGate(const HydroBatch& batch) {
  CheckShapes(batch);
  return torch::sigmoid(input_net_(batch.x_s));
}

torch::Tensor EaLstm::Forward(const HydroBatch& batch, int64_t last_n) {
  CheckBatch("EA-LSTM", batch, options_, last_n);
  const int64_t b = batch.x_d.size(0), l = batch.x_d.size(1), h = options_.hidden_size;
  const torch::Tensor i = InputGate(batch);  // once per sequence
  // The dynamic-input part of the gates for every step at once, time-major: [L, B, 3H]. unbind
  // gives the steps one backward node that stacks their gradients; a select per step would
  // give each step a backward that writes a zero tensor of the whole [L, B, 3H] (O(L^2) memory
  // traffic: one epoch on the CAMELS sample took 220 s instead of 6).
  const std::vector<torch::Tensor> x_gates =
      (torch::matmul(batch.x_d.transpose(0, 1).contiguous(), weight_ih_) + bias_).unbind(0);
  torch::Tensor hidden = torch::zeros({b, h}, batch.x_d.options());
  torch::Tensor cell = torch::zeros({b, h}, batch.x_d.options());
  std::vector<torch::Tensor> kept;
  kept.reserve(static_cast<size_t>(last_n));
  for (int64_t t = 0; t < l; ++t) {
    const torch::Tensor gates = x_gates[static_cast<size_t>(t)] + torch::mm(hidden, weight_hh_);
    const auto fog = gates.chunk(3, 1);
    cell = torch::sigmoid(fog[0]) * cell + i * torch::tanh(fog[2]);
    hidden = torch::sigmoid(fog[1]) * torch::tanh(cell);
    if (t >= l - last_n) kept.push_back(hidden);
  }
  const torch::Tensor states = torch::stack(kept, 1);  // [B, last_n, H]
  return head_(dropout_(states)).squeeze(-1);
}

std::vector<std::string> HydroModelNames() {
  return {kHydroModelNames.begin(), kHydroModelNames.end()};
}

Result<std::shared_ptr<HydroModel>> MakeHydroModel(const std::string& name,
                                                   const HydroModelOptions& options) {
  const bool lstm = name == "LSTM" || name == "CudaLSTM";
  const bool ealstm = name == "EA-LSTM" || name == "EALSTM";
  if (!lstm && !ealstm) {
    return Status::NotFound("hydrology model '", name, "': unknown; known: EA-LSTM, LSTM");
  }
  if (options.dynamic_inputs < 1 || options.hidden_size < 1 || options.static_inputs < 0) {
    return Status::InvalidArgument(name, ": dynamic_inputs and hidden_size must be >= 1, got ",
                                   options.dynamic_inputs, " and ", options.hidden_size);
  }
  if (!(options.output_dropout >= 0 && options.output_dropout < 1)) {
    return Status::InvalidArgument(name, ": output_dropout must be in [0, 1), got ",
                                   options.output_dropout);
  }
  if (ealstm && options.static_inputs < 1) {
    return Status::InvalidArgument(
        name, ": needs static inputs (its input gate is computed from them), got none");
  }
  return Guard(name + ": building", [&]() -> std::shared_ptr<HydroModel> {
    if (lstm) return std::make_shared<CudaLstm>(options);
    return std::make_shared<EaLstm>(options);
  });
}

}  // namespace drc::dl
