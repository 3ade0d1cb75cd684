// TiDE (Das et al., "Long-term forecasting with TiDE: Time-series dense encoder", TMLR 2023), as
// NeuralForecast's: residual MLP blocks (Linear-ReLU-Linear, dropout, plus a Linear skip of the
// input, then LayerNorm) throughout.
//   - Historic and future exogenous variables are projected step by step to temporal_width
//     values each (one block per kind).
//   - The dense encoder (num_encoder_layers blocks of hidden_size) reads the input window, the
//     projected historic steps, the projected future steps over input and horizon, and the static
//     variables, flattened in that order.
//   - The dense decoder (num_decoder_layers blocks) gives decoder_output_dim values per horizon
//     step.
//   - The temporal decoder (one block of temporal_decoder_dim) maps each step's values, with that
//     step's projected future variables, to the step's outputs.
//   - A global Linear skip from the input window to the horizon is added.
// NF defaults: hidden_size 512, decoder_output_dim 32, temporal_decoder_dim 128, dropout 0.3,
// layernorm on, one encoder and one decoder layer, temporal_width 4; Adam lr 1e-3 without LR
// decay, 32 series and 1024 windows per step, identity scaler. With Q outputs per step (MQLoss,
// DistributionLoss) the temporal decoder and the skip give Q per step, as NF's.
//
// NF's temporal decoder (as the paper's code, google-research issue 2133) ends in a LayerNorm
// over its output, one value per step under a point loss, which is then always 0: the block's
// output is its constant bias, and the forecast is the global skip plus a constant, whatever the
// encoder, the decoder and the exogenous variables say. That is the default here too, NF's
// model; temporal_decoder_layernorm=0 (ours, not NF's) leaves that norm out, so that they reach
// the forecast. One difference: NF also builds the historic projection when only future
// variables are given (its input width then 0) and never reads it; that block is left out.
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/model.h"

namespace drc::dl {
namespace {

// NF's MLPResidual: LayerNorm(skip(x) + Dropout(lin2(relu(lin1(x))))), without the norm when
// layernorm is off.
class ResidualBlock : public torch::nn::Module {
 public:
  ResidualBlock(int64_t input, int64_t hidden, int64_t output, double dropout, bool layernorm)
      : dropout_(dropout),
        lin1_(register_module("lin1", torch::nn::Linear(input, hidden))),
        lin2_(register_module("lin2", torch::nn::Linear(hidden, output))),
        skip_(register_module("skip", torch::nn::Linear(input, output))) {
    if (layernorm) {
      norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({output})));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor dense = lin2_->forward(torch::relu(lin1_->forward(x)));
    torch::Tensor out = AddDropout(skip_->forward(x), dense, dropout_, 1, is_training());
    return norm_ ? norm_->forward(out) : out;
  }

 private:
  double dropout_;
  torch::nn::Linear lin1_, lin2_, skip_;
  torch::nn::LayerNorm norm_{nullptr};
};

struct TideOptions {
  int hidden_size = 512;
  int decoder_output_dim = 32;
  int temporal_decoder_dim = 128;
  double dropout = 0.3;
  bool layernorm = true;
  int num_encoder_layers = 1;
  int num_decoder_layers = 1;
  int temporal_width = 4;
  bool temporal_decoder_layernorm = true;  // NF's; false leaves it out (see above)
};

class Tide final : public ForecastModel {
 public:
  Tide(const ModelConfig& c, const TideOptions& o)
      : horizon_(c.horizon),
        outputs_(c.outputs),
        decoder_dim_(o.decoder_output_dim),
        dropout_(o.dropout),
        hist_(c.hist_exog),
        futr_(c.futr_exog),
        stat_(c.stat_exog) {
    auto block = [&](const std::string& name, int64_t in, int64_t hidden, int64_t out,
                     bool layernorm) {
      return register_module(
          name, std::make_shared<ResidualBlock>(in, hidden, out, o.dropout, layernorm));
    };
    if (hist_ > 0) {
      hist_projection_ =
          block("hist_exog_projection", hist_, o.hidden_size, o.temporal_width, o.layernorm);
    }
    if (futr_ > 0) {
      futr_projection_ =
          block("futr_exog_projection", futr_, o.hidden_size, o.temporal_width, o.layernorm);
    }
    const int64_t L = c.input_size, H = c.horizon, W = o.temporal_width;
    const int64_t encoder_input =
        L + (hist_ > 0 ? L * W : 0) + (futr_ > 0 ? (L + H) * W : 0) + (stat_ > 0 ? stat_ : 0);
    for (int i = 0; i < o.num_encoder_layers; ++i) {
      encoder_.push_back(block("dense_encoder" + std::to_string(i),
                               i == 0 ? encoder_input : o.hidden_size, o.hidden_size, o.hidden_size,
                               o.layernorm));
    }
    for (int i = 0; i < o.num_decoder_layers; ++i) {
      const bool last = i == o.num_decoder_layers - 1;
      decoder_.push_back(block("dense_decoder" + std::to_string(i), o.hidden_size, o.hidden_size,
                               last ? o.decoder_output_dim * H : o.hidden_size, o.layernorm));
    }
    temporal_decoder_ =
        block("temporal_decoder", o.decoder_output_dim + (futr_ > 0 ? W : 0),
              o.temporal_decoder_dim, c.outputs, o.layernorm && o.temporal_decoder_layernorm);
    global_skip_ = register_module("global_skip", torch::nn::Linear(L, H * c.outputs));
  }

  // Windows are independent apart from dropout.
  RepeatedDraws Repeats() const override {
    return dropout_ > 0 ? RepeatedDraws::kMergeSharingDropout : RepeatedDraws::kMerge;
  }

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor& y = batch.insample_y;  // [B, L]
    const int64_t b = y.size(0), L = y.size(1);
    const torch::Tensor skip = global_skip_->forward(y).view({b, horizon_, outputs_});
    std::vector<torch::Tensor> encoder_input = {y};
    if (hist_ > 0) {
      encoder_input.push_back(hist_projection_->forward(batch.hist_exog).reshape({b, -1}));
    }
    torch::Tensor futr;  // [B, L + H, W]
    if (futr_ > 0) {
      futr = futr_projection_->forward(batch.futr_exog);
      encoder_input.push_back(futr.reshape({b, -1}));
    }
    if (stat_ > 0) encoder_input.push_back(batch.stat_exog);
    torch::Tensor x = encoder_input.size() == 1 ? y : torch::cat(encoder_input, 1);
    for (auto& block : encoder_) x = block->forward(x);
    for (auto& block : decoder_) x = block->forward(x);
    x = x.view({b, horizon_, decoder_dim_});
    if (futr_ > 0) x = torch::cat({x, futr.narrow(1, L, horizon_)}, 2);
    const torch::Tensor out = temporal_decoder_->forward(x) + skip;  // [B, H, Q]
    return outputs_ == 1 ? out.squeeze(-1) : out;
  }

 private:
  int64_t horizon_, outputs_, decoder_dim_;
  double dropout_;
  int hist_, futr_, stat_;
  std::shared_ptr<ResidualBlock> hist_projection_, futr_projection_, temporal_decoder_;
  std::vector<std::shared_ptr<ResidualBlock>> encoder_, decoder_;
  torch::nn::Linear global_skip_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeTide(const ModelConfig& config) {
  Params p("TiDE", config.params);
  TideOptions o;
  o.hidden_size = p.TakeInt("hidden_size", o.hidden_size);
  o.decoder_output_dim = p.TakeInt("decoder_output_dim", o.decoder_output_dim);
  o.temporal_decoder_dim = p.TakeInt("temporal_decoder_dim", o.temporal_decoder_dim);
  o.dropout = p.Take("dropout", o.dropout);
  const double layernorm = p.Take("layernorm", 1);
  const double temporal_decoder_layernorm = p.Take("temporal_decoder_layernorm", 1);
  o.num_encoder_layers = p.TakeInt("num_encoder_layers", o.num_encoder_layers);
  o.num_decoder_layers = p.TakeInt("num_decoder_layers", o.num_decoder_layers);
  o.temporal_width = p.TakeInt("temporal_width", o.temporal_width);
  DRC_RETURN_NOT_OK(p.Finish());
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, int>>{{"hidden_size", o.hidden_size},
                                                {"decoder_output_dim", o.decoder_output_dim},
                                                {"temporal_decoder_dim", o.temporal_decoder_dim},
                                                {"num_encoder_layers", o.num_encoder_layers},
                                                {"num_decoder_layers", o.num_decoder_layers},
                                                {"temporal_width", o.temporal_width}}) {
    DRC_RETURN_NOT_OK(CheckAtLeast("TiDE", key, value, 1));
  }
  DRC_RETURN_NOT_OK(CheckRate("TiDE", "dropout", o.dropout));
  DRC_RETURN_NOT_OK(CheckFlag("TiDE", "layernorm", layernorm));
  DRC_RETURN_NOT_OK(CheckFlag("TiDE", "temporal_decoder_layernorm", temporal_decoder_layernorm));
  o.layernorm = layernorm == 1;
  o.temporal_decoder_layernorm = temporal_decoder_layernorm == 1;
  return std::shared_ptr<ForecastModel>(std::make_shared<Tide>(config, o));
}

}  // namespace

Status RegisterTideModels(ModelRegistry& registry) {
  TrainDefaults d{.num_lr_decays = -1};
  d.ReadAllExog();
  return registry.Register("TiDE", MakeTide, d);
}

}  // namespace drc::dl
