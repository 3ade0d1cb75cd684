// NBEATS (NeuralForecast's NBEATS, Oreshkin et al. 2019): stacks of MLP blocks with doubly
// residual links, each block projecting onto a basis — identity, polynomial trend or Fourier
// seasonality. NF defaults: stacks identity/trend/seasonality with 1 block each, mlp_units
// 3 x [512, 512], n_harmonics 2, n_polynomials 2; Adam lr 1e-3 with 3 StepLR decays, 1024
// windows per step, identity scaler. As NF: the first hidden Linear has no activation after it,
// the residuals run on the flipped input, and the forecast starts at the last input value.
// With Q outputs per step (MQLoss), a block's forecast coefficients are Q times as many, read
// as NF's: identity [B, H, Q] from H * Q values, trend and seasonality [B, P, Q] on the basis.
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <numbers>

#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/models/residual_stack.h"

namespace drc::dl {
namespace {

enum class Basis { kIdentity, kTrend, kSeasonality };

// Rows of a basis ([P, T]) as a float tensor from doubles (NF builds them in float64).
torch::Tensor BasisTensor(const std::vector<std::vector<double>>& rows) {
  const int64_t p = static_cast<int64_t>(rows.size()), t = static_cast<int64_t>(rows[0].size());
  auto out = torch::empty({p, t}, torch::kFloat64);
  auto a = out.accessor<double, 2>();
  for (int64_t i = 0; i < p; ++i) {
    for (int64_t j = 0; j < t; ++j) a[i][j] = rows[i][j];
  }
  return out.to(torch::kFloat32);
}

class NBeatsBlock final : public torch::nn::Module {
 public:
  NBeatsBlock(Basis basis, int input_size, int horizon, int outputs, int units, int layers,
              int n_harmonics, int n_polynomials)
      : basis_(basis), input_size_(input_size), horizon_(horizon), outputs_(outputs) {
    int n_theta = input_size + outputs * horizon;
    if (basis == Basis::kTrend) {
      const int p = n_polynomials + 1;
      n_theta = (outputs + 1) * p;
      std::vector<std::vector<double>> back(p), fore(p);
      for (int i = 0; i < p; ++i) {
        for (int t = 0; t < input_size; ++t) back[i].push_back(std::pow(1.0 * t / input_size, i));
        for (int t = 0; t < horizon; ++t) fore[i].push_back(std::pow(1.0 * t / horizon, i));
      }
      back_ = register_buffer("backcast_basis", BasisTensor(back));
      fore_ = register_buffer("forecast_basis", BasisTensor(fore));
    } else if (basis == Basis::kSeasonality) {
      // Frequencies 0 and k / n_harmonics for k = n_harmonics, ... below n_harmonics / 2 * H.
      std::vector<double> freq = {0.0};
      const double stop = n_harmonics / 2.0 * horizon;
      for (double k = n_harmonics; k < stop; k += 1.0) freq.push_back(k / n_harmonics);
      std::vector<std::vector<double>> back, fore;
      for (int trig = 0; trig < 2; ++trig) {
        for (double f : freq) {
          std::vector<double> b, fo;
          for (int t = 0; t < input_size; ++t) {
            const double g = -2 * std::numbers::pi * (1.0 * t / horizon) * f;
            b.push_back(trig == 0 ? std::cos(g) : std::sin(g));
          }
          for (int t = 0; t < horizon; ++t) {
            const double g = 2 * std::numbers::pi * (1.0 * t / horizon) * f;
            fo.push_back(trig == 0 ? std::cos(g) : std::sin(g));
          }
          back.push_back(b);
          fore.push_back(fo);
        }
      }
      n_theta = (outputs + 1) * static_cast<int>(back.size());
      back_ = register_buffer("backcast_basis", BasisTensor(back));
      fore_ = register_buffer("forecast_basis", BasisTensor(fore));
    }
    first_ = register_module("in", torch::nn::Linear(input_size, units));
    for (int i = 0; i < layers; ++i) {
      hidden_.push_back(
          register_module("hidden" + std::to_string(i), torch::nn::Linear(units, units)));
    }
    out_ = register_module("theta", torch::nn::Linear(units, n_theta));
  }

  // residuals [B, L] -> (backcast [B, L], forecast [B, H] or [B, H, Q]).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& residuals,
                                                  const WindowBatch& /*batch*/) {
    auto x = Dense(first_, residuals);
    for (auto& layer : hidden_) x = torch::relu(Dense(layer, x));
    auto theta = Dense(out_, x);
    const int64_t b = theta.size(0);
    if (basis_ == Basis::kIdentity) {
      auto forecast = theta.slice(1, input_size_);
      if (outputs_ > 1) forecast = forecast.reshape({b, horizon_, outputs_});
      return {theta.slice(1, 0, input_size_), forecast};
    }
    const int64_t p = back_.size(0);
    auto backcast = theta.slice(1, 0, p).matmul(back_);
    if (outputs_ == 1) return {backcast, theta.slice(1, p, 2 * p).matmul(fore_)};
    // [B, P, Q] coefficients -> [B, Q, H] -> [B, H, Q].
    auto coefficients = theta.slice(1, p).reshape({b, p, outputs_});
    return {backcast, coefficients.transpose(1, 2).matmul(fore_).transpose(1, 2)};
  }

 private:
  Basis basis_;
  int input_size_, horizon_, outputs_;
  torch::Tensor back_, fore_;
  torch::nn::Linear first_{nullptr}, out_{nullptr};
  std::vector<torch::nn::Linear> hidden_;
};

class NBeats final : public ForecastModel {
 public:
  NBeats(int input_size, int horizon, int outputs, int n_blocks, int units, int layers,
         int n_harmonics, int n_polynomials)
      : horizon_(horizon), outputs_(outputs) {
    int i = 0;
    for (Basis basis : {Basis::kIdentity, Basis::kTrend, Basis::kSeasonality}) {
      for (int b = 0; b < n_blocks; ++b) {
        blocks_.push_back(register_module(
            "block" + std::to_string(i++),
            std::make_shared<NBeatsBlock>(basis, input_size, horizon, outputs, units, layers,
                                          n_harmonics, n_polynomials)));
      }
    }
  }

  // No dropout, no statistics over the batch.
  RepeatedDraws Repeats() const override { return RepeatedDraws::kMerge; }
  // Windows in parts measured slower here (1024-wide GEMMs already split well over cores).
  WindowParallelism WindowParallel() const override { return WindowParallelism::kAllowed; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    return ResidualStackForecast(batch, horizon_, outputs_, blocks_);
  }

 private:
  int horizon_, outputs_;
  std::vector<std::shared_ptr<NBeatsBlock>> blocks_;
};

Result<std::shared_ptr<ForecastModel>> MakeNBeats(const ModelConfig& config) {
  Params p("NBEATS", config.params);
  const int n_blocks = p.TakeInt("n_blocks", 1);
  const int units = p.TakeInt("mlp_units", 512);
  const int layers = p.TakeInt("mlp_layers", 3);
  const int n_harmonics = p.TakeInt("n_harmonics", 2);
  const int n_polynomials = p.TakeInt("n_polynomials", 2);
  DRC_RETURN_NOT_OK(p.Finish());
  if (n_blocks < 1 || units < 1 || layers < 1 || n_harmonics < 1 || n_polynomials < 0) {
    return Status::InvalidArgument(
        "NBEATS: n_blocks, mlp_units, mlp_layers and n_harmonics "
        "must be >= 1 and n_polynomials >= 0");
  }
  if (config.horizon == 1) {
    return Status::InvalidArgument(
        "NBEATS: horizon 1 is incompatible with the trend and "
        "seasonality stacks");
  }
  return std::shared_ptr<ForecastModel>(
      std::make_shared<NBeats>(config.input_size, config.horizon, config.outputs, n_blocks, units,
                               layers, n_harmonics, n_polynomials));
}

}  // namespace

Status RegisterNBeatsModels(ModelRegistry& registry) {
  return registry.Register("NBEATS", MakeNBeats, TrainDefaults{});
}

}  // namespace drc::dl
