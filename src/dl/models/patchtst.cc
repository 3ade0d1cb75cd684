// PatchTST (Nie et al. 2023), after NeuralForecast 3.x models/patchtst.py (PatchTST,
// PatchTST_backbone, TSTiEncoder, TSTEncoderLayer, _MultiheadAttention, Flatten_Head; read to
// learn the architecture and defaults, written anew here).
//
// Forward, as NF's: the window [B, L] is one channel (NF's PatchTST is always channel-
// independent, c_in = 1). RevIN normalizes it per window (NF default revin=True, with its
// defaults revin_affine=False and revin_subtract_last=True: centre on the last value, scale by
// the window's std). The window is end-padded by repeating its last value `stride` times and cut
// into P = floor((L + stride - patch_len) / stride) + 1 patches of patch_len points every
// `stride` (patch_len is first clipped to L + stride, as NF does). Each patch is projected to
// hidden_size (W_P), a learned positional encoding (NF's pe="zeros": uniform(-0.02, 0.02),
// learn_pos_embed) is added, then dropout. encoder_layers post-norm Transformer encoder layers
// follow: multi-head self-attention with residual attention (NF's res_attention: each layer adds
// the previous layer's pre-softmax scores to its own), dropout on the attention weights
// (attn_dropout) and on the projected output, Add & BatchNorm over hidden_size (NF's norm is
// always BatchNorm; its `batch_normalization` flag selects pre-norm instead, default off), then a
// GELU feed-forward network (hidden_size -> linear_hidden_size -> hidden_size, dropout inside and
// after), Add & BatchNorm. The flatten head maps the [hidden_size x P] features (hidden-major, as
// NF flattens [hidden, patch]) to H with a Linear and head_dropout; RevIN denormalizes.
//
// NF defaults: encoder_layers 3, n_heads 16, hidden_size 128, linear_hidden_size 256, dropout
// 0.2, fc_dropout 0.2, head_dropout 0, attn_dropout 0, patch_len 16, stride 8, revin True,
// revin_affine False, revin_subtract_last True, activation gelu, res_attention True,
// batch_normalization False (post-norm), learn_pos_embed True; training: Adam lr 1e-4, no LR
// decay (num_lr_decays -1), batch_size 32, windows_batch_size 1024, scaler identity, MAE.
//
// Differences from NF:
//  - Hyper-parameters are numbers (drc::dl::Params); booleans are 0/1. activation stays gelu.
//  - fc_dropout is accepted and checked but unused, as in NF (it only feeds the pretrain head,
//    which NF's PatchTST never builds).
//  - The attention scale head_dim^-0.5 is a constant (NF keeps it as a frozen nn.Parameter).
//  - With learn_pos_embed=0 the positional encoding is a buffer (NF: a frozen nn.Parameter).
//  - Only y is an input (NF's PatchTST takes no exogenous variables either); the availability
//    mask is not an input (NF's forward does not read it; RevIN counts every point, as NF's).
#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/models/transformer_blocks.h"
#include "src/dl/revin.h"
#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "PatchTST";

struct PatchTstOptions {
  int encoder_layers = 3;
  int n_heads = 16;
  int hidden_size = 128;
  int linear_hidden_size = 256;
  double dropout = 0.2;
  double fc_dropout = 0.2;
  double head_dropout = 0.0;
  double attn_dropout = 0.0;
  int patch_len = 16;
  int stride = 8;
  bool revin = true;
  bool revin_affine = false;
  bool revin_subtract_last = true;
  bool res_attention = true;
  bool pre_norm = false;  // NF's `batch_normalization`
  bool learn_pos_embed = true;
};

// One TSTEncoderLayer: self-attention (optionally residual) and a feed-forward network, each
// with a residual connection and BatchNorm (post-norm by default).
class EncoderLayer final : public torch::nn::Module {
 public:
  explicit EncoderLayer(const PatchTstOptions& o)
      : heads_(o.n_heads),
        head_dim_(o.hidden_size / o.n_heads),
        scale_(1.0 / std::sqrt(static_cast<double>(o.hidden_size / o.n_heads))),
        dropout_(o.dropout),
        attn_dropout_(o.attn_dropout),
        res_attention_(o.res_attention),
        pre_norm_(o.pre_norm) {
    const int d = o.hidden_size;
    w_q_ = register_module("W_Q", torch::nn::Linear(d, heads_ * head_dim_));
    w_k_ = register_module("W_K", torch::nn::Linear(d, heads_ * head_dim_));
    w_v_ = register_module("W_V", torch::nn::Linear(d, heads_ * head_dim_));
    to_out_ = register_module("to_out", torch::nn::Linear(heads_ * head_dim_, d));
    norm_attn_ = register_module("norm_attn", torch::nn::BatchNorm1d(d));
    ff_in_ = register_module("ff_in", torch::nn::Linear(d, o.linear_hidden_size));
    ff_out_ = register_module("ff_out", torch::nn::Linear(o.linear_hidden_size, d));
    norm_ffn_ = register_module("norm_ffn", torch::nn::BatchNorm1d(d));
  }

  // src [N, P, D]; prev: the previous layer's pre-softmax scores [N, heads, P, P] (undefined
  // for the first layer or without residual attention); row_weight: see NormOverFeatures.
  // Returns the output and this layer's scores.
  std::pair<torch::Tensor, torch::Tensor> forward(torch::Tensor src, const torch::Tensor& prev,
                                                  const torch::Tensor& row_weight) {
    const bool training = is_training();
    const int64_t n = src.size(0), p = src.size(1);
    if (pre_norm_) src = NormOverFeatures(norm_attn_, src, row_weight);
    torch::Tensor attended, scores;  // [N, P, heads * dh], [N, heads, P, P]
    if (src.device().is_cpu() && (attn_dropout_ == 0 || !training) &&
        (src.scalar_type() == torch::kFloat || src.scalar_type() == torch::kDouble)) {
      // The three projections as one GEMM (the weights side by side), then one pass per window
      // and head (fast_ops.h).
      torch::Tensor qkv = Linear2d(src.reshape({n * p, src.size(2)}),
                                   torch::cat({w_q_->weight, w_k_->weight, w_v_->weight}),
                                   torch::cat({w_q_->bias, w_k_->bias, w_v_->bias}))
                              .view({n, p, -1});
      std::tie(attended, scores) =
          ShortSelfAttention(qkv, res_attention_ ? prev : torch::Tensor(), heads_, scale_);
    } else {
      // [N, P, heads * dh] -> [N, heads, P, dh]
      auto split = [&](torch::nn::Linear& w) {
        return Dense(w, src).view({n, p, heads_, head_dim_}).transpose(1, 2);
      };
      torch::Tensor q = split(w_q_), k = split(w_k_), v = split(w_v_);
      // [N, heads, P, P], as N * heads small matrix products.
      scores = BatchedMatmul(q.reshape({n * heads_, p, head_dim_}),
                             k.transpose(2, 3).reshape({n * heads_, head_dim_, p}))
                   .view({n, heads_, p, p}) *
               scale_;
      if (res_attention_ && prev.defined()) scores = scores + prev;
      torch::Tensor weights = Dropout(torch::softmax(scores, -1), attn_dropout_, training);
      attended =
          BatchedMatmul(weights.reshape({n * heads_, p, p}), v.reshape({n * heads_, p, head_dim_}))
              .view({n, heads_, p, head_dim_})
              .transpose(1, 2)
              .reshape({n, p, heads_ * head_dim_});
    }
    // NF's two dropouts (the projection's and the residual's) and the residual add, one pass.
    src = AddDropout(src, Dense(to_out_, attended), dropout_, 2, training);
    if (!pre_norm_) src = NormOverFeatures(norm_attn_, src, row_weight);

    if (pre_norm_) src = NormOverFeatures(norm_ffn_, src, row_weight);
    torch::Tensor ff = Dropout(torch::gelu(Dense(ff_in_, src)), dropout_, training);
    src = AddDropout(src, Dense(ff_out_, ff), dropout_, 1, training);
    if (!pre_norm_) src = NormOverFeatures(norm_ffn_, src, row_weight);
    return {src, res_attention_ ? scores : torch::Tensor()};
  }

 private:
  int64_t heads_, head_dim_;
  double scale_, dropout_, attn_dropout_;
  bool res_attention_, pre_norm_;
  torch::nn::Linear w_q_{nullptr}, w_k_{nullptr}, w_v_{nullptr}, to_out_{nullptr};
  torch::nn::Linear ff_in_{nullptr}, ff_out_{nullptr};
  torch::nn::BatchNorm1d norm_attn_{nullptr}, norm_ffn_{nullptr};
};

class PatchTst final : public ForecastModel {
 public:
  PatchTst(const ModelConfig& config, const PatchTstOptions& o, int patch_len, int num_patches)
      : input_size_(config.input_size),
        horizon_(config.horizon),
        outputs_(config.outputs),
        patch_len_(patch_len),
        stride_(o.stride),
        num_patches_(num_patches),
        dropout_(o.dropout),
        head_dropout_(o.head_dropout),
        has_dropout_(o.dropout > 0 || o.head_dropout > 0 || o.attn_dropout > 0) {
    if (o.revin) {
      RevINOptions r;
      r.num_features = 1;
      r.affine = o.revin_affine;
      r.subtract_last = o.revin_subtract_last;
      revin_ = register_module("revin_layer", std::make_shared<RevIN>(r));
    }
    w_p_ = register_module("W_P", torch::nn::Linear(patch_len, o.hidden_size));
    torch::Tensor pos = torch::empty({num_patches, o.hidden_size});
    torch::nn::init::uniform_(pos, -0.02, 0.02);
    w_pos_ = o.learn_pos_embed ? register_parameter("W_pos", pos) : register_buffer("W_pos", pos);
    for (int i = 0; i < o.encoder_layers; ++i) {
      layers_.push_back(
          register_module("encoder_layer" + std::to_string(i), std::make_shared<EncoderLayer>(o)));
    }
    head_ = register_module(
        "head", torch::nn::Linear(int64_t{o.hidden_size} * num_patches, horizon_ * outputs_));
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor& y = batch.insample_y;
    TORCH_CHECK(y.defined() && y.dim() == 2 && y.size(1) == input_size_, kName,
                ": insample_y must be [B, ", input_size_, "], got ", ShapeOf(y));
    const bool training = is_training();
    const int64_t b = y.size(0);
    torch::Tensor z = revin_ ? revin_->Normalize(y) : y;  // [B, L]
    // End padding: the last value repeated `stride` times (NF's ReplicationPad1d((0, stride))).
    z = torch::cat({z, z.narrow(1, input_size_ - 1, 1).expand({b, stride_})}, 1);
    torch::Tensor patches = z.unfold(1, patch_len_, stride_);  // [B, P, patch_len]
    torch::Tensor u = Dropout(Dense(w_p_, patches) + w_pos_, dropout_, training);
    torch::Tensor scores;
    torch::Tensor row_weight;  // the windows' draw counts, per patch
    if (batch.weight.defined()) row_weight = batch.weight.repeat_interleave(u.size(1));
    for (auto& layer : layers_) std::tie(u, scores) = layer->forward(u, scores, row_weight);
    // [B, P, D] -> [B, D, P] -> [B, D * P] (hidden-major, as NF's Flatten_Head).
    torch::Tensor flat = u.transpose(1, 2).reshape({b, -1});
    // [B, H * Q], step-major (NF's reshape to [B, H, Q]).
    torch::Tensor out = Dropout(head_->forward(flat), head_dropout_, training);
    if (revin_) out = revin_->Denormalize(out);
    return outputs_ == 1 ? out : out.view({b, horizon_, outputs_});
  }

  // Windows meet only in BatchNorm's statistics, which honour WindowBatch::weight: without
  // dropout repeated draws merge exactly. With dropout every draw is computed: one mask shared
  // by a window's copies cost PatchTST (dropout 0.2) about 10 % MAE on the carrier series
  // (seeds 1-3: 10 216-10 477 against 9 310-9 461), unlike the models with dropout 0.05.
  RepeatedDraws Repeats() const override {
    return has_dropout_ ? RepeatedDraws::kCompute : RepeatedDraws::kMerge;
  }

 private:
  int64_t input_size_, horizon_, outputs_, patch_len_, stride_, num_patches_;
  double dropout_, head_dropout_;
  bool has_dropout_;
  std::shared_ptr<RevIN> revin_;
  torch::nn::Linear w_p_{nullptr}, head_{nullptr};
  torch::Tensor w_pos_;
  std::vector<std::shared_ptr<EncoderLayer>> layers_;
};

Result<std::shared_ptr<ForecastModel>> MakePatchTst(const ModelConfig& config) {
  Params p(kName, config.params);
  PatchTstOptions o;
  o.encoder_layers = p.TakeInt("encoder_layers", o.encoder_layers);
  o.n_heads = p.TakeInt("n_heads", o.n_heads);
  o.hidden_size = p.TakeInt("hidden_size", o.hidden_size);
  o.linear_hidden_size = p.TakeInt("linear_hidden_size", o.linear_hidden_size);
  o.dropout = p.Take("dropout", o.dropout);
  o.fc_dropout = p.Take("fc_dropout", o.fc_dropout);
  o.head_dropout = p.Take("head_dropout", o.head_dropout);
  o.attn_dropout = p.Take("attn_dropout", o.attn_dropout);
  o.patch_len = p.TakeInt("patch_len", o.patch_len);
  o.stride = p.TakeInt("stride", o.stride);
  o.revin = p.TakeInt("revin", o.revin) != 0;
  o.revin_affine = p.TakeInt("revin_affine", o.revin_affine) != 0;
  o.revin_subtract_last = p.TakeInt("revin_subtract_last", o.revin_subtract_last) != 0;
  o.res_attention = p.TakeInt("res_attention", o.res_attention) != 0;
  o.pre_norm = p.TakeInt("batch_normalization", o.pre_norm) != 0;
  o.learn_pos_embed = p.TakeInt("learn_pos_embed", o.learn_pos_embed) != 0;
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "encoder_layers", o.encoder_layers, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "n_heads", o.n_heads, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "hidden_size", o.hidden_size, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "linear_hidden_size", o.linear_hidden_size, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "patch_len", o.patch_len, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "stride", o.stride, 1));
  for (const auto& [key, value] : {std::pair<const char*, double>{"dropout", o.dropout},
                                   {"fc_dropout", o.fc_dropout},
                                   {"head_dropout", o.head_dropout},
                                   {"attn_dropout", o.attn_dropout}}) {
    DRC_RETURN_NOT_OK(CheckRate(kName, key, value));
  }
  if (o.hidden_size % o.n_heads != 0) {
    return Status::InvalidArgument(kName, ": hidden_size (", o.hidden_size,
                                   ") must be divisible by n_heads (", o.n_heads, ")");
  }
  // NF clips patch_len to the padded window; then at least one patch fits.
  const int patch_len = std::min(config.input_size + o.stride, o.patch_len);
  const int num_patches = (config.input_size + o.stride - patch_len) / o.stride + 1;
  torch::manual_seed(config.seed);  // as NF seeds before building the layers
  return std::shared_ptr<ForecastModel>(
      std::make_shared<PatchTst>(config, o, patch_len, num_patches));
}

}  // namespace

Status RegisterPatchTstModels(ModelRegistry& registry) {
  return registry.Register(kName, MakePatchTst, TransformerTrainDefaults());
}

}  // namespace drc::dl
