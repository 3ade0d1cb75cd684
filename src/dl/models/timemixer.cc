// TimeMixer (Wang et al., "TimeMixer: Decomposable Multiscale Mixing for Time Series
// Forecasting", ICLR 2024), as NeuralForecast 3.3's TimeMixer, layer for layer. It is multivariate
// (TrainDefaults::multivariate): a window holds every series over the same L steps, [W, L, N].
//   - Scales: the window and down_sampling_layers coarser copies, each an average (or maximum) over
//     down_sampling_window steps of the one before: lengths L, L / w, L / w^2, ...
//   - Each scale is normalised by its own RevIN (NF's, affine, per series over the scale's steps;
//     none without use_norm) and split by a moving average of moving_avg steps into a seasonal
//     part and a trend.
//   - Channel dependence (channel_independence 0, NF's default): the seasonal part of each scale
//     is embedded by NF's token convolution across the N series (Conv1d(N, d_model, 3), circular)
//     and dropout. With channel independence each series is a sequence of its own, embedded from
//     one channel, and the scales are embedded whole.
//   - e_layers past-decomposable-mixing blocks over the list of scales. Each decomposes every
//     scale's embedding again (channel dependence: both parts through one shared MLP d_model ->
//     d_ff -> d_model), mixes the seasonal parts bottom-up (from each finer scale to the next
//     coarser by Linear(T_i, T_i+1), GELU, Linear, added) and the trends top-down (coarser to
//     finer, the same shape reversed), and adds the two. With channel independence the sum passes
//     an MLP (out_cross_layer) added to the block's input.
//   - Each scale's output is mapped from its length to h by a Linear over time and projected to
//     the N series; with channel dependence each scale's trend of the input adds a Linear(T_i, T_i)
//     then Linear(T_i, h) per series. The scales' forecasts are summed, and the first scale's
//     RevIN is undone.
//
// NF's TimeMixer registers layers its forward never uses: each block's LayerNorm, and with
// channel dependence each block's out_cross_layer. They are not built here; their initial draws
// are made and dropped, so that a seed gives NF's initial weights (the count of parameters is
// NF's less those). So are the draws of NF's fixed temporal embeddings, built but unused without
// future variables, which NF 3.3's TimeMixer does not read.
//
// Two ways of computing NF's arithmetic with fewer operations: each moving average is a product
// with a [T, T] matrix, and a block's MLP takes the seasonal parts and trends of every scale as
// the rows of one product (the same per-row results up to summation order; docs/dl-benchmarks.md
// has the before and after).
//
// NF defaults: d_model 32, d_ff 32, dropout 0.1, e_layers 4, top_k 5, decomp_method moving_avg,
// moving_avg 25, channel_independence 0, down_sampling_layers 1, down_sampling_window 2,
// down_sampling_method avg, use_norm on, decoder_input_size_multiplier 0.5 (checked, unused);
// Adam lr 1e-3 without LR decays, 32 windows per step, the identity scaler. decomp_method
// dft_decomp keeps, per window and step, the top_k strongest frequencies over the d_model
// features (NF's DFT_series_decomp, with its zeroing of the first window's spectrum and its
// threshold at the batch's weakest kept frequency). Not built: down_sampling_method conv (NF
// draws a new, untrained convolution at every forward). With Q outputs per step (MQLoss, a
// DistributionLoss), NF's distr_output, a Linear(N, N * Q), maps a step's N forecasts to the
// outputs, read as NF's loss reads them (MixedSeriesOutputs).
#include <ATen/ops/fft_irfft.h>
#include <ATen/ops/fft_rfft.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/models/transformer_blocks.h"
#include "src/dl/revin.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "TimeMixer";

struct TimeMixerOptions {
  int d_model = 32, d_ff = 32, e_layers = 4, top_k = 5, moving_avg = 25;
  double dropout = 0.1;
  bool dft = false;                   // decomp_method dft_decomp (else moving_avg)
  bool channel_independence = false;  // 1: each series embedded and mixed on its own
  int down_layers = 1, down_window = 2;
  bool down_max = false;  // down_sampling_method max (else avg)
  bool use_norm = true;
};

// Linear(in, out), GELU, Linear(out, out) (or Linear(in, mid), GELU, Linear(mid, out)), as NF's
// nn.Sequential of the three, registered under `at` with NF's indices 0 and 2.
struct TwoLayers {
  TwoLayers(torch::nn::Module& m, const std::string& at, int64_t in, int64_t mid, int64_t out) {
    first = m.register_module(at + "0", torch::nn::Linear(in, mid));
    second = m.register_module(at + "2", torch::nn::Linear(mid, out));
  }
  torch::Tensor Forward(const torch::Tensor& x) {
    return Dense(second, torch::gelu(Dense(first, x)));
  }
  torch::nn::Linear first{nullptr}, second{nullptr};
};

// Draws what NF's unused Linear(in, out) would from the default generator, and drops it.
void DrawUnusedLinear(int64_t in, int64_t out) { torch::nn::Linear unused(in, out); }

// NF's moving average over time (MovingAvg: the mean of a centred window of `kernel` steps, the
// first and last values repeated at the ends) as a [T, T] matrix: row t holds each step's share
// of step t's window. One product then replaces the padding, the pooling and their backward.
torch::Tensor MovingAverageMatrix(int64_t length, int64_t kernel) {
  torch::Tensor a = torch::zeros({length, length});
  auto acc = a.accessor<float, 2>();
  const int64_t half = (kernel - 1) / 2;
  for (int64_t t = 0; t < length; ++t) {
    for (int64_t s = t - half; s <= t + half; ++s) {
      acc[t][std::clamp<int64_t>(s, 0, length - 1)] += 1.0f / static_cast<float>(kernel);
    }
  }
  return a;
}

// x [B, T, C] split into x - trend and the trend, `average` being MovingAverageMatrix(T, k).
Decomposition DecomposeBy(const torch::Tensor& average, const torch::Tensor& x) {
  const torch::Tensor trend = torch::matmul(average.to(x.device(), x.scalar_type()), x);
  return {x - trend, trend};
}

// NF's PastDecomposableMixing over the list of scales, each [W', T_i, d_model].
class MixingBlock {
 public:
  MixingBlock(torch::nn::Module& m, const std::string& at, const std::vector<int64_t>& lengths,
              const std::vector<torch::Tensor>& averages, const TimeMixerOptions& o)
      : o_(o), averages_(averages) {
    const int64_t d = o.d_model;
    if (!o.channel_independence) cross_.emplace(m, at + "cross_layer_", d, o.d_ff, d);
    const int n = static_cast<int>(lengths.size()) - 1;
    for (int i = 0; i < n; ++i) {
      season_.emplace_back(m, at + "season_" + std::to_string(i) + "_", lengths[i], lengths[i + 1],
                           lengths[i + 1]);
    }
    for (int i = n - 1; i >= 0; --i) {
      trend_.emplace_back(m, at + "trend_" + std::to_string(n - 1 - i) + "_", lengths[i + 1],
                          lengths[i], lengths[i]);
    }
    if (o.channel_independence) {
      out_cross_.emplace(m, at + "out_cross_layer_", d, o.d_ff, d);
    } else {  // built by NF, never used
      DrawUnusedLinear(d, o.d_ff);
      DrawUnusedLinear(o.d_ff, d);
    }
  }

  std::vector<torch::Tensor> Forward(const std::vector<torch::Tensor>& xs) {
    const size_t n = xs.size();
    std::vector<torch::Tensor> season, trend;  // [W', d, T_i]
    for (size_t i = 0; i < n; ++i) {
      Decomposition parts = Decompose(xs[i], i);
      season.push_back(parts.seasonal);
      trend.push_back(parts.trend);
    }
    if (cross_) {  // the one MLP over every scale's parts, as the rows of one product
      std::vector<torch::Tensor> rows;
      std::vector<int64_t> counts;
      for (const auto* parts : {&season, &trend}) {
        for (const torch::Tensor& p : *parts) {
          rows.push_back(p.reshape({-1, p.size(2)}));
          counts.push_back(rows.back().size(0));
        }
      }
      const std::vector<torch::Tensor> mixed =
          cross_->Forward(torch::cat(rows, 0)).split_with_sizes(counts, 0);
      for (size_t i = 0; i < n; ++i) {
        season[i] = mixed[i].view(season[i].sizes());
        trend[i] = mixed[n + i].view(trend[i].sizes());
      }
    }
    for (size_t i = 0; i < n; ++i) {
      season[i] = season[i].permute({0, 2, 1});
      trend[i] = trend[i].permute({0, 2, 1});
    }
    // Bottom-up: each coarser season plus the finer one mapped down to it.
    for (size_t i = 0; i + 1 < n; ++i)
      season[i + 1] = season[i + 1] + season_[i].Forward(season[i]);
    // Top-down: each finer trend plus the coarser one mapped up to it.
    for (size_t k = 0; k + 1 < n; ++k) {
      const size_t i = n - 2 - k;
      trend[i] = trend[i] + trend_[k].Forward(trend[i + 1]);
    }
    std::vector<torch::Tensor> out;
    for (size_t i = 0; i < n; ++i) {
      torch::Tensor o = (season[i] + trend[i]).permute({0, 2, 1});
      if (out_cross_) o = xs[i] + out_cross_->Forward(o);
      out.push_back(o);
    }
    return out;
  }

 private:
  // NF's DFT_series_decomp over the last axis (the d_model features): the spectrum's top_k
  // magnitudes per row are kept, with the first window's whole spectrum zeroed (NF's freq[0] = 0)
  // and the threshold the batch's smallest kept magnitude, as NF's.
  Decomposition Decompose(const torch::Tensor& x, size_t scale) const {
    if (!o_.dft) return DecomposeBy(averages_[scale], x);
    torch::Tensor xf = at::fft_rfft(x);
    torch::Tensor freq = xf.abs();
    freq[0] = 0;
    const torch::Tensor threshold = std::get<0>(torch::topk(freq, o_.top_k)).min();
    xf = xf.masked_fill(freq <= threshold, 0);
    torch::Tensor seasonal = at::fft_irfft(xf);
    return {seasonal, x - seasonal};
  }

  TimeMixerOptions o_;
  std::vector<torch::Tensor> averages_;  // MovingAverageMatrix of each scale's length
  std::optional<TwoLayers> cross_, out_cross_;
  std::vector<TwoLayers> season_, trend_;
};

class TimeMixer final : public ForecastModel {
 public:
  TimeMixer(const ModelConfig& c, const TimeMixerOptions& o)
      : horizon_(c.horizon),
        n_series_(c.n_series),
        input_size_(c.input_size),
        outputs_(c.outputs),
        series_major_(c.series_major_outputs),
        o_(o) {
    const int64_t N = n_series_, d = o.d_model;
    for (int64_t i = 0, length = input_size_; i <= o.down_layers; ++i, length /= o.down_window) {
      lengths_.push_back(length);
      averages_.push_back(MovingAverageMatrix(length, o.moving_avg));
    }
    // Built in NF's order, so that a seed gives NF's initial weights.
    for (int i = 0; i < o.e_layers; ++i) {
      blocks_.emplace_back(*this, "pdm_blocks_" + std::to_string(i) + "_", lengths_, averages_, o);
    }
    embedding_ = register_module(
        "enc_embedding",
        std::make_shared<DataEmbedding>(o.channel_independence ? 1 : N, d, false, o.dropout));
    // NF's fixed temporal embeddings (hour, weekday, day, month) are nn.Embeddings whose random
    // weights are drawn, then replaced by sinusoids; TimeMixer uses them with future variables
    // only.
    for (const int64_t rows : {24, 7, 32, 13}) torch::nn::Embedding unused(rows, d);
    for (int i = 0; i <= o.down_layers; ++i) {
      RevINOptions r;
      r.num_features = N;
      r.affine = true;
      if (o.use_norm) {
        norms_.push_back(
            register_module("normalize_layers_" + std::to_string(i), std::make_shared<RevIN>(r)));
      }
    }
    for (int i = 0; i <= o.down_layers; ++i) {
      predict_.push_back(register_module("predict_layers_" + std::to_string(i),
                                         torch::nn::Linear(lengths_[i], horizon_)));
    }
    projection_ =
        register_module("projection_layer", torch::nn::Linear(d, o.channel_independence ? 1 : N));
    if (!o.channel_independence) {
      for (int i = 0; i <= o.down_layers; ++i) {
        out_res_.push_back(register_module("out_res_layers_" + std::to_string(i),
                                           torch::nn::Linear(lengths_[i], lengths_[i])));
      }
      for (int i = 0; i <= o.down_layers; ++i) {
        regression_.push_back(register_module("regression_layers_" + std::to_string(i),
                                              torch::nn::Linear(lengths_[i], horizon_)));
      }
    }
    if (outputs_ > 1) {  // NF's distr_output: the N forecasts of a step to N * Q outputs
      distr_output_ = register_module("distr_output", torch::nn::Linear(N, N * outputs_));
    }
  }

  RepeatedDraws Repeats() const override { return RepeatedDraws::kCompute; }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kNone; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    torch::Tensor x = MultivariateWindows(kName, batch.insample_y, n_series_, input_size_);
    const int64_t W = x.size(0), N = n_series_;
    const size_t scales = lengths_.size();
    // The scales, [W, N, T_i] pooled over time, then [W, T_i, N] normalised.
    std::vector<torch::Tensor> xs;
    for (size_t i = 0; i < scales; ++i) {
      if (i > 0) {
        x = o_.down_max ? torch::max_pool1d(x, {o_.down_window})
                        : torch::avg_pool1d(x, {o_.down_window});
      }
      torch::Tensor s = x.permute({0, 2, 1});
      if (o_.use_norm) s = norms_[i]->Normalize(s);
      if (o_.channel_independence) s = s.permute({0, 2, 1}).reshape({W * N, lengths_[i], 1});
      xs.push_back(s);
    }
    std::vector<torch::Tensor> enc, trends;
    for (size_t i = 0; i < scales; ++i) {
      const torch::Tensor& s = xs[i];
      if (o_.channel_independence) {
        enc.push_back(embedding_->forward(s));
      } else {
        Decomposition parts = DecomposeBy(averages_[i], s);
        enc.push_back(embedding_->forward(parts.seasonal));
        trends.push_back(parts.trend);
      }
    }
    for (MixingBlock& b : blocks_) enc = b.Forward(enc);
    torch::Tensor z;  // [W, H, N]
    for (size_t i = 0; i < scales; ++i) {
      torch::Tensor d = Dense(predict_[i], enc[i].permute({0, 2, 1})).permute({0, 2, 1});
      d = Dense(projection_, d);
      if (o_.channel_independence) {
        d = d.reshape({W, N, horizon_}).permute({0, 2, 1});
      } else {
        const torch::Tensor res =
            Dense(regression_[i], Dense(out_res_[i], trends[i].permute({0, 2, 1})));
        d = d + res.permute({0, 2, 1});
      }
      z = i == 0 ? d : z + d;
    }
    if (o_.use_norm) z = norms_[0]->Denormalize(z);
    if (outputs_ == 1) return z.permute({0, 2, 1}).reshape({W * N, horizon_});
    return MultivariateRows(MixedSeriesOutputs(Dense(distr_output_, z), N, outputs_, series_major_),
                            horizon_, outputs_);
  }

 private:
  int64_t horizon_, n_series_, input_size_, outputs_;
  bool series_major_;
  TimeMixerOptions o_;
  std::vector<int64_t> lengths_;
  std::vector<torch::Tensor> averages_;  // MovingAverageMatrix of each scale's length
  std::vector<MixingBlock> blocks_;
  std::shared_ptr<DataEmbedding> embedding_;
  std::vector<std::shared_ptr<RevIN>> norms_;
  std::vector<torch::nn::Linear> predict_, out_res_, regression_;
  torch::nn::Linear projection_{nullptr}, distr_output_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeTimeMixer(const ModelConfig& config) {
  Params p(kName, config.params);
  TimeMixerOptions o;
  o.d_model = p.TakeInt("d_model", o.d_model);
  o.d_ff = p.TakeInt("d_ff", o.d_ff);
  o.dropout = p.Take("dropout", o.dropout);
  o.e_layers = p.TakeInt("e_layers", o.e_layers);
  o.top_k = p.TakeInt("top_k", o.top_k);
  const int decomp = p.TakeInt("decomp_method", 0);
  o.moving_avg = p.TakeInt("moving_avg", o.moving_avg);
  const double independence = p.Take("channel_independence", 0);
  o.down_layers = p.TakeInt("down_sampling_layers", o.down_layers);
  o.down_window = p.TakeInt("down_sampling_window", o.down_window);
  const int down = p.TakeInt("down_sampling_method", 0);
  const double norm = p.Take("use_norm", 1);
  const double multiplier = p.Take("decoder_input_size_multiplier", 0.5);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "d_model", o.d_model, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "d_ff", o.d_ff, 1));
  DRC_RETURN_NOT_OK(CheckRate(kName, "dropout", o.dropout));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "e_layers", o.e_layers, 1));
  DRC_RETURN_NOT_OK(CheckFlag(kName, "channel_independence", independence));
  DRC_RETURN_NOT_OK(CheckNamedCode(kName, "decomp_method", decomp));
  DRC_RETURN_NOT_OK(CheckNamedCode(kName, "down_sampling_method", down));
  if (down == 2) {
    return Status::NotImplemented(
        kName,
        ": down_sampling_method conv is not built: NF's TimeMixer builds a new convolution, ",
        "with new random weights that are never trained, at every forward; use avg or max");
  }
  DRC_RETURN_NOT_OK(CheckFlag(kName, "use_norm", norm));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "down_sampling_layers", o.down_layers, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "down_sampling_window", o.down_window, 2));
  o.dft = decomp == 1;
  o.channel_independence = independence == 1;
  o.down_max = down == 1;
  o.use_norm = norm == 1;
  if (o.dft) DRC_RETURN_NOT_OK(CheckRange(kName, "top_k", o.top_k, 1, o.d_model / 2 + 1));
  if (o.moving_avg < 1 || o.moving_avg % 2 == 0) {
    return Status::InvalidArgument(kName, ": moving_avg must be odd and >= 1 (its padding keeps ",
                                   "a scale's length only for odd windows), got ", o.moving_avg);
  }
  // NF's label_len = ceil(input_size * multiplier), checked and unused.
  const double label_len = std::ceil(config.input_size * multiplier);
  if (!(label_len > 0 && label_len < config.input_size)) {
    return Status::InvalidArgument(kName, ": decoder_input_size_multiplier must give 0 < ",
                                   "ceil(input_size * multiplier) < input_size, got ", multiplier);
  }
  // Every scale's length must be whole: NF's trend mixing sizes its layers by ceil(L / w^i), its
  // pooling by floor.
  int64_t length = config.input_size;
  int whole = 0;  // the coarser scales whose lengths are whole
  for (; whole < o.down_layers && length % o.down_window == 0; ++whole) length /= o.down_window;
  if (whole < o.down_layers) {
    return Status::InvalidArgument(kName, ": input_size ", config.input_size,
                                   " must be a multiple of down_sampling_window^",
                                   "down_sampling_layers (", o.down_window, "^", o.down_layers,
                                   "): every scale of the window must have a whole length");
  }
  DRC_RETURN_NOT_OK(CheckMultivariateConfig(kName, config));
  return std::shared_ptr<ForecastModel>(std::make_shared<TimeMixer>(config, o));
}

}  // namespace

Status RegisterTimeMixerModels(ModelRegistry& registry) {
  return registry.Register(kName, MakeTimeMixer, MultivariateTrainDefaults());
}

}  // namespace drc::dl
