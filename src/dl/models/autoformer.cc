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
//  - No exogenous inputs: with futr_exog_size = 0 NF's DataEmbedding has no temporal embedding
//    and x_mark is None; so here the embedding is the token convolution alone (NF builds
//    Autoformer's embeddings without positions).
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

class Autoformer final : public ForecastModel {
 public:
  Autoformer(const ModelConfig& config, const TransformerOptions& o, double factor, int moving_avg)
      : input_size_(config.input_size),
        horizon_(config.horizon),
        label_len_(o.label_len),
        moving_avg_(moving_avg) {
    enc_embedding_ = register_module(
        "enc_embedding", std::make_shared<DataEmbedding>(1, o.hidden, false, o.dropout));
    dec_embedding_ = register_module(
        "dec_embedding", std::make_shared<DataEmbedding>(1, o.hidden, false, o.dropout));
    auto correlation = [&] {
      return std::make_shared<AttentionLayer>(std::make_shared<AutoCorrelation>(factor), o.hidden,
                                              o.heads);
    };
    std::vector<std::shared_ptr<DecompEncoderLayer>> encoder_layers;
    for (int i = 0; i < o.encoder_layers; ++i) {
      encoder_layers.push_back(std::make_shared<DecompEncoderLayer>(correlation(), o, moving_avg));
    }
    encoder_ = register_module(
        "encoder", std::make_shared<DecompEncoder>(std::move(encoder_layers), o.hidden));
    std::vector<std::shared_ptr<DecompDecoderLayer>> decoder_layers;
    for (int i = 0; i < o.decoder_layers; ++i) {
      decoder_layers.push_back(
          std::make_shared<DecompDecoderLayer>(correlation(), correlation(), o, moving_avg));
    }
    decoder_ = register_module(
        "decoder", std::make_shared<DecompDecoder>(std::move(decoder_layers), o.hidden));
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    CheckWindow(kName, batch.insample_y, input_size_);
    auto y = batch.insample_y.unsqueeze(-1);  // [B, L, 1]
    auto init = DecompDecoderInputs(y, label_len_, horizon_, moving_avg_);
    auto encoded = encoder_->forward(enc_embedding_->forward(y));
    auto out = decoder_->forward(dec_embedding_->forward(init.seasonal), encoded, init.trend);
    return out.slice(1, label_len_).squeeze(-1);
  }

 private:
  int64_t input_size_, horizon_, label_len_, moving_avg_;
  std::shared_ptr<DataEmbedding> enc_embedding_, dec_embedding_;
  std::shared_ptr<DecompEncoder> encoder_;
  std::shared_ptr<DecompDecoder> decoder_;
};

Result<std::shared_ptr<ForecastModel>> MakeAutoformer(const ModelConfig& config) {
  Params p(kName, config.params);
  DRC_ASSIGN_OR_RETURN(auto options, TakeTransformerOptions(kName, p, config.input_size, 4));
  const double factor = p.Take("factor", 3);
  DRC_ASSIGN_OR_RETURN(int moving_avg, TakeMovingAvgWindow(kName, p));
  DRC_RETURN_NOT_OK(p.Finish());
  if (!(factor > 0)) return Status::InvalidArgument(kName, ": factor must be > 0, got ", factor);
  return std::shared_ptr<ForecastModel>(
      std::make_shared<Autoformer>(config, options, factor, moving_avg));
}

}  // namespace

Status RegisterAutoformerModels(ModelRegistry& registry) {
  TrainDefaults d;
  d.learning_rate = 1e-4;
  d.batch_size = 32;
  d.windows_batch_size = 1024;
  d.num_lr_decays = -1;
  d.scaler = "identity";
  return registry.Register(kName, MakeAutoformer, d);
}

}  // namespace drc::dl
