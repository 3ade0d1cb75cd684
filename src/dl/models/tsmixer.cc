// TSMixer, the all-MLP multivariate forecaster (Chen et al., "TSMixer: An All-MLP Architecture
// for Time Series Forecasting", 2023), as NeuralForecast 3.3's TSMixer, layer for layer. It is
// multivariate (TrainDefaults::multivariate): a window holds every series over the same L steps,
// [W, L, N], and the model mixes along time and across series.
//   - RevIN over each series' window (NF's RevINMultivariate: mean and population std over the
//     L steps plus 1e-5, an affine weight and bias per series), undone on the output.
//   - n_block mixing layers, each a time mixing (BatchNorm1d over the N * L values, Linear(L, L),
//     ReLU, dropout, residual) then a feature mixing (BatchNorm1d over the L * N values,
//     Linear(N, ff_dim), ReLU, dropout, Linear(ff_dim, N), dropout, residual).
//   - A Linear(L, h) per series maps the mixed window to the horizon.
//
// NF defaults: n_block 2, ff_dim 64, dropout 0.9, revin on; Adam lr 1e-3 without LR decays, 32
// windows per step, the identity scaler. The batch norms use NF's eps 1e-3 and momentum 0.01.
// Their statistics run over the batch, so every draw is computed (as NF). NF's series order in a
// training window is its data loader's epoch order (windows.h), which the feature mixing reads
// position by position, as NF's does. With Q outputs per step (MQLoss, a DistributionLoss) the
// last Linear gives h * Q per series, as NF's (MultivariateRows); TSMixerx's gives N * Q per
// step, which its RevIN reads as Q groups of N, and so do its outputs here.
//
// TSMixerx, NF 3.3's TSMixer with exogenous variables, is a different network over the horizon:
//   - RevIN as above on y (not on the variables).
//   - y and the historic and future variables over the L input steps, [W, 1 + X + F, N, L], pass
//     one Linear(L, h) (temporal_projection), are flattened per step to [W, h, (1 + X + F) * N] and
//     feature-mixed to ff_dim (feature_mixer_hist). The future variables over the horizon,
//     [W, h, F * N], and the static ones, [N * S] at every step, are feature-mixed to ff_dim each
//     and concatenated.
//   - A first mixing layer to ff_dim, then n_block mixing layers (with static variables each
//     mixes them in again, as NF's MixingLayerWithStaticExogenous), then Linear(ff_dim, N).
//   - Its mixing layers normalise with LayerNorm over [h, C] (TSMixer's use BatchNorm): a time
//     mixing (Linear(h, h), ReLU, dropout, residual, norm) and a feature mixing (Linear(C, ff_dim),
//     ReLU, dropout, Linear(ff_dim, C'), dropout, residual through a Linear(C, C') when C != C',
//     norm).
// NF defaults: n_block 2, ff_dim 64, dropout 0, revin on; the training defaults are TSMixer's.
// Categorical variables arrive embedded (categorical.h), as NF's.
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/model.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "TSMixer";
constexpr const char* kNameX = "TSMixerx";

struct TsMixerOptions {
  int n_block = 2;
  int ff_dim = 64;
  double dropout = 0.9;
  bool revin = true;
};

// NF's RevINMultivariate with its affine weight and bias per series: Norm takes [W, L, N] and
// keeps the statistics of each series' window, Denorm undoes it on [W, N, H].
class RevinMultivariate {
 public:
  void Register(torch::nn::Module& m, int64_t n_series) {
    weight_ = m.register_parameter("norm_affine_weight", torch::ones({1, 1, n_series}));
    bias_ = m.register_parameter("norm_affine_bias", torch::zeros({1, 1, n_series}));
  }
  torch::Tensor Norm(const torch::Tensor& x) {
    mean_ = x.mean(1, /*keepdim=*/true).detach();
    std_ = torch::sqrt(x.var(1, /*unbiased=*/false, /*keepdim=*/true) + 1e-5).detach();
    return (x - mean_) / std_ * weight_ + bias_;
  }
  torch::Tensor Denorm(const torch::Tensor& z) const {
    const int64_t n = weight_.size(2);
    return (z - bias_.view({1, n, 1})) / weight_.view({1, n, 1}) * std_.permute({0, 2, 1}) +
           mean_.permute({0, 2, 1});
  }

 private:
  torch::Tensor weight_, bias_, mean_, std_;
};

torch::nn::BatchNorm1d NfBatchNorm(int64_t features) {
  return torch::nn::BatchNorm1d(torch::nn::BatchNorm1dOptions(features).eps(1e-3).momentum(0.01));
}

class TsMixer final : public ForecastModel {
 public:
  TsMixer(const ModelConfig& c, const TsMixerOptions& o)
      : input_size_(c.input_size),
        horizon_(c.horizon),
        n_series_(c.n_series),
        outputs_(c.outputs),
        dropout_(o.dropout),
        revin_(o.revin) {
    const int64_t L = input_size_, N = n_series_;
    if (revin_) norm_.Register(*this, N);
    // Built in NF's order, so that a seed gives NF's initial weights.
    for (int i = 0; i < o.n_block; ++i) {
      const std::string at = "mixing_layers_" + std::to_string(i) + "_";
      Block b;
      b.temporal_norm = register_module(at + "temporal_norm", NfBatchNorm(N * L));
      b.temporal_lin = register_module(at + "temporal_lin", torch::nn::Linear(L, L));
      b.feature_norm = register_module(at + "feature_norm", NfBatchNorm(N * L));
      b.feature_lin_1 = register_module(at + "feature_lin_1", torch::nn::Linear(N, o.ff_dim));
      b.feature_lin_2 = register_module(at + "feature_lin_2", torch::nn::Linear(o.ff_dim, N));
      blocks_.push_back(b);
    }
    out_ = register_module("out", torch::nn::Linear(L, horizon_ * outputs_));
  }

  RepeatedDraws Repeats() const override { return RepeatedDraws::kCompute; }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kNone; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    torch::Tensor x = MultivariateWindows(kName, batch.insample_y, n_series_, input_size_);
    const int64_t W = x.size(0), L = input_size_, N = n_series_;
    const bool training = is_training();
    x = x.permute({0, 2, 1});  // [W, L, N]
    if (revin_) x = norm_.Norm(x);
    for (Block& b : blocks_) {
      // Time mixing: [W, L, N] -> [W, N, L] for the norm and the Linear over L, then back.
      torch::Tensor t = b.temporal_norm->forward(x.permute({0, 2, 1}).reshape({W, N * L}));
      t = torch::relu(Dense(b.temporal_lin, t.view({W, N, L}))).permute({0, 2, 1});
      x = Dropout(t, dropout_, training) + x;
      // Feature mixing over the series: [W, L, N] -> [W, L, ff_dim] -> [W, L, N].
      torch::Tensor f = b.feature_norm->forward(x.reshape({W, L * N})).view({W, L, N});
      f = Dropout(torch::relu(Dense(b.feature_lin_1, f)), dropout_, training);
      x = Dropout(Dense(b.feature_lin_2, f), dropout_, training) + x;
    }
    torch::Tensor z = Dense(out_, x.permute({0, 2, 1}));  // [W, N, H * Q]
    if (revin_) z = norm_.Denorm(z);
    return MultivariateRows(z, horizon_, outputs_);
  }

 private:
  struct Block {
    torch::nn::BatchNorm1d temporal_norm{nullptr}, feature_norm{nullptr};
    torch::nn::Linear temporal_lin{nullptr}, feature_lin_1{nullptr}, feature_lin_2{nullptr};
  };
  int64_t input_size_, horizon_, n_series_, outputs_;
  double dropout_;
  bool revin_;
  RevinMultivariate norm_;
  std::vector<Block> blocks_;
  torch::nn::Linear out_{nullptr};
};

// TSMixerx's feature mixing of [W, h, in] to [W, h, out] (NF's FeatureMixing), registered under
// `at` in NF's order.
struct FeatureMixing {
  FeatureMixing(torch::nn::Module& m, const std::string& at, int64_t in, int64_t out, int64_t h,
                int64_t ff_dim) {
    lin_1 = m.register_module(at + "feature_lin_1", torch::nn::Linear(in, ff_dim));
    lin_2 = m.register_module(at + "feature_lin_2", torch::nn::Linear(ff_dim, out));
    if (in != out) {
      project = m.register_module(at + "project_residual", torch::nn::Linear(in, out));
    }
    norm = m.register_module(at + "feature_norm",
                             torch::nn::LayerNorm(torch::nn::LayerNormOptions({h, out})));
  }
  torch::Tensor Forward(const torch::Tensor& x, double p, bool training) {
    torch::Tensor f = Dropout(torch::relu(Dense(lin_1, x)), p, training);
    f = Dropout(Dense(lin_2, f), p, training);
    return norm->forward(f + (project ? Dense(project, x) : x));
  }
  torch::nn::Linear lin_1{nullptr}, lin_2{nullptr}, project{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};

// TSMixerx's mixing layer of [W, h, in] to [W, h, out]: NF's TemporalMixing (LayerNorm over
// [h, in]) then FeatureMixing. With static variables (NF's MixingLayerWithStaticExogenous) the
// input is the block's ff_dim features and the statics' own mixing, concatenated.
struct MixingLayer {
  MixingLayer(torch::nn::Module& m, const std::string& at, int64_t in, int64_t out, int64_t h,
              int64_t ff_dim, int64_t stat_in) {
    if (stat_in > 0) stat.emplace(m, at + "feature_mixer_stat_", stat_in, ff_dim, h, ff_dim);
    const int64_t c = stat_in > 0 ? 2 * ff_dim : in;
    temporal_norm = m.register_module(at + "temporal_mixer_temporal_norm",
                                      torch::nn::LayerNorm(torch::nn::LayerNormOptions({h, c})));
    temporal_lin = m.register_module(at + "temporal_mixer_temporal_lin", torch::nn::Linear(h, h));
    feature.emplace(m, at + "feature_mixer_", c, out, h, ff_dim);
  }
  torch::Tensor Forward(torch::Tensor x, const torch::Tensor& stat_exog, double p, bool training) {
    if (stat) x = torch::cat({x, stat->Forward(stat_exog, p, training)}, 2);
    torch::Tensor t = torch::relu(Dense(temporal_lin, x.permute({0, 2, 1}))).permute({0, 2, 1});
    x = temporal_norm->forward(Dropout(t, p, training) + x);
    return feature->Forward(x, p, training);
  }
  std::optional<FeatureMixing> stat, feature;
  torch::nn::LayerNorm temporal_norm{nullptr};
  torch::nn::Linear temporal_lin{nullptr};
};

class TsMixerx final : public ForecastModel {
 public:
  TsMixerx(const ModelConfig& c, const TsMixerOptions& o)
      : input_size_(c.input_size),
        horizon_(c.horizon),
        n_series_(c.n_series),
        outputs_(c.outputs),
        hist_(c.hist_exog),
        futr_(c.futr_exog),
        stat_(c.stat_exog),
        dropout_(o.dropout),
        revin_(o.revin) {
    const int64_t N = n_series_, h = horizon_, ff = o.ff_dim;
    // Built in NF's order, so that a seed gives NF's initial weights.
    if (revin_) norm_.Register(*this, N);
    temporal_projection_ =
        register_module("temporal_projection", torch::nn::Linear(input_size_, horizon_));
    hist_mixer_.emplace(*this, "feature_mixer_hist_", N * (1 + hist_ + futr_), ff, h, ff);
    int64_t first_in = ff;
    if (futr_ > 0) {
      futr_mixer_.emplace(*this, "feature_mixer_futr_", N * futr_, ff, h, ff);
      first_in += ff;
    }
    if (stat_ > 0) {
      stat_mixer_.emplace(*this, "feature_mixer_stat_", N * stat_, ff, h, ff);
      first_in += ff;
    }
    layers_.emplace_back(*this, "first_mixing_", first_in, ff, h, ff, 0);
    for (int i = 0; i < o.n_block; ++i) {
      layers_.emplace_back(*this, "mixing_block_" + std::to_string(i) + "_", ff, ff, h, ff,
                           N * stat_);
    }
    out_ = register_module("out", torch::nn::Linear(ff, N * outputs_));
  }

  RepeatedDraws Repeats() const override { return RepeatedDraws::kCompute; }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kNone; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    torch::Tensor y = MultivariateWindows(kNameX, batch.insample_y, n_series_, input_size_);
    const int64_t W = y.size(0), L = input_size_, N = n_series_, H = horizon_;
    const bool training = is_training();
    if (revin_) y = norm_.Norm(y.permute({0, 2, 1})).permute({0, 2, 1});
    // A window's rows hold its series: [W * N, T, C] -> [W, C, N, T], NF's [W, C, T, N] with
    // the last two swapped for the Linear over time.
    auto channels = [&](const torch::Tensor& v) {
      return v.view({W, N, v.size(1), v.size(2)}).permute({0, 3, 1, 2});
    };
    std::vector<torch::Tensor> inputs = {y.unsqueeze(1)};
    if (hist_ > 0) inputs.push_back(channels(batch.hist_exog));
    torch::Tensor futr;
    if (futr_ > 0) {
      futr = channels(batch.futr_exog);  // [W, F, N, L + H]
      inputs.push_back(futr.narrow(3, 0, L));
    }
    torch::Tensor x = inputs.size() == 1 ? inputs[0] : torch::cat(inputs, 1);
    x = Dense(temporal_projection_, x);               // [W, C, N, H]
    x = x.permute({0, 3, 1, 2}).reshape({W, H, -1});  // [W, H, C * N]
    std::vector<torch::Tensor> mixed = {hist_mixer_->Forward(x, dropout_, training)};
    if (futr_ > 0) {  // the horizon's future values, [W, H, F * N]
      const torch::Tensor f = futr.narrow(3, L, H).permute({0, 3, 1, 2}).reshape({W, H, -1});
      mixed.push_back(futr_mixer_->Forward(f, dropout_, training));
    }
    torch::Tensor stat;
    if (stat_ > 0) {  // one row per series, the same in every window: [N * S] at every step
      stat = batch.stat_exog.view({W, 1, -1}).narrow(0, 0, 1).expand({W, H, N * stat_});
      mixed.push_back(stat_mixer_->Forward(stat, dropout_, training));
    }
    x = mixed.size() == 1 ? mixed[0] : torch::cat(mixed, 2);
    for (MixingLayer& layer : layers_) x = layer.Forward(x, stat, dropout_, training);
    // [W, H, N * Q], read as NF's RevIN reads it (Q groups of N), to [W, N, H * Q]
    torch::Tensor z = MixedSeriesOutputs(Dense(out_, x), N, outputs_, /*series_major=*/false);
    if (revin_) z = norm_.Denorm(z);
    return MultivariateRows(z, H, outputs_);
  }

 private:
  int64_t input_size_, horizon_, n_series_, outputs_;
  int hist_, futr_, stat_;
  double dropout_;
  bool revin_;
  RevinMultivariate norm_;
  torch::nn::Linear temporal_projection_{nullptr}, out_{nullptr};
  std::optional<FeatureMixing> hist_mixer_, futr_mixer_, stat_mixer_;
  std::vector<MixingLayer> layers_;
};

template <class Model>
Result<std::shared_ptr<ForecastModel>> MakeMixer(const char* name, TsMixerOptions o,
                                                 const ModelConfig& config) {
  Params p(name, config.params);
  o.n_block = p.TakeInt("n_block", o.n_block);
  o.ff_dim = p.TakeInt("ff_dim", o.ff_dim);
  o.dropout = p.Take("dropout", o.dropout);
  const double revin = p.Take("revin", 1);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(name, "n_block", o.n_block, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(name, "ff_dim", o.ff_dim, 1));
  DRC_RETURN_NOT_OK(CheckRate(name, "dropout", o.dropout));
  DRC_RETURN_NOT_OK(CheckFlag(name, "revin", revin));
  o.revin = revin == 1;
  DRC_RETURN_NOT_OK(CheckMultivariateConfig(name, config));
  return std::shared_ptr<ForecastModel>(std::make_shared<Model>(config, o));
}

}  // namespace

Status RegisterTsMixerModels(ModelRegistry& registry) {
  DRC_RETURN_NOT_OK(registry.Register(
      kName, [](const ModelConfig& c) { return MakeMixer<TsMixer>(kName, TsMixerOptions{}, c); },
      MultivariateTrainDefaults()));
  TrainDefaults x = MultivariateTrainDefaults();
  x.ReadAllExog();
  TsMixerOptions ox;
  ox.dropout = 0.0;
  return registry.Register(
      kNameX, [ox](const ModelConfig& c) { return MakeMixer<TsMixerx>(kNameX, ox, c); }, x);
}

}  // namespace drc::dl
