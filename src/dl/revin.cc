#include "src/dl/revin.h"

#include <c10/util/Exception.h>

namespace drc::dl {

RevIN::RevIN(const RevINOptions& options) : options_(options) {
  TORCH_CHECK(options.num_features >= 1, "RevIN: num_features must be >= 1, got ",
              options.num_features);
  TORCH_CHECK(options.eps > 0, "RevIN: eps must be > 0, got ", options.eps);
  if (options_.affine) {
    weight_ = register_parameter("affine_weight", torch::ones({options_.num_features}));
    bias_ = register_parameter("affine_bias", torch::zeros({options_.num_features}));
  }
}

torch::Tensor RevIN::AsThreeD(const torch::Tensor& x, const char* what) const {
  TORCH_CHECK(x.defined(), "RevIN: ", what, " is undefined");
  if (x.dim() == 2) {
    TORCH_CHECK(options_.num_features == 1, "RevIN: ", what, " of shape ", x.sizes(),
                " is [B, T] but num_features is ", options_.num_features, "; expected [B, T, ",
                options_.num_features, "]");
    return x.unsqueeze(-1);
  }
  TORCH_CHECK(x.dim() == 3 && x.size(2) == options_.num_features, "RevIN: ", what,
              " must be [B, T, ", options_.num_features, "], got ", x.sizes());
  return x;
}

torch::Tensor RevIN::Normalize(const torch::Tensor& x) {
  torch::Tensor x3 = AsThreeD(x, "Normalize input");
  TORCH_CHECK(x3.size(1) >= 1, "RevIN: Normalize input ", x.sizes(), " has no time steps");
  // Population variance over time, as NF (unbiased=False); statistics do not take gradients.
  stdev_ =
      torch::sqrt(x3.var(/*dim=*/1, /*unbiased=*/false, /*keepdim=*/true) + options_.eps).detach();
  center_ = options_.subtract_last ? x3.narrow(1, x3.size(1) - 1, 1)
                                   : x3.mean(/*dim=*/1, /*keepdim=*/true).detach();
  torch::Tensor z = (x3 - center_) / stdev_;
  if (options_.affine) z = z * weight_ + bias_;
  return x.dim() == 2 ? z.squeeze(-1) : z;
}

torch::Tensor RevIN::Denormalize(const torch::Tensor& y) const {
  TORCH_CHECK(stdev_.defined(), "RevIN: Denormalize called before Normalize");
  torch::Tensor y3 = AsThreeD(y, "Denormalize input");
  TORCH_CHECK(y3.size(0) == stdev_.size(0), "RevIN: Denormalize input ", y.sizes(), " has ",
              y3.size(0), " windows but the last Normalize had ", stdev_.size(0));
  if (options_.affine) {
    y3 = (y3 - bias_) /
         (options_.eps_in_denormalize ? weight_ + options_.eps * options_.eps : weight_);
  }
  torch::Tensor out = y3 * stdev_ + center_;
  return y.dim() == 2 ? out.squeeze(-1) : out;
}

}  // namespace drc::dl
