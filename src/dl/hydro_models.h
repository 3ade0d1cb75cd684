// Rainfall-runoff models after NeuralHydrology (neuralhydrology/neuralhydrology:
// modelzoo/cudalstm.py and ealstm.py; read to learn the architectures, written anew here).
// Internal to src/dl (torch types). Unlike the forecasting zoo (model.h), these read sequences
// of meteorological features plus per-basin static attributes, not univariate windows.
//
//  - "LSTM" (NH's CudaLSTM): one single-layer torch LSTM over the dynamic inputs with the
//    static attributes repeated at every step and concatenated; the forget-gate slice of the
//    hidden-hidden bias (bias_hh_l0[H:2H]) starts at initial_forget_bias (NH configs: 3); the
//    last `last_n` hidden states go through dropout (NH's output_dropout, 0.4) and a
//    Linear(H, 1) regression head.
//  - "EA-LSTM" (Kratzert et al. 2019): the input gate i = sigmoid(Linear(statics)) is computed
//    once per sequence; forget, output and cell gates come from the dynamic inputs and the
//    previous hidden state (weights [F_dyn, 3H] orthogonal, [H, 3H] three identities, bias 0
//    except the forget slice = initial_forget_bias); then dropout and Linear(H, 1).
//
// NH's regression head runs on every time step and the loss keeps the last predict_last_n;
// here the head runs on the last `last_n` steps only (the same numbers, less work).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "drc/common/result.h"

namespace drc::dl {

struct HydroBatch {
  torch::Tensor x_d;  // [B, L, F_dyn] normalised dynamic inputs
  torch::Tensor x_s;  // [B, F_stat] normalised static attributes (F_stat may be 0)
};

struct HydroModelOptions {
  int dynamic_inputs = 6;
  int static_inputs = 0;
  int hidden_size = 128;
  double output_dropout = 0.4;
  double initial_forget_bias = 3;  // NaN: leave the default initialisation
};

class HydroModel : public torch::nn::Module {
 public:
  // [B, L, F_dyn], [B, F_stat] -> [B, last_n] (normalised target). Throws c10::Error naming
  // the model and the shapes when they do not fit.
  virtual torch::Tensor Forward(const HydroBatch& batch, int64_t last_n) = 0;
};

class CudaLstm final : public HydroModel {
 public:
  explicit CudaLstm(const HydroModelOptions& options);
  torch::Tensor Forward(const HydroBatch& batch, int64_t last_n) override;
  torch::nn::LSTM& lstm() { return lstm_; }

 private:
  HydroModelOptions options_;
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};

class EaLstm final : public HydroModel {
 public:
  explicit EaLstm(const HydroModelOptions& options);
  torch::Tensor Forward(const HydroBatch& batch, int64_t last_n) override;
  // sigmoid(input_net(x_s)): [B, H], the input gate for every step of the sequence.
  torch::Tensor InputGate(const HydroBatch& batch);
  const torch::Tensor& bias() const { return bias_; }

 private:
  void CheckShapes(const HydroBatch& batch) const;

  HydroModelOptions options_;
  torch::nn::Linear input_net_{nullptr};
  torch::Tensor weight_ih_, weight_hh_, bias_;  // [F_dyn, 3H], [H, 3H], [3H]; gates f, o, g
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};

// "LSTM" (alias "CudaLSTM") or "EA-LSTM" (alias "EALSTM"); NotFound lists the names,
// InvalidArgument names a bad option.
Result<std::shared_ptr<HydroModel>> MakeHydroModel(const std::string& name,
                                                   const HydroModelOptions& options);
std::vector<std::string> HydroModelNames();  // kHydroModelNames (drc/dl/model_names.h)

}  // namespace drc::dl
