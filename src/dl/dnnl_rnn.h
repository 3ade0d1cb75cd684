// One float recurrent layer (LSTM, GRU or tanh RNN) on oneDNN's RNN primitives (internal to the
// dl layer; fused_rnn.h applies it to torch's modules).
//
// libtorch 1.13 has no oneDNN RNN (PyTorch added mkldnn_rnn_layer in 2.0), so its CPU LSTM, GRU
// and RNN run one GEMM per time step through OpenBLAS, which re-packs the recurrent weight at
// every step, and synchronise the threads between a dozen small operators per step. oneDNN's
// primitives run the whole sequence, forward and backward, in one call each with the weights
// packed once. Debian's libtorch already links the same libdnnl.so.2.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <utility>

namespace drc::dl {

enum class RnnCell {
  kLstm,  // torch::nn::LSTM's cell (gates i, f, g, o)
  kGru,   // torch::nn::GRU's (gates r, z, n; the reset gate applied after the recurrent product)
  kTanh,  // torch::nn::RNN's with its default tanh
};

// x [T, B, C] float on the CPU (time-major; in memory either contiguous or the transpose of a
// contiguous batch-first [B, T, C]); the layer's parameters as torch's modules hold them: w_ih
// [G·H, C], w_hh [G·H, H], b_ih and b_hh [G·H] (both undefined for a layer without bias), G = 4,
// 3, 1; h0 [B, H]; c0 [B, H] for the LSTM (undefined otherwise). Returns the hidden state of
// every step [T, B, H] (in x's memory order) and, for the LSTM, the last cell state [B, H].
// Differentiable in every input when grad mode is on and one of them requires grad; otherwise
// oneDNN's inference kernel runs. Results equal torch's modules' up to floating-point
// summation order.
//
// Throws unless DnnlRnnAvailable().
std::pair<at::Tensor, at::Tensor> DnnlRnnLayer(RnnCell cell, const at::Tensor& x,
                                               const at::Tensor& w_ih, const at::Tensor& w_hh,
                                               const at::Tensor& b_ih, const at::Tensor& b_hh,
                                               const at::Tensor& h0, const at::Tensor& c0);

// Whether this build has DnnlRnnLayer: compiled against oneDNN 2.x headers, the API of the
// library it links (Debian's libdnnl.so.2). A libtorch that ships oneDNN 3 headers in its own
// include directory (PyPI's torch wheels, the way to a CUDA-enabled libtorch) shadows them;
// that build runs libtorch's own RNN layers instead (fused_rnn.h).
bool DnnlRnnAvailable();
// The bytes of freed large buffers the layers keep for reuse (see dnnl_rnn.cc's BufferPool), and
// a way to return them all to the system: for tests and diagnostics. 0 and a no-op without
// DnnlRnnAvailable().
size_t DnnlRnnPooledBytes();
void DnnlRnnReleasePooled();

// The major version of the oneDNN headers dnnl_rnn.cc was compiled against (another source file
// can see other headers: its include path may reach Debian's before a wheel's).
int DnnlHeadersMajor();

}  // namespace drc::dl
