// Faster CPU forward and backward for torch::nn::LSTM, GRU and RNN (internal to the dl layer).
//
// libtorch 1.13's CPU recurrent modules (no oneDNN RNN before torch 2.0) run every time step as
// a chain of small autograd operators: per step and layer one addmm forward, two matrix products
// and a dozen to twenty elementwise kernels backward, each GEMM through OpenBLAS, which re-packs
// the recurrent weight at every step. These functions run each float layer as one call of
// oneDNN's RNN primitive forward and one backward (dnnl_rnn.h: the whole sequence, weights packed
// once), on the module's own parameters (same initialisation, checkpoints and optimizer state);
// the results equal module->forward's up to floating-point summation order. Dropout between
// layers in training mode is drawn with drc::dl::Dropout.
//
// An LSTM with a projection (proj_size) runs each layer on fast_ops.h's ProjectedLstmLayer
// instead (oneDNN 2's LSTM primitive has no projection).
// They fall back to module->forward for what they do not cover: non-CPU tensors, dtypes other
// than float, bidirectional modules, projected ones without biases, RNN's relu nonlinearity,
// empty sequences.
// Measured per layer and per model: docs/dl-benchmarks.md ("oneDNN's RNN primitives").
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/rnn.h>

#include <tuple>

namespace drc::dl {

using LstmState = std::tuple<at::Tensor, at::Tensor>;  // (h, c), each [layers, B, H]

// lstm->forward(input, state): input [B, T, in] (batch_first) or [T, B, in]; an undefined
// state starts from zeros. Returns (output of the last layer, (h_n, c_n)) as torch does.
std::tuple<at::Tensor, LstmState> FusedLstm(torch::nn::LSTM lstm, const at::Tensor& input,
                                            const LstmState& state = {});

// gru->forward(input, h0) and rnn->forward(input, h0): h0 [layers, B, H] or undefined (zeros).
// Returns (output of the last layer, h_n).
std::tuple<at::Tensor, at::Tensor> FusedGru(torch::nn::GRU gru, const at::Tensor& input,
                                            const at::Tensor& h0 = {});
std::tuple<at::Tensor, at::Tensor> FusedRnn(torch::nn::RNN rnn, const at::Tensor& input,
                                            const at::Tensor& h0 = {});

}  // namespace drc::dl
