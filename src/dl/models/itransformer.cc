// iTransformer, the inverted Transformer (Liu et al., "iTransformer: Inverted Transformers Are
// Effective for Time Series Forecasting", 2024), as NeuralForecast 3.3's iTransformer, layer for
// layer. It is multivariate (TrainDefaults::multivariate): each series of a window is one token,
// its L values embedded by a Linear(L, hidden_size), and a Transformer encoder attends across
// the series.
//   - With use_norm, each series' window is centred and divided by its population std (+ 1e-5)
//     over the L steps, and the forecast is scaled back (no learned affine part).
//   - NF's DataEmbedding_inverted (the Linear, then dropout), e_layers of NF's TransEncoderLayer
//     (full attention without a mask, attention dropout, post-norm, a GELU feed-forward of d_ff),
//     a final LayerNorm, and a Linear(hidden_size, h) per token.
//
// NF defaults: hidden_size 512, n_heads 8, e_layers 2, d_ff 2048, dropout 0.1, use_norm on;
// d_layers and factor are taken and unused, as in NF. Adam lr 1e-3 without LR decays, 32 windows
// per step, the identity scaler. Future variables are tokens too, as in NF's: each variable of
// each series over the input and the horizon, embedded by a Linear(L + h, hidden_size), after the
// series' tokens; the projection reads the series' tokens only. With Q outputs per step (MQLoss, a
// DistributionLoss) the projection gives h * Q per series token, as NF's (MultivariateRows).
//
// SOFTS (Han et al., "SOFTS: Efficient Multivariate Time Series Forecasting with Series-Core
// Fusion", 2024), as NF 3.3's SOFTS, is the same inverted encoder with NF's STAD (src/dl/models/
// transformer_blocks.h) in place of attention, the series exchanging information through a core
// aggregated over them, and no LayerNorm after the last layer (NF's has none). NF defaults:
// hidden_size 512, d_core 512, e_layers 2, d_ff 2048, dropout 0.1, use_norm on, and iTransformer's
// training defaults. Its training forward draws a token per core channel (torch.multinomial).
//
// SOFTSSharp, as NF 3.3's SOFTSSharp, is SOFTS with NF's STADSharp in each layer (transformer_
// blocks.h): the series' positions as a sinusoidal table with a learned scale added to the tokens
// before the core (in training with probability pe_keep_prob, one torch.rand draw per layer and
// step; at inference scaled by pe_keep_prob), and dropout inside the STAD. NF defaults: SOFTS's,
// and pe_keep_prob 0.5.
#include <torch/nn/modules/linear.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/models/transformer_blocks.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "iTransformer";
constexpr const char* kSofts = "SOFTS";
constexpr const char* kSoftsSharp = "SOFTSSharp";

class ITransformer final : public ForecastModel {
 public:
  // `core` > 0: SOFTS, with a STAD of that core width in each layer; with `sharp` SOFTSSharp.
  ITransformer(const ModelConfig& c, const TransformerOptions& o, bool use_norm, int core = 0,
               std::optional<StadSharp> sharp = std::nullopt)
      : name_(sharp      ? kSoftsSharp
              : core > 0 ? kSofts
                         : kName),
        input_size_(c.input_size),
        horizon_(c.horizon),
        n_series_(c.n_series),
        outputs_(c.outputs),
        futr_(c.futr_exog),
        dropout_(o.dropout),
        use_norm_(use_norm) {
    // Built in NF's order, so that a seed gives NF's initial weights.
    embedding_ =
        register_module("enc_embedding_value_embedding", torch::nn::Linear(c.input_size, o.hidden));
    if (futr_ > 0) {  // iTransformer's: each future variable of each series one more token
      futr_embedding_ =
          register_module("futr_embedding", torch::nn::Linear(c.input_size + c.horizon, o.hidden));
    }
    std::vector<std::shared_ptr<TransEncoderLayer>> layers;
    for (int i = 0; i < o.encoder_layers; ++i) {
      if (core > 0) {
        layers.push_back(
            std::make_shared<TransEncoderLayer>(std::make_shared<Stad>(o.hidden, core, sharp), o));
        continue;
      }
      auto attention = std::make_shared<AttentionLayer>(
          std::make_shared<FullAttention>(/*causal=*/false, o.dropout), o.hidden, o.heads);
      layers.push_back(std::make_shared<TransEncoderLayer>(std::move(attention), o));
    }
    encoder_ = register_module(
        "encoder",
        std::make_shared<TransEncoder>(std::move(layers), o.hidden, /*final_norm=*/core == 0));
    projector_ =
        register_module("projector", torch::nn::Linear(o.hidden, c.horizon * int64_t{c.outputs}));
  }

  // Windows meet only in the batch: each is computed once per draw (the rows of a window are
  // its series, which the trainer does not split).
  RepeatedDraws Repeats() const override { return RepeatedDraws::kCompute; }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kNone; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    // NF's [W, L, N] inverted to tokens is our [W, N, L]; the statistics run over L.
    torch::Tensor x = MultivariateWindows(name_, batch.insample_y, n_series_, input_size_);
    const int64_t W = x.size(0);
    SeriesNorm norm;
    if (use_norm_) x = norm.Normalize(x, /*detach_std=*/false);
    torch::Tensor tokens = Dropout(Dense(embedding_, x), dropout_, is_training());
    if (futr_ > 0) {
      // Rows [W * N, L + H, F] -> tokens [W, N * F, L + H], series by series (NF's order).
      const torch::Tensor& f = batch.futr_exog;
      const torch::Tensor futr = f.view({W, n_series_, f.size(1), futr_})
                                     .permute({0, 1, 3, 2})
                                     .reshape({W, -1, f.size(1)});
      tokens =
          torch::cat({tokens, Dropout(Dense(futr_embedding_, futr), dropout_, is_training())}, 1);
    }
    // The series' tokens come first; the future variables' only inform them.
    torch::Tensor z =
        Dense(projector_, encoder_->forward(tokens).narrow(1, 0, n_series_));  // [W, N, H * Q]
    if (use_norm_) z = norm.Restore(z);
    return MultivariateRows(z, horizon_, outputs_);
  }

 private:
  const char* name_;
  int64_t input_size_, horizon_, n_series_, outputs_;
  int futr_;
  double dropout_;
  bool use_norm_;
  torch::nn::Linear embedding_{nullptr}, futr_embedding_{nullptr}, projector_{nullptr};
  std::shared_ptr<TransEncoder> encoder_;
};

Result<std::shared_ptr<ForecastModel>> MakeITransformer(const ModelConfig& config) {
  Params p(kName, config.params);
  TransformerOptions o;
  bool use_norm = true;
  DRC_RETURN_NOT_OK(TakeInvertedOptions(kName, p, /*attention=*/true, o, use_norm));
  const int d_layers = p.TakeInt("d_layers", 1);  // unused, as in NF
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "d_layers", d_layers, 0));
  DRC_RETURN_NOT_OK(CheckMultivariateConfig(kName, config));
  return std::shared_ptr<ForecastModel>(std::make_shared<ITransformer>(config, o, use_norm));
}

Result<std::shared_ptr<ForecastModel>> MakeSofts(const ModelConfig& config, bool sharp) {
  const char* name = sharp ? kSoftsSharp : kSofts;
  Params p(name, config.params);
  TransformerOptions o;
  bool use_norm = true;
  DRC_RETURN_NOT_OK(TakeInvertedOptions(name, p, /*attention=*/false, o, use_norm));
  const int core = p.TakeInt("d_core", 512);
  std::optional<StadSharp> stad;
  if (sharp) stad = StadSharp{o.dropout, p.Take("pe_keep_prob", 0.5)};
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(name, "d_core", core, 1));
  if (stad && !(stad->pe_keep_prob >= 0 && stad->pe_keep_prob <= 1)) {
    return Status::InvalidArgument(name, ": pe_keep_prob must be in [0, 1], got ",
                                   stad->pe_keep_prob);
  }
  DRC_RETURN_NOT_OK(CheckMultivariateConfig(name, config));
  return std::shared_ptr<ForecastModel>(
      std::make_shared<ITransformer>(config, o, use_norm, core, stad));
}

}  // namespace

Status RegisterITransformerModels(ModelRegistry& registry) {
  TrainDefaults itransformer = MultivariateTrainDefaults();
  itransformer.futr_exog = true;  // NF's EXOGENOUS_FUTR
  DRC_RETURN_NOT_OK(registry.Register(kName, MakeITransformer, itransformer));
  DRC_RETURN_NOT_OK(registry.Register(
      kSofts, [](const ModelConfig& c) { return MakeSofts(c, false); },
      MultivariateTrainDefaults()));
  return registry.Register(
      kSoftsSharp, [](const ModelConfig& c) { return MakeSofts(c, true); },
      MultivariateTrainDefaults());
}

}  // namespace drc::dl
