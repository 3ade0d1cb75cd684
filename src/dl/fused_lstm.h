// A faster CPU forward and backward for torch::nn::LSTM (internal to the dl layer).
//
// libtorch 1.13's CPU LSTM (no oneDNN RNN before torch 2.0) runs every time step as a chain of
// small autograd operators: per step and layer one addmm forward, two matrix products and about
// twenty elementwise kernels backward, each with its own autograd node. For the forecasting
// models' small batches (128 windows x 24 steps x 128 units) the calls, not the arithmetic, are
// most of a training step. FusedLstm runs each layer as one autograd function: the input
// projection of all steps is one GEMM, each step one GEMM plus vectorized activations forward and
// one GEMM plus one fused elementwise loop backward, and the recurrent weight's gradient one
// GEMM over all steps. The parameters are the module's own (same initialisation, checkpoints and
// optimizer state); the results equal lstm->forward's up to floating-point summation order.
//
// Measured (2 threads, forward + backward of a 2-layer LSTM of 128 over 128 windows x 24 steps):
// 51 ms with lstm->forward, 37 ms fused; the LSTM forecaster's fit + predict 5.3 -> 4.4 s. For
// NeuralHydrology's shape (256 x 365 steps, 1 layer) the two are equal within 5 % (GEMM-bound),
// so the hydrology models keep lstm->forward.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/rnn.h>

#include <tuple>

namespace drc::dl {

using LstmState = std::tuple<at::Tensor, at::Tensor>;  // (h, c), each [layers, B, H]

// lstm->forward(input, state): input [B, T, in] (batch_first) or [T, B, in]; an undefined
// state starts from zeros. Returns (output of the last layer, (h_n, c_n)) as torch does,
// including dropout between layers in training mode (drawn with drc::dl::Dropout). Falls back
// to lstm->forward for what it does not cover: non-CPU tensors, dtypes other than float and
// double, bidirectional or projected LSTMs, empty sequences.
std::tuple<at::Tensor, LstmState> FusedLstm(torch::nn::LSTM lstm, const at::Tensor& input,
                                            const LstmState& state = {});

}  // namespace drc::dl
