// xLSTM (Beck et al., "xLSTM: Extended Long Short-Term Memory", 2024) as NeuralForecast 3.3's
// xLSTM with its default mLSTM backbone, layer for layer, the blocks being those of the `xlstm`
// package 2.0.6 that NF's builds on (xLSTMBlockStack of mLSTMBlocks; read to learn the
// architecture, written anew here):
//   - feature_projection: Linear(1 + X + S + F -> encoder_hidden_size) per input step, reading
//     [y | hist | stat | futr] as NF's recurrent models do (exog_steps.h);
//   - encoder_n_blocks mLSTM blocks, each x + mLSTMLayer(LayerNorm(x)), then a LayerNorm. The
//     layer: an up-projection to two branches of `inner` = encoder_hidden_size * 2 rounded up to
//     a multiple of 64; on the first, a causal depthwise convolution (kernel 4) and SiLU give the
//     queries and keys through block-diagonal projections (blocks of 4), the values coming from
//     the branch before the convolution; the matrix-memory cell (4 heads, exponential input gate,
//     sigmoid forget gate, the parallel stabilised form of the xlstm package's
//     parallel_stabilized_simple) and a per-head norm; a learnable skip of the convolution's
//     output; gating by SiLU of the second branch; a down-projection and dropout;
//   - temporal_projection: Linear(L -> h) over the time axis;
//   - NF's MLP decoder per horizon step (Linear, GELU, dropout, ..., Linear to the loss's outputs),
//     reading the state beside the future variables there.
// The xlstm package's LayerNorms scale by 1 + weight (weight initialised to 0) and have no bias.
// Initial weights are drawn as NF's and the package's constructors draw them, in order (each
// mLSTM layer's reset_parameters runs twice, so its normal draws are made twice), so a seed gives
// NF's initial weights.
//
// NF defaults: two blocks of 128, encoder bias on, encoder dropout 0.1, decoder 2 layers of 128
// with GELU and no dropout; Adam lr 1e-3 without LR decay, 32 series and 128 windows per step,
// robust scaler. NF's sLSTM backbone (backbone=sLSTM) is not built here, and says so.
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/models/exog_steps.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "xLSTM";

// The mLSTM layer's fixed shape (the package's mLSTMLayerConfig defaults, which NF keeps).
constexpr int64_t kHeads = 4;       // the cell's heads
constexpr int64_t kQkvBlock = 4;    // width of the block-diagonal q, k, v projections' blocks
constexpr int64_t kConvKernel = 4;  // causal depthwise convolution
constexpr double kNormEps = 1e-5;   // every LayerNorm of the package

struct XLstmOptions {
  int n_blocks = 2;
  int hidden = 128;
  bool bias = true;
  double dropout = 0.1;
  int decoder_hidden = 128;
  int decoder_layers = 2;
  double decoder_dropout = 0;
};

// The package's small_init (Nguyen and Salazar) and wang_init of a weight, as normal draws.
void SmallInit(const torch::Tensor& w, int64_t dim) {
  torch::NoGradGuard no_grad;
  w.normal_(0.0, std::sqrt(2.0 / (5.0 * static_cast<double>(dim))));
}
void WangInit(const torch::Tensor& w, int64_t dim, int n_blocks) {
  torch::NoGradGuard no_grad;
  w.normal_(0.0, 2.0 / n_blocks / std::sqrt(static_cast<double>(dim)));
}

// LayerNorm over the last axis scaled by 1 + weight, without bias (the package's LayerNorm).
torch::Tensor ResidualLayerNorm(const torch::Tensor& x, const torch::Tensor& weight) {
  return torch::layer_norm(x, {x.size(-1)}, 1 + weight, {}, kNormEps);
}

// One mLSTM block: x + mLSTMLayer(LayerNorm(x)).
class MLstmBlock : public torch::nn::Module {
 public:
  MLstmBlock(int64_t dim, int n_blocks, bool bias, double dropout)
      : dim_(dim), inner_((2 * dim + 63) / 64 * 64), n_blocks_(n_blocks), dropout_(dropout) {
    const int64_t proj_heads = inner_ / kQkvBlock;
    norm_weight_ = register_parameter("xlstm_norm_weight", torch::zeros({dim}));
    proj_up_ = register_module(
        "proj_up", torch::nn::Linear(torch::nn::LinearOptions(dim, 2 * inner_).bias(bias)));
    for (const char* name : {"q_proj", "k_proj", "v_proj"}) {
      torch::Tensor w = torch::empty({proj_heads, kQkvBlock, kQkvBlock});
      SmallInit(w, kQkvBlock);  // LinearHeadwiseExpand's own init, by its blocks' width
      qkv_weights_.push_back(register_parameter(std::string(name) + "_weight", w));
      if (bias) {
        qkv_biases_.push_back(
            register_parameter(std::string(name) + "_bias", torch::zeros(inner_)));
      }
    }
    conv_ = register_module("conv1d",
                            torch::nn::Conv1d(torch::nn::Conv1dOptions(inner_, inner_, kConvKernel)
                                                  .groups(inner_)
                                                  .padding(kConvKernel - 1)));
    conv_->reset_parameters();  // CausalConv1d's own reset, after nn.Conv1d's
    igate_ = register_module("igate", torch::nn::Linear(3 * inner_, kHeads));
    fgate_ = register_module("fgate", torch::nn::Linear(3 * inner_, kHeads));
    outnorm_weight_ = register_parameter("outnorm_weight", torch::zeros({inner_}));
    ResetCell();
    skip_ = register_parameter("learnable_skip", torch::ones({inner_}));
    proj_down_ = register_module(
        "proj_down", torch::nn::Linear(torch::nn::LinearOptions(inner_, dim).bias(bias)));
    ResetLayer();  // mLSTMLayer.__init__'s reset_parameters
    ResetLayer();  // and xLSTMBlock.__init__'s
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t b = x.size(0), l = x.size(1);
    // The up-projection's two halves as two products (its output is never whole): the
    // gradient of a slice of it would be a zeroed tensor as large as the output.
    const torch::Tensor normed = ResidualLayerNorm(x, norm_weight_).reshape({b * l, dim_});
    auto half = [&](int64_t part) {
      const torch::Tensor& bias = proj_up_->bias;
      return Linear2d(normed, proj_up_->weight.narrow(0, part * inner_, inner_),
                      bias.defined() ? bias.narrow(0, part * inner_, inner_) : torch::Tensor())
          .view({b, l, inner_});
    };
    const torch::Tensor x_mlstm = half(0);
    const torch::Tensor z = half(1);
    const torch::Tensor conv =
        torch::silu(CausalDepthwiseConv1d(x_mlstm, conv_->weight, conv_->bias));
    const torch::Tensor q = Headwise(conv, 0), k = Headwise(conv, 1), v = Headwise(x_mlstm, 2);
    const torch::Tensor h = Cell(q, k, v, b, l);  // [B, L, inner]
    const torch::Tensor state = (h + skip_ * conv) * torch::silu(z);
    return AddDropout(x, Dense(proj_down_, state), dropout_, 1, is_training());
  }

 private:
  // The mLSTM cell's reset_parameters: zero gate weights, the forget gate's biases evenly from 3
  // to 6, the input gate's drawn from N(0, 0.1).
  void ResetCell() {
    torch::NoGradGuard no_grad;
    fgate_->weight.zero_();
    fgate_->bias.copy_(torch::linspace(3.0, 6.0, kHeads));
    igate_->weight.zero_();
    igate_->bias.normal_(0.0, 0.1);
  }

  // mLSTMLayer.reset_parameters.
  void ResetLayer() {
    torch::NoGradGuard no_grad;
    SmallInit(proj_up_->weight, dim_);
    if (proj_up_->bias.defined()) proj_up_->bias.zero_();
    WangInit(proj_down_->weight, dim_, n_blocks_);
    if (proj_down_->bias.defined()) proj_down_->bias.zero_();
    skip_.fill_(1);
    for (size_t i = 0; i < qkv_weights_.size(); ++i) {
      SmallInit(qkv_weights_[i], dim_);  // the embedding's width, as the package's
      if (!qkv_biases_.empty()) qkv_biases_[i].zero_();
    }
    ResetCell();
  }

  // The block-diagonal projection `which` (q, k, v) of x [B, L, inner]: each block of 4 inputs
  // maps to its 4 outputs.
  torch::Tensor Headwise(const torch::Tensor& x, size_t which) const {
    const torch::Tensor& w = qkv_weights_[which];  // [blocks, out, in]
    return BlockDiagonalLinear(x, w, qkv_biases_.empty() ? torch::Tensor() : qkv_biases_[which]);
  }

  // The matrix-memory cell in its parallel stabilised form, then the per-head norm:
  // q, k, v [B, L, inner] -> [B, L, inner].
  torch::Tensor Cell(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     int64_t b, int64_t l) {
    const int64_t dh = inner_ / kHeads;
    // Both gates read [q | k | v]: the sum of three products with the gates' weights side by
    // side, instead of a concatenated copy of q, k and v.
    const torch::Tensor gate_w = torch::cat({igate_->weight, fgate_->weight});  // [2 NH, 3 inner]
    const torch::Tensor gates =
        (Linear2d(q.reshape({b * l, inner_}), gate_w.narrow(1, 0, inner_).contiguous(),
                  torch::cat({igate_->bias, fgate_->bias})) +
         Linear2d(k.reshape({b * l, inner_}), gate_w.narrow(1, inner_, inner_).contiguous(), {}) +
         Linear2d(v.reshape({b * l, inner_}), gate_w.narrow(1, 2 * inner_, inner_).contiguous(),
                  {}))
            .view({b, l, 2 * kHeads});  // [B, L, 2 NH]: the input gates, then the forget gates
    const torch::Tensor h = MLstmCell(q, k, v, gates.narrow(2, 0, kHeads),
                                      gates.narrow(2, kHeads, kHeads));  // [B, L, inner]
    // The per-head norm (NF's MultiHeadLayerNorm, a group norm with a group per head).
    const torch::Tensor normed =
        torch::layer_norm(h.view({b, l, kHeads, dh}), {dh}, {}, {}, kNormEps);
    return (normed * (1 + outnorm_weight_).view({kHeads, dh})).reshape({b, l, inner_});
  }

  int64_t dim_, inner_;
  int n_blocks_;
  double dropout_;
  torch::Tensor norm_weight_, outnorm_weight_, skip_;
  std::vector<torch::Tensor> qkv_weights_, qkv_biases_;
  torch::nn::Linear proj_up_{nullptr}, proj_down_{nullptr}, igate_{nullptr}, fgate_{nullptr};
  torch::nn::Conv1d conv_{nullptr};
};

class XLstm final : public ForecastModel {
 public:
  XLstm(const ModelConfig& c, const XLstmOptions& o)
      : input_size_(c.input_size), dropout_(o.dropout), decoder_dropout_(o.decoder_dropout) {
    const int64_t inputs = 1 + c.hist_exog + c.stat_exog + c.futr_exog;
    feature_projection_ =
        register_module("feature_projection", torch::nn::Linear(inputs, o.hidden));
    for (int i = 0; i < o.n_blocks; ++i) {
      blocks_.push_back(
          register_module("block_" + std::to_string(i),
                          std::make_shared<MLstmBlock>(o.hidden, o.n_blocks, o.bias, o.dropout)));
    }
    post_norm_weight_ = register_parameter("post_blocks_norm_weight", torch::zeros({o.hidden}));
    // NF's MLP: Linear(in, d), GELU, Dropout, [Linear(d, d), GELU, Dropout] x (layers - 2),
    // Linear(d, outputs); one Linear(in, outputs) when decoder_layers is 1.
    int64_t in = o.hidden + c.futr_exog;
    for (int i = 0; i + 1 < o.decoder_layers; ++i) {
      decoder_.push_back(register_module("mlp_decoder_" + std::to_string(i),
                                         torch::nn::Linear(in, o.decoder_hidden)));
      in = o.decoder_hidden;
    }
    decoder_.push_back(register_module("mlp_decoder_out", torch::nn::Linear(in, c.outputs)));
    temporal_projection_ =
        register_module("temporal_projection", torch::nn::Linear(c.input_size, c.horizon));
  }

  RepeatedDraws Repeats() const override {
    return dropout_ > 0 || decoder_dropout_ > 0 ? RepeatedDraws::kMergeSharingDropout
                                                : RepeatedDraws::kMerge;
  }
  // Windows are independent; dropout draws random numbers.
  WindowParallelism WindowParallel() const override {
    return dropout_ > 0 || decoder_dropout_ > 0 ? WindowParallelism::kNone
                                                : WindowParallelism::kDefault;
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor& y = batch.insample_y;
    TORCH_CHECK(y.defined() && y.dim() == 2 && y.size(1) == input_size_, kName,
                ": insample_y must be [B, ", input_size_, "], got ",
                y.defined() ? y.sizes() : torch::IntArrayRef{});
    torch::Tensor x = Dense(feature_projection_, EncoderSteps(batch));  // [B, L, hidden]
    for (auto& block : blocks_) x = block->forward(x);
    x = ResidualLayerNorm(x, post_norm_weight_);
    // [B, L, hidden] -> [B, H, hidden] over the time axis.
    x = Dense(temporal_projection_, x.transpose(1, 2)).transpose(1, 2);
    x = WithHorizonFutures(x, batch);
    const bool training = is_training();
    for (size_t i = 0; i + 1 < decoder_.size(); ++i) {
      x = Dropout(torch::gelu(Dense(decoder_[i], x)), decoder_dropout_, training);
    }
    return Dense(decoder_.back(), x).squeeze(-1);  // [B, H, Q], [B, H] for one output
  }

 private:
  int64_t input_size_;
  double dropout_, decoder_dropout_;
  torch::nn::Linear feature_projection_{nullptr}, temporal_projection_{nullptr};
  std::vector<std::shared_ptr<MLstmBlock>> blocks_;
  torch::Tensor post_norm_weight_;
  std::vector<torch::nn::Linear> decoder_;
};

Result<std::shared_ptr<ForecastModel>> MakeXLstm(const ModelConfig& config) {
  Params p(kName, config.params);
  XLstmOptions o;
  o.n_blocks = p.TakeInt("encoder_n_blocks", o.n_blocks);
  o.hidden = p.TakeInt("encoder_hidden_size", o.hidden);
  const double bias = p.Take("encoder_bias", 1);
  o.dropout = p.Take("encoder_dropout", o.dropout);
  o.decoder_hidden = p.TakeInt("decoder_hidden_size", o.decoder_hidden);
  o.decoder_layers = p.TakeInt("decoder_layers", o.decoder_layers);
  o.decoder_dropout = p.Take("decoder_dropout", o.decoder_dropout);
  const int backbone = p.TakeInt("backbone", 0);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "encoder_n_blocks", o.n_blocks, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "encoder_hidden_size", o.hidden, 1));
  DRC_RETURN_NOT_OK(CheckFlag(kName, "encoder_bias", bias));
  DRC_RETURN_NOT_OK(CheckRate(kName, "encoder_dropout", o.dropout));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "decoder_hidden_size", o.decoder_hidden, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "decoder_layers", o.decoder_layers, 1));
  DRC_RETURN_NOT_OK(CheckRate(kName, "decoder_dropout", o.decoder_dropout));
  DRC_RETURN_NOT_OK(CheckNamedCode(kName, "backbone", backbone));
  if (backbone != 0) {
    return Status::InvalidArgument(
        kName,
        ": backbone sLSTM is not built yet (NF's sLSTM blocks, with their feed-forward part); "
        "the mLSTM backbone, NF's default, is");
  }
  o.bias = bias == 1;
  torch::manual_seed(config.seed);  // as NF seeds before building the layers
  return std::shared_ptr<ForecastModel>(std::make_shared<XLstm>(config, o));
}

}  // namespace

Status RegisterXLstmModels(ModelRegistry& registry) {
  TrainDefaults d;  // NF's xLSTM: 128 windows, no LR decay, robust scaler
  d.windows_batch_size = 128;
  d.num_lr_decays = -1;
  d.scaler = "robust";
  d.ReadAllExog();
  return registry.Register(kName, MakeXLstm, d);
}

}  // namespace drc::dl
