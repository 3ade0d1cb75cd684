// TimeXer (Wang et al., "TimeXer: Empowering Transformers for Time Series Forecasting with
// Exogenous Variables", 2024), as NeuralForecast 3.3's TimeXer, layer for layer. It is
// multivariate (TrainDefaults::multivariate): a window holds every series over the same L steps.
//   - With use_norm, each series' window is centred and divided by its population std (+ 1e-5)
//     over the L steps, and the forecast is scaled back (no learned affine part).
//   - Endogenous tokens: each series' window is cut into P = L / patch_len patches (NF's unfold:
//     from the first step, a remainder at the end is left out), each embedded by a
//     Linear(patch_len, hidden_size) without bias plus the sinusoidal positions, and a learned
//     global token per series follows them: [W * N, P + 1, hidden_size], then dropout.
//   - Exogenous tokens (NF's DataEmbedding_inverted): the N normalised series and, when given, the
//     historic variables of every series (X * N, variable by variable) and the static ones (N * S,
//     series by series, each constant over the L steps), each embedded by a Linear(L,
//     hidden_size), then dropout.
//   - e_layers encoder layers: self-attention over a series' tokens (post-norm); then the global
//     tokens of the window's N series attend to the window's exogenous tokens (cross-attention,
//     residual, LayerNorm); a ReLU feed-forward of d_ff (residual, LayerNorm). A final LayerNorm.
//   - The head flattens each series' [hidden_size, P + 1] to a Linear(hidden_size * (P + 1), h),
//     then dropout.
//
// NF defaults: patch_len 16, hidden_size 512, n_heads 8, e_layers 2, d_ff 2048, dropout 0.1,
// use_norm on; factor is taken and unused (full attention), as in NF. Adam lr 1e-3 without LR
// decays, 32 windows per step, the identity scaler. It reads historic and static variables, as
// NF's (no future ones), categorical ones embedded (categorical.h). With Q outputs per step
// (MQLoss, a DistributionLoss) the head gives h * Q per series, as NF's (MultivariateRows).
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <memory>
#include <string>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/models/transformer_blocks.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "TimeXer";

// NF's TimeXer EncoderLayer.
class TimeXerLayer final : public torch::nn::Module {
 public:
  explicit TimeXerLayer(const TransformerOptions& o) : dropout_(o.dropout) {
    auto attention = [&] {
      return std::make_shared<AttentionLayer>(
          std::make_shared<FullAttention>(/*causal=*/false, o.dropout), o.hidden, o.heads);
    };
    self_ = register_module("self_attention", attention());
    cross_ = register_module("cross_attention", attention());
    ff_ = register_module("ff", std::make_shared<FeedForward>(o.hidden, o.conv_hidden, true,
                                                              o.dropout, o.activation));
    norm1_ =
        register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden})));
    norm2_ =
        register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden})));
    norm3_ =
        register_module("norm3", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden})));
  }

  // x [W * N, P + 1, d] (the last token of each series its global one), cross [W, T, d].
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& cross) {
    const bool training = is_training();
    x = norm1_->forward(x + Dropout(self_->forward(x, x, x), dropout_, training));
    const int64_t W = cross.size(0), d = x.size(2), tokens = x.size(1);
    const torch::Tensor global = x.narrow(1, tokens - 1, 1);   // [W * N, 1, d]
    const torch::Tensor queries = global.reshape({W, -1, d});  // [W, N, d]
    const torch::Tensor attended =
        Dropout(cross_->forward(queries, cross, cross), dropout_, training).reshape({-1, 1, d});
    x = torch::cat({x.narrow(1, 0, tokens - 1), norm2_->forward(global + attended)}, 1);
    return norm3_->forward(x + ff_->forward(x));
  }

 private:
  double dropout_;
  std::shared_ptr<AttentionLayer> self_, cross_;
  std::shared_ptr<FeedForward> ff_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr};
};

class TimeXer final : public ForecastModel {
 public:
  TimeXer(const ModelConfig& c, const TransformerOptions& o, int patch_len, bool use_norm)
      : input_size_(c.input_size),
        horizon_(c.horizon),
        n_series_(c.n_series),
        outputs_(c.outputs),
        hist_(c.hist_exog),
        stat_(c.stat_exog),
        patch_len_(patch_len),
        patches_(c.input_size / patch_len),
        hidden_(o.hidden),
        dropout_(o.dropout),
        use_norm_(use_norm) {
    // Built in NF's order, so that a seed gives NF's initial weights.
    patch_embedding_ = register_module(
        "en_embedding_value_embedding",
        torch::nn::Linear(torch::nn::LinearOptions(patch_len, o.hidden).bias(false)));
    global_token_ =
        register_parameter("en_embedding_glb_token", torch::randn({1, n_series_, 1, o.hidden}));
    exog_embedding_ =
        register_module("ex_embedding_value_embedding", torch::nn::Linear(c.input_size, o.hidden));
    for (int i = 0; i < o.encoder_layers; ++i) {
      layers_.push_back(register_module("encoder_layers_" + std::to_string(i),
                                        std::make_shared<TimeXerLayer>(o)));
    }
    norm_ = register_module("encoder_norm",
                            torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden})));
    head_ = register_module("head_linear", torch::nn::Linear(o.hidden * (patches_ + 1),
                                                             c.horizon * int64_t{c.outputs}));
  }

  // The rows of a window are its series, which the trainer keeps together.
  RepeatedDraws Repeats() const override { return RepeatedDraws::kCompute; }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kNone; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    torch::Tensor x = MultivariateWindows(kName, batch.insample_y, n_series_, input_size_);
    const int64_t W = x.size(0), N = n_series_, L = input_size_, P = patches_;
    const bool training = is_training();
    SeriesNorm norm;
    if (use_norm_) x = norm.Normalize(x, /*detach_std=*/false);
    // Endogenous tokens: the patches, then the series' global token.
    torch::Tensor patches = x.narrow(2, 0, P * patch_len_).reshape({W * N, P, patch_len_});
    patches = Dense(patch_embedding_, patches) + SinusoidalPositions(P, hidden_, x.device());
    torch::Tensor tokens =
        torch::cat({patches.view({W, N, P, hidden_}), global_token_.expand({W, N, 1, hidden_})}, 2);
    tokens = Dropout(tokens.view({W * N, P + 1, hidden_}), dropout_, training);
    // Exogenous tokens: [W, N (+ X * N + N * S), L].
    std::vector<torch::Tensor> series = {x};
    if (hist_ > 0) {  // rows [W * N, L, X] -> [W, X * N, L]
      series.push_back(
          batch.hist_exog.view({W, N, L, hist_}).permute({0, 3, 1, 2}).reshape({W, hist_ * N, L}));
    }
    if (stat_ > 0) {  // one row per series, the same in every window: [N * S], constant over L
      series.push_back(
          batch.stat_exog.view({W, N * stat_, 1}).narrow(0, 0, 1).expand({W, N * stat_, L}));
    }
    const torch::Tensor cross =
        Dropout(Dense(exog_embedding_, series.size() == 1 ? series[0] : torch::cat(series, 1)),
                dropout_, training);
    for (auto& layer : layers_) tokens = layer->forward(tokens, cross);
    tokens = norm_->forward(tokens);  // [W * N, P + 1, d] -> each series' [d, P + 1], flattened
    const torch::Tensor flat =
        tokens.view({W, N, P + 1, hidden_}).transpose(2, 3).reshape({W, N, hidden_ * (P + 1)});
    torch::Tensor z = Dropout(Dense(head_, flat), dropout_, training);  // [W, N, H * Q]
    if (use_norm_) z = norm.Restore(z);
    return MultivariateRows(z, horizon_, outputs_);
  }

 private:
  int64_t input_size_, horizon_, n_series_, outputs_;
  int hist_, stat_;
  int64_t patch_len_, patches_, hidden_;
  double dropout_;
  bool use_norm_;
  torch::nn::Linear patch_embedding_{nullptr}, exog_embedding_{nullptr}, head_{nullptr};
  torch::Tensor global_token_;
  std::vector<std::shared_ptr<TimeXerLayer>> layers_;
  torch::nn::LayerNorm norm_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeTimeXer(const ModelConfig& config) {
  Params p(kName, config.params);
  TransformerOptions o;
  bool use_norm = true;
  DRC_RETURN_NOT_OK(TakeInvertedOptions(kName, p, /*attention=*/true, o, use_norm));
  o.activation = FeedForwardActivation::kRelu;
  const int patch_len = p.TakeInt("patch_len", 16);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "patch_len", patch_len, 1));
  if (config.input_size < patch_len) {  // NF's unfold fails there
    return Status::InvalidArgument(kName, ": input_size (", config.input_size,
                                   ") must be at least patch_len (", patch_len,
                                   "): the window is cut into patches of patch_len steps");
  }
  DRC_RETURN_NOT_OK(CheckMultivariateConfig(kName, config));
  return std::shared_ptr<ForecastModel>(std::make_shared<TimeXer>(config, o, patch_len, use_norm));
}

}  // namespace

Status RegisterTimeXerModels(ModelRegistry& registry) {
  TrainDefaults d = MultivariateTrainDefaults();
  d.hist_exog = d.stat_exog = true;  // NF's EXOGENOUS_HIST and EXOGENOUS_STAT
  return registry.Register(kName, MakeTimeXer, d);
}

}  // namespace drc::dl
