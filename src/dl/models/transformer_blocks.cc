#include "src/dl/models/transformer_blocks.h"

#include <c10/util/Exception.h>
#include <torch/fft.h>
#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"

namespace drc::dl {

namespace {

torch::Tensor Activate(FeedForwardActivation activation, const torch::Tensor& x) {
  return activation == FeedForwardActivation::kRelu ? torch::relu(x) : torch::gelu(x);
}

torch::Tensor IndexTensor(const std::vector<int64_t>& v) {
  return torch::tensor(v, torch::TensorOptions().dtype(torch::kLong));
}

// Real [..., 2] storage of complex weights: scale * U[0, 1) in both parts (NF's torch.rand with
// dtype cfloat).
torch::Tensor ComplexUniform(std::vector<int64_t> shape, double scale) {
  shape.push_back(2);
  return torch::rand(shape) * scale;
}

}  // namespace

Status TakeInvertedOptions(const std::string& model, Params& params, bool attention,
                           TransformerOptions& o, bool& use_norm) {
  o.hidden = params.TakeInt("hidden_size", 512);
  o.encoder_layers = params.TakeInt("e_layers", 2);
  o.conv_hidden = params.TakeInt("d_ff", 2048);
  o.dropout = params.Take("dropout", 0.1);
  const double norm = params.Take("use_norm", 1);
  DRC_RETURN_NOT_OK(CheckAtLeast(model, "hidden_size", o.hidden, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(model, "e_layers", o.encoder_layers, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(model, "d_ff", o.conv_hidden, 1));
  DRC_RETURN_NOT_OK(CheckRate(model, "dropout", o.dropout));
  DRC_RETURN_NOT_OK(CheckFlag(model, "use_norm", norm));
  use_norm = norm == 1;
  if (!attention) return Status::OK();
  o.heads = params.TakeInt("n_heads", 8);
  const double factor = params.Take("factor", 1);
  DRC_RETURN_NOT_OK(CheckAtLeast(model, "n_heads", o.heads, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(model, "factor", factor, 0));
  if (o.hidden % o.heads != 0) {
    return Status::InvalidArgument(model, ": hidden_size (", o.hidden,
                                   ") must be a multiple of n_heads (", o.heads, ")");
  }
  return Status::OK();
}

TrainDefaults TransformerTrainDefaults() {
  return TrainDefaults{.learning_rate = 1e-4, .num_lr_decays = -1};
}

Result<TransformerOptions> TakeTransformerOptions(const std::string& model, Params& params,
                                                  int input_size, int default_heads) {
  TransformerOptions o;
  const double multiplier = params.Take("decoder_input_size_multiplier", 0.5);
  o.hidden = params.TakeInt("hidden_size", 128);
  o.dropout = params.Take("dropout", 0.05);
  o.heads = params.TakeInt("n_head", default_heads);
  o.conv_hidden = params.TakeInt("conv_hidden_size", 32);
  o.encoder_layers = params.TakeInt("encoder_layers", 2);
  o.decoder_layers = params.TakeInt("decoder_layers", 1);
  const double label = std::ceil(input_size * multiplier);
  if (!(label > 0 && label < input_size)) {
    return Status::InvalidArgument(model, ": decoder_input_size_multiplier ", multiplier,
                                   " gives a decoder prefix of ", label, " steps for input_size ",
                                   input_size, "; it must be in [1, input_size - 1]");
  }
  o.label_len = static_cast<int>(label);
  if (o.heads < 1) return Status::InvalidArgument(model, ": n_head must be >= 1, got ", o.heads);
  if (o.hidden < o.heads) {
    return Status::InvalidArgument(model, ": hidden_size must be >= n_head (", o.heads, "), got ",
                                   o.hidden);
  }
  if (o.conv_hidden < 1) {
    return Status::InvalidArgument(model, ": conv_hidden_size must be >= 1, got ", o.conv_hidden);
  }
  if (o.encoder_layers < 1 || o.decoder_layers < 1) {
    return Status::InvalidArgument(model, ": encoder_layers and decoder_layers must be >= 1, got ",
                                   o.encoder_layers, " and ", o.decoder_layers);
  }
  DRC_RETURN_NOT_OK(CheckRate(model, "dropout", o.dropout));
  return o;
}

torch::Tensor NormOverFeatures(torch::nn::BatchNorm1d& norm, const torch::Tensor& x,
                               const torch::Tensor& row_weight) {
  torch::Tensor rows = x.reshape({-1, x.size(2)});
  if (!row_weight.defined() || !norm->is_training()) return norm->forward(rows).view(x.sizes());
  const auto& o = norm->options;
  const double n = row_weight.sum().item<double>();
  torch::Tensor w = (row_weight / n).unsqueeze(1);  // [R, 1], sums to 1
  torch::Tensor mean = (rows * w).sum(0);
  torch::Tensor centered = rows - mean;
  torch::Tensor var = (centered.square() * w).sum(0);
  if (o.track_running_stats()) {
    torch::NoGradGuard no_grad;
    norm->num_batches_tracked.add_(1);
    const double m = o.momentum() ? *o.momentum()  // else a cumulative average, as torch's
                                  : 1.0 / norm->num_batches_tracked.item<double>();
    norm->running_mean.mul_(1 - m).add_(mean.detach(), m);
    norm->running_var.mul_(1 - m).add_(var.detach() * (n / std::max(n - 1, 1.0)), m);
  }
  torch::Tensor out = centered * torch::rsqrt(var + o.eps());
  if (o.affine()) out = out * norm->weight + norm->bias;
  return out.view(x.sizes());
}

Result<int> TakeMovingAvgWindow(const std::string& model, Params& params) {
  const double old_name = params.Take("moving_avg_window", 25);
  const double window = params.Take("MovingAvg_window", old_name);
  if (window != old_name) {
    return Status::InvalidArgument(model, ": MovingAvg_window (", window,
                                   ") and moving_avg_window (", old_name,
                                   ") name the same parameter; give one");
  }
  const int w = static_cast<int>(window);
  if (w < 1 || w % 2 == 0 || w != window) {
    return Status::InvalidArgument(model, ": MovingAvg_window must be an odd integer >= 1, got ",
                                   window);
  }
  return w;
}

void CheckWindow(const std::string& model, const torch::Tensor& y, int64_t input_size) {
  TORCH_CHECK(y.defined(), model, ": insample_y is undefined");
  TORCH_CHECK(y.dim() == 2 && y.size(1) == input_size, model, ": insample_y must be [B, ",
              input_size, "], got ", y.sizes());
}

// ---------------------------------------------------------------------------------------------
// Embedding.

torch::Tensor SinusoidalPositions(int64_t length, int64_t hidden, const torch::Device& device) {
  auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto position = torch::arange(length, options).unsqueeze(1);  // [T, 1]
  auto rate = torch::exp(torch::arange(0, hidden, 2, options) *
                         (-std::log(10000.0) / static_cast<double>(hidden)));  // [ceil(C / 2)]
  auto angle = position * rate;                                                // [T, ceil(C / 2)]
  // Interleave: column 2i sin, 2i + 1 cos; an odd width drops the last cosine.
  auto table = torch::stack({torch::sin(angle), torch::cos(angle)}, 2).reshape({length, -1});
  return table.slice(1, 0, hidden).unsqueeze(0);
}

DataEmbedding::DataEmbedding(int64_t c_in, int64_t hidden, bool positional, double dropout,
                             int64_t exog)
    : hidden_(hidden), positional_(positional), dropout_(dropout) {
  token_ = register_module("token_conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(c_in, hidden, 3)
                                                               .padding(1)
                                                               .padding_mode(torch::kCircular)
                                                               .bias(false)));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(token_->weight, 0, torch::kFanIn, torch::kLeakyReLU);
  if (exog > 0) {
    temporal_ =
        register_module("temporal_embedding",
                        torch::nn::Linear(torch::nn::LinearOptions(exog, hidden).bias(false)));
  }
}

torch::Tensor DataEmbedding::forward(const torch::Tensor& x, const torch::Tensor& x_mark) {
  auto out = token_->forward(x.permute({0, 2, 1})).transpose(1, 2);  // [B, T, hidden]
  if (positional_) out = out + SinusoidalPositions(x.size(1), hidden_, x.device());
  TORCH_CHECK(x_mark.defined() == static_cast<bool>(temporal_), "DataEmbedding: built ",
              temporal_ ? "with" : "without", " future variables, but they are ",
              x_mark.defined() ? "given" : "missing");
  if (temporal_) out = out + temporal_->forward(x_mark);
  return Dropout(out, dropout_, is_training());
}

torch::Tensor LabelAndZeros(const torch::Tensor& y, int64_t label_len, int64_t horizon) {
  return torch::cat(
      {y.slice(1, y.size(1) - label_len), torch::zeros({y.size(0), horizon, 1}, y.options())}, 1);
}

FutureMarks FutureMarksOf(const WindowBatch& batch, int64_t input_size, int64_t label_len) {
  if (!batch.futr_exog.defined()) return {};
  return {batch.futr_exog.slice(1, 0, input_size),
          batch.futr_exog.slice(1, input_size - label_len)};
}

// ---------------------------------------------------------------------------------------------
// Series decomposition.

torch::Tensor MovingAverage(const torch::Tensor& x, int64_t kernel) {
  TORCH_CHECK(kernel >= 1 && kernel % 2 == 1, "moving average: the window must be odd, got ",
              kernel);
  TORCH_CHECK(x.dim() == 3, "moving average: x must be [B, T, C], got ", x.sizes());
  const int64_t pad = (kernel - 1) / 2;
  auto padded = x;
  if (pad > 0) {
    const int64_t t = x.size(1);
    auto front = x.slice(1, 0, 1).expand({x.size(0), pad, x.size(2)});
    auto end = x.slice(1, t - 1, t).expand({x.size(0), pad, x.size(2)});
    padded = torch::cat({front, x, end}, 1);
  }
  return torch::avg_pool1d(padded.permute({0, 2, 1}), {kernel}, {1}).permute({0, 2, 1});
}

Decomposition SeriesDecompose(const torch::Tensor& x, int64_t kernel) {
  auto trend = MovingAverage(x, kernel);
  return {x - trend, trend};
}

SeasonalLayerNorm::SeasonalLayerNorm(int64_t channels) {
  norm_ =
      register_module("layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels})));
}

torch::Tensor SeasonalLayerNorm::forward(const torch::Tensor& x) {
  auto x_hat = norm_->forward(x);
  return x_hat - x_hat.mean(1, /*keepdim=*/true);
}

// ---------------------------------------------------------------------------------------------
// Attention mechanisms.

torch::Tensor CausalMask(int64_t l, int64_t s, const torch::Device& device) {
  return torch::ones({l, s}, torch::TensorOptions().dtype(torch::kBool).device(device)).triu(1);
}

torch::Tensor FullAttention::Attend(const torch::Tensor& q, const torch::Tensor& k,
                                    const torch::Tensor& v) {
  const int64_t b = q.size(0), l = q.size(1), h = q.size(2), e = q.size(3), s = k.size(1);
  // [B, L, H, E] x [B, S, H, E] -> [B, H, L, S], as B * H small matrix products.
  auto scores = BatchedMatmul(q.permute({0, 2, 1, 3}).reshape({b * h, l, e}),
                              k.permute({0, 2, 3, 1}).reshape({b * h, e, s}))
                    .view({b, h, l, s});
  if (causal_) {
    scores =
        scores.masked_fill(CausalMask(l, s, q.device()), -std::numeric_limits<float>::infinity());
  }
  auto weights = torch::softmax(scores * (1.0 / std::sqrt(static_cast<double>(e))), -1);
  weights = Dropout(weights, dropout_, is_training());
  auto out = BatchedMatmul(weights.reshape({b * h, l, s}),
                           v.permute({0, 2, 1, 3}).reshape({b * h, s, v.size(3)}));
  return out.view({b, h, l, -1}).permute({0, 2, 1, 3}).reshape({b, l, -1});
}

int64_t AutoCorrelation::TopK(int64_t length) const {
  const auto k = static_cast<int64_t>(factor_ * std::log(static_cast<double>(length)));
  return std::clamp<int64_t>(k, 0, length);
}

torch::Tensor AutoCorrelation::Attend(const torch::Tensor& q, const torch::Tensor& k_in,
                                      const torch::Tensor& v_in) {
  const int64_t b = q.size(0), l = q.size(1), s = k_in.size(1);
  torch::Tensor k = k_in, v = v_in;
  if (l > s) {
    auto zeros = torch::zeros_like(q.slice(1, 0, l - s));
    k = torch::cat({k, zeros}, 1);
    v = torch::cat({v, zeros}, 1);
  } else {
    k = k.slice(1, 0, l);
    v = v.slice(1, 0, l);
  }
  // Circular cross-correlation over time per (head, channel): [B, H, E, L]. (NF leaves irfft's
  // length to its default, L - 1 for odd L; the correlation of length L is taken here.)
  auto q_f = torch::fft::rfft(q.permute({0, 2, 3, 1}), c10::nullopt, -1);
  auto k_f = torch::fft::rfft(k.permute({0, 2, 3, 1}), c10::nullopt, -1);
  auto corr = torch::fft::irfft(q_f * k_f.conj(), l, -1);
  auto values = v.permute({0, 2, 3, 1}).contiguous();  // [B, H, D, L]
  auto mean_corr = corr.mean(1).mean(1);               // [B, L]
  const int64_t top_k = TopK(l);
  auto aggregated = torch::zeros_like(values);
  if (is_training()) {
    // One set of delays for the batch, from the batch-mean correlation (weighted by the draw
    // counts of a merged batch).
    torch::Tensor batch_mean;
    if (batch_weight_.defined()) {
      TORCH_CHECK(batch_weight_.dim() == 1 && batch_weight_.size(0) == b,
                  "AutoCorrelation: batch weight ", batch_weight_.sizes(), " for a batch of ", b);
      batch_mean = (mean_corr * batch_weight_.unsqueeze(1)).sum(0) / batch_weight_.sum();
    } else {
      batch_mean = mean_corr.mean(0);
    }
    auto delays = std::get<1>(torch::topk(batch_mean, top_k, -1));         // [k]
    auto weights = torch::softmax(mean_corr.index_select(1, delays), -1);  // [B, k]
    auto host = delays.to(torch::kCPU);
    for (int64_t i = 0; i < top_k; ++i) {
      const int64_t delay = host[i].item<int64_t>();
      aggregated = aggregated +
                   torch::roll(values, {-delay}, {-1}) * weights.select(1, i).view({b, 1, 1, 1});
    }
  } else {
    auto [top, delays] = torch::topk(mean_corr, top_k, -1);  // [B, k] each
    auto weights = torch::softmax(top, -1);
    auto doubled = torch::cat({values, values}, -1);
    auto steps = torch::arange(l, delays.options()).unsqueeze(0);  // [1, L]
    for (int64_t i = 0; i < top_k; ++i) {
      auto index = (steps + delays.select(1, i).unsqueeze(1))  // [B, L]: t + delay_b
                       .view({b, 1, 1, l})
                       .expand_as(values);
      aggregated = aggregated + doubled.gather(-1, index) * weights.select(1, i).view({b, 1, 1, 1});
    }
  }
  return aggregated.permute({0, 3, 1, 2}).reshape({b, l, -1});
}

std::vector<int64_t> RandomFrequencyModes(int64_t length, int64_t modes, std::mt19937_64& rng) {
  const int64_t n = std::max<int64_t>(length / 2, 0);
  std::vector<int64_t> index(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) index[static_cast<size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(index[static_cast<size_t>(i)], index[static_cast<size_t>(j)]);
  }
  index.resize(static_cast<size_t>(std::clamp<int64_t>(modes, 0, n)));
  std::sort(index.begin(), index.end());
  return index;
}

FourierBlock::FourierBlock(int64_t hidden, int64_t heads, int64_t length,
                           std::vector<int64_t> modes)
    : length_(length), modes_(std::move(modes)) {
  index_ = register_buffer("index", IndexTensor(modes_));
  const int64_t e = hidden / heads;
  weights_ = register_parameter("weights1",
                                ComplexUniform({heads, e, e, static_cast<int64_t>(modes_.size())},
                                               1.0 / static_cast<double>(hidden * hidden)));
}

torch::Tensor FourierBlock::Attend(const torch::Tensor& q, const torch::Tensor& /*k*/,
                                   const torch::Tensor& /*v*/) {
  const int64_t b = q.size(0), l = q.size(1), h = q.size(2);
  TORCH_CHECK(l == length_, "Fourier block: built for sequences of ", length_, " steps, got ", l);
  auto x_f = torch::fft::rfft(q.permute({0, 2, 3, 1}), c10::nullopt, -1);  // [B, H, E, L/2+1]
  auto selected = x_f.index_select(-1, index_);                            // [B, H, E, M]
  auto mixed = torch::einsum("bhem,heom->bhom", {selected, torch::view_as_complex(weights_)});
  const int64_t bins = l / 2 + 1, m = static_cast<int64_t>(modes_.size());
  auto out_f =
      torch::cat({mixed, torch::zeros({b, h, mixed.size(2), bins - m}, mixed.options())}, -1);
  auto out = torch::fft::irfft(out_f, l, -1);  // [B, H, E, L]
  // NF returns the [B, H, E, L] result and its layer views that memory as [B, L, H * E].
  return out.contiguous().view({b, l, -1});
}

FourierCrossAttention::FourierCrossAttention(int64_t hidden, int64_t heads, int64_t length_q,
                                             int64_t length_kv, std::vector<int64_t> modes_q,
                                             std::vector<int64_t> modes_kv)
    : hidden_(hidden), length_q_(length_q), length_kv_(length_kv) {
  const int64_t mq = static_cast<int64_t>(modes_q.size());
  index_q_ = register_buffer("index_q", IndexTensor(modes_q));
  index_kv_ = register_buffer("index_kv", IndexTensor(modes_kv));
  const int64_t e = hidden / heads;
  weights_ = register_parameter(
      "weights1", ComplexUniform({heads, e, e, mq}, 1.0 / static_cast<double>(hidden * hidden)));
}

torch::Tensor FourierCrossAttention::Attend(const torch::Tensor& q, const torch::Tensor& k,
                                            const torch::Tensor& /*v*/) {
  const int64_t b = q.size(0), l = q.size(1), h = q.size(2), s = k.size(1);
  TORCH_CHECK(l == length_q_ && s == length_kv_, "Fourier cross-attention: built for ", length_q_,
              " query and ", length_kv_, " key steps, got ", l, " and ", s);
  auto q_f = torch::fft::rfft(q.permute({0, 2, 3, 1}), c10::nullopt, -1).index_select(-1, index_q_);
  auto k_f =
      torch::fft::rfft(k.permute({0, 2, 3, 1}), c10::nullopt, -1).index_select(-1, index_kv_);
  auto attention = torch::einsum("bhex,bhey->bhxy", {q_f, k_f}).tanh();  // [B, H, Mq, Mk]
  auto attended = torch::einsum("bhxy,bhey->bhex", {attention, k_f});    // [B, H, E, Mq]
  auto mixed = torch::einsum("bhex,heox->bhox", {attended, torch::view_as_complex(weights_)});
  // Scatter to the queries' mode positions (through the real view: index_copy of real data).
  auto out_f = torch::zeros({b, h, mixed.size(2), l / 2 + 1, 2}, q.options())
                   .index_copy(3, index_q_, torch::view_as_real(mixed));
  auto out =
      torch::fft::irfft(torch::view_as_complex(out_f) / static_cast<double>(hidden_ * hidden_), l,
                        -1);                 // [B, H, E, L]
  return out.contiguous().view({b, l, -1});  // NF's view, as in FourierBlock
}

AttentionLayer::AttentionLayer(std::shared_ptr<AttentionMechanism> mechanism, int64_t hidden,
                               int64_t heads, bool own_mechanism)
    : mechanism_(std::move(mechanism)), heads_(heads) {
  const int64_t width = (hidden / heads) * heads;
  if (own_mechanism) register_module("inner_attention", mechanism_);
  query_ = register_module("query_projection", torch::nn::Linear(hidden, width));
  // NF builds the key and value projections even around a mechanism that never reads them. They
  // are drawn here too, and dropped, so that a seed gives NF's initial weights to the layers
  // built after them.
  torch::nn::Linear key(hidden, width), value(hidden, width);
  if (mechanism_->ReadsKeys()) key_ = register_module("key_projection", key);
  if (mechanism_->ReadsValues()) value_ = register_module("value_projection", value);
  out_ = register_module("out_projection", torch::nn::Linear(width, hidden));
}

torch::Tensor AttentionLayer::forward(const torch::Tensor& queries, const torch::Tensor& keys,
                                      const torch::Tensor& values) {
  const int64_t b = queries.size(0), l = queries.size(1), s = keys.size(1);
  auto q = Dense(query_, queries).view({b, l, heads_, -1});
  torch::Tensor k, v;
  if (!key_.is_empty()) k = Dense(key_, keys).view({b, s, heads_, -1});
  if (!value_.is_empty()) v = Dense(value_, values).view({b, s, heads_, -1});
  return Dense(out_, mechanism_->Attend(q, k, v));
}

// ---------------------------------------------------------------------------------------------
// Layers.

FeedForward::FeedForward(int64_t hidden, int64_t conv_hidden, bool bias, double dropout,
                         FeedForwardActivation activation)
    : dropout_(dropout), activation_(activation) {
  conv1_ = register_module(
      "conv1", torch::nn::Linear(torch::nn::LinearOptions(hidden, conv_hidden).bias(bias)));
  conv2_ = register_module(
      "conv2", torch::nn::Linear(torch::nn::LinearOptions(conv_hidden, hidden).bias(bias)));
}

torch::Tensor FeedForward::forward(const torch::Tensor& x) {
  // NF's are Conv1d's over [B, C, L]: their dropouts draw in that layout.
  auto y = ChannelsFirstDropout(Activate(activation_, Dense(conv1_, x)), dropout_, is_training());
  return ChannelsFirstDropout(Dense(conv2_, y), dropout_, is_training());
}

namespace {
torch::nn::LayerNorm MakeLayerNorm(int64_t hidden) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden}));
}
}  // namespace

TransEncoderLayer::TransEncoderLayer(std::shared_ptr<AttentionLayer> attention,
                                     const TransformerOptions& o)
    : dropout_(o.dropout) {
  attention_ = register_module("attention", std::move(attention));
  AddFeedForward(o);
}

TransEncoderLayer::TransEncoderLayer(std::shared_ptr<Stad> stad, const TransformerOptions& o)
    : dropout_(o.dropout) {
  stad_ = register_module("attention", std::move(stad));
  AddFeedForward(o);
}

void TransEncoderLayer::AddFeedForward(const TransformerOptions& o) {
  ff_ = register_module(
      "ff", std::make_shared<FeedForward>(o.hidden, o.conv_hidden, true, o.dropout, o.activation));
  norm1_ = register_module("norm1", MakeLayerNorm(o.hidden));
  norm2_ = register_module("norm2", MakeLayerNorm(o.hidden));
}

torch::Tensor TransEncoderLayer::forward(const torch::Tensor& x_in) {
  const torch::Tensor mixed = stad_ ? stad_->forward(x_in) : attention_->forward(x_in, x_in, x_in);
  auto x = x_in + Dropout(mixed, dropout_, is_training());
  x = norm1_->forward(x);
  return norm2_->forward(x + ff_->forward(x));
}

Stad::Stad(int64_t hidden, int64_t core, std::optional<StadSharp> sharp) : sharp_(sharp) {
  if (sharp_) pe_scale_ = register_parameter("pe_scale", torch::ones({}));
  gen1_ = register_module("gen1", torch::nn::Linear(hidden, hidden));
  gen2_ = register_module("gen2", torch::nn::Linear(hidden, core));
  gen3_ = register_module("gen3", torch::nn::Linear(hidden + core, hidden));
  gen4_ = register_module("gen4", torch::nn::Linear(hidden, hidden));
}

torch::Tensor Stad::forward(const torch::Tensor& x_in) {
  const int64_t B = x_in.size(0), C = x_in.size(1);
  const bool training = is_training();
  const double drop = sharp_ ? sharp_->dropout : 0;
  torch::Tensor x = x_in;
  if (sharp_) {  // positions over the tokens, the series
    const double keep = sharp_->pe_keep_prob;
    const torch::Tensor table = SinusoidalPositions(C, x.size(2), x.device());
    if (!training) {
      x = x + keep * pe_scale_ * table;
    } else if (torch::rand({1}).item<double>() < keep) {  // NF's draw, every forward
      x = x + pe_scale_ * table;
    }
  }
  torch::Tensor core =
      Dense(gen2_, Dropout(torch::gelu(Dense(gen1_, x)), drop, training));  // [B, C, core]
  if (training) {
    // Per batch and core channel, one token drawn by its softmax weight over the tokens.
    const torch::Tensor p =
        torch::softmax(torch::nan_to_num(core), 1).permute({0, 2, 1}).reshape({-1, C});
    const torch::Tensor picks = torch::multinomial(p, 1).view({B, 1, -1});  // [B, 1, core]
    core = core.gather(1, picks);
  } else {
    core = (core * torch::softmax(core, 1)).sum(1, /*keepdim=*/true);
  }
  core = core.expand({B, C, core.size(2)});
  if (drop > 0 && training)
    core = Dropout(core.contiguous(), drop, training);  // NF's on the repeat
  const torch::Tensor joined = torch::cat({x, core}, -1);
  return Dense(gen4_, Dropout(torch::gelu(Dense(gen3_, joined)), drop, training));
}

TransDecoderLayer::TransDecoderLayer(std::shared_ptr<AttentionLayer> self_attention,
                                     std::shared_ptr<AttentionLayer> cross_attention,
                                     const TransformerOptions& o)
    : dropout_(o.dropout) {
  self_ = register_module("self_attention", std::move(self_attention));
  cross_ = register_module("cross_attention", std::move(cross_attention));
  ff_ = register_module(
      "ff", std::make_shared<FeedForward>(o.hidden, o.conv_hidden, true, o.dropout, o.activation));
  norm1_ = register_module("norm1", MakeLayerNorm(o.hidden));
  norm2_ = register_module("norm2", MakeLayerNorm(o.hidden));
  norm3_ = register_module("norm3", MakeLayerNorm(o.hidden));
}

torch::Tensor TransDecoderLayer::forward(const torch::Tensor& x_in, const torch::Tensor& cross) {
  auto x =
      norm1_->forward(x_in + Dropout(self_->forward(x_in, x_in, x_in), dropout_, is_training()));
  x = x + Dropout(cross_->forward(x, cross, cross), dropout_, is_training());
  x = norm2_->forward(x);
  return norm3_->forward(x + ff_->forward(x));
}

DecompEncoderLayer::DecompEncoderLayer(std::shared_ptr<AttentionLayer> attention,
                                       const TransformerOptions& o, int64_t moving_avg)
    : dropout_(o.dropout), moving_avg_(moving_avg) {
  attention_ = register_module("attention", std::move(attention));
  ff_ = register_module(
      "ff", std::make_shared<FeedForward>(o.hidden, o.conv_hidden, false, o.dropout, o.activation));
}

torch::Tensor DecompEncoderLayer::forward(const torch::Tensor& x_in) {
  auto x = x_in + Dropout(attention_->forward(x_in, x_in, x_in), dropout_, is_training());
  x = SeriesDecompose(x, moving_avg_).seasonal;
  return SeriesDecompose(x + ff_->forward(x), moving_avg_).seasonal;
}

DecompDecoderLayer::DecompDecoderLayer(std::shared_ptr<AttentionLayer> self_attention,
                                       std::shared_ptr<AttentionLayer> cross_attention,
                                       const TransformerOptions& o, int64_t moving_avg)
    : dropout_(o.dropout), moving_avg_(moving_avg) {
  self_ = register_module("self_attention", std::move(self_attention));
  cross_ = register_module("cross_attention", std::move(cross_attention));
  ff_ = register_module(
      "ff", std::make_shared<FeedForward>(o.hidden, o.conv_hidden, false, o.dropout, o.activation));
  trend_projection_ = register_module(
      "projection", torch::nn::Conv1d(torch::nn::Conv1dOptions(o.hidden, o.outputs, 3)
                                          .padding(1)
                                          .padding_mode(torch::kCircular)
                                          .bias(false)));
}

std::pair<torch::Tensor, torch::Tensor> DecompDecoderLayer::forward(const torch::Tensor& x_in,
                                                                    const torch::Tensor& cross) {
  auto x = x_in + Dropout(self_->forward(x_in, x_in, x_in), dropout_, is_training());
  auto d1 = SeriesDecompose(x, moving_avg_);
  x = d1.seasonal + Dropout(cross_->forward(d1.seasonal, cross, cross), dropout_, is_training());
  auto d2 = SeriesDecompose(x, moving_avg_);
  auto d3 = SeriesDecompose(d2.seasonal + ff_->forward(d2.seasonal), moving_avg_);
  auto trend = d1.trend + d2.trend + d3.trend;  // [B, L, hidden]
  auto projected = trend_projection_->forward(trend.permute({0, 2, 1})).transpose(1, 2);
  return {d3.seasonal, projected};
}

// ---------------------------------------------------------------------------------------------
// Stacks.

namespace {
template <typename Layer>
std::vector<std::shared_ptr<Layer>> RegisterLayers(torch::nn::Module& parent,
                                                   std::vector<std::shared_ptr<Layer>> layers) {
  for (size_t i = 0; i < layers.size(); ++i) {
    layers[i] = parent.register_module("layer" + std::to_string(i), layers[i]);
  }
  return layers;
}
}  // namespace

TransEncoder::TransEncoder(std::vector<std::shared_ptr<TransEncoderLayer>> layers, int64_t hidden,
                           bool final_norm) {
  layers_ = RegisterLayers(*this, std::move(layers));
  if (final_norm) norm_ = register_module("norm", MakeLayerNorm(hidden));
}

torch::Tensor TransEncoder::forward(torch::Tensor x) {
  for (auto& layer : layers_) x = layer->forward(x);
  return norm_ ? norm_->forward(x) : x;
}

TransDecoder::TransDecoder(std::vector<std::shared_ptr<TransDecoderLayer>> layers, int64_t hidden,
                           int64_t outputs) {
  layers_ = RegisterLayers(*this, std::move(layers));
  norm_ = register_module("norm", MakeLayerNorm(hidden));
  projection_ = register_module("projection", torch::nn::Linear(hidden, outputs));
}

torch::Tensor TransDecoder::forward(torch::Tensor x, const torch::Tensor& cross) {
  for (auto& layer : layers_) x = layer->forward(x, cross);
  return Dense(projection_, norm_->forward(x));
}

DecompEncoder::DecompEncoder(std::vector<std::shared_ptr<DecompEncoderLayer>> layers,
                             int64_t hidden) {
  layers_ = RegisterLayers(*this, std::move(layers));
  norm_ = register_module("norm", std::make_shared<SeasonalLayerNorm>(hidden));
}

torch::Tensor DecompEncoder::forward(torch::Tensor x) {
  for (auto& layer : layers_) x = layer->forward(x);
  return norm_->forward(x);
}

DecompDecoder::DecompDecoder(std::vector<std::shared_ptr<DecompDecoderLayer>> layers,
                             int64_t hidden, int64_t outputs) {
  layers_ = RegisterLayers(*this, std::move(layers));
  norm_ = register_module("norm", std::make_shared<SeasonalLayerNorm>(hidden));
  projection_ = register_module("projection", torch::nn::Linear(hidden, outputs));
}

torch::Tensor DecompDecoder::forward(torch::Tensor x, const torch::Tensor& cross,
                                     torch::Tensor trend) {
  for (auto& layer : layers_) {
    auto [seasonal, residual_trend] = layer->forward(x, cross);
    x = seasonal;
    trend = trend + residual_trend;
  }
  return trend + Dense(projection_, norm_->forward(x));
}

Decomposition DecompDecoderInputs(const torch::Tensor& y, int64_t label_len, int64_t horizon,
                                  int64_t moving_avg) {
  const int64_t b = y.size(0), l = y.size(1);
  auto parts = SeriesDecompose(y, moving_avg);
  auto mean = y.mean(1, /*keepdim=*/true).expand({b, horizon, y.size(2)});
  auto zeros = torch::zeros({b, horizon, y.size(2)}, y.options());
  return {torch::cat({parts.seasonal.slice(1, l - label_len), zeros}, 1),
          torch::cat({parts.trend.slice(1, l - label_len), mean}, 1)};
}

// ---- DecompositionForecaster ------------------------------------------------------------------

DecompositionForecaster::DecompositionForecaster(std::string model, const ModelConfig& config,
                                                 const TransformerOptions& o, int64_t moving_avg)
    : model_(std::move(model)),
      options_(o),
      input_size_(config.input_size),
      horizon_(config.horizon),
      moving_avg_(moving_avg),
      futr_exog_(config.futr_exog) {
  // Drawn before a derived model's own modules, as NF builds them; registered in Build.
  enc_embedding_ = std::make_shared<DataEmbedding>(1, o.hidden, false, o.dropout, futr_exog_);
  dec_embedding_ = std::make_shared<DataEmbedding>(1, o.hidden, false, o.dropout, futr_exog_);
}

void DecompositionForecaster::Build(const AttentionMaker& encoder_attention,
                                    const AttentionMaker& decoder_self,
                                    const AttentionMaker& decoder_cross) {
  const TransformerOptions& o = options_;
  register_module("enc_embedding", enc_embedding_);
  register_module("dec_embedding", dec_embedding_);
  std::vector<std::shared_ptr<DecompEncoderLayer>> encoder_layers;
  for (int i = 0; i < o.encoder_layers; ++i) {
    encoder_layers.push_back(
        std::make_shared<DecompEncoderLayer>(encoder_attention(), o, moving_avg_));
  }
  encoder_ = register_module("encoder",
                             std::make_shared<DecompEncoder>(std::move(encoder_layers), o.hidden));
  std::vector<std::shared_ptr<DecompDecoderLayer>> decoder_layers;
  for (int i = 0; i < o.decoder_layers; ++i) {
    auto self_attention = decoder_self();  // before the cross attention, as NF builds them
    decoder_layers.push_back(
        std::make_shared<DecompDecoderLayer>(self_attention, decoder_cross(), o, moving_avg_));
  }
  decoder_ = register_module(
      "decoder", std::make_shared<DecompDecoder>(std::move(decoder_layers), o.hidden, o.outputs));
}

torch::Tensor DecompositionForecaster::Forward(const WindowBatch& batch) {
  CheckWindow(model_, batch.insample_y, input_size_);
  auto y = batch.insample_y.unsqueeze(-1);  // [B, L, 1]
  auto init = DecompDecoderInputs(y, options_.label_len, horizon_, moving_avg_);
  const FutureMarks marks = FutureMarksOf(batch, input_size_, options_.label_len);
  auto encoded = encoder_->forward(enc_embedding_->forward(y, marks.encoder));
  auto out =
      decoder_->forward(dec_embedding_->forward(init.seasonal, marks.decoder), encoded, init.trend);
  return out.slice(1, options_.label_len).squeeze(-1);
}

}  // namespace drc::dl
