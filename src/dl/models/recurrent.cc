// Recurrent forecasters: RNN, LSTM, GRU and DilatedRNN, after NeuralForecast 3.1 (Nixtla/
// neuralforecast main around version 3.1.4: models/rnn.py, lstm.py, gru.py, dilated_rnn.py and
// common/_modules.py MLP; read to learn the architecture and defaults, written anew here).
//
// RNN, LSTM, GRU follow NF's direct mode (`recurrent=False`, its default): a batch-first
// multi-layer encoder (tanh RNN, LSTM or GRU; NF's `hist_encoder`) reads the window's values
// y_1..y_L as a sequence of scalars, [B, L] -> [B, L, hidden]. The states of the last H steps are
// kept, or, when H > L, a Linear(L -> H) over the time axis maps all L states to H
// (`upsample_sequence`). NF's MLP decoder (Linear(hidden, d), ReLU, [Linear(d, d), ReLU] x
// (decoder_layers - 2), Linear(d, 1); one Linear(hidden, 1) with decoder_layers 1; any of NF's
// decoder activations by name, models/mlp_decoder.h) maps each of the H states to one forecast: [B,
// H]; with Q outputs per step (MQLoss) its last layer is Linear(d, Q), as NF's: [B, H, Q].
//
// DilatedRNN follows NF's `rnn_stack`: groups of single-layer LSTMs with dilations [[1, 2], [4,
// 8]]; a layer with dilation d runs d interleaved sequences (steps t = j, j + d, j + 2d, ...);
// groups after the first add their input back (residual). A Linear(L -> H) over the time axis
// (`context_adapter`) and the same MLP decoder give [B, H].
//
// RNN, LSTM and GRU with recurrent=1 follow NF's recurrent mode (recurrent=True), in which NF
// makes them RECURRENT models, as its DeepAR: the encoder's last layer gives one value per step
// (LSTM: a projection of its state to the loss's outputs, torch's proj_size; RNN and GRU: a
// Linear(hidden, outputs) after the encoder, NF's `proj`), the value after the step's input;
// there is no MLP decoder. The model reads input_size + 1 values (TrainDefaults::recurrent, set
// by the registry's rule for recurrent=1), each step beside the variables of the step it predicts
// (exog_steps.h's ShiftedSteps, NF's shifted windows). Training, as NF's recurrent BaseModel: the
// encoder reads the window and the first h_train - 1 horizon values (teacher forcing) and the
// loss scores the outputs after the window's last value and after each forced value against the
// first h_train horizon values (NF's h_train, 1 by default). Prediction, as NF's recurrent
// predict step: the encoder reads the window, then runs one step per horizon value from its kept
// state, fed the previous step's forecast: the mean of the outputs under MQLoss, the mean of the
// step's distribution under a DistributionLoss, as NF's (whose prediction then gives only that
// mean under MQLoss; here each step keeps its quantiles). Under a DistributionLoss the outputs
// are each step's distribution along that mean path, from which the quantiles are drawn per
// step, as NF's.
//
// Differences from NF:
//  - The window length is ModelConfig::input_size (NF's default input_size=-1 means 3 * h); we
//    train on sampled windows exactly as NF 3.x does for these models. NF's pre-3.0
//    whole-sequence training is not offered.
//  - All four read exogenous variables as NF's (exog_steps.h): the encoder (DilatedRNN's first
//    group) reads [y | hist | stat | futr] per input step, the decoder the context beside the
//    future variables per horizon step. The availability mask is not an input (NF's forward does
//    not read it either; it weights the loss and the scaler).
//  - Hyper-parameters are numbers (drc::dl::Params), so NF's string and list ones keep their
//    defaults: RNN's encoder_activation (NF 3.1 does not pass it to nn.RNN, so it is tanh there
//    too) and DilatedRNN's dilations. DilatedRNN's cell_type takes LSTM (NF's default), GRU, RNN
//    or ResLSTM by name; NF's AttentiveLSTM fails in NF's own forward and is refused. The
//    deprecated, unused context_size is not accepted.
//  - Causal padding in the dilated layers is the same as NF's (zeros after the last step, whose
//    outputs are dropped), done with one reshape instead of per-phase slices.
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/utils.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/dl/fused_rnn.h"
#include "src/dl/model.h"
#include "src/dl/models/exog_steps.h"
#include "src/dl/models/mlp_decoder.h"
#include "src/dl/named_params.h"

namespace drc::dl {
namespace {

// Training defaults shared by NF 3.1's RNN, LSTM, GRU and DilatedRNN; only num_lr_decays differs
// (-1 for RNN/LSTM/GRU, 3 for DilatedRNN).
TrainDefaults RecurrentDefaults(int num_lr_decays) {
  TrainDefaults defaults;
  defaults.learning_rate = 1e-3;
  defaults.batch_size = 32;
  defaults.windows_batch_size = 128;
  defaults.num_lr_decays = num_lr_decays;
  defaults.scaler = "robust";
  defaults.loss = "MAE";
  defaults.grad_clip_norm = 0;
  return defaults;
}

// Throws a c10::Error naming the model and the shape unless `y` is [B, input_size].
void CheckInsample(const std::string& model, const torch::Tensor& y, int64_t input_size) {
  TORCH_CHECK(y.defined(), model, ": insample_y is undefined");
  TORCH_CHECK(y.dim() == 2 && y.size(1) == input_size, model, ": insample_y must be [B, ",
              input_size, "], got ", y.sizes());
}

// ---------------------------------------------------------------------------------------------
// RNN, LSTM, GRU.

enum class CellKind { kRnn, kLstm, kGru, kResLstm };

struct RecurrentOptions {
  int n_layers = 2;
  int hidden = 128;
  bool bias = true;
  double dropout = 0;
  MlpDecoderOptions decoder;
  bool recurrent = false;  // NF's recurrent=True: one step ahead, fed back (see the top)
  int h_train = 1;         // the horizon values a training window scores in recurrent mode
};

// An encoder's state between calls: h, and c for LSTM; undefined: zeros.
struct EncoderState {
  torch::Tensor h, c;
};

class RecurrentForecaster final : public ForecastModel {
 public:
  RecurrentForecaster(std::string name, CellKind kind, const ModelConfig& config,
                      const RecurrentOptions& options)
      : name_(std::move(name)),
        input_size_(config.input_size),
        horizon_(config.horizon),
        outputs_(config.outputs),
        recurrent_(options.recurrent),
        h_train_(options.h_train),
        draws_random_(options.dropout > 0 || (!options.recurrent && DrawsRandom(options.decoder))) {
    // NF's nn.RNN/LSTM/GRU(input_size=1 + X + S + F, ...) with batch_first; RNN's nonlinearity
    // is tanh. In recurrent mode NF's LSTM projects its state to the outputs (proj_size).
    const int64_t inputs = 1 + config.hist_exog + config.stat_exog + config.futr_exog;
    auto configure = [&](auto rnn_options) {
      return rnn_options.num_layers(options.n_layers)
          .bias(options.bias)
          .dropout(options.dropout)
          .batch_first(true);
    };
    switch (kind) {
      case CellKind::kRnn: {
        auto rnn = register_module(
            "hist_encoder",
            torch::nn::RNN(configure(torch::nn::RNNOptions(inputs, options.hidden))));
        run_ = [rnn](const torch::Tensor& x, const EncoderState& s) mutable {
          auto [out, h] = FusedRnn(rnn, x, s.h);
          return std::make_tuple(out, EncoderState{h, {}});
        };
        break;
      }
      case CellKind::kLstm: {
        auto lstm = register_module(
            "hist_encoder",
            torch::nn::LSTM(configure(torch::nn::LSTMOptions(inputs, options.hidden))
                                .proj_size(options.recurrent ? config.outputs : 0)));
        run_ = [lstm](const torch::Tensor& x, const EncoderState& s) mutable {
          auto [out, state] = FusedLstm(lstm, x, s.h.defined() ? LstmState{s.h, s.c} : LstmState{});
          return std::make_tuple(out, EncoderState{std::get<0>(state), std::get<1>(state)});
        };
        break;
      }
      case CellKind::kGru: {
        auto gru = register_module(
            "hist_encoder",
            torch::nn::GRU(configure(torch::nn::GRUOptions(inputs, options.hidden))));
        run_ = [gru](const torch::Tensor& x, const EncoderState& s) mutable {
          auto [out, h] = FusedGru(gru, x, s.h);
          return std::make_tuple(out, EncoderState{h, {}});
        };
        break;
      }
      case CellKind::kResLstm:  // DilatedRNN's only
        TORCH_CHECK(false, name_, ": no ResLSTM encoder");
    }
    if (recurrent_) {
      if (kind != CellKind::kLstm) {
        proj_ = register_module("proj", torch::nn::Linear(options.hidden, config.outputs));
      }
      return;
    }
    if (horizon_ > input_size_) {
      upsample_ = register_module("upsample_sequence", torch::nn::Linear(input_size_, horizon_));
    }
    decoder_ = register_module("mlp_decoder", MlpDecoder(options.hidden + config.futr_exog,
                                                         config.outputs, options.decoder));
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    CheckInsample(name_, batch.insample_y, input_size_);
    if (recurrent_) return RecurrentForecast(batch);
    torch::Tensor states = std::get<0>(run_(EncoderSteps(batch), {}));  // [B, L, hidden]
    if (!upsample_.is_empty()) {
      states = upsample_(states.transpose(1, 2)).transpose(1, 2);  // [B, H, hidden]
    } else {
      states = states.narrow(1, input_size_ - horizon_, horizon_);  // last H steps
    }
    // [B, H, Q] -> [B, H] for one output.
    return decoder_->forward(WithHorizonFutures(states, batch)).squeeze(-1);
  }

  // Recurrent mode: the outputs after the window's last value and after each of the first
  // h_train - 1 horizon values, which the encoder reads (teacher forcing), scored against the
  // first h_train horizon values.
  torch::Tensor TrainingLoss(const WindowBatch& batch, const torch::Tensor& y,
                             const torch::Tensor& mask) override {
    if (!recurrent_) return ForecastModel::TrainingLoss(batch, y, mask);
    CheckInsample(name_, batch.insample_y, input_size_);
    const int64_t steps = h_train_;
    const torch::Tensor& x = batch.insample_y;
    const torch::Tensor sequence = steps > 1 ? torch::cat({x, y.narrow(1, 0, steps - 1)}, 1) : x;
    torch::Tensor out = Outputs(ShiftedSteps(batch, sequence, 0, kOrder), {}).first;
    out = out.narrow(1, input_size_ - 1, steps);
    if (point_loss().is_distribution()) out = MapDistribution(batch, out);
    return ScoreOutputs(batch, out, y.narrow(1, 0, steps), mask.narrow(1, 0, steps));
  }

  // Windows are independent; dropout between the encoder's layers and RReLU in the decoder draw
  // random numbers. Recurrent mode scores h_train of the horizon's values: whole steps.
  WindowParallelism WindowParallel() const override {
    return draws_random_ || recurrent_ ? WindowParallelism::kNone : WindowParallelism::kDefault;
  }

 private:
  static constexpr StepOrder kOrder = StepOrder::kHistStatFutr;  // NF's RNN, LSTM, GRU

  // The encoder's outputs per step, [B, T, outputs] ([B, T] for one output), and its state.
  std::pair<torch::Tensor, EncoderState> Outputs(const torch::Tensor& steps,
                                                 const EncoderState& state) {
    auto [out, next] = run_(steps, state);
    if (!proj_.is_empty()) out = proj_(out);
    return {outputs_ == 1 ? out.squeeze(-1) : out, std::move(next)};
  }

  // The value a step's outputs `last` ([B] or [B, Q]) feed back: the mean of the step's
  // distribution under a DistributionLoss, else the outputs' mean, [B].
  torch::Tensor FedBack(const WindowBatch& batch, const torch::Tensor& last) const {
    if (point_loss().is_distribution()) {
      return DistributionMean(batch, MapDistribution(batch, last.unsqueeze(1))).reshape({-1});
    }
    return outputs_ == 1 ? last : last.mean(-1);
  }

  // NF's recurrent prediction: [B, H] (or [B, H, Q]), each step fed the previous forecast.
  torch::Tensor RecurrentForecast(const WindowBatch& batch) {
    auto [out, state] = Outputs(ShiftedSteps(batch, batch.insample_y, 0, kOrder), {});
    std::vector<torch::Tensor> forecasts = {out.select(1, input_size_ - 1)};  // [B] or [B, Q]
    for (int64_t t = 1; t < horizon_; ++t) {
      torch::Tensor step = FedBack(batch, forecasts.back()).reshape({-1, 1, 1});
      const torch::Tensor exog = HorizonStepExog(batch, input_size_, t, kOrder);
      if (exog.defined()) step = torch::cat({step, exog}, 2);
      std::tie(out, state) = Outputs(step, state);
      forecasts.push_back(out.select(1, 0));
    }
    return torch::stack(forecasts, 1);
  }

  std::string name_;
  int64_t input_size_;
  int64_t horizon_;
  int64_t outputs_;
  bool recurrent_;
  int64_t h_train_;
  bool draws_random_;
  // The encoder over steps [B, T, inputs] from a state: its last layer's outputs, its state.
  std::function<std::tuple<torch::Tensor, EncoderState>(const torch::Tensor&, const EncoderState&)>
      run_;
  torch::nn::Linear upsample_{nullptr};
  torch::nn::Linear proj_{nullptr};  // recurrent RNN and GRU
  MlpDecoder decoder_{nullptr};
};

ModelFactory RecurrentFactory(std::string name, CellKind kind, int default_hidden) {
  return [name = std::move(name), kind,
          default_hidden](const ModelConfig& config) -> Result<std::shared_ptr<ForecastModel>> {
    Params params(name, config.params);
    RecurrentOptions options;
    options.n_layers = params.TakeInt("encoder_n_layers", 2);
    options.hidden = params.TakeInt("encoder_hidden_size", default_hidden);
    options.bias = params.TakeInt("encoder_bias", 1) != 0;
    options.dropout = params.Take("encoder_dropout", 0.0);
    DRC_ASSIGN_OR_RETURN(options.decoder, TakeMlpDecoder(name, params, NfActivation::kReLU));
    const int recurrent = params.TakeInt("recurrent", 0);
    options.h_train = params.TakeInt("h_train", 1);
    DRC_RETURN_NOT_OK(params.Finish());
    DRC_RETURN_NOT_OK(CheckAtLeast(name, "encoder_n_layers", options.n_layers, 1));
    DRC_RETURN_NOT_OK(CheckAtLeast(name, "encoder_hidden_size", options.hidden, 1));
    DRC_RETURN_NOT_OK(CheckRate(name, "encoder_dropout", options.dropout));
    DRC_RETURN_NOT_OK(CheckFlag(name, "recurrent", recurrent));
    options.recurrent = recurrent == 1;
    DRC_RETURN_NOT_OK(CheckRange(name, "h_train", options.h_train, 1, config.horizon));
    // NF ignores these where they do nothing; a user who sets one expects it to act.
    for (const char* key : {"decoder_hidden_size", "decoder_layers", "decoder_activation"}) {
      if (options.recurrent && config.params.count(key) != 0) {
        return Status::InvalidArgument(name, ": ", key,
                                       " does nothing with recurrent=1, where the model has no MLP "
                                       "decoder (NF ignores it); leave it out");
      }
    }
    if (!options.recurrent && options.h_train != 1) {
      return Status::InvalidArgument(name, ": h_train ", options.h_train,
                                     " acts only with recurrent=1 (NF ignores it otherwise)");
    }
    torch::manual_seed(config.seed);  // as NF seeds before building the layers
    return std::make_shared<RecurrentForecaster>(name, kind, config, options);
  };
}

// ---------------------------------------------------------------------------------------------
// DilatedRNN.

// NF's ResLSTM layer (dilated_rnn.py's ResLSTMCell over the steps): the input, forget and output
// gates read the input, the previous output h and the previous cell state c; the cell input
// reads h alone; the output is o (tanh(c) + the input), the input projected when its width is
// not the layer's. Every weight is drawn from N(0, 1) in NF's order, as NF draws them.
class ResLstmLayer : public torch::nn::Module {
 public:
  ResLstmLayer(int64_t in, int64_t hidden) : in_(in), hidden_(hidden) {
    auto param = [&](const char* name, std::vector<int64_t> shape) {
      return register_parameter(name, torch::randn(shape));
    };
    w_ii_ = param("weight_ii", {3 * hidden, in});
    w_ic_ = param("weight_ic", {3 * hidden, hidden});
    w_ih_ = param("weight_ih", {3 * hidden, hidden});
    b_ii_ = param("bias_ii", {3 * hidden});
    b_ic_ = param("bias_ic", {3 * hidden});
    b_ih_ = param("bias_ih", {3 * hidden});
    w_hh_ = param("weight_hh", {hidden, hidden});
    b_hh_ = param("bias_hh", {hidden});
    w_ir_ = param("weight_ir", {hidden, in});  // used only when in != hidden, as NF's
  }

  // x [N, steps, in] -> [N, steps, hidden], from zero states.
  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t n = x.size(0), steps = x.size(1);
    // The input's share of the gates, and the residual, for all steps at once.
    const torch::Tensor gates_x =
        (torch::matmul(x, w_ii_.t()) + (b_ii_ + b_ih_ + b_ic_)).transpose(0, 1);  // [S, N, 3H]
    const torch::Tensor residual =
        (in_ == hidden_ ? x : torch::matmul(x, w_ir_.t())).transpose(0, 1);  // [S, N, H]
    // h's products with the three gates' weights and the cell input's, side by side.
    const torch::Tensor w_h = torch::cat({w_ih_, w_hh_}).t();  // [H, 4H]
    torch::Tensor h = torch::zeros({n, hidden_}, x.options()), c = h;
    std::vector<torch::Tensor> outputs;
    outputs.reserve(static_cast<size_t>(steps));
    for (int64_t t = 0; t < steps; ++t) {
      const torch::Tensor hw = torch::matmul(h, w_h);  // [N, 4H]
      const torch::Tensor ifo =
          gates_x[t] + hw.narrow(1, 0, 3 * hidden_) + torch::matmul(c, w_ic_.t());  // [N, 3H]
      const torch::Tensor g = torch::tanh(hw.narrow(1, 3 * hidden_, hidden_) + b_hh_);
      const torch::Tensor i = torch::sigmoid(ifo.narrow(1, 0, hidden_));
      const torch::Tensor f = torch::sigmoid(ifo.narrow(1, hidden_, hidden_));
      const torch::Tensor o = torch::sigmoid(ifo.narrow(1, 2 * hidden_, hidden_));
      c = f * c + i * g;
      h = o * (torch::tanh(c) + residual[t]);
      outputs.push_back(h);
    }
    return torch::stack(outputs, 1);
  }

 private:
  int64_t in_, hidden_;
  torch::Tensor w_ii_, w_ic_, w_ih_, b_ii_, b_ic_, b_ih_, w_hh_, b_hh_, w_ir_;
};

// One single-layer LSTM applied with a dilation: d interleaved sequences, one per phase.
struct DilatedLayer {
  // A single-layer batch-first cell: [N, steps, C] -> [N, steps, hidden].
  std::function<torch::Tensor(const torch::Tensor&)> cell;
  int64_t dilation = 1;

  // x: [B, L, C] -> [B, L, hidden]; output t sees inputs t, t - d, t - 2d, ...
  torch::Tensor Forward(const torch::Tensor& x) {
    const int64_t batch = x.size(0), length = x.size(1), channels = x.size(2);
    const int64_t steps = (length + dilation - 1) / dilation;
    torch::Tensor padded = x;
    if (steps * dilation != length) {  // zeros after the end, as NF pads
      padded = torch::constant_pad_nd(x, {0, 0, 0, steps * dilation - length});
    }
    // [B, steps * d, C] -> [B, steps, d, C] -> [d, B, steps, C] -> [d * B, steps, C]
    torch::Tensor phases = padded.reshape({batch, steps, dilation, channels})
                               .permute({2, 0, 1, 3})
                               .reshape({dilation * batch, steps, channels});
    torch::Tensor out = cell(phases);
    const int64_t hidden = out.size(2);
    // Back to time order: [d, B, steps, H] -> [B, steps, d, H] -> [B, steps * d, H].
    out = out.reshape({dilation, batch, steps, hidden})
              .permute({1, 2, 0, 3})
              .reshape({batch, steps * dilation, hidden});
    return out.narrow(1, 0, length);
  }
};

// NF's default dilations: two groups of two layers.
const std::vector<std::vector<int64_t>>& DefaultDilations() {
  static const std::vector<std::vector<int64_t>> kDilations = {{1, 2}, {4, 8}};
  return kDilations;
}

class DilatedRnnForecaster final : public ForecastModel {
 public:
  DilatedRnnForecaster(const ModelConfig& config, CellKind kind, int hidden,
                       const MlpDecoderOptions& decoder)
      : input_size_(config.input_size), draws_random_(DrawsRandom(decoder)) {
    int64_t in_features = 1 + config.hist_exog + config.stat_exog + config.futr_exog;
    const auto& groups = DefaultDilations();
    for (size_t g = 0; g < groups.size(); ++g) {
      std::vector<DilatedLayer> layers;
      for (size_t i = 0; i < groups[g].size(); ++i) {
        DilatedLayer layer;
        layer.dilation = groups[g][i];
        const std::string name = "rnn_stack_" + std::to_string(g) + "_" + std::to_string(i);
        switch (kind) {  // NF's nn.LSTM, nn.GRU, nn.RNN (tanh) or ResLSTM layer, one layer
          case CellKind::kLstm: {
            auto lstm = register_module(
                name,
                torch::nn::LSTM(torch::nn::LSTMOptions(in_features, hidden).batch_first(true)));
            layer.cell = [lstm](const torch::Tensor& x) mutable {
              return std::get<0>(FusedLstm(lstm, x));
            };
            break;
          }
          case CellKind::kGru: {
            auto gru = register_module(
                name, torch::nn::GRU(torch::nn::GRUOptions(in_features, hidden).batch_first(true)));
            layer.cell = [gru](const torch::Tensor& x) mutable {
              return std::get<0>(FusedGru(gru, x));
            };
            break;
          }
          case CellKind::kResLstm: {
            auto layer_module =
                register_module(name, std::make_shared<ResLstmLayer>(in_features, hidden));
            layer.cell = [layer_module](const torch::Tensor& x) {
              return layer_module->forward(x);
            };
            break;
          }
          case CellKind::kRnn: {
            auto rnn = register_module(
                name, torch::nn::RNN(torch::nn::RNNOptions(in_features, hidden).batch_first(true)));
            layer.cell = [rnn](const torch::Tensor& x) mutable {
              return std::get<0>(FusedRnn(rnn, x));
            };
            break;
          }
        }
        layers.push_back(std::move(layer));
        in_features = hidden;
      }
      groups_.push_back(std::move(layers));
    }
    context_adapter_ =
        register_module("context_adapter", torch::nn::Linear(config.input_size, config.horizon));
    decoder_ = register_module("mlp_decoder",
                               MlpDecoder(hidden + config.futr_exog, config.outputs, decoder));
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    CheckInsample("DilatedRNN", batch.insample_y, input_size_);
    torch::Tensor x = EncoderSteps(batch);  // [B, L, 1 + X + S + F]
    for (size_t g = 0; g < groups_.size(); ++g) {
      torch::Tensor out = x;
      for (DilatedLayer& layer : groups_[g]) out = layer.Forward(out);
      x = g > 0 ? out + x : out;  // residual around every group but the first
    }
    torch::Tensor context = context_adapter_(x.transpose(1, 2)).transpose(1, 2);  // [B, H, C]
    // [B, H, Q] -> [B, H] for one output.
    return decoder_->forward(WithHorizonFutures(context, batch)).squeeze(-1);
  }

  WindowParallelism WindowParallel() const override {
    return draws_random_ ? WindowParallelism::kNone : WindowParallelism::kDefault;
  }

 private:
  int64_t input_size_;
  bool draws_random_;  // RReLU in the decoder
  std::vector<std::vector<DilatedLayer>> groups_;
  torch::nn::Linear context_adapter_{nullptr};
  MlpDecoder decoder_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeDilatedRnn(const ModelConfig& config) {
  const std::string name = "DilatedRNN";
  Params params(name, config.params);
  const int hidden = params.TakeInt("encoder_hidden_size", 128);
  const int cell_type = params.TakeInt("cell_type", 0);
  DRC_ASSIGN_OR_RETURN(MlpDecoderOptions decoder,
                       TakeMlpDecoder(name, params, NfActivation::kReLU));
  DRC_RETURN_NOT_OK(params.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(name, "encoder_hidden_size", hidden, 1));
  DRC_RETURN_NOT_OK(CheckNamedCode(name, "cell_type", cell_type));
  // The codes of named_params.h's cell_type names.
  const CellKind kinds[] = {CellKind::kLstm, CellKind::kGru, CellKind::kRnn, CellKind::kResLstm};
  if (cell_type == 4) {
    return Status::InvalidArgument(
        name,
        ": cell_type AttentiveLSTM is not offered: NF 3.3's AttentiveLSTM layer fails in its "
        "forward (it concatenates its tuple of steps with tensors), so there is nothing to check "
        "one against; LSTM, GRU, RNN and ResLSTM are");
  }
  torch::manual_seed(config.seed);
  return std::make_shared<DilatedRnnForecaster>(config, kinds[cell_type], hidden, decoder);
}

}  // namespace

// Encoder widths are NF 3.1's defaults: 128, except GRU's 200. recurrent=1 makes RNN, LSTM and
// GRU RECURRENT models, as NF does: they read input_size + 1 values.
Status RegisterRecurrentModels(ModelRegistry& registry) {
  TrainDefaults with_exog = RecurrentDefaults(-1);
  with_exog.ReadAllExog();
  const DefaultsRule recurrent = [](TrainDefaults& defaults,
                                    const std::map<std::string, double>& params) {
    const auto it = params.find("recurrent");
    if (it != params.end() && it->second == 1) defaults.recurrent = true;
  };
  DRC_RETURN_NOT_OK(
      registry.Register("RNN", RecurrentFactory("RNN", CellKind::kRnn, 128), with_exog, recurrent));
  DRC_RETURN_NOT_OK(registry.Register("LSTM", RecurrentFactory("LSTM", CellKind::kLstm, 128),
                                      with_exog, recurrent));
  DRC_RETURN_NOT_OK(
      registry.Register("GRU", RecurrentFactory("GRU", CellKind::kGru, 200), with_exog, recurrent));
  TrainDefaults dilated = RecurrentDefaults(3);
  dilated.ReadAllExog();
  return registry.Register("DilatedRNN", MakeDilatedRnn, dilated);
}

}  // namespace drc::dl
