// FEDformer (NeuralForecast 3.x models/fedformer.py, version "Fourier"; Zhou et al. 2022): the
// Autoformer skeleton (models/autoformer.cc: series decomposition of the window with a moving
// average, decomposition encoder and decoder layers, trend accumulation, seasonal LayerNorm)
// with frequency enhanced blocks in place of auto-correlation. Self-attention is a Fourier
// block: the queries' rFFT at `modes` frequency modes drawn at random (min(modes, T / 2) of
// the lowest T / 2), a learned complex matrix per head and mode, inverse rFFT. Cross-attention
// is Fourier cross-attention: tanh attention between the queries' and the encoder keys' modes
// in the frequency domain, a learned complex matrix per mode, inverse rFFT
// (transformer_blocks.h). As in NF, one Fourier block serves all encoder layers, and one block
// and one cross-attention all decoder layers (their weights are shared; each layer has its own
// projections).
//
// NF defaults: decoder_input_size_multiplier 0.5, version Fourier, modes 64, mode_select
// random, hidden_size 128, n_head 8 (NF accepts only 8), conv_hidden_size 32, encoder_layers 2,
// decoder_layers 1, dropout 0.05, MovingAvg_window 25, activation gelu; Adam lr 1e-4 without
// decays (num_lr_decays -1), batch_size 32, windows_batch_size 1024, identity scaler, MAE.
//
// Differences from NF:
//  - The embeddings are the token convolution (no positions, as NF builds FEDformer's), plus,
//    with future exogenous variables, NF's temporal embedding of them, as in Autoformer. NF's
//    model reads no historic or static variables, and neither does this one.
//  - NF builds query, key and value projections around every Fourier mechanism, but the
//    Fourier block reads only the queries and the cross-attention never reads the values, so
//    those projections never receive a gradient and never change the forecast. They are not
//    built here (fewer parameters than NF: 2 (hidden^2 + hidden) per encoder layer and
//    3 (hidden^2 + hidden) per decoder layer; the same function). Their initial weights are
//    drawn all the same, and the layers are built in NF's order, so that a seed gives NF's
//    initial weights to the rest (Models.ForecastsAreNfsAtSeedOne).
//  - Modes are drawn with a generator seeded by ModelConfig::seed (NF uses numpy's global
//    generator), in NF's order: encoder block, decoder block, cross queries, cross keys. The
//    decoder's modes are drawn for its actual length label_len + H (NF uses input_size // 2 + H,
//    the same for the default multiplier and an even input_size). For windows of at most 128
//    steps with modes 64 every mode below T / 2 is kept, so the draw does not matter there.
//  - Only version "Fourier" and mode_select "random" (NF's defaults; hyper-parameters are
//    numbers here); the Wavelets version is not offered. activation is NF's default gelu.
//  - MovingAvg_window is also accepted as moving_avg_window (its earlier NF name).
#include <torch/types.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "src/dl/model.h"
#include "src/dl/models/transformer_blocks.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "FEDformer";

class FedFormer final : public DecompositionForecaster {
 public:
  FedFormer(const ModelConfig& config, const TransformerOptions& o, int modes, int moving_avg)
      : DecompositionForecaster(kName, config, o, moving_avg) {
    const int64_t input_size = config.input_size;
    const int64_t dec_len = o.label_len + config.horizon;
    std::mt19937_64 rng(config.seed);
    auto enc_modes = RandomFrequencyModes(input_size, modes, rng);
    auto dec_modes = RandomFrequencyModes(dec_len, modes, rng);
    auto cross_q_modes = RandomFrequencyModes(dec_len, modes, rng);
    auto cross_kv_modes = RandomFrequencyModes(input_size, modes, rng);
    encoder_self_ = register_module(
        "encoder_self_att",
        std::make_shared<FourierBlock>(o.hidden, o.heads, input_size, std::move(enc_modes)));
    decoder_self_ = register_module(
        "decoder_self_att",
        std::make_shared<FourierBlock>(o.hidden, o.heads, dec_len, std::move(dec_modes)));
    decoder_cross_ = register_module(
        "decoder_cross_att", std::make_shared<FourierCrossAttention>(
                                 o.hidden, o.heads, dec_len, input_size, std::move(cross_q_modes),
                                 std::move(cross_kv_modes)));
    // Each layer its own projections around the shared mechanisms, registered above.
    auto shared = [&](std::shared_ptr<AttentionMechanism> mechanism) {
      return [&o, mechanism = std::move(mechanism)] {
        return std::make_shared<AttentionLayer>(mechanism, o.hidden, o.heads,
                                                /*own_mechanism=*/false);
      };
    };
    Build(shared(encoder_self_), shared(decoder_self_), shared(decoder_cross_));
  }

 private:
  std::shared_ptr<FourierBlock> encoder_self_, decoder_self_;
  std::shared_ptr<FourierCrossAttention> decoder_cross_;
};

Result<std::shared_ptr<ForecastModel>> MakeFedFormer(const ModelConfig& config) {
  Params p(kName, config.params);
  DRC_ASSIGN_OR_RETURN(auto options, TakeTransformerOptions(kName, p, config.input_size, 8));
  options.outputs = config.outputs;
  const int modes = p.TakeInt("modes", 64);
  DRC_ASSIGN_OR_RETURN(int moving_avg, TakeMovingAvgWindow(kName, p));
  DRC_RETURN_NOT_OK(p.Finish());
  if (options.heads != 8) {
    return Status::InvalidArgument(kName,
                                   ": n_head must be 8 (NF lays the Fourier weights out "
                                   "for 8 heads), got ",
                                   options.heads);
  }
  if (modes < 1) return Status::InvalidArgument(kName, ": modes must be >= 1, got ", modes);
  return std::shared_ptr<ForecastModel>(
      std::make_shared<FedFormer>(config, options, modes, moving_avg));
}

}  // namespace

Status RegisterFedFormerModels(ModelRegistry& registry) {
  TrainDefaults d = TransformerTrainDefaults();
  d.futr_exog = true;
  return registry.Register(kName, MakeFedFormer, d);
}

}  // namespace drc::dl
