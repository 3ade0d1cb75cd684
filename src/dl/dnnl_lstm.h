// One float LSTM layer on oneDNN's LSTM primitive (internal to the dl layer; FusedLstm uses it).
//
// libtorch 1.13 has no oneDNN RNN (PyTorch added mkldnn_rnn_layer in 2.0), so its CPU LSTM and
// our step loop (fused_lstm.cc) run one GEMM per time step through OpenBLAS, which re-packs the
// recurrent weight at every step and synchronises the threads between the small operators.
// oneDNN's primitive runs the whole sequence, forward and backward, in one call each with the
// weights packed once. Debian's libtorch already links the same libdnnl.so.2.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

namespace drc::dl {

// x [T, B, C] float on the CPU (time-major; in memory either contiguous or the transpose of a
// contiguous batch-first [B, T, C]), w_ih [4H, C], w_hh [4H, H], bias [4H] (b_ih + b_hh), h0 and
// c0 [B, H]; gates in torch's order (i, f, g, o). Returns the hidden state of every step
// [T, B, H] (in x's memory order) and the last cell state [B, H]. Differentiable in all six
// inputs when grad mode is on and one of them requires grad; otherwise runs oneDNN's inference
// kernel. Results equal torch::lstm's up to floating-point summation order.
std::pair<at::Tensor, at::Tensor> DnnlLstmLayer(const at::Tensor& x, const at::Tensor& w_ih,
                                                const at::Tensor& w_hh, const at::Tensor& bias,
                                                const at::Tensor& h0, const at::Tensor& c0);

}  // namespace drc::dl
