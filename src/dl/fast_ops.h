// Replacements for libtorch 1.13 CPU paths that dominate small models' training steps
// (internal to the dl layer; found with `drc bench train --profile` and `perf`, kept when the
// clock agreed).
//
//  - Dense: torch::nn::Linear on an input of 3 or more dimensions that is not contiguous (a
//    transposed or permuted activation) takes at::matmul's broadcasting path: the weight is
//    expanded to [batch, in, out] and multiplied batch by batch, and its gradient is summed
//    back (ExpandBackward). Dense folds the leading dimensions into one (one copy when the
//    input is not contiguous) so the product is a single GEMM.
//  - BatchedMatmul: at::bmm on CPU without MKL runs one GEMM call per batch entry (with several
//    tensor selects each); attention over B * heads small matrices spends its time in calls,
//    not arithmetic (VanillaTransformer: 8 s of a step). For small matrices BatchedMatmul runs
//    its own loop over the batch entries, split over intra-op threads; large ones keep at::bmm.
//  - ShortSelfAttention: multi-head attention over a few tokens (PatchTST's 3 patches of a
//    24-point window, 16 heads of 8) as libtorch ops is a chain of transposes, copies, tiny
//    batched products and a softmax over rows of 3, each a pass over memory and most of them
//    again in backward, for ~12 MFLOP of arithmetic. One loop per (window, head) reads the
//    three projections where one GEMM wrote them and writes the result where the output Linear
//    reads it, forward and backward: PatchTST's default step 136 -> 112 ms (`drc bench train
//    --model PatchTST --steps 20 --threads 2`: 2.73 -> 2.25 s).
//  - MeanOfCenteredKernels + SameConv2d: TimesNet's Inception block averages num_kernels
//    same-padded convolutions with odd square kernels 1, 3, ..., 2n - 1. Convolution is linear
//    in the kernel, so that mean is one convolution with the mean of the kernels zero-padded to
//    the largest size; and the taps of a same-padded kernel that lie further than the input's
//    extent from the centre only ever meet zero padding, so SameConv2d crops them. On TimesNet's
//    [rows x period] grids this is 2.4x (6x6 grids and up) to 26x (one row) fewer multiply-adds
//    than the six convolutions, with the same result up to floating-point summation order.
//  - AdamStep: torch::optim::Adam::step in libtorch 1.13 updates each parameter with seven
//    tensor operations (mul_, add_, mul_, addcmul_, sqrt, div, add_, addcdiv_), two of which
//    allocate a temporary as large as the parameter: eight passes over memory and a page-faulting
//    allocation per parameter and step, a quarter of MLP's step time (1.1 M parameters) and more
//    of NHITS's and NBEATS's (2.4 M). AdamStep does the same arithmetic in one pass per element,
//    split over the intra-op threads, on the optimizer's own state (so checkpoints and the
//    learning-rate schedule are unchanged).
#pragma once

#include <ATen/core/Tensor.h>

#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <tuple>

#include <cstdint>
#include <utility>

namespace drc::dl {

// linear(x) for x of shape [..., in]; the result has shape [..., out]. Float CPU products run
// on oneDNN's sgemm (Linear2d).
at::Tensor Dense(torch::nn::Linear& linear, const at::Tensor& x);

// linear(e) where e is the flattened embedding of n scalars: e_i = values_i * vectors_i +
// embedding_bias_i (each row of vectors and embedding_bias [n, width]), e = [e_1, ..., e_n], and
// linear maps n * width inputs. With W_i the block of W's columns that meets e_i,
//   W e + b = sum_i values_i (W_i vectors_i) + (sum_i W_i embedding_bias_i + b),
// a product with n inputs instead of n * width (TFT's variable selection networks: a GRN's first
// Linear over embedded variables is a rank-n map). values [..., n] -> [..., out]; differentiable
// in the values, the embedding and the Linear, with the same result as linear(e) up to
// floating-point summation order.
at::Tensor EmbeddedDense(torch::nn::Linear& linear, const at::Tensor& values,
                         const at::Tensor& vectors, const at::Tensor& embedding_bias);

// x [rows, in] w^T + b (b [out] or undefined), differentiable in all three: on oneDNN's sgemm
// for float CPU tensors (1.1-1.4x OpenBLAS's, which libtorch 1.13 calls, on the forecasting
// models' shapes: bench/gemm_small.cc), at::linear otherwise.
at::Tensor Linear2d(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b);

// a [batch, m, k] times b [batch, k, n] -> [batch, m, n], differentiable in both (same result
// as at::bmm up to floating-point summation order).
at::Tensor BatchedMatmul(const at::Tensor& a, const at::Tensor& b);

// Multi-head self-attention with optional residual scores (PatchTST's res_attention):
// qkv [N, P, 3 * heads * dh] holds each token's query, key and value projections side by side
// (q, k, v each heads * dh, head-major); prev [N, heads, P, P] or undefined. With
//   scores = scale * q k^T + prev  (per window and head)  and  out = softmax(scores) v,
// returns {out [N, P, heads * dh], scores [N, heads, P, P]}, both differentiable (qkv and prev).
// CPU float or double; any P, best for short sequences (work per head is P * P * dh). No
// dropout on the attention weights: callers with attention dropout use libtorch's ops.
std::pair<at::Tensor, at::Tensor> ShortSelfAttention(const at::Tensor& qkv, const at::Tensor& prev,
                                                     int64_t heads, double scale);

// The mean of kernels [out, in, k_i, k_i] (k_i odd, centred), each zero-padded to the largest
// k: one kernel whose same-padded convolution is the mean of theirs. Differentiable.
at::Tensor MeanOfCenteredKernels(at::TensorList kernels);

// conv2d(x, weight, bias) with "same" zero padding for an odd weight [out, in, kh, kw] and
// x [batch, in, rows, cols]: the taps that cannot reach the input (further than rows - 1 or
// cols - 1 from the centre) are cropped before the convolution. bias may be undefined.
at::Tensor SameConv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

// RMoK's mexican-hat wavelet layer (NF's WaveKANLayer before its batch norm): out [B, h] with
//   out[b, o] = sum over l of w[o, l] * psi((x[b, l] - t[o, l]) / s[o, l]),
//   psi(u) = 2 / (sqrt(3) pi^(1/4)) (u^2 - 1) exp(-u^2 / 2),
// for x [B, L] and t, s, w [h, L], float CPU: one pass over the B * h * L terms forward and one
// backward (NF's composition takes ten elementwise passes forward), on the intra-op threads.
// Differentiable in all four; equal to the composition up to rounding.
at::Tensor MexicanHatWavelets(const at::Tensor& x, const at::Tensor& t, const at::Tensor& s,
                              const at::Tensor& w);

// x [..., blocks * in] times the block-diagonal matrix of w [blocks, out, in]: block b's
// outputs are w[b] times x's inputs b * in .. b * in + in - 1, giving [..., blocks * out] (the
// xlstm package's LinearHeadwiseExpand, einsum("...hd,hod->...ho") over x viewed as
// [..., blocks, in]), plus bias [blocks * out] when it is defined. CPU float or double, one
// pass over the rows forward and two backward on the intra-op threads (libtorch 1.13's einsum
// runs it as a bmm of `blocks` [rows, in] x [in, out] products, at a few multiply-adds per
// row). Differentiable in x, w and bias; the weight gradient sums the rows in order, whatever
// the thread count.
at::Tensor BlockDiagonalLinear(const at::Tensor& x, const at::Tensor& w,
                               const at::Tensor& bias = {});

// The causal depthwise convolution over time of x [B, L, C] by weight [C, 1, K] (a Conv1d's,
// groups = C) and bias [C]: y[b, t, c] = bias[c] + sum over j < K of weight[c, 0, j] *
// x[b, t - K + 1 + j, c], steps before the start reading 0 (the xlstm package's CausalConv1d:
// a Conv1d padded by K - 1 on both sides, its first L steps, on [B, C, L]). CPU float, one pass
// forward and two backward on the intra-op threads, in x's layout (no transposes); the weight
// and bias gradients sum the windows and steps in order, whatever the thread count. Other
// dtypes and devices: the same as libtorch ops. Differentiable in all three.
at::Tensor CausalDepthwiseConv1d(const at::Tensor& x, const at::Tensor& weight,
                                 const at::Tensor& bias);

// The sLSTM cell of xLSTM (the xlstm package's vanilla slstm_forward and its pointwise step),
// over L steps of B windows: with the gates' input projections wx [L, B, 4, D] (input, forget,
// cell input, output; D = NH * DH, head h's features h * DH .. h * DH + DH - 1), the recurrent
// weights r [NH, DH, 4 DH] (head h's previous output times r[h] gives its four gates' DH inputs,
// gate-major) and bias [4, D], from zero states at each step t:
//   (i, f, z, o) = wx_t + (y_{t-1} R) + bias,
//   m_t = i at t = 0, else max(i, m_{t-1} + log sigmoid(f)),
//   i' = min(exp(i - m_t), 1), f' = min(exp(m_{t-1} + log sigmoid(f) - m_t), 1),
//   c_t = f' c_{t-1} + i' tanh(z), n_t = f' n_{t-1} + i', y_t = sigmoid(o) c_t / n_t,
// giving y [L, B, D]. Gradients split at ties of the min and max as torch's minimum and maximum
// do. CPU float: one pass per window forward and one backward (the recurrent weights' and the
// bias's gradients as products over all steps afterwards); libtorch's ops take some twenty
// small ops per step each way. Other dtypes and devices: the same steps in libtorch ops.
// Differentiable in wx, r and bias.
at::Tensor SLstmCell(const at::Tensor& wx, const at::Tensor& r, const at::Tensor& bias);

// One layer of torch's LSTM with a projection (LSTMOptions::proj_size P, as NF's LSTM with
// recurrent=True builds it): x [T, B, C] (time-major), w_ih [4H, C], w_hh [4H, P], b_ih and b_hh
// [4H], w_hr [P, H], h0 [B, P], c0 [B, H]; at each step the gates (i, f, g, o) = x_t w_ih^T +
// b_ih + h_{t-1} w_hh^T + b_hh, c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g), h_t =
// (sigmoid(o) tanh(c_t)) w_hr^T. Returns (h_t of every step [T, B, P], the last c [B, H]), as
// torch's layer computes them. CPU float: one pass per window forward and one backward on the
// intra-op threads, the input's share of the gates and the weights' gradients as products over
// all steps (libtorch 1.13 runs a dozen autograd ops per step each way, each on a [B, 4H] slab);
// other dtypes and devices: the same steps in libtorch ops. Differentiable in all eight.
std::tuple<at::Tensor, at::Tensor> ProjectedLstmLayer(
    const at::Tensor& x, const at::Tensor& w_ih, const at::Tensor& w_hh, const at::Tensor& b_ih,
    const at::Tensor& b_hh, const at::Tensor& w_hr, const at::Tensor& h0, const at::Tensor& c0);

// The mLSTM cell of xLSTM in its parallel, stabilised form (the xlstm package's
// parallel_stabilized_simple, eps 1e-6), per window b and head: with q, k, v [B, L, NH * DH]
// (head h's features h * DH .. h * DH + DH - 1) and the gates' pre-activations igate, fgate
// [B, L, NH],
//   F_i = sum over t <= i of log sigmoid(fgate_t),
//   log D_ij = F_i - F_j + igate_j (j <= i),  m_i = max over j <= i of log D_ij,
//   C_ij = (q_i . k_j / sqrt(DH)) exp(log D_ij - m_i),
//   n_i = max(|sum over j of C_ij|, exp(-m_i)),
//   h_i = sum over j <= i of C_ij / (n_i + 1e-6) v_j,
// giving h [B, L, NH * DH]. CPU float: one pass per window and head forward, and one backward
// that recomputes the forward's L x L terms (libtorch's ops take some twenty passes over
// [B, NH, L, L] tensors each way, and copies of q, k and v into head-major layouts). Other
// dtypes and devices: the same formula in libtorch ops. Differentiable in q, k, v, igate and
// fgate.
at::Tensor MLstmCell(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& igate, const at::Tensor& fgate);

// optimizer.step() for Adam (no amsgrad, no weight decay) on float CPU parameters with
// contiguous gradients: per element, m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g g,
// p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps), as libtorch's Adam computes
// it, in one pass. The state (step, exp_avg, exp_avg_sq) is the optimizer's, created as its
// step() creates it. Any other parameter or option: optimizer.step() itself.
void AdamStep(torch::optim::Adam& optimizer);

}  // namespace drc::dl
