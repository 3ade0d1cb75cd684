// RevIN: reversible instance normalization (Kim et al. 2022), as NeuralForecast's
// common/_modules.py RevIN (used by its PatchTST). Each window is normalized by its own
// statistics over the time axis, the model runs in that space, and its output is mapped back:
//
//   Normalize:   z = (x - c) / s            then, with affine, z = z * w + b
//   Denormalize: y = (y - b) / (w + eps^2)  (affine only), then y = y * s + c
//
// where, per window and feature, c is the mean over time (or the last value with
// subtract_last), s = sqrt(population variance + eps), and w, b are learnable [num_features]
// (initialised to 1 and 0). The mean and s are detached (no gradient flows into the
// statistics); the last value is not, as in NF. Every time step counts: padded points are not
// masked out (NF's RevIN has no mask either).
//
// Layout: [B, T, C] with C == num_features, or [B, T] when num_features is 1 (the zoo's window
// layout); Denormalize takes [B, H, C] (or [B, H]) of the same batch and C, any H.
//
// State: Normalize() stores the batch's statistics and Denormalize() uses them, so one RevIN
// serves one batch at a time (not thread-safe; a model calls the two within one forward). Shape
// errors and Denormalize() before Normalize() throw c10::Error naming the shapes (the dl layer's
// Guard turns them into a Status).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

namespace drc::dl {

struct RevINOptions {
  int64_t num_features = 1;
  double eps = 1e-5;
  bool affine = false;         // learnable per-feature weight and bias
  bool subtract_last = false;  // centre on the last value instead of the mean
  // Denormalize divides by w + eps^2 (NF's RevIN); without, by w alone (NF's RevINMultivariate).
  bool eps_in_denormalize = true;
};  // the defaults are NF's RevIN's

class RevIN final : public torch::nn::Module {
 public:
  explicit RevIN(const RevINOptions& options);

  // x [B, T, C] (or [B, T]) -> the normalized x, same shape; stores the statistics.
  torch::Tensor Normalize(const torch::Tensor& x);
  // y [B, H, C] (or [B, H]) in the normalized space -> the original scale of the last
  // Normalize()'s batch.
  torch::Tensor Denormalize(const torch::Tensor& y) const;

  const RevINOptions& options() const { return options_; }
  // The last Normalize()'s statistics, [B, 1, C] (undefined before the first call): the centre
  // (mean, or last value with subtract_last) and the scale s.
  const torch::Tensor& center() const { return center_; }
  const torch::Tensor& stdev() const { return stdev_; }
  // [num_features] each; undefined without affine.
  const torch::Tensor& affine_weight() const { return weight_; }
  const torch::Tensor& affine_bias() const { return bias_; }

 private:
  // x as [B, T, C], checking C.
  torch::Tensor AsThreeD(const torch::Tensor& x, const char* what) const;

  RevINOptions options_;
  torch::Tensor weight_, bias_;
  torch::Tensor center_, stdev_;
};

}  // namespace drc::dl
