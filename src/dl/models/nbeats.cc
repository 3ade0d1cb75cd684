// NBEATS (NeuralForecast's NBEATS, Oreshkin et al. 2019): stacks of MLP blocks with doubly
// residual links, each block projecting onto a basis — identity, polynomial trend or Fourier
// seasonality. NF defaults: stacks identity/trend/seasonality with 1 block each, mlp_units
// 3 x [512, 512], n_harmonics 2, n_polynomials 2; Adam lr 1e-3 with 3 StepLR decays, 1024
// windows per step, identity scaler. As NF: the first hidden Linear has no activation after it,
// the residuals run on the flipped input, and the forecast starts at the last input value.
// With Q outputs per step (MQLoss), a block's forecast coefficients are Q times as many, read
// as NF's: identity [B, H, Q] from H * Q values, trend and seasonality [B, P, Q] on the basis.
// stack_types takes NF's list of stacks (named_params.h), each with n_blocks blocks (one number
// for every stack here; NF takes one per stack). NF 3.3's NBEATS reads its trend degree from
// n_basis (n_polynomials is deprecated there); both names are taken, n_basis winning.
//
// NBEATSx (NF's NBEATSx, Olivares et al. 2021) is the same network reading exogenous
// variables: each block's MLP reads the input window, then the historic variables over the
// input, the future ones over input and horizon, and the static ones, flattened step by step
// in that order; dropout_prob_theta drops out after each hidden layer's ReLU. Its
// `exogenous` stack projects onto the future and static variables themselves: a block's theta
// holds one forecast coefficient per variable (shared by MQLoss's outputs, as NF's) and one
// backcast coefficient, and the backcast and forecast are the variables' weighted sums over
// input and horizon (NF's ExogenousBasis; the variables are not flipped with the residuals, as
// in NF). NF's defaults are NBEATS's; its trend degree is n_polynomials.
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/models/residual_stack.h"
#include "src/dl/named_params.h"

namespace drc::dl {
namespace {

// In the order of named_params.h's stack_types names.
enum class Basis { kIdentity, kTrend, kSeasonality, kExogenous };

struct NBeatsOptions {
  std::vector<Basis> stacks = {Basis::kIdentity, Basis::kTrend, Basis::kSeasonality};
  int n_blocks = 1, units = 512, layers = 3, n_harmonics = 2, n_polynomials = 2;
  double dropout = 0;  // NBEATSx's dropout_prob_theta
};

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
  NBeatsBlock(Basis basis, const ModelConfig& c, const NBeatsOptions& o)
      : basis_(basis),
        input_size_(c.input_size),
        horizon_(c.horizon),
        outputs_(c.outputs),
        hist_(c.hist_exog),
        futr_(c.futr_exog),
        stat_(c.stat_exog),
        dropout_(o.dropout) {
    const int input_size = c.input_size, horizon = c.horizon, outputs = c.outputs;
    const int n_harmonics = o.n_harmonics, n_polynomials = o.n_polynomials;
    int n_theta = input_size + outputs * horizon;
    if (basis == Basis::kExogenous) {
      n_theta = 2 * (futr_ + stat_);
    } else if (basis == Basis::kTrend) {
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
    const int mlp_input = input_size + hist_ * input_size + futr_ * (input_size + horizon) + stat_;
    first_ = register_module("in", torch::nn::Linear(mlp_input, o.units));
    for (int i = 0; i < o.layers; ++i) {
      hidden_.push_back(
          register_module("hidden" + std::to_string(i), torch::nn::Linear(o.units, o.units)));
    }
    out_ = register_module("theta", torch::nn::Linear(o.units, n_theta));
  }

  // residuals [B, L] -> (backcast [B, L], forecast [B, H] or [B, H, Q]).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& residuals,
                                                  const WindowBatch& batch) {
    const int64_t b = residuals.size(0);
    torch::Tensor x = Dense(first_, WithFlatExog(residuals, batch, hist_, futr_, stat_));
    for (auto& layer : hidden_) x = Dropout(torch::relu(Dense(layer, x)), dropout_, is_training());
    auto theta = Dense(out_, x);
    if (basis_ == Basis::kExogenous) return Exogenous(theta, batch);
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
  // NF's ExogenousBasis over the future variables, then the static ones repeated per step
  // ([B, L + H, C]): theta's first C values weigh them over the horizon, its last C over the
  // input.
  std::pair<torch::Tensor, torch::Tensor> Exogenous(const torch::Tensor& theta,
                                                    const WindowBatch& batch) {
    torch::Tensor basis;  // [B, L + H, C]
    const int64_t steps = input_size_ + horizon_;
    if (futr_ > 0 && stat_ > 0) {
      basis =
          torch::cat({batch.futr_exog, batch.stat_exog.unsqueeze(1).expand({-1, steps, -1})}, 2);
    } else if (futr_ > 0) {
      basis = batch.futr_exog;
    } else {
      basis = batch.stat_exog.unsqueeze(1).expand({-1, steps, -1});
    }
    const int64_t c = futr_ + stat_;
    // Weighted sums over the C variables per step (libtorch 1.13's bmm would run a product per
    // window): [B, L, C] . [B, 1, C] -> [B, L]; [B, H, C] . [B, 1, C] -> [B, H].
    auto backcast = (basis.narrow(1, 0, input_size_) * theta.narrow(1, c, c).unsqueeze(1)).sum(-1);
    auto forecast =
        (basis.narrow(1, input_size_, horizon_) * theta.narrow(1, 0, c).unsqueeze(1)).sum(-1);
    // One forecast for every output, as NF's: [B, H, 1] broadcasts over the Q outputs.
    return {backcast, outputs_ == 1 ? forecast : forecast.unsqueeze(-1)};
  }

  Basis basis_;
  int input_size_, horizon_, outputs_;
  int hist_, futr_, stat_;
  double dropout_;
  torch::Tensor back_, fore_;
  torch::nn::Linear first_{nullptr}, out_{nullptr};
  std::vector<torch::nn::Linear> hidden_;
};

class NBeats final : public ForecastModel {
 public:
  NBeats(const ModelConfig& c, const NBeatsOptions& o)
      : horizon_(c.horizon), outputs_(c.outputs), dropout_(o.dropout) {
    int i = 0;
    for (Basis basis : o.stacks) {
      for (int b = 0; b < o.n_blocks; ++b) {
        blocks_.push_back(register_module("block" + std::to_string(i++),
                                          std::make_shared<NBeatsBlock>(basis, c, o)));
      }
    }
  }

  // No statistics over the batch; dropout only in NBEATSx's hidden layers.
  RepeatedDraws Repeats() const override {
    return dropout_ > 0 ? RepeatedDraws::kMergeSharingDropout : RepeatedDraws::kMerge;
  }
  // Windows in parts measured slower here (1024-wide GEMMs already split well over cores).
  WindowParallelism WindowParallel() const override {
    return dropout_ > 0 ? WindowParallelism::kNone : WindowParallelism::kAllowed;
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    return ResidualStackForecast(batch, horizon_, outputs_, blocks_);
  }

 private:
  int horizon_, outputs_;
  double dropout_;
  std::vector<std::shared_ptr<NBeatsBlock>> blocks_;
};

// NBEATS, or NBEATSx when `exogenous`.
Result<std::shared_ptr<ForecastModel>> MakeNBeatsModel(const ModelConfig& config, bool exogenous) {
  const std::string name = exogenous ? "NBEATSx" : "NBEATS";
  Params p(name, config.params);
  NBeatsOptions o;
  const double stack_types = p.Take("stack_types", 123);  // identity, trend, seasonality
  o.n_blocks = p.TakeInt("n_blocks", o.n_blocks);
  o.units = p.TakeInt("mlp_units", o.units);
  o.layers = p.TakeInt("mlp_layers", o.layers);
  o.n_harmonics = p.TakeInt("n_harmonics", o.n_harmonics);
  o.n_polynomials = p.TakeInt("n_polynomials", o.n_polynomials);
  if (!exogenous) o.n_polynomials = p.TakeInt("n_basis", o.n_polynomials);  // NF 3.3's name
  if (exogenous) o.dropout = p.Take("dropout_prob_theta", 0);
  DRC_RETURN_NOT_OK(p.Finish());
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, int>>{{"n_blocks", o.n_blocks},
                                                {"mlp_units", o.units},
                                                {"mlp_layers", o.layers},
                                                {"n_harmonics", o.n_harmonics}}) {
    DRC_RETURN_NOT_OK(CheckAtLeast(name, key, value, 1));
  }
  DRC_RETURN_NOT_OK(CheckAtLeast(name, exogenous ? "n_polynomials" : "n_polynomials (n_basis)",
                                 o.n_polynomials, 0));
  DRC_RETURN_NOT_OK(CheckRate(name, "dropout_prob_theta", o.dropout));
  const std::vector<int> stacks = NamedListIndexes("stack_types", stack_types);
  if (stacks.empty()) {
    return Status::InvalidArgument(name, ": stack_types must be ", NamedParamChoices("stack_types"),
                                   " (or their code), got ", stack_types);
  }
  o.stacks.clear();
  for (int s : stacks) o.stacks.push_back(static_cast<Basis>(s));
  auto has = [&](Basis b) {
    return std::find(o.stacks.begin(), o.stacks.end(), b) != o.stacks.end();
  };
  if (has(Basis::kExogenous) && !exogenous) {
    return Status::InvalidArgument(
        "NBEATS: the exogenous stack reads exogenous variables, which NBEATS does not (NBEATSx "
        "does)");
  }
  if (has(Basis::kExogenous) && config.futr_exog + config.stat_exog == 0) {
    return Status::InvalidArgument(
        "NBEATSx: the exogenous stack projects onto future or static variables, and there are "
        "none");
  }
  if (config.horizon == 1 && (has(Basis::kTrend) || has(Basis::kSeasonality))) {
    return Status::InvalidArgument(name,
                                   ": horizon 1 is incompatible with the trend and seasonality "
                                   "stacks");
  }
  return std::shared_ptr<ForecastModel>(std::make_shared<NBeats>(config, o));
}

}  // namespace

Status RegisterNBeatsModels(ModelRegistry& registry) {
  DRC_RETURN_NOT_OK(registry.Register(
      "NBEATS", [](const ModelConfig& c) { return MakeNBeatsModel(c, false); }, TrainDefaults{}));
  TrainDefaults x;
  x.ReadAllExog();
  return registry.Register(
      "NBEATSx", [](const ModelConfig& c) { return MakeNBeatsModel(c, true); }, x);
}

}  // namespace drc::dl
