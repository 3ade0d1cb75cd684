#include "src/dl/fused_rnn.h"

#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <string>
#include <vector>

#include "src/dl/dnnl_rnn.h"
#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"

namespace drc::dl {
namespace {

at::Tensor Parameter(const char* module, const torch::OrderedDict<std::string, at::Tensor>& params,
                     const std::string& name) {
  const at::Tensor* p = params.find(name);
  TORCH_CHECK(p != nullptr, module, ": the module has no parameter ", name);
  return *p;
}

// Whether the oneDNN path covers this call (the module's options aside).
bool Covered(const at::Tensor& input) {
  return DnnlRnnAvailable() && input.device().is_cpu() && input.dim() == 3 &&
         input.scalar_type() == at::kFloat && input.size(0) > 0 && input.size(1) > 0;
}

// Checks a given [layers, B, H] state, or makes zeros.
at::Tensor InitialState(const char* module, const at::Tensor& given, int64_t layers, int64_t batch,
                        int64_t hidden, const at::TensorOptions& options) {
  if (!given.defined()) return at::zeros({layers, batch, hidden}, options);
  TORCH_CHECK(given.sizes() == at::IntArrayRef({layers, batch, hidden}), module, ": state ",
              given.sizes(), " for ", layers, " layers of ", hidden, " units and a batch of ",
              batch);
  return given;
}

struct Stacked {
  at::Tensor output, h_n, c_n;  // c_n: LSTM only
};

// Every layer of a torch recurrent module with options `o` (LSTMOptions, GRUOptions or
// RNNOptions): `layer(l, suffix, x)` runs layer l (its parameters named with `suffix`, "_l0",
// ...) on x [T, B, in] and gives its output [T, B, out] and, for an LSTM, its last cell state;
// dropout between layers in training.
template <typename Options, typename Layer>
Stacked StackLayers(const char* module, const Options& o, bool training, const at::Tensor& input,
                    Layer&& layer) {
  at::Tensor x = o.batch_first() ? input.transpose(0, 1) : input;  // [T, B, in]
  TORCH_CHECK(x.size(2) == o.input_size(), module, ": input ", input.sizes(), " has ", x.size(2),
              " features; the module takes ", o.input_size());
  const int64_t steps = x.size(0);
  std::vector<at::Tensor> h_n, c_n;
  for (int64_t l = 0; l < o.num_layers(); ++l) {
    auto [out, c] = layer(l, "_l" + std::to_string(l), x);
    h_n.push_back(out[steps - 1]);
    if (c.defined()) c_n.push_back(c);
    x = out;
    if (l + 1 < o.num_layers()) x = Dropout(x, o.dropout(), training);
  }
  Stacked r;
  r.output = o.batch_first() ? x.transpose(0, 1).contiguous() : x;
  r.h_n = at::stack(h_n);
  if (!c_n.empty()) r.c_n = at::stack(c_n);
  return r;
}

// Every layer on oneDNN; h0 and c0 are [layers, B, H] (c0 for the LSTM only).
template <typename Options>
Stacked RunLayers(RnnCell cell, const char* module, const Options& o, bool training,
                  const torch::OrderedDict<std::string, at::Tensor>& params,
                  const at::Tensor& input, const at::Tensor& h0, const at::Tensor& c0) {
  return StackLayers(module, o, training, input,
                     [&](int64_t l, const std::string& suffix, const at::Tensor& x) {
                       at::Tensor b_ih, b_hh;
                       if (o.bias()) {
                         b_ih = Parameter(module, params, "bias_ih" + suffix);
                         b_hh = Parameter(module, params, "bias_hh" + suffix);
                       }
                       return DnnlRnnLayer(cell, x, Parameter(module, params, "weight_ih" + suffix),
                                           Parameter(module, params, "weight_hh" + suffix), b_ih,
                                           b_hh, h0[l], c0.defined() ? c0[l] : at::Tensor());
                     });
}

int64_t BatchOf(const at::Tensor& input, bool batch_first) {
  return input.size(batch_first ? 0 : 1);
}

// FusedGru and FusedRnn: modules whose state is h alone; `covered` says whether the module's
// own options (beyond what every module checks) are supported.
template <typename Module>
std::tuple<at::Tensor, at::Tensor> HiddenStateOnly(RnnCell cell, const char* name, Module module,
                                                   const at::Tensor& input, const at::Tensor& h0,
                                                   bool covered) {
  const auto& o = module->options;
  if (!covered || !Covered(input) || o.bidirectional()) {
    return h0.defined() ? module->forward(input, h0) : module->forward(input);
  }
  const at::Tensor h = InitialState(name, h0, o.num_layers(), BatchOf(input, o.batch_first()),
                                    o.hidden_size(), input.options());
  Stacked r = RunLayers(cell, name, o, module->is_training(),
                        module->named_parameters(/*recurse=*/false), input, h, at::Tensor());
  return {r.output, r.h_n};
}

// torch's LSTM with proj_size (unidirectional, with biases): each layer on ProjectedLstmLayer
// (fast_ops.h); h0 is [layers, B, P], c0 [layers, B, H].
std::tuple<at::Tensor, LstmState> ProjectedLayers(torch::nn::LSTM lstm, const at::Tensor& input,
                                                  const LstmState& state) {
  const auto& o = lstm->options;
  const auto params = lstm->named_parameters(/*recurse=*/false);
  const int64_t batch = BatchOf(input, o.batch_first());
  const at::Tensor h0 = InitialState("LSTM", std::get<0>(state), o.num_layers(), batch,
                                     o.proj_size(), input.options());
  const at::Tensor c0 = InitialState("LSTM", std::get<1>(state), o.num_layers(), batch,
                                     o.hidden_size(), input.options());
  Stacked r = StackLayers("LSTM", o, lstm->is_training(), input,
                          [&](int64_t l, const std::string& suffix, const at::Tensor& x) {
                            return ProjectedLstmLayer(
                                x, Parameter("LSTM", params, "weight_ih" + suffix),
                                Parameter("LSTM", params, "weight_hh" + suffix),
                                Parameter("LSTM", params, "bias_ih" + suffix),
                                Parameter("LSTM", params, "bias_hh" + suffix),
                                Parameter("LSTM", params, "weight_hr" + suffix), h0[l], c0[l]);
                          });
  return {r.output, {r.h_n, r.c_n}};
}

}  // namespace

std::tuple<at::Tensor, LstmState> FusedLstm(torch::nn::LSTM lstm, const at::Tensor& input,
                                            const LstmState& state) {
  const auto& o = lstm->options;
  const bool state_given = std::get<0>(state).defined();
  if (o.proj_size() != 0 && !o.bidirectional() && o.bias() && input.is_cpu() && input.dim() == 3 &&
      input.numel() > 0) {
    return ProjectedLayers(lstm, input, state);
  }
  if (!Covered(input) || o.bidirectional() || o.proj_size() != 0) {
    return state_given ? lstm->forward(input, state) : lstm->forward(input);
  }
  const int64_t batch = BatchOf(input, o.batch_first());
  const auto opts = input.options();
  const at::Tensor h0 =
      InitialState("LSTM", std::get<0>(state), o.num_layers(), batch, o.hidden_size(), opts);
  const at::Tensor c0 = state_given ? InitialState("LSTM", std::get<1>(state), o.num_layers(),
                                                   batch, o.hidden_size(), opts)
                                    : h0;
  Stacked r = RunLayers(RnnCell::kLstm, "LSTM", o, lstm->is_training(),
                        lstm->named_parameters(/*recurse=*/false), input, h0, c0);
  return {r.output, {r.h_n, r.c_n}};
}

std::tuple<at::Tensor, at::Tensor> FusedGru(torch::nn::GRU gru, const at::Tensor& input,
                                            const at::Tensor& h0) {
  return HiddenStateOnly(RnnCell::kGru, "GRU", gru, input, h0, /*covered=*/true);
}

std::tuple<at::Tensor, at::Tensor> FusedRnn(torch::nn::RNN rnn, const at::Tensor& input,
                                            const at::Tensor& h0) {
  // By name: the variant is c10's in libtorch 1.13 and std's in 2.x.
  const bool tanh = torch::enumtype::get_enum_name(rnn->options.nonlinearity()) == "kTanh";
  return HiddenStateOnly(RnnCell::kTanh, "RNN", rnn, input, h0, tanh);
}

}  // namespace drc::dl
