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
//   - NF's MLP decoder per horizon step (Linear, GELU or another decoder_activation, dropout, ...,
//     Linear to the loss's outputs; models/mlp_decoder.h),
//     reading the state beside the future variables there.
// The xlstm package's LayerNorms scale by 1 + weight (weight initialised to 0) and have no bias.
// Initial weights are drawn as NF's and the package's constructors draw them, in order (each
// mLSTM layer's reset_parameters runs twice, so its normal draws are made twice), so a seed gives
// NF's initial weights.
//
// NF defaults: two blocks of 128, encoder bias on, encoder dropout 0.1, decoder 2 layers of 128
// with GELU and no dropout; Adam lr 1e-3 without LR decay, 32 series and 128 windows per step,
// robust scaler.
//
// backbone=sLSTM (NF's other backbone) stacks the package's sLSTM blocks instead: see SLstmBlock.
// NF runs them on the package's CUDA kernel (bfloat16 weights and states), which cannot run
// without CUDA; ours is the package's "vanilla" form of the same cell, in float32, and is checked
// against that form (bench/peers/slstm_vanilla.py).
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/models/exog_steps.h"
#include "src/dl/models/mlp_decoder.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "xLSTM";

// The mLSTM layer's fixed shape (the package's mLSTMLayerConfig defaults, which NF keeps).
constexpr int64_t kHeads = 4;       // the cell's heads
constexpr int64_t kQkvBlock = 4;    // width of the block-diagonal q, k, v projections' blocks
constexpr int64_t kConvKernel = 4;  // causal depthwise convolution
constexpr double kNormEps = 1e-5;   // every LayerNorm of the package

struct XLstmOptions {
  bool slstm = false;  // backbone sLSTM (else mLSTM, NF's default)
  int n_blocks = 2;
  int hidden = 128;
  bool bias = true;
  double dropout = 0.1;
  MlpDecoderOptions decoder;  // GELU by default (NF's xLSTM)
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

// One sLSTM block: x + sLSTMLayer(LayerNorm(x)), then x + GatedFeedForward(LayerNorm(x)). The
// layer: a causal depthwise convolution (kernel 4) and SiLU give the input and forget gates'
// inputs, the block's input the cell input's and output gate's, each through a block-diagonal
// projection (one block per head); the scalar-memory cell (exponential input gate, exponential
// forget gate log sigmoid(f), stabiliser m, normaliser n; recurrent weights per head, acting on
// the previous output); dropout; a per-head norm. The feed-forward part: an up-projection to two
// halves of `up` = 1.3 * dim rounded up to a multiple of 64, GELU of the first times the second,
// a down-projection; no biases.
class SLstmBlock : public torch::nn::Module {
 public:
  SLstmBlock(int64_t dim, int n_blocks, int block_idx, double dropout)
      : dim_(dim),
        head_dim_(dim / kHeads),
        up_(static_cast<int64_t>(std::ceil(1.3 * static_cast<double>(dim) / 64)) * 64),
        n_blocks_(n_blocks),
        dropout_(dropout) {
    norm_weight_ = register_parameter("xlstm_norm_weight", torch::zeros({dim}));
    conv_ = register_module(
        "conv1d",
        torch::nn::Conv1d(
            torch::nn::Conv1dOptions(dim, dim, kConvKernel).groups(dim).padding(kConvKernel - 1)));
    conv_->reset_parameters();  // CausalConv1d's own reset, after nn.Conv1d's
    // The package names the gates' projections f, i, z, o in that order and feeds the one it
    // calls fgate to the cell as the input gate, igate as the forget gate; each draws its weights
    // when built (LinearHeadwiseExpand's init, by its blocks' width).
    for (const char* name : {"fgate", "igate", "zgate", "ogate"}) {
      torch::Tensor w = torch::empty({kHeads, head_dim_, head_dim_});
      SmallInit(w, head_dim_);
      gate_weights_.push_back(register_parameter(std::string(name) + "_weight", w));
    }
    // The cell's recurrent weights [NH, DH (from), 4 DH (to: i, f, z, o)], zero at first, and
    // its biases [4, NH, DH], gate-major.
    recurrent_ =
        register_parameter("recurrent_kernel", torch::zeros({kHeads, head_dim_, 4 * head_dim_}));
    bias_ = register_parameter("cell_bias", torch::zeros({4, kHeads, head_dim_}));
    ResetCellBias(block_idx);
    group_norm_weight_ = register_parameter("group_norm_weight", torch::zeros({dim}));
    ffn_norm_weight_ = register_parameter("ffn_norm_weight", torch::zeros({dim}));
    proj_up_ = register_module(
        "ffn_proj_up", torch::nn::Linear(torch::nn::LinearOptions(dim, 2 * up_).bias(false)));
    proj_down_ = register_module("ffn_proj_down",
                                 torch::nn::Linear(torch::nn::LinearOptions(up_, dim).bias(false)));
    ResetFeedForward();  // GatedFeedForward.__init__'s reset_parameters
    // xLSTMBlock.__init__'s reset_parameters: the layer's gates (i, f, z, o), then the
    // feed-forward part again.
    for (size_t g : {1, 0, 2, 3}) SmallInit(gate_weights_[g], dim_);
    ResetFeedForward();
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t b = x.size(0), l = x.size(1);
    const torch::Tensor normed = ResidualLayerNorm(x, norm_weight_);
    const torch::Tensor conv =
        torch::silu(CausalDepthwiseConv1d(normed, conv_->weight, conv_->bias));
    // The gates' input projections (block-diagonal, a block per head), as the cell reads them:
    // step-major, [L, B, 4 (i, f, z, o), dim]. With blocks as wide as a head, dense products
    // with the blocks laid on a diagonal are faster than a product per block: one for the two
    // gates that read the convolution, one for the two that read the block's input.
    auto diagonal = [&](size_t g) { return torch::block_diag(gate_weights_[g].unbind(0)); };
    auto pair = [&](const torch::Tensor& in, size_t g) {
      return Linear2d(in.reshape({b * l, dim_}), torch::cat({diagonal(g), diagonal(g + 1)}),
                      torch::Tensor());
    };
    const torch::Tensor wx =
        torch::cat({pair(conv, 0), pair(normed, 2)}, 1).view({b, l, 4, dim_}).transpose(0, 1);
    const torch::Tensor ys = SLstmCell(wx, recurrent_, bias_.view({4, dim_}));  // [L, B, dim]
    // [L, B, dim], dropped out in the package's memory order, then the per-head norm.
    const torch::Tensor h = Dropout(ys, dropout_, is_training());
    const torch::Tensor normed_h =
        torch::layer_norm(h.view({l, b, kHeads, head_dim_}), {head_dim_}, {}, {}, kNormEps) *
        (1 + group_norm_weight_).view({kHeads, head_dim_});
    const torch::Tensor out = x + normed_h.view({l, b, dim_}).transpose(0, 1);
    // The gated feed-forward part.
    const torch::Tensor up = Dense(proj_up_, ResidualLayerNorm(out, ffn_norm_weight_));
    return out + Dense(proj_down_, torch::gelu(up.narrow(-1, 0, up_)) * up.narrow(-1, up_, up_));
  }

 private:
  // The cell's powerlaw_blockdependent biases: zero but for the forget gate's, per head
  // 5 - 12 (j / (DH - 1))^(0.3 + 1.3 r), r = block_idx / (n_blocks - 1) (0 for one block).
  void ResetCellBias(int block_idx) {
    torch::NoGradGuard no_grad;
    const double ratio = n_blocks_ > 1 ? static_cast<double>(block_idx) / (n_blocks_ - 1) : 0.0;
    const torch::Tensor j = torch::arange(head_dim_, torch::kFloat32);
    const torch::Tensor forget =
        -(-5.0 + 12.0 * torch::pow(j / static_cast<double>(head_dim_ - 1), 0.3 + 1.3 * ratio));
    bias_.zero_();
    bias_[1].copy_(forget.expand({kHeads, head_dim_}));
  }

  void ResetFeedForward() {
    SmallInit(proj_up_->weight, dim_);
    WangInit(proj_down_->weight, dim_, n_blocks_);
  }

  int64_t dim_, head_dim_, up_;
  int n_blocks_;
  double dropout_;
  torch::Tensor norm_weight_, recurrent_, bias_, group_norm_weight_, ffn_norm_weight_;
  std::vector<torch::Tensor> gate_weights_;  // the cell's i, f, z, o (the package's f, i, z, o)
  torch::nn::Conv1d conv_{nullptr};
  torch::nn::Linear proj_up_{nullptr}, proj_down_{nullptr};
};

class XLstm final : public ForecastModel {
 public:
  XLstm(const ModelConfig& c, const XLstmOptions& o)
      : input_size_(c.input_size), draws_random_(o.dropout > 0 || DrawsRandom(o.decoder)) {
    const int64_t inputs = 1 + c.hist_exog + c.stat_exog + c.futr_exog;
    feature_projection_ =
        register_module("feature_projection", torch::nn::Linear(inputs, o.hidden));
    for (int i = 0; i < o.n_blocks; ++i) {
      const std::string name = "block_" + std::to_string(i);
      if (o.slstm) {
        auto block =
            register_module(name, std::make_shared<SLstmBlock>(o.hidden, o.n_blocks, i, o.dropout));
        blocks_.emplace_back([block](const torch::Tensor& x) { return block->forward(x); });
      } else {
        auto block = register_module(
            name, std::make_shared<MLstmBlock>(o.hidden, o.n_blocks, o.bias, o.dropout));
        blocks_.emplace_back([block](const torch::Tensor& x) { return block->forward(x); });
      }
    }
    post_norm_weight_ = register_parameter("post_blocks_norm_weight", torch::zeros({o.hidden}));
    // NF's MLP: Linear(in, d), GELU, Dropout, [Linear(d, d), GELU, Dropout] x (layers - 2),
    // Linear(d, outputs); one Linear(in, outputs) when decoder_layers is 1.
    decoder_ =
        register_module("mlp_decoder", MlpDecoder(o.hidden + c.futr_exog, c.outputs, o.decoder));
    temporal_projection_ =
        register_module("temporal_projection", torch::nn::Linear(c.input_size, c.horizon));
  }

  RepeatedDraws Repeats() const override {
    return draws_random_ ? RepeatedDraws::kMergeSharingDropout : RepeatedDraws::kMerge;
  }
  // Windows are independent; dropout (and RReLU's slopes) draw random numbers.
  WindowParallelism WindowParallel() const override {
    return draws_random_ ? WindowParallelism::kNone : WindowParallelism::kDefault;
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor& y = batch.insample_y;
    TORCH_CHECK(y.defined() && y.dim() == 2 && y.size(1) == input_size_, kName,
                ": insample_y must be [B, ", input_size_, "], got ",
                y.defined() ? y.sizes() : torch::IntArrayRef{});
    torch::Tensor x = Dense(feature_projection_, EncoderSteps(batch));  // [B, L, hidden]
    for (auto& block : blocks_) x = block(x);
    x = ResidualLayerNorm(x, post_norm_weight_);
    // [B, L, hidden] -> [B, H, hidden] over the time axis.
    x = Dense(temporal_projection_, x.transpose(1, 2)).transpose(1, 2);
    // [B, H, Q], [B, H] for one output.
    return decoder_->forward(WithHorizonFutures(x, batch)).squeeze(-1);
  }

 private:
  int64_t input_size_;
  bool draws_random_;
  torch::nn::Linear feature_projection_{nullptr}, temporal_projection_{nullptr};
  std::vector<std::function<torch::Tensor(const torch::Tensor&)>> blocks_;
  torch::Tensor post_norm_weight_;
  MlpDecoder decoder_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeXLstm(const ModelConfig& config) {
  Params p(kName, config.params);
  XLstmOptions o;
  o.n_blocks = p.TakeInt("encoder_n_blocks", o.n_blocks);
  o.hidden = p.TakeInt("encoder_hidden_size", o.hidden);
  const double bias = p.Take("encoder_bias", 1);
  o.dropout = p.Take("encoder_dropout", o.dropout);
  DRC_ASSIGN_OR_RETURN(o.decoder, TakeMlpDecoder(kName, p, NfActivation::kGELU));
  o.decoder.dropout = p.Take("decoder_dropout", o.decoder.dropout);
  const int backbone = p.TakeInt("backbone", 0);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "encoder_n_blocks", o.n_blocks, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "encoder_hidden_size", o.hidden, 1));
  DRC_RETURN_NOT_OK(CheckFlag(kName, "encoder_bias", bias));
  DRC_RETURN_NOT_OK(CheckRate(kName, "encoder_dropout", o.dropout));
  DRC_RETURN_NOT_OK(CheckRate(kName, "decoder_dropout", o.decoder.dropout));
  DRC_RETURN_NOT_OK(CheckNamedCode(kName, "backbone", backbone));
  o.slstm = backbone == 1;
  if (o.slstm && (o.hidden % kHeads != 0 || o.hidden < 2 * kHeads)) {
    return Status::InvalidArgument(
        kName, ": backbone sLSTM needs encoder_hidden_size to be a multiple of ", kHeads,
        " (its heads) and at least ", 2 * kHeads, ", got ", o.hidden);
  }
  o.bias = bias == 1;               // the mLSTM blocks' (the package's sLSTM blocks have no biases)
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
