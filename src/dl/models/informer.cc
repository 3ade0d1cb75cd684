// Informer (Zhou et al., "Informer: beyond efficient transformer for long sequence time-series
// forecasting", AAAI 2021), as NeuralForecast 3.3's Informer, layer for layer: VanillaTransformer's
// encoder-decoder (models/transformer_blocks.h: the embeddings, post-norm layers, the decoder
// reading the last label_len values and h zeros) with two changes.
//   - ProbSparse attention everywhere (encoder, decoder self- and cross-attention). Each query's
//     sparsity is measured on factor * ceil(ln S) keys drawn at random (one draw per call,
//     shared by the batch and the heads, from libtorch's default generator): the max of its
//     scores minus their sum over S. Only the factor * ceil(ln L) sparsest queries attend;
//     the others take the mean of the values (the cumulative sum in the masked decoder
//     self-attention, whose top queries see only earlier keys). The draws happen in forecasts
//     too, as in NF, so two forecasts of the same window may differ unless factor * ceil(ln T)
//     >= T for every sequence length T (then every query attends).
//   - Distilling: between encoder layers, a Conv1d (kernel 3, circular padding 2), BatchNorm1d,
//     ELU and MaxPool1d (kernel 3, stride 2, padding 1) halve the sequence.
// Kept from NF on purpose, so that the forecasts are NF's: the attention's output [B, H, L, D]
// is read as [B, L, H * D] without moving the heads next to the channels (NF's ProbAttention
// returns it that way and its AttentionLayer views it); the attention's dropout is built but
// never applied in NF's, so here there is none.
//
// NF defaults: decoder_input_size_multiplier 0.5, hidden_size 128, n_head 4, conv_hidden_size
// 32, encoder_layers 2, decoder_layers 1, dropout 0.05, factor 3, distil true, gelu; Adam lr
// 1e-4 without decays, 1024 windows per step, identity scaler. Future exogenous variables as
// VanillaTransformer's. A window drawn c times in a step is computed once with weight c (its
// copies sharing one dropout mask, as VanillaTransformer's), the distilling layers' batch norm
// weighing it c times.
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/models/transformer_blocks.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "Informer";

// NF's ProbAttention (mask_flag = `causal`): see the file comment.
class ProbAttention final : public AttentionMechanism {
 public:
  ProbAttention(bool causal, int factor) : causal_(causal), factor_(factor) {}

  // factor * ceil(ln n), at most n.
  int64_t Sample(int64_t n) const {
    const auto k = static_cast<int64_t>(factor_ * std::ceil(std::log(static_cast<double>(n))));
    return std::min(k, n);
  }

  torch::Tensor Attend(const torch::Tensor& q_in, const torch::Tensor& k_in,
                       const torch::Tensor& v_in) override {
    const torch::Tensor q = q_in.transpose(1, 2), k = k_in.transpose(1, 2),
                        v = v_in.transpose(1, 2);  // [B, H, T, E]
    const int64_t b = q.size(0), h = q.size(1), l = q.size(2), e = q.size(3), s = k.size(2),
                  d = v.size(3);
    TORCH_CHECK(!causal_ || l == s, kName, ": masked ProbSparse attention needs as many keys as ",
                "queries, got ", s, " and ", l);
    const int64_t sampled = Sample(s), top = Sample(l);
    // Every score [B, H, L, S] in one batched product (NF computes the sampled ones and the
    // chosen queries' rows in two products over copies of the keys: the same dot products, and
    // much slower here); the sampled keys' scores and the chosen queries' rows are read from it.
    const torch::Tensor all =
        BatchedMatmul(q.reshape({b * h, l, e}), k.transpose(-2, -1).reshape({b * h, e, s}))
            .view({b, h, l, s});
    // Each query's scores against `sampled` random keys: [B, H, L, sampled].
    const torch::Tensor index = torch::randint(s, {l, sampled}, q.options().dtype(torch::kLong));
    const torch::Tensor sample =
        all.gather(3, index.view({1, 1, l, sampled}).expand({b, h, l, sampled}));
    const torch::Tensor sparsity = std::get<0>(sample.max(-1)) - sample.sum(-1) / s;
    const torch::Tensor chosen = std::get<1>(sparsity.topk(top, -1, true, false));  // [B, H, u]
    torch::Tensor scores = all.gather(2, chosen.unsqueeze(-1).expand({b, h, top, s})) *
                           (1.0 / std::sqrt(static_cast<double>(e)));  // [B, H, u, S]
    torch::Tensor context;
    if (causal_) {
      scores = scores.masked_fill(
          torch::arange(s, chosen.options()).view({1, 1, 1, s}) > chosen.unsqueeze(-1),
          -std::numeric_limits<float>::infinity());
      context = v.cumsum(2);
    } else {
      context = v.mean(2, true).expand({b, h, l, d});
    }
    const torch::Tensor attended =
        BatchedMatmul(torch::softmax(scores, -1).reshape({b * h, top, s}), v.reshape({b * h, s, d}))
            .view({b, h, top, d});
    context = context.scatter(2, chosen.unsqueeze(-1).expand({b, h, top, d}), attended);
    return context.contiguous().view({b, l, h * d});  // NF's layout (see the file comment)
  }

 private:
  bool causal_;
  int factor_;
};

// NF's ConvLayer: [B, T, C] -> [B, T', C] with T' = floor((T + 1) / 2) + 1. `weight` [B]: a
// merged batch's draw counts (undefined: once each), which weigh the batch norm's statistics.
class DistilConv final : public torch::nn::Module {
 public:
  explicit DistilConv(int64_t channels) {
    conv_ = register_module("downConv",
                            torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, channels, 3)
                                                  .padding(2)
                                                  .padding_mode(torch::kCircular)));
    norm_ = register_module("norm", torch::nn::BatchNorm1d(channels));
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& weight) {
    const torch::Tensor y = conv_->forward(x.transpose(1, 2)).transpose(1, 2);  // [B, T + 2, C]
    const torch::Tensor rows = weight.defined() ? weight.repeat_interleave(y.size(1)) : weight;
    const torch::Tensor z = torch::elu(NormOverFeatures(norm_, y, rows));
    return torch::max_pool1d(z.transpose(1, 2), {3}, {2}, {1}).transpose(1, 2);
  }

 private:
  torch::nn::Conv1d conv_{nullptr};
  torch::nn::BatchNorm1d norm_{nullptr};
};

class Informer final : public ForecastModel {
 public:
  Informer(const ModelConfig& config, const TransformerOptions& o, int factor, bool distil)
      : input_size_(config.input_size),
        horizon_(config.horizon),
        label_len_(o.label_len),
        dropout_(o.dropout),
        distil_(distil && o.encoder_layers > 1) {
    // Built in NF's order (each layer draws its initial values when built).
    enc_embedding_ = register_module(
        "enc_embedding",
        std::make_shared<DataEmbedding>(1, o.hidden, true, o.dropout, config.futr_exog));
    dec_embedding_ = register_module(
        "dec_embedding",
        std::make_shared<DataEmbedding>(1, o.hidden, true, o.dropout, config.futr_exog));
    auto attention = [&](bool causal) {
      return std::make_shared<AttentionLayer>(std::make_shared<ProbAttention>(causal, factor),
                                              o.hidden, o.heads);
    };
    for (int i = 0; i < o.encoder_layers; ++i) {
      encoder_.push_back(register_module("encoder_layer" + std::to_string(i),
                                         std::make_shared<TransEncoderLayer>(attention(false), o)));
    }
    for (int i = 0; distil_ && i < o.encoder_layers - 1; ++i) {
      convs_.push_back(register_module("conv_layer" + std::to_string(i),
                                       std::make_shared<DistilConv>(o.hidden)));
    }
    encoder_norm_ = register_module("encoder_norm",
                                    torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden})));
    std::vector<std::shared_ptr<TransDecoderLayer>> decoder_layers;
    for (int i = 0; i < o.decoder_layers; ++i) {
      auto self = attention(true);  // NF builds the self-attention first
      auto cross = attention(false);
      decoder_layers.push_back(std::make_shared<TransDecoderLayer>(self, cross, o));
    }
    decoder_ = register_module(
        "decoder", std::make_shared<TransDecoder>(std::move(decoder_layers), o.hidden, o.outputs));
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    CheckWindow(kName, batch.insample_y, input_size_);
    auto y = batch.insample_y.unsqueeze(-1);  // [B, L, 1]
    auto x_dec = LabelAndZeros(y, label_len_, horizon_);
    const FutureMarks marks = FutureMarksOf(batch, input_size_, label_len_);
    torch::Tensor x = enc_embedding_->forward(y, marks.encoder);
    for (size_t i = 0; i < encoder_.size(); ++i) {
      x = encoder_[i]->forward(x);
      if (i < convs_.size()) x = convs_[i]->forward(x, batch.weight);
    }
    auto decoded = decoder_->forward(dec_embedding_->forward(x_dec, marks.decoder),
                                     encoder_norm_->forward(x));  // [B, label_len + H, Q]
    return decoded.slice(1, label_len_).squeeze(-1);
  }

  // Windows meet only through dropout and the distilling layers' batch norm, whose statistics
  // weigh a merged window by its draws.
  RepeatedDraws Repeats() const override {
    return dropout_ > 0 ? RepeatedDraws::kMergeSharingDropout : RepeatedDraws::kMerge;
  }

 private:
  int64_t input_size_, horizon_, label_len_;
  double dropout_;
  bool distil_;
  std::shared_ptr<DataEmbedding> enc_embedding_, dec_embedding_;
  std::vector<std::shared_ptr<TransEncoderLayer>> encoder_;
  std::vector<std::shared_ptr<DistilConv>> convs_;
  torch::nn::LayerNorm encoder_norm_{nullptr};
  std::shared_ptr<TransDecoder> decoder_;
};

Result<std::shared_ptr<ForecastModel>> MakeInformer(const ModelConfig& config) {
  Params p(kName, config.params);
  DRC_ASSIGN_OR_RETURN(auto options, TakeTransformerOptions(kName, p, config.input_size, 4));
  options.outputs = config.outputs;
  const int factor = p.TakeInt("factor", 3);
  const double distil = p.Take("distil", 1);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "factor", factor, 1));
  DRC_RETURN_NOT_OK(CheckFlag(kName, "distil", distil));
  return std::shared_ptr<ForecastModel>(
      std::make_shared<Informer>(config, options, factor, distil == 1));
}

}  // namespace

Status RegisterInformerModels(ModelRegistry& registry) {
  TrainDefaults d = TransformerTrainDefaults();
  d.futr_exog = true;
  return registry.Register(kName, MakeInformer, d);
}

}  // namespace drc::dl
