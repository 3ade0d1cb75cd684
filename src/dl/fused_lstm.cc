#include "src/dl/fused_lstm.h"

#include <ATen/Parallel.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/tanh.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "src/dl/dropout.h"

namespace drc::dl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Rows per chunk of the elementwise loops: about 32k elements, so small steps stay on one
// thread.
int64_t RowGrain(int64_t hidden) { return std::max<int64_t>(1, (int64_t{1} << 12) / hidden); }

// c = f * c_prev + i * g per row of `rows` [B, 4H] (activated gates i, f, g, o).
template <typename T>
__attribute__((always_inline)) inline void CellRows(const T* gates, const T* c_prev, T* c,
                                                    int64_t begin, int64_t end, int64_t h) {
  for (int64_t b = begin; b < end; ++b) {
    const T* gi = gates + b * 4 * h;
    const T* gf = gi + h;
    const T* gg = gi + 2 * h;
    const T* cp = c_prev + b * h;
    T* cb = c + b * h;
    for (int64_t j = 0; j < h; ++j) cb[j] = gf[j] * cp[j] + gi[j] * gg[j];
  }
}

// h = o * tanh(c) per row.
template <typename T>
__attribute__((always_inline)) inline void HiddenRows(const T* gates, const T* tanh_c, T* hid,
                                                      int64_t begin, int64_t end, int64_t h) {
  for (int64_t b = begin; b < end; ++b) {
    const T* go = gates + b * 4 * h + 3 * h;
    const T* tc = tanh_c + b * h;
    T* hb = hid + b * h;
    for (int64_t j = 0; j < h; ++j) hb[j] = go[j] * tc[j];
  }
}

// One step backward through the activations: from dh (the step's hidden-state gradient, in
// place: read only) and dc (the cell-state gradient arriving from the next step, updated to
// the one for the previous step) to the pre-activation gate gradients d_gates [B, 4H].
template <typename T>
__attribute__((always_inline)) inline void BackwardRows(const T* gates, const T* tanh_c,
                                                        const T* c_prev, const T* dh, T* dc,
                                                        T* d_gates, int64_t begin, int64_t end,
                                                        int64_t h) {
  for (int64_t b = begin; b < end; ++b) {
    const T* gi = gates + b * 4 * h;
    const T* gf = gi + h;
    const T* gg = gi + 2 * h;
    const T* go = gi + 3 * h;
    const T* tc = tanh_c + b * h;
    const T* cp = c_prev + b * h;
    const T* dhb = dh + b * h;
    T* dcb = dc + b * h;
    T* di = d_gates + b * 4 * h;
    T* df = di + h;
    T* dg = di + 2 * h;
    T* dout = di + 3 * h;
    for (int64_t j = 0; j < h; ++j) {
      const T d_o = dhb[j] * tc[j];
      const T d_c = dcb[j] + dhb[j] * go[j] * (T(1) - tc[j] * tc[j]);
      di[j] = d_c * gg[j] * gi[j] * (T(1) - gi[j]);
      df[j] = d_c * cp[j] * gf[j] * (T(1) - gf[j]);
      dg[j] = d_c * gi[j] * (T(1) - gg[j] * gg[j]);
      dout[j] = d_o * go[j] * (T(1) - go[j]);
      dcb[j] = d_c * gf[j];
    }
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void CellFloat(
    const float* g, const float* cp, float* c, int64_t begin, int64_t end, int64_t h) {
  CellRows(g, cp, c, begin, end, h);
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void HiddenFloat(
    const float* g, const float* tc, float* hid, int64_t begin, int64_t end, int64_t h) {
  HiddenRows(g, tc, hid, begin, end, h);
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void BackwardFloat(
    const float* g, const float* tc, const float* cp, const float* dh, float* dc, float* dg,
    int64_t begin, int64_t end, int64_t h) {
  BackwardRows(g, tc, cp, dh, dc, dg, begin, end, h);
}

void Cell(const at::Tensor& gates, const at::Tensor& c_prev, at::Tensor& c) {
  const int64_t rows = gates.size(0), h = c.size(1);
  at::parallel_for(0, rows, RowGrain(h), [&](int64_t begin, int64_t end) {
    if (gates.scalar_type() == at::kFloat) {
      CellFloat(gates.data_ptr<float>(), c_prev.data_ptr<float>(), c.data_ptr<float>(), begin, end,
                h);
    } else {
      CellRows(gates.data_ptr<double>(), c_prev.data_ptr<double>(), c.data_ptr<double>(), begin,
               end, h);
    }
  });
}

void Hidden(const at::Tensor& gates, const at::Tensor& tanh_c, at::Tensor& hid) {
  const int64_t rows = gates.size(0), h = hid.size(1);
  at::parallel_for(0, rows, RowGrain(h), [&](int64_t begin, int64_t end) {
    if (gates.scalar_type() == at::kFloat) {
      HiddenFloat(gates.data_ptr<float>(), tanh_c.data_ptr<float>(), hid.data_ptr<float>(), begin,
                  end, h);
    } else {
      HiddenRows(gates.data_ptr<double>(), tanh_c.data_ptr<double>(), hid.data_ptr<double>(), begin,
                 end, h);
    }
  });
}

void Backward(const at::Tensor& gates, const at::Tensor& tanh_c, const at::Tensor& c_prev,
              const at::Tensor& dh, at::Tensor& dc, at::Tensor& d_gates) {
  const int64_t rows = gates.size(0), h = dc.size(1);
  at::parallel_for(0, rows, RowGrain(h), [&](int64_t begin, int64_t end) {
    if (gates.scalar_type() == at::kFloat) {
      BackwardFloat(gates.data_ptr<float>(), tanh_c.data_ptr<float>(), c_prev.data_ptr<float>(),
                    dh.data_ptr<float>(), dc.data_ptr<float>(), d_gates.data_ptr<float>(), begin,
                    end, h);
    } else {
      BackwardRows(gates.data_ptr<double>(), tanh_c.data_ptr<double>(), c_prev.data_ptr<double>(),
                   dh.data_ptr<double>(), dc.data_ptr<double>(), d_gates.data_ptr<double>(), begin,
                   end, h);
    }
  });
}

// One layer over a whole sequence. Inputs: pre [T, B, 4H] (the input projection of every step
// plus both biases), w_hh [4H, H], h0 and c0 [B, H]. Outputs: the hidden states of every step
// [T, B, H] and the last cell state [B, H].
struct LstmLayerFunction : public torch::autograd::Function<LstmLayerFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& pre, const at::Tensor& w_hh,
                               const at::Tensor& h0_in, const at::Tensor& c0_in) {
    const int64_t steps = pre.size(0), batch = pre.size(1), h = w_hh.size(1);
    const at::Tensor h0 = h0_in.contiguous(), c0 = c0_in.contiguous();
    const at::Tensor w_t = w_hh.t();
    at::Tensor gates = at::empty({steps, batch, 4 * h}, pre.options());  // activated
    at::Tensor cells = at::empty({steps, batch, h}, pre.options());
    at::Tensor tanh_cells = at::empty({steps, batch, h}, pre.options());
    at::Tensor hidden = at::empty({steps, batch, h}, pre.options());
    for (int64_t t = 0; t < steps; ++t) {
      const at::Tensor h_prev = t == 0 ? h0 : hidden[t - 1];
      const at::Tensor c_prev = t == 0 ? c0 : cells[t - 1];
      at::Tensor g = gates[t];
      at::addmm_out(g, pre[t], h_prev, w_t);
      at::Tensor ifg = g.narrow(1, 0, 2 * h), cand = g.narrow(1, 2 * h, h);
      at::Tensor out = g.narrow(1, 3 * h, h);
      ifg.sigmoid_();
      cand.tanh_();
      out.sigmoid_();
      at::Tensor c = cells[t];
      Cell(g, c_prev, c);
      at::Tensor tc = tanh_cells[t];
      at::tanh_out(tc, c);
      at::Tensor hid = hidden[t];
      Hidden(g, tc, hid);
    }
    ctx->save_for_backward({gates, cells, tanh_cells, hidden, h0, c0, w_hh});
    return {hidden, cells[steps - 1].clone()};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &gates = saved[0], &cells = saved[1], &tanh_cells = saved[2];
    const at::Tensor &hidden = saved[3], &h0 = saved[4], &c0 = saved[5], &w_hh = saved[6];
    const int64_t steps = gates.size(0), batch = gates.size(1), h = w_hh.size(1);
    const at::Tensor& d_hidden = grads[0];  // [T, B, H] or undefined
    at::Tensor dc = grads[1].defined() ? grads[1].contiguous().clone() : at::zeros_like(c0);
    at::Tensor dh = at::zeros_like(h0);
    at::Tensor d_gates = at::empty_like(gates);
    for (int64_t t = steps - 1; t >= 0; --t) {
      if (d_hidden.defined()) dh.add_(d_hidden[t]);
      const at::Tensor c_prev = t == 0 ? c0 : cells[t - 1];
      at::Tensor dg = d_gates[t];
      Backward(gates[t], tanh_cells[t], c_prev, dh, dc, dg);
      at::mm_out(dh, dg, w_hh);  // the previous step's hidden-state gradient
    }
    // Every step's h_prev: h0, then the hidden states of steps 0 .. T-2.
    at::Tensor w_grad;
    if (ctx->needs_input_grad(1)) {
      const at::Tensor flat = d_gates.view({steps * batch, 4 * h});
      w_grad = at::mm(flat.narrow(0, 0, batch).t(), h0);
      if (steps > 1) {
        w_grad.addmm_(flat.narrow(0, batch, (steps - 1) * batch).t(),
                      hidden.narrow(0, 0, steps - 1).reshape({(steps - 1) * batch, h}));
      }
    }
    return {d_gates, w_grad, dh, dc};
  }
};

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
  const bool supported =
      input.device().is_cpu() && input.dim() == 3 &&
      (input.scalar_type() == at::kFloat || input.scalar_type() == at::kDouble) &&
      !o.bidirectional() && o.proj_size() == 0 && input.size(0) > 0 && input.size(1) > 0;
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
    const at::Tensor flat = x.reshape({steps * batch, x.size(2)});
    at::Tensor pre;
    if (o.bias()) {
      pre = at::addmm(
          Parameter(parameters, "bias_ih" + suffix) + Parameter(parameters, "bias_hh" + suffix),
          flat, w_ih.t());
    } else {
      pre = at::mm(flat, w_ih.t());
    }
    auto out = LstmLayerFunction::apply(pre.view({steps, batch, 4 * h}), w_hh, h0[l], c0[l]);
    h_n.push_back(out[0][steps - 1]);
    c_n.push_back(out[1]);
    x = out[0];
    if (l + 1 < layers) x = Dropout(x, o.dropout(), lstm->is_training());
  }
  at::Tensor output = o.batch_first() ? x.transpose(0, 1).contiguous() : x;
  return {output, {at::stack(h_n), at::stack(c_n)}};
}

}  // namespace drc::dl
