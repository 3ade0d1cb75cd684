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
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/linear.h>

namespace drc::dl {

// linear(x) for x of shape [..., in]; the result has shape [..., out].
at::Tensor Dense(torch::nn::Linear& linear, const at::Tensor& x);

// a [batch, m, k] times b [batch, k, n] -> [batch, m, n], differentiable in both (same result
// as at::bmm up to floating-point summation order).
at::Tensor BatchedMatmul(const at::Tensor& a, const at::Tensor& b);

}  // namespace drc::dl
