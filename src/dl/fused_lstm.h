// A faster CPU forward and backward for torch::nn::LSTM (internal to the dl layer).
//
// libtorch 1.13's CPU LSTM (no oneDNN RNN before torch 2.0) runs every time step as a chain of
// small autograd operators: per step and layer one addmm forward, two matrix products and about
// twenty elementwise kernels backward, each through OpenBLAS, which re-packs the recurrent weight
// at every step. FusedLstm runs each float layer as one call of oneDNN's LSTM primitive forward
// and one backward (dnnl_lstm.h: the whole sequence with the weights packed once), on the
// module's own parameters (same initialisation, checkpoints and optimizer state); the results
// equal lstm->forward's up to floating-point summation order.
//
// Measured (2 threads, quiet machine; forward + backward of one layer, `dnnl_lstm_bench`):
// the forecasting models' shape (128 windows x 24 steps x 128 units) 22.8 -> 10.9 ms (first
// layer) and 25.7 -> 14.7 ms (second); NeuralHydrology's (256 x 365 steps x 128 units, 32
// inputs) 855 -> 343 ms. See docs/dl-benchmarks.md for the models' fit times.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/rnn.h>

#include <tuple>

namespace drc::dl {

using LstmState = std::tuple<at::Tensor, at::Tensor>;  // (h, c), each [layers, B, H]

// lstm->forward(input, state): input [B, T, in] (batch_first) or [T, B, in]; an undefined
// state starts from zeros. Returns (output of the last layer, (h_n, c_n)) as torch does,
// including dropout between layers in training mode (drawn with drc::dl::Dropout). Falls back
// to lstm->forward for what it does not cover: non-CPU tensors, dtypes other than float,
// bidirectional or projected LSTMs, empty sequences.
std::tuple<at::Tensor, LstmState> FusedLstm(torch::nn::LSTM lstm, const at::Tensor& input,
                                            const LstmState& state = {});

}  // namespace drc::dl
