#include "src/dl/implicit_quantile.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

// The quantiles NF's predict evaluates an implicit quantile model at (core.py's
// quantiles_iqloss) before taking the requested quantiles of its forecasts.
constexpr double kGrid[] = {0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99};

}  // namespace

ImplicitQuantileModel::ImplicitQuantileModel(std::shared_ptr<ForecastModel> inner,
                                             const PointLoss& loss)
    : inner_(register_module("model", std::move(inner))),
      embedding_dim_(loss.cos_embedding_dim),
      concentration0_(loss.concentration0),
      concentration1_(loss.concentration1) {
  // NF's QuantileLayer (Linear(D, D), PReLU, Linear(D, 1)) and output layer (Linear(1, 1),
  // PReLU), with torch's default initialisation, as NF's.
  embed_ = register_module("iq_embed", torch::nn::Linear(embedding_dim_, embedding_dim_));
  embed_act_ = register_module("iq_embed_act", torch::nn::PReLU());
  embed_out_ = register_module("iq_embed_out", torch::nn::Linear(embedding_dim_, 1));
  output_ = register_module("iq_output", torch::nn::Linear(1, 1));
  output_act_ = register_module("iq_output_act", torch::nn::PReLU());
  SetPointLoss(loss);
}

void ImplicitQuantileModel::SetPointLoss(const PointLoss& loss) {
  ForecastModel::SetPointLoss(loss);
  inner_->SetPointLoss(loss);  // one output, as a point loss: the inner model's Forward is [B, H]
}

RepeatedDraws ImplicitQuantileModel::Repeats() const {
  const RepeatedDraws inner = inner_->Repeats();
  return inner == RepeatedDraws::kMerge ? RepeatedDraws::kMergeSharingDropout : inner;
}

torch::Tensor ImplicitQuantileModel::Inner(const WindowBatch& batch) {
  torch::Tensor y = inner_->Forward(batch);
  const int64_t windows = batch.insample_y.size(0);
  if (y.dim() != 2 || y.size(0) != windows) {
    throw std::invalid_argument("forward gave " + ShapeOf(y) + " for input " +
                                ShapeOf(batch.insample_y) + "; " + point_loss().Name() +
                                " needs one output per horizon step, [" + std::to_string(windows) +
                                ", H]");
  }
  return y;
}

torch::Tensor ImplicitQuantileModel::Head(const torch::Tensor& y, const torch::Tensor& tau) {
  // NF's cos(tau * integers * pi) over k = 0 .. D - 1, in that order of products.
  const auto k = torch::arange(embedding_dim_, tau.options());
  const auto cosines = torch::cos(tau.unsqueeze(-1) * k * M_PI);                      // [B, H, D]
  const auto e = embed_out_->forward(embed_act_->forward(embed_->forward(cosines)));  // [B, H, 1]
  return output_act_->forward(output_->forward(y.unsqueeze(-1) * (1.0 + e))).squeeze(-1);
}

torch::Tensor ImplicitQuantileModel::DrawQuantiles(const torch::Tensor& like) const {
  torch::NoGradGuard no_grad;
  if (concentration0_ == 1 && concentration1_ == 1) return torch::rand_like(like);  // Beta(1, 1)
  // Beta(a, b) = Ga(a) / (Ga(a) + Ga(b)), a = concentration1, b = concentration0 (torch's
  // Beta(concentration1, concentration0)), kept inside (0, 1) as torch's Beta keeps its draws.
  const auto a = torch::_standard_gamma(torch::full_like(like, concentration1_));
  const auto b = torch::_standard_gamma(torch::full_like(like, concentration0_));
  const double eps = std::numeric_limits<float>::epsilon();
  return (a / (a + b)).clamp(eps, 1 - eps);
}

void ImplicitQuantileModel::PrepareStep(WindowBatch& batch, int64_t horizon) {
  batch.quantiles =
      DrawQuantiles(torch::empty({batch.insample_y.size(0), horizon}, batch.insample_y.options()));
}

torch::Tensor ImplicitQuantileModel::Forward(const WindowBatch& batch) {
  const auto y = Inner(batch);
  return Head(y, torch::full_like(y, 0.5));
}

torch::Tensor ImplicitQuantileModel::TrainingLoss(const WindowBatch& batch, const torch::Tensor& y,
                                                  const torch::Tensor& mask) {
  const auto out = Inner(batch);
  if (out.sizes() != y.sizes()) {
    throw std::invalid_argument("forward gave " + ShapeOf(out) + " for input " +
                                ShapeOf(batch.insample_y) + "; expected " + ShapeOf(y));
  }
  const auto& drawn = batch.quantiles;
  if (drawn.defined() && drawn.sizes() != out.sizes()) {
    throw std::invalid_argument("the step's quantiles are " + ShapeOf(drawn) + "; expected " +
                                ShapeOf(out));
  }
  const auto tau = drawn.defined() ? drawn : DrawQuantiles(out);
  const auto y_hat = Head(out, tau);
  const auto weights = batch.weight.defined() ? mask * batch.weight.unsqueeze(1) : mask;
  const PointLoss& loss = point_loss();
  const double delta = loss.kind == PointLoss::kHuberImplicitQuantile ? loss.delta : 0;
  return ReducePointLoss(loss, QuantileTerms(y, y_hat, tau, delta), weights);
}

QuantileForecast ImplicitQuantileModel::Quantiles(const WindowBatch& batch,
                                                  const torch::Tensor& q) {
  const auto y = Inner(batch);
  QuantileForecast f{Head(y, torch::full_like(y, 0.5)), torch::Tensor()};
  if (!q.defined() || q.numel() == 0) return f;
  std::vector<torch::Tensor> at_grid;
  for (double g : kGrid) at_grid.push_back(Head(y, torch::full_like(y, g)));
  const auto sorted = std::get<0>(torch::stack(at_grid, -1).sort(-1));  // [B, H, 11]
  // numpy's quantile (method "linear") of the 11 values at each q.
  const int64_t n = sorted.size(-1);
  const auto asked = q.to(torch::kFloat64).contiguous();
  std::vector<torch::Tensor> columns;
  for (int64_t i = 0; i < asked.numel(); ++i) {
    const double position = asked.data_ptr<double>()[i] * static_cast<double>(n - 1);
    const int64_t below = std::min<int64_t>(static_cast<int64_t>(std::floor(position)), n - 1);
    const int64_t above = std::min<int64_t>(below + 1, n - 1);
    const double fraction = position - static_cast<double>(below);
    const auto lo = sorted.select(-1, below), hi = sorted.select(-1, above);
    columns.push_back(lo + (hi - lo) * fraction);
  }
  f.quantiles = torch::stack(columns, -1);
  return f;
}

}  // namespace drc::dl
