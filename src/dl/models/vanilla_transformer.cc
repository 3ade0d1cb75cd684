// VanillaTransformer (NeuralForecast 3.x models/vanillatransformer.py; the Informer paper's
// full-attention baseline): an encoder-decoder Transformer. The window y [B, L] is embedded by
// a token convolution plus sinusoidal positions (models/transformer_blocks.h DataEmbedding)
// and encoded by post-norm layers of full self-attention and a kernel-1 feed-forward, then
// LayerNorm. The decoder reads the last label_len = ceil(L * decoder_input_size_multiplier)
// values followed by H zeros, embedded the same way, through layers of self-attention,
// cross-attention to the encoder and the feed-forward, then LayerNorm and Linear(hidden -> 1);
// its last H outputs are the forecast.
//
// NF defaults: decoder_input_size_multiplier 0.5, hidden_size 128, n_head 4, conv_hidden_size
// 32, encoder_layers 2, decoder_layers 1, dropout 0.05, activation gelu; Adam lr 1e-4 without
// decays (num_lr_decays -1), batch_size 32, windows_batch_size 1024, identity scaler, MAE.
//
// Differences from NF:
//  - Future exogenous variables, as NF's: both embeddings add their temporal embedding (a Linear
//    without bias) of the variables at their steps, the encoder's over the input window, the
//    decoder's over its label_len steps and the horizon. NF's model reads no historic or static
//    variables, and neither does this one.
//  - None in the decoder's self-attention mask, which is what NF 3.3 does: its decoder
//    self-attention is FullAttention(mask_flag=True), but the model passes no mask and NF's
//    default path (torch's scaled_dot_product_attention, taken when attention weights are not
//    returned) builds the causal mask only from a given one, so every decoder step sees the
//    whole decoder input (label_len known values and H zeros). FullAttention(causal=true) here
//    is the Informer design and NF's explicit path, if ever wanted.
//  - activation is NF's default gelu (hyper-parameters are numbers here); exclude_insample_y is
//    not offered.
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "src/dl/model.h"
#include "src/dl/models/transformer_blocks.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "VanillaTransformer";

class VanillaTransformer final : public ForecastModel {
 public:
  VanillaTransformer(const ModelConfig& config, const TransformerOptions& o)
      : input_size_(config.input_size),
        horizon_(config.horizon),
        label_len_(o.label_len),
        dropout_(o.dropout) {
    enc_embedding_ = register_module(
        "enc_embedding",
        std::make_shared<DataEmbedding>(1, o.hidden, true, o.dropout, config.futr_exog));
    dec_embedding_ = register_module(
        "dec_embedding",
        std::make_shared<DataEmbedding>(1, o.hidden, true, o.dropout, config.futr_exog));
    auto attention = [&] {  // unmasked everywhere, as NF 3.3 runs it (see the file comment)
      return std::make_shared<AttentionLayer>(
          std::make_shared<FullAttention>(/*causal=*/false, o.dropout), o.hidden, o.heads);
    };
    std::vector<std::shared_ptr<TransEncoderLayer>> encoder_layers;
    for (int i = 0; i < o.encoder_layers; ++i) {
      encoder_layers.push_back(std::make_shared<TransEncoderLayer>(attention(), o));
    }
    encoder_ = register_module("encoder",
                               std::make_shared<TransEncoder>(std::move(encoder_layers), o.hidden));
    std::vector<std::shared_ptr<TransDecoderLayer>> decoder_layers;
    for (int i = 0; i < o.decoder_layers; ++i) {
      auto self_attention = attention();  // before the cross attention, as NF builds them
      decoder_layers.push_back(std::make_shared<TransDecoderLayer>(self_attention, attention(), o));
    }
    decoder_ = register_module(
        "decoder", std::make_shared<TransDecoder>(std::move(decoder_layers), o.hidden, o.outputs));
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    CheckWindow(kName, batch.insample_y, input_size_);
    auto y = batch.insample_y.unsqueeze(-1);  // [B, L, 1]
    auto x_dec = LabelAndZeros(y, label_len_, horizon_);
    const FutureMarks marks = FutureMarksOf(batch, input_size_, label_len_);
    auto encoded = encoder_->forward(enc_embedding_->forward(y, marks.encoder));
    auto decoded =
        decoder_->forward(dec_embedding_->forward(x_dec, marks.decoder), encoded);  // [B, lab+H, 1]
    return decoded.slice(1, label_len_).squeeze(-1);
  }

  // Windows are independent apart from dropout.
  RepeatedDraws Repeats() const override {
    return dropout_ > 0 ? RepeatedDraws::kMergeSharingDropout : RepeatedDraws::kMerge;
  }

 private:
  int64_t input_size_, horizon_, label_len_;
  double dropout_;
  std::shared_ptr<DataEmbedding> enc_embedding_, dec_embedding_;
  std::shared_ptr<TransEncoder> encoder_;
  std::shared_ptr<TransDecoder> decoder_;
};

Result<std::shared_ptr<ForecastModel>> MakeVanillaTransformer(const ModelConfig& config) {
  Params p(kName, config.params);
  DRC_ASSIGN_OR_RETURN(auto options, TakeTransformerOptions(kName, p, config.input_size, 4));
  options.outputs = config.outputs;
  DRC_RETURN_NOT_OK(p.Finish());
  return std::shared_ptr<ForecastModel>(std::make_shared<VanillaTransformer>(config, options));
}

}  // namespace

Status RegisterVanillaTransformerModels(ModelRegistry& registry) {
  TrainDefaults d = TransformerTrainDefaults();
  d.futr_exog = true;
  return registry.Register(kName, MakeVanillaTransformer, d);
}

}  // namespace drc::dl
