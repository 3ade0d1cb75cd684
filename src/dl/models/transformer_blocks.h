// Building blocks of the zoo's Transformer family (VanillaTransformer, Autoformer, FEDformer),
// after NeuralForecast 3.x (common/_modules.py, models/autoformer.py, models/fedformer.py; read
// to learn the architecture, written anew here), the family's training defaults (also
// PatchTST's) and the decomposition skeleton Autoformer and FEDformer share. Internal to src/dl.
//
// Sequences are [B, T, C] (batch, time, channels) as in NF. A multi-head mechanism takes
// queries [B, L, H, E], keys [B, S, H, E] and values [B, S, H, D] (already projected) and
// returns [B, L, H * D]; an AttentionLayer wraps one with NF's query/key/value/output
// projections. Every module owns its submodules through register_module, except the mechanisms
// an AttentionLayer is told not to own (FEDformer shares one Fourier block between layers and
// registers it once in the model). Not thread-safe (libtorch modules).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "drc/common/result.h"
#include "src/dl/model.h"

namespace drc::dl {

enum class FeedForwardActivation { kRelu, kGelu };

// The hyper-parameters the three models share, by NF's names.
struct TransformerOptions {
  int label_len = 12;    // decoder prefix: ceil(input_size * decoder_input_size_multiplier)
  int hidden = 128;      // hidden_size
  int heads = 4;         // n_head
  int conv_hidden = 32;  // conv_hidden_size (the feed-forward width)
  int encoder_layers = 2;
  int decoder_layers = 1;
  double dropout = 0.05;
  FeedForwardActivation activation = FeedForwardActivation::kGelu;  // NF's default "gelu"
  int outputs = 1;  // NF's c_out: outputs per step (ModelConfig::outputs, MQLoss's quantiles)
};

// Takes decoder_input_size_multiplier (0.5), hidden_size (128), dropout (0.05), n_head
// (`default_heads`), conv_hidden_size (32), encoder_layers (2), decoder_layers (1) and checks
// them: InvalidArgument names the model and the parameter (NF's range check of the multiplier:
// 0 < label_len < input_size).
Result<TransformerOptions> TakeTransformerOptions(const std::string& model, Params& params,
                                                  int input_size, int default_heads);
// NF's training defaults of the Transformer family (VanillaTransformer, Autoformer, FEDformer,
// PatchTST): Adam lr 1e-4 without decays (num_lr_decays -1), batch_size 32, windows_batch_size
// 1024, identity scaler, MAE.
TrainDefaults TransformerTrainDefaults();
// The keys of NF's inverted encoders (iTransformer, SOFTS, SOFTSSharp, TimeXer) by NF's names and
// defaults, read into `o` and checked (InvalidArgument names the model and the key): hidden_size
// 512, e_layers 2, d_ff 2048, dropout 0.1 and use_norm 1; with `attention` also n_heads 8, of
// which hidden_size must be a multiple, and factor 1 (unused by full attention, as in NF).
Status TakeInvertedOptions(const std::string& model, Params& params, bool attention,
                           TransformerOptions& o, bool& use_norm);

// The decomposition window: NF 3.x's `MovingAvg_window`, also accepted under its earlier name
// `moving_avg_window` (the two must agree); default 25, odd (NF's padding keeps the length only
// for odd windows).
Result<int> TakeMovingAvgWindow(const std::string& model, Params& params);

// Throws a c10::Error naming the model unless y is [B, input_size].
void CheckWindow(const std::string& model, const torch::Tensor& y, int64_t input_size);

// ---------------------------------------------------------------------------------------------
// Embedding.

// NF's fixed sinusoidal table, rows 0..length-1: [1, length, hidden]; column 2i is
// sin(t / 10000^(2i / hidden)), column 2i + 1 the cosine.
torch::Tensor SinusoidalPositions(int64_t length, int64_t hidden, const torch::Device& device);

// NF's DataEmbedding: a token convolution over time (Conv1d c_in -> hidden, kernel 3, circular
// padding, no bias, Kaiming-normal weights), plus the sinusoidal table when `positional`, plus,
// with `exog` future variables, their temporal embedding (NF's TimeFeatureEmbedding: a Linear
// exog -> hidden without bias) of `x_mark` [B, T, exog], then dropout. [B, T, c_in] ->
// [B, T, hidden]. Without future variables NF builds no temporal embedding and passes x_mark =
// None: `exog` 0 and x_mark undefined.
class DataEmbedding final : public torch::nn::Module {
 public:
  DataEmbedding(int64_t c_in, int64_t hidden, bool positional, double dropout, int64_t exog = 0);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& x_mark = {});

 private:
  int64_t hidden_;
  bool positional_;
  double dropout_;
  torch::nn::Conv1d token_{nullptr};
  torch::nn::Linear temporal_{nullptr};
};

// The future variables as NF's encoder-decoder transformers read them (undefined without):
// the encoder's marks over the input window, [B, L, F], and the decoder's over its last
// label_len steps and the horizon, [B, label_len + H, F].
struct FutureMarks {
  torch::Tensor encoder, decoder;
};
FutureMarks FutureMarksOf(const WindowBatch& batch, int64_t input_size, int64_t label_len);

// The decoder input of NF's VanillaTransformer and Informer: the window's last label_len values
// and h zeros, y [B, L, 1] -> [B, label_len + H, 1].
torch::Tensor LabelAndZeros(const torch::Tensor& y, int64_t label_len, int64_t horizon);

// BatchNorm1d over the feature axis of [N, P, D] (NF's Transpose, BatchNorm1d, Transpose, as in
// PatchTST and Informer's distilling layers): the same statistics (per feature, over N and P)
// computed on the [N * P, D] view, which keeps the result contiguous. A transposed result made
// every following Linear take libtorch's broadcasting matmul path (the weight expanded to
// [N, D, D] and multiplied batch by batch): 5x slower training steps in PatchTST.
//
// `row_weight` [N * P] (undefined: once each) are the draw counts of a merged batch's windows,
// repeated per row: in training the statistics are then weighted, which are those of the
// repeated batch (mean and biased variance over its rows for the output, the unbiased variance
// over its N' * P rows for the running estimate, as torch's BatchNorm).
torch::Tensor NormOverFeatures(torch::nn::BatchNorm1d& norm, const torch::Tensor& x,
                               const torch::Tensor& row_weight);

// ---------------------------------------------------------------------------------------------
// Series decomposition.

// NF's MovingAvg: the mean of a centred window of `kernel` (odd) points, the series padded by
// repeating its first and last values (kernel - 1) / 2 times. [B, T, C] -> [B, T, C].
torch::Tensor MovingAverage(const torch::Tensor& x, int64_t kernel);

struct Decomposition {
  torch::Tensor seasonal;  // x - trend
  torch::Tensor trend;     // MovingAverage(x)
};
// NF's SeriesDecomp.
Decomposition SeriesDecompose(const torch::Tensor& x, int64_t kernel);

// NF's "special designed" LayerNorm of the seasonal part: LayerNorm over channels, then the
// time mean of the result subtracted. [B, T, C] -> [B, T, C].
class SeasonalLayerNorm final : public torch::nn::Module {
 public:
  explicit SeasonalLayerNorm(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::LayerNorm norm_{nullptr};
};

// ---------------------------------------------------------------------------------------------
// Attention mechanisms.

class AttentionMechanism : public torch::nn::Module {
 public:
  // q [B, L, H, E], k [B, S, H, E], v [B, S, H, D] -> [B, L, H * D]. Keys and values may be
  // undefined for mechanisms that do not read them.
  virtual torch::Tensor Attend(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v) = 0;
  // Whether Attend reads the keys / values (an AttentionLayer builds their projections only
  // then, so that every parameter of a model gets a gradient).
  virtual bool ReadsKeys() const { return true; }
  virtual bool ReadsValues() const { return true; }
};

// [L, S] bool, true where key position s > query position l (the positions a causal query may
// not see; NF's TriangularCausalMask).
torch::Tensor CausalMask(int64_t l, int64_t s, const torch::Device& device);

// NF's FullAttention: softmax(q k^T / sqrt(E)) v per head, dropout on the attention weights,
// future keys masked out when `causal`.
class FullAttention final : public AttentionMechanism {
 public:
  FullAttention(bool causal, double dropout) : causal_(causal), dropout_(dropout) {}
  torch::Tensor Attend(const torch::Tensor& q, const torch::Tensor& k,
                       const torch::Tensor& v) override;

 private:
  bool causal_;
  double dropout_;
};

// Autoformer's auto-correlation: keys and values cut or zero-padded to the query length L; the
// circular cross-correlation of queries and keys per head and channel via FFT; its mean over
// heads and channels ranks the time delays; the top k = int(factor * ln L) delays' values,
// rolled back by the delay, are summed with softmax weights of their correlations. Training
// picks the delays from the batch mean (one set for the batch), inference per window (NF's
// time_delay_agg_training / _inference). NF builds its dropout but never applies it; so here
// there is none.
class AutoCorrelation final : public AttentionMechanism {
 public:
  explicit AutoCorrelation(double factor) : factor_(factor) {}
  torch::Tensor Attend(const torch::Tensor& q, const torch::Tensor& k,
                       const torch::Tensor& v) override;
  // k for a sequence of `length` steps (at most `length`).
  int64_t TopK(int64_t length) const;
  // The draw counts [B] of a merged batch (WindowBatch::weight; undefined: once each): the
  // training delays then come from the weighted batch mean, as from the repeated batch.
  void set_batch_weight(torch::Tensor weight) { batch_weight_ = std::move(weight); }

 private:
  double factor_;
  torch::Tensor batch_weight_;
};

// NF's get_frequency_modes with mode_select 'random': min(modes, length / 2) distinct indices of
// [0, length / 2) drawn without replacement, ascending. (NF draws with numpy's global generator;
// here a Fisher-Yates shuffle with the given generator.)
std::vector<int64_t> RandomFrequencyModes(int64_t length, int64_t modes, std::mt19937_64& rng);

// FEDformer's Fourier enhanced block (self-attention; reads only the queries): per head the
// selected rFFT modes of the queries are multiplied by a learned complex [E, E] matrix per mode
// (weights: NF's scale * U[0, 1) real and imaginary parts, scale = 1 / hidden^2); the results
// fill the first M frequency bins (NF's placement) and are transformed back. Weights are stored
// as real [heads, E, E, M, 2] (Adam then treats real and imaginary parts as NF's does).
class FourierBlock final : public AttentionMechanism {
 public:
  FourierBlock(int64_t hidden, int64_t heads, int64_t length, std::vector<int64_t> modes);
  torch::Tensor Attend(const torch::Tensor& q, const torch::Tensor& k,
                       const torch::Tensor& v) override;
  bool ReadsKeys() const override { return false; }
  bool ReadsValues() const override { return false; }
  const std::vector<int64_t>& modes() const { return modes_; }

 private:
  int64_t length_;
  std::vector<int64_t> modes_;
  torch::Tensor index_;
  torch::Tensor weights_;
};

// FEDformer's Fourier cross-attention (reads queries and keys; NF never reads the values): the
// selected modes of queries and keys, tanh(q_f k_f^T) as attention over modes applied to k_f,
// a learned complex [E, E] matrix per query mode, placed back at the queries' mode positions,
// divided by hidden^2, inverse rFFT to the query length.
class FourierCrossAttention final : public AttentionMechanism {
 public:
  FourierCrossAttention(int64_t hidden, int64_t heads, int64_t length_q, int64_t length_kv,
                        std::vector<int64_t> modes_q, std::vector<int64_t> modes_kv);
  torch::Tensor Attend(const torch::Tensor& q, const torch::Tensor& k,
                       const torch::Tensor& v) override;
  bool ReadsValues() const override { return false; }

 private:
  int64_t hidden_, length_q_, length_kv_;
  torch::Tensor index_q_, index_kv_;
  torch::Tensor weights_;
};

// NF's AttentionLayer / AutoCorrelationLayer: Linear projections of queries, keys and values
// to heads x (hidden / heads), the mechanism, and an output Linear back to hidden. The key and
// value projections are kept only when the mechanism reads them (their initial weights are drawn
// either way, as NF's). `own_mechanism` false: the
// caller registers the (shared) mechanism itself.
class AttentionLayer final : public torch::nn::Module {
 public:
  AttentionLayer(std::shared_ptr<AttentionMechanism> mechanism, int64_t hidden, int64_t heads,
                 bool own_mechanism = true);
  // [B, L, hidden], [B, S, hidden], [B, S, hidden] -> [B, L, hidden]
  torch::Tensor forward(const torch::Tensor& queries, const torch::Tensor& keys,
                        const torch::Tensor& values);

 private:
  std::shared_ptr<AttentionMechanism> mechanism_;
  int64_t heads_;
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, out_{nullptr};
};

// ---------------------------------------------------------------------------------------------
// Encoder and decoder layers. The feed-forward part is NF's pair of kernel-1 Conv1d over time,
// written as Linear layers over channels (the same map and the same default initialization).

// The feed-forward block: dropout(conv2(dropout(act(conv1(x))))).
class FeedForward final : public torch::nn::Module {
 public:
  FeedForward(int64_t hidden, int64_t conv_hidden, bool bias, double dropout,
              FeedForwardActivation activation);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  double dropout_;
  FeedForwardActivation activation_;
  torch::nn::Linear conv1_{nullptr}, conv2_{nullptr};
};

// SOFTS's STar Aggregate-Dispatch module (NF's STAD), what SOFTS's encoder layers have in place
// of attention: each token [B, C, d] gives a core, gelu(gen1) then gen2 -> [B, C, d_core]; the
// cores are aggregated over the C tokens (training: per core channel one token drawn with the
// softmax over the tokens as probabilities, torch.multinomial; inference: the softmax-weighted
// mean), repeated to every token, concatenated to it and mapped back, gen4(gelu(gen3)).
//
// SOFTSSharp's STADSharp (`sharp`): first the sinusoidal table over the C tokens (the series'
// positions) times a learned pe_scale is added to them, in training with probability
// pe_keep_prob (NF's torch.rand(1) per forward), at inference always, scaled by pe_keep_prob;
// and dropout follows gen1's GELU, the repeated core and gen3's GELU.
struct StadSharp {
  double dropout = 0.1;
  double pe_keep_prob = 0.5;
};
class Stad final : public torch::nn::Module {
 public:
  Stad(int64_t hidden, int64_t core, std::optional<StadSharp> sharp = std::nullopt);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::optional<StadSharp> sharp_;
  torch::Tensor pe_scale_;
  torch::nn::Linear gen1_{nullptr}, gen2_{nullptr}, gen3_{nullptr}, gen4_{nullptr};
};

// NF's TransEncoderLayer (post-norm): x = norm1(x + drop(attn(x))); norm2(x + ff(x)). SOFTS's
// has a STAD where the others have self-attention.
class TransEncoderLayer final : public torch::nn::Module {
 public:
  TransEncoderLayer(std::shared_ptr<AttentionLayer> attention, const TransformerOptions& o);
  TransEncoderLayer(std::shared_ptr<Stad> stad, const TransformerOptions& o);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  // After the mixer, in NF's order: the feed-forward block and the two norms.
  void AddFeedForward(const TransformerOptions& o);

  double dropout_;
  std::shared_ptr<AttentionLayer> attention_;  // or
  std::shared_ptr<Stad> stad_;
  std::shared_ptr<FeedForward> ff_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
};

// NF's TransDecoderLayer: x = norm1(x + drop(self(x))); x = norm2(x + drop(cross(x, enc)));
// norm3(x + ff(x)).
class TransDecoderLayer final : public torch::nn::Module {
 public:
  TransDecoderLayer(std::shared_ptr<AttentionLayer> self_attention,
                    std::shared_ptr<AttentionLayer> cross_attention, const TransformerOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cross);

 private:
  double dropout_;
  std::shared_ptr<AttentionLayer> self_, cross_;
  std::shared_ptr<FeedForward> ff_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr};
};

// Autoformer's / FEDformer's encoder layer (progressive decomposition, no bias in the
// feed-forward): x = seasonal(x + drop(attn(x))); seasonal(x + ff(x)).
class DecompEncoderLayer final : public torch::nn::Module {
 public:
  DecompEncoderLayer(std::shared_ptr<AttentionLayer> attention, const TransformerOptions& o,
                     int64_t moving_avg);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  double dropout_;
  int64_t moving_avg_;
  std::shared_ptr<AttentionLayer> attention_;
  std::shared_ptr<FeedForward> ff_;
};

// Their decoder layer: three decompositions (after self-attention, cross-attention and the
// feed-forward); the seasonal part goes on, the three trends are summed and projected to one
// channel by a Conv1d(hidden -> 1, kernel 3, circular padding, no bias).
class DecompDecoderLayer final : public torch::nn::Module {
 public:
  DecompDecoderLayer(std::shared_ptr<AttentionLayer> self_attention,
                     std::shared_ptr<AttentionLayer> cross_attention, const TransformerOptions& o,
                     int64_t moving_avg);
  // -> {seasonal [B, L, hidden], residual trend [B, L, 1]}
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x,
                                                  const torch::Tensor& cross);

 private:
  double dropout_;
  int64_t moving_avg_;
  std::shared_ptr<AttentionLayer> self_, cross_;
  std::shared_ptr<FeedForward> ff_;
  torch::nn::Conv1d trend_projection_{nullptr};
};

// ---------------------------------------------------------------------------------------------
// Stacks.

// NF's TransEncoder: the layers, then LayerNorm(hidden) unless `final_norm` is false (SOFTS
// builds its encoder without a norm layer).
class TransEncoder final : public torch::nn::Module {
 public:
  TransEncoder(std::vector<std::shared_ptr<TransEncoderLayer>> layers, int64_t hidden,
               bool final_norm = true);
  torch::Tensor forward(torch::Tensor x);

 private:
  std::vector<std::shared_ptr<TransEncoderLayer>> layers_;
  torch::nn::LayerNorm norm_{nullptr};
};

// NF's TransDecoder: the layers, LayerNorm(hidden), Linear(hidden -> 1). -> [B, L, 1]
class TransDecoder final : public torch::nn::Module {
 public:
  TransDecoder(std::vector<std::shared_ptr<TransDecoderLayer>> layers, int64_t hidden,
               int64_t outputs = 1);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& cross);

 private:
  std::vector<std::shared_ptr<TransDecoderLayer>> layers_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear projection_{nullptr};
};

// The decomposition encoder: the layers, then SeasonalLayerNorm(hidden).
class DecompEncoder final : public torch::nn::Module {
 public:
  DecompEncoder(std::vector<std::shared_ptr<DecompEncoderLayer>> layers, int64_t hidden);
  torch::Tensor forward(torch::Tensor x);

 private:
  std::vector<std::shared_ptr<DecompEncoderLayer>> layers_;
  std::shared_ptr<SeasonalLayerNorm> norm_;
};

// The decomposition decoder: each layer's residual trend is added to `trend`; the seasonal
// part ends in SeasonalLayerNorm and Linear(hidden -> 1). -> seasonal + trend, [B, L, 1].
class DecompDecoder final : public torch::nn::Module {
 public:
  DecompDecoder(std::vector<std::shared_ptr<DecompDecoderLayer>> layers, int64_t hidden,
                int64_t outputs = 1);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& cross, torch::Tensor trend);

 private:
  std::vector<std::shared_ptr<DecompDecoderLayer>> layers_;
  std::shared_ptr<SeasonalLayerNorm> norm_;
  torch::nn::Linear projection_{nullptr};
};

// The decomposition models' decoder inputs from the window y [B, L, 1]: the last label_len
// points of its seasonal part followed by `horizon` zeros, and of its trend followed by the
// window mean repeated `horizon` times. Both [B, label_len + horizon, 1].
Decomposition DecompDecoderInputs(const torch::Tensor& y, int64_t label_len, int64_t horizon,
                                  int64_t moving_avg);

// ---------------------------------------------------------------------------------------------
// Models.

// The Autoformer skeleton that Autoformer and FEDformer share, differing only in their attention
// layers. The window y [B, L] is embedded (token convolution, no positions) and encoded by a
// DecompEncoder; the decoder reads DecompDecoderInputs (the seasonal tail and H zeros, embedded;
// the trend tail and H copies of the window mean) and the encoder's output; the last H steps of
// its seasonal + trend output are the forecast. The constructor builds the two embeddings; a
// derived model's constructor then builds and registers its own modules (FEDformer's shared
// Fourier mechanisms) and calls Build once. That is NF's order of initial draws.
class DecompositionForecaster : public ForecastModel {
 public:
  torch::Tensor Forward(const WindowBatch& batch) override;
  // Windows are independent apart from dropout (Autoformer's batch-mean delays honour
  // WindowBatch::weight).
  RepeatedDraws Repeats() const override {
    return options_.dropout > 0 ? RepeatedDraws::kMergeSharingDropout : RepeatedDraws::kMerge;
  }

 protected:
  using AttentionMaker = std::function<std::shared_ptr<AttentionLayer>()>;
  DecompositionForecaster(std::string model, const ModelConfig& config, const TransformerOptions& o,
                          int64_t moving_avg);
  // Registers enc_embedding, dec_embedding, encoder and decoder, in this order; each encoder
  // layer takes one new `encoder_attention`, each decoder layer a `decoder_self`, then a
  // `decoder_cross`.
  void Build(const AttentionMaker& encoder_attention, const AttentionMaker& decoder_self,
             const AttentionMaker& decoder_cross);

 private:
  std::string model_;
  TransformerOptions options_;
  int64_t input_size_, horizon_, moving_avg_, futr_exog_;
  std::shared_ptr<DataEmbedding> enc_embedding_, dec_embedding_;
  std::shared_ptr<DecompEncoder> encoder_;
  std::shared_ptr<DecompDecoder> decoder_;
};

}  // namespace drc::dl
