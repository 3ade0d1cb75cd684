// Replacements for two libtorch 1.13 CPU paths that dominate small models' training steps
// (internal to the dl layer; measured with `drc bench train --profile`).
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
//  - MeanOfCenteredKernels + SameConv2d: TimesNet's Inception block averages num_kernels
//    same-padded convolutions with odd square kernels 1, 3, ..., 2n - 1. Convolution is linear
//    in the kernel, so that mean is one convolution with the mean of the kernels zero-padded to
//    the largest size; and the taps of a same-padded kernel that lie further than the input's
//    extent from the centre only ever meet zero padding, so SameConv2d crops them. On TimesNet's
//    [rows x period] grids this is 2.4x (6x6 grids and up) to 26x (one row) fewer multiply-adds
//    than the six convolutions, with the same result up to floating-point summation order.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/linear.h>

namespace drc::dl {

// linear(x) for x of shape [..., in]; the result has shape [..., out].
at::Tensor Dense(torch::nn::Linear& linear, const at::Tensor& x);

// a [batch, m, k] times b [batch, k, n] -> [batch, m, n], differentiable in both (same result
// as at::bmm up to floating-point summation order).
at::Tensor BatchedMatmul(const at::Tensor& a, const at::Tensor& b);

// The mean of kernels [out, in, k_i, k_i] (k_i odd, centred), each zero-padded to the largest
// k: one kernel whose same-padded convolution is the mean of theirs. Differentiable.
at::Tensor MeanOfCenteredKernels(at::TensorList kernels);

// conv2d(x, weight, bias) with "same" zero padding for an odd weight [out, in, kh, kw] and
// x [batch, in, rows, cols]: the taps that cannot reach the input (further than rows - 1 or
// cols - 1 from the centre) are cropped before the convolution. bias may be undefined.
at::Tensor SameConv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace drc::dl
