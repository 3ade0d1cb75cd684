// XLinear (Chen et al., "XLinear: A Lightweight and Accurate MLP-Based Model for Long-Term Time
// Series Forecasting with Exogenous Inputs", 2026), as NeuralForecast 3.3's XLinear, layer for
// layer. It is multivariate (TrainDefaults::multivariate): a window holds every series over the
// same L steps.
//   - With use_norm, each series' window is centred and divided by its population std (+ 1e-5)
//     over the L steps, and the forecast is scaled back (no learned affine part).
//   - Each series' window is embedded by a Linear(L, hidden_size) (then embed_dropout) and joined
//     to a learned global token of its own, [W, N, 2 * hidden_size].
//   - Temporal gating: x * sigmoid(MLP(x)) over those 2 * hidden_size features (MLP: Linear to
//     temporal_ff, ReLU, temporal_dropout, Linear back). Its first half is the series' part; the
//     second, the gated global tokens, joins the embeddings along the series, [W, 2N, hidden_size],
//     for the cross-channel gating over those 2N channels (channel_ff wide, channel_dropout), whose
//     global half is the series' other part: [W, N, 2 * hidden_size].
//   - The variables, as NF's: each series' historic ones over the input, [X * L], its future ones
//     over input and horizon, [F * (L + h)], and its static ones, [S], each projected to
//     hidden_size by a Linear and appended.
//   - head_dropout, then a Linear to h per series.
//
// NF defaults: hidden_size 128, temporal_ff 256, channel_ff 8, the four dropouts 0, use_norm on;
// Adam lr 1e-3 without LR decays, 32 windows per step, the identity scaler. Categorical
// variables arrive embedded (categorical.h). With Q outputs per step (MQLoss, a DistributionLoss)
// the head gives h * Q per series, as NF's (MultivariateRows).
#include <torch/nn/modules/linear.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/model.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "XLinear";

struct XLinearOptions {
  int hidden = 128, temporal_ff = 256, channel_ff = 8;
  double temporal_dropout = 0, channel_dropout = 0, embed_dropout = 0, head_dropout = 0;
  bool use_norm = true;
};

// NF's GatingBlock over the last dimension: x * sigmoid(Linear(ReLU-dropout(Linear(x)))).
struct Gating {
  Gating(torch::nn::Module& m, const std::string& at, int64_t width, int64_t ff, double p)
      : dropout(p) {
    inner = m.register_module(at + "weight_0", torch::nn::Linear(width, ff));
    outer = m.register_module(at + "weight_3", torch::nn::Linear(ff, width));
  }
  torch::Tensor Forward(const torch::Tensor& x, bool training) {
    const torch::Tensor h = Dropout(torch::relu(Dense(inner, x)), dropout, training);
    return x * torch::sigmoid(Dense(outer, h));
  }
  double dropout;
  torch::nn::Linear inner{nullptr}, outer{nullptr};
};

class XLinear final : public ForecastModel {
 public:
  XLinear(const ModelConfig& c, const XLinearOptions& o)
      : input_size_(c.input_size),
        horizon_(c.horizon),
        n_series_(c.n_series),
        outputs_(c.outputs),
        hist_(c.hist_exog),
        futr_(c.futr_exog),
        stat_(c.stat_exog),
        o_(o) {
    const int64_t N = n_series_, d = o.hidden;
    // Built in NF's order, so that a seed gives NF's initial weights.
    projection_ = register_module("projection", torch::nn::Linear(c.input_size, d));
    global_token_ = register_parameter("glob_token", torch::randn({1, N, d}));
    temporal_.emplace(*this, "temporal_gating_", 2 * d, o.temporal_ff, o.temporal_dropout);
    channel_.emplace(*this, "channel_gating_", 2 * N, o.channel_ff, o.channel_dropout);
    int64_t head_in = 2 * d;
    if (hist_ > 0) {
      hist_projection_ = register_module("hist_exog_projection",
                                         torch::nn::Linear(int64_t{hist_} * c.input_size, d));
      head_in += d;
    }
    if (futr_ > 0) {
      futr_projection_ =
          register_module("futr_exog_projection",
                          torch::nn::Linear(int64_t{futr_} * (c.input_size + c.horizon), d));
      head_in += d;
    }
    if (stat_ > 0) {
      stat_projection_ = register_module("stat_exog_projection", torch::nn::Linear(stat_, d));
      head_in += d;
    }
    head_ = register_module("head_1", torch::nn::Linear(head_in, c.horizon * int64_t{c.outputs}));
  }

  // The rows of a window are its series, which the trainer keeps together.
  RepeatedDraws Repeats() const override { return RepeatedDraws::kCompute; }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kNone; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    torch::Tensor x = MultivariateWindows(kName, batch.insample_y, n_series_, input_size_);
    const int64_t W = x.size(0), N = n_series_, d = o_.hidden;
    const bool training = is_training();
    SeriesNorm norm;
    if (o_.use_norm) x = norm.Normalize(x, /*detach_std=*/true);
    const torch::Tensor emb = Dropout(Dense(projection_, x), o_.embed_dropout, training);
    const torch::Tensor gated = temporal_->Forward(
        torch::cat({emb, global_token_.expand({W, N, d})}, 2), training);  // [W, N, 2d]
    // The gated global tokens join the embeddings as N more channels: [W, d, 2N].
    const torch::Tensor channels =
        channel_->Forward(torch::cat({emb, gated.narrow(2, d, d)}, 1).permute({0, 2, 1}), training);
    std::vector<torch::Tensor> parts = {gated.narrow(2, 0, d),
                                        channels.narrow(2, N, N).permute({0, 2, 1})};
    // A window's rows [N, T, C] -> each series' [C * T], variable by variable.
    auto flat = [&](const torch::Tensor& v) {
      return v.view({W, N, v.size(1), v.size(2)}).permute({0, 1, 3, 2}).reshape({W, N, -1});
    };
    if (hist_ > 0) parts.push_back(Dense(hist_projection_, flat(batch.hist_exog)));
    if (futr_ > 0) parts.push_back(Dense(futr_projection_, flat(batch.futr_exog)));
    if (stat_ > 0) parts.push_back(Dense(stat_projection_, batch.stat_exog.view({W, N, stat_})));
    torch::Tensor z = Dense(head_, Dropout(torch::cat(parts, 2), o_.head_dropout, training));
    if (o_.use_norm) z = norm.Restore(z);  // [W, N, H * Q]
    return MultivariateRows(z, horizon_, outputs_);
  }

 private:
  int64_t input_size_, horizon_, n_series_, outputs_;
  int hist_, futr_, stat_;
  XLinearOptions o_;
  torch::nn::Linear projection_{nullptr}, hist_projection_{nullptr}, futr_projection_{nullptr},
      stat_projection_{nullptr}, head_{nullptr};
  torch::Tensor global_token_;
  std::optional<Gating> temporal_, channel_;
};

Result<std::shared_ptr<ForecastModel>> MakeXLinear(const ModelConfig& config) {
  Params p(kName, config.params);
  XLinearOptions o;
  o.hidden = p.TakeInt("hidden_size", o.hidden);
  o.temporal_ff = p.TakeInt("temporal_ff", o.temporal_ff);
  o.channel_ff = p.TakeInt("channel_ff", o.channel_ff);
  o.temporal_dropout = p.Take("temporal_dropout", o.temporal_dropout);
  o.channel_dropout = p.Take("channel_dropout", o.channel_dropout);
  o.embed_dropout = p.Take("embed_dropout", o.embed_dropout);
  o.head_dropout = p.Take("head_dropout", o.head_dropout);
  const double norm = p.Take("use_norm", 1);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "hidden_size", o.hidden, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "temporal_ff", o.temporal_ff, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "channel_ff", o.channel_ff, 1));
  DRC_RETURN_NOT_OK(CheckRate(kName, "temporal_dropout", o.temporal_dropout));
  DRC_RETURN_NOT_OK(CheckRate(kName, "channel_dropout", o.channel_dropout));
  DRC_RETURN_NOT_OK(CheckRate(kName, "embed_dropout", o.embed_dropout));
  DRC_RETURN_NOT_OK(CheckRate(kName, "head_dropout", o.head_dropout));
  DRC_RETURN_NOT_OK(CheckFlag(kName, "use_norm", norm));
  o.use_norm = norm == 1;
  DRC_RETURN_NOT_OK(CheckMultivariateConfig(kName, config));
  return std::shared_ptr<ForecastModel>(std::make_shared<XLinear>(config, o));
}

}  // namespace

Status RegisterXLinearModels(ModelRegistry& registry) {
  TrainDefaults d = MultivariateTrainDefaults();
  d.ReadAllExog();
  return registry.Register(kName, MakeXLinear, d);
}

}  // namespace drc::dl
