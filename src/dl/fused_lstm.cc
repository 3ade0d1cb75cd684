#include "src/dl/fused_lstm.h"

#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <string>
#include <vector>

#include "src/dl/dnnl_lstm.h"
#include "src/dl/dropout.h"

namespace drc::dl {
namespace {

at::Tensor Parameter(const torch::OrderedDict<std::string, at::Tensor>& parameters,
                     const std::string& name) {
  const at::Tensor* p = parameters.find(name);
  TORCH_CHECK(p != nullptr, "FusedLstm: the LSTM has no parameter ", name);
  return *p;
}

}  // namespace

std::tuple<at::Tensor, LstmState> FusedLstm(torch::nn::LSTM lstm, const at::Tensor& input,
                                            const LstmState& state) {
  const auto& o = lstm->options;
  const bool state_given = std::get<0>(state).defined();
  const bool supported = input.device().is_cpu() && input.dim() == 3 &&
                         input.scalar_type() == at::kFloat && !o.bidirectional() &&
                         o.proj_size() == 0 && input.size(0) > 0 && input.size(1) > 0;
  if (!supported) {
    return state_given ? lstm->forward(input, state) : lstm->forward(input);
  }
  const int64_t layers = o.num_layers(), h = o.hidden_size();
  at::Tensor x = o.batch_first() ? input.transpose(0, 1) : input;  // [T, B, in]
  const int64_t steps = x.size(0), batch = x.size(1);
  TORCH_CHECK(x.size(2) == o.input_size(), "FusedLstm: input ", input.sizes(), " has ", x.size(2),
              " features; the LSTM takes ", o.input_size());
  at::Tensor h0, c0;
  if (state_given) {
    h0 = std::get<0>(state);
    c0 = std::get<1>(state);
    const std::vector<int64_t> expected{layers, batch, h};
    TORCH_CHECK(h0.sizes() == expected && c0.sizes() == expected, "FusedLstm: state ", h0.sizes(),
                " and ", c0.sizes(), " for an LSTM of ", layers, " layers of ", h,
                " and a batch of ", batch);
  } else {
    h0 = at::zeros({layers, batch, h}, x.options());
    c0 = h0;
  }
  const auto parameters = lstm->named_parameters(/*recurse=*/false);  // once per call
  std::vector<at::Tensor> h_n, c_n;
  for (int64_t l = 0; l < layers; ++l) {
    const std::string suffix = "_l" + std::to_string(l);
    const at::Tensor w_ih = Parameter(parameters, "weight_ih" + suffix);
    const at::Tensor w_hh = Parameter(parameters, "weight_hh" + suffix);
    const at::Tensor bias = o.bias() ? Parameter(parameters, "bias_ih" + suffix) +
                                           Parameter(parameters, "bias_hh" + suffix)
                                     : at::zeros({4 * h}, x.options());
    auto [out, c] = DnnlLstmLayer(x, w_ih, w_hh, bias, h0[l], c0[l]);
    h_n.push_back(out[steps - 1]);
    c_n.push_back(c);
    x = out;
    if (l + 1 < layers) x = Dropout(x, o.dropout(), lstm->is_training());
  }
  at::Tensor output = o.batch_first() ? x.transpose(0, 1).contiguous() : x;
  return {output, {at::stack(h_n), at::stack(c_n)}};
}

}  // namespace drc::dl
