// Autoformer (NeuralForecast 3.x models/autoformer.py; Wu et al. 2021): a decomposition
// Transformer whose attention is auto-correlation. The window y [B, L] is split by a moving
// average (MovingAvg_window) into seasonal and trend parts. The encoder embeds y (token
// convolution, no positions) and runs layers of auto-correlation and a bias-free kernel-1
// feed-forward, each followed by a series decomposition that keeps the seasonal part, then the
// seasonal LayerNorm. The decoder starts from the last label_len = ceil(L *
// decoder_input_size_multiplier) seasonal values followed by H zeros (embedded) and from the
// last label_len trend values followed by H copies of the window mean; each decoder layer
// (self auto-correlation, cross auto-correlation with the encoder, feed-forward, three
// decompositions) adds its projected trend to the running trend. Forecast: the last H steps of
// trend + Linear(SeasonalLayerNorm(seasonal)). Auto-correlation (transformer_blocks.h): FFT
// cross-correlation, top k = int(factor * ln L) delays, softmax-weighted rolled values.
//
// NF defaults: decoder_input_size_multiplier 0.5, hidden_size 128, n_head 4, conv_hidden_size
// 32, encoder_layers 2, decoder_layers 1, dropout 0.05, factor 3, MovingAvg_window 25,
// activation gelu; Adam lr 1e-4 without decays (num_lr_decays -1), batch_size 32,
// windows_batch_size 1024, identity scaler, MAE.
//
// Differences from NF:
//  - The embeddings are the token convolution (NF builds Autoformer's without positions), plus,
//    with future exogenous variables, NF's temporal embedding of them (DataEmbedding's x_mark:
//    the input window's for the encoder, the decoder's label_len steps and horizon for the
//    decoder). NF's model reads no historic or static variables, and neither does this one.
//  - NF 3.x names the window `MovingAvg_window`; the earlier `moving_avg_window` is accepted too.
//  - For an odd sequence length NF's irfft returns a correlation one step short; here it has the
//    sequence's length (the same for the default even lengths).
//  - activation is NF's default gelu (hyper-parameters are numbers here).
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "src/dl/model.h"
#include "src/dl/models/transformer_blocks.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "Autoformer";

class Autoformer final : public DecompositionForecaster {
 public:
  Autoformer(const ModelConfig& config, const TransformerOptions& o, double factor, int moving_avg)
      : DecompositionForecaster(kName, config, o, moving_avg) {
    auto correlation = [&] {
      correlations_.push_back(std::make_shared<AutoCorrelation>(factor));
      return std::make_shared<AttentionLayer>(correlations_.back(), o.hidden, o.heads);
    };
    Build(correlation, correlation, correlation);
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    for (auto& c : correlations_) c->set_batch_weight(batch.weight);
    torch::Tensor out = DecompositionForecaster::Forward(batch);
    for (auto& c : correlations_) c->set_batch_weight({});
    return out;
  }

 private:
  std::vector<std::shared_ptr<AutoCorrelation>> correlations_;
};

Result<std::shared_ptr<ForecastModel>> MakeAutoformer(const ModelConfig& config) {
  Params p(kName, config.params);
  DRC_ASSIGN_OR_RETURN(auto options, TakeTransformerOptions(kName, p, config.input_size, 4));
  options.outputs = config.outputs;
  const double factor = p.Take("factor", 3);
  DRC_ASSIGN_OR_RETURN(int moving_avg, TakeMovingAvgWindow(kName, p));
  DRC_RETURN_NOT_OK(p.Finish());
  if (!(factor > 0)) return Status::InvalidArgument(kName, ": factor must be > 0, got ", factor);
  return std::shared_ptr<ForecastModel>(
      std::make_shared<Autoformer>(config, options, factor, moving_avg));
}

}  // namespace

Status RegisterAutoformerModels(ModelRegistry& registry) {
  TrainDefaults d = TransformerTrainDefaults();
  d.futr_exog = true;
  return registry.Register(kName, MakeAutoformer, d);
}

}  // namespace drc::dl
