// DeepAR (NeuralForecast 3.x's DeepAR, Salinas et al. 2020): a batch-first LSTM reads the series
// one value per step and, after every step, a decoder maps its state to the parameters of the
// next value's distribution (NF's DistributionLoss, StudentT by default; see distributions.h).
// Read from NF's models/deepar.py, common/_base_model.py (its recurrent training and prediction)
// and losses/pytorch.py; written anew here.
//
// NF defaults: lstm_n_layers 2, lstm_hidden_size 128, lstm_dropout 0.1, a linear decoder
// (decoder_hidden_layers 0, decoder_hidden_size 0), h_train 1, trajectory_samples 100,
// DistributionLoss(StudentT); Adam lr 1e-3 with 3 StepLR decays, batch_size 32, 1024 windows per
// step, identity scaler.
//
// Training, as NF's recurrent BaseModel with h_train steps: the LSTM reads the input window
// followed by the first h_train - 1 horizon values (teacher forcing) and the loss is the masked
// negative log-likelihood of the first h_train horizon values under the distributions emitted
// after the input's last value and after each forced value. With NF's h_train = 1 every window
// contributes one target: the value right after its input.
//
// Prediction, as NF's recurrent predict step: the LSTM reads the input window, then runs one step
// per horizon value from its kept state, fed the mean of the previous step's distribution; the
// point forecast is that mean (NF's model column for a DistributionLoss is the mean; the StudentT
// and Normal means are their loc). Quantiles, as NF's quantile columns: trajectory_samples
// independent draws from each step's distribution, and their empirical quantiles. With
// sample_trajectories = 1 the model instead samples trajectory_samples autoregressive paths (each
// fed its own draws, as the DeepAR paper and NF 1.x do), and the point forecast is their mean and
// the quantiles theirs. Both draw from a generator seeded with the model's seed.
//
// Exogenous variables, as NF's recurrent windows give them: the step that reads value t reads
// beside it the variables of the value it predicts, at t + 1: the historic ones while t + 1 is in
// the input window (zeros after it, so the last input step and the horizon's steps see zeros),
// the future ones (over the horizon too) and the static ones, in that order after y.
//
// Hyper-parameters beyond NF's (drc::dl::Params holds numbers): distribution 0 = StudentT (NF's
// default), 1 = Normal; sample_trajectories 0 (NF 3.x) or 1. Any other likelihood comes as
// ModelConfig::likelihood (drc forecast --loss: Poisson, NegativeBinomial, Tweedie, GMM, PMM,
// NBMM, as NF's DeepAR(loss=...)). Those fitted in the series' units (all but GMM) map the
// decoder's outputs with each window's scaler statistics and score the values in the series'
// units, as NF's; their means and draws are scaled back before the LSTM reads them, and the
// forecasts come back in the scaled space, as every model's do.
//
// Like NF's (a RECURRENT model there), the model reads input_size + 1 values, in training and
// prediction alike, each window scaled on those: TrainDefaults::recurrent makes drc forecast and
// drc bench train build it with ModelConfig::input_size = input_size + 1 and windows that long.
// Reading one value less cost accuracy with a scaler: on the carrier series with the standard
// scaler, seeds 1-10, MAE median 13 574 with 24 values against 10 356 with 25 (NF: 11 583).
//
// Differences from NF:
//  - Under Normal, StudentT and GMM the loss is computed in the scaled space, NF's in the
//    original one: NF maps the parameters back (loc * scale + shift, scale * scale), which adds
//    the mean log-scale of the batch to the loss value and nothing to its gradient. With NF's
//    identity scaler the two are the same. The other likelihoods are fitted in the original
//    space, as NF's.
//  - NF's input_size = -1 (3 * h) is the caller's choice here.
//  - NF validates with MAE of the mean; there is no validation here.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/utils.h>

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "src/dl/distributions.h"
#include "src/dl/fused_rnn.h"
#include "src/dl/model.h"
#include "src/dl/models/exog_steps.h"
#include "src/dl/models/mlp_decoder.h"
#include "src/dl/windows.h"

namespace drc::dl {
namespace {

const char kName[] = "DeepAR";

struct DeepArOptions {
  int h_train = 1;
  int lstm_n_layers = 2;
  int lstm_hidden_size = 128;
  double lstm_dropout = 0.1;
  int decoder_hidden_layers = 0;
  int decoder_hidden_size = 0;
  NfActivation decoder_activation = NfActivation::kReLU;
  int trajectory_samples = 100;
  bool sample_trajectories = false;
};

// NF's MLP decoder: Linear(in, out) when there is no hidden layer, else Linear(in, d), the
// activation, [Linear(d, d), activation] x (layers - 1), Linear(d, out); no dropout.
MlpDecoderOptions DecoderOptions(const DeepArOptions& options) {
  MlpDecoderOptions decoder;
  decoder.hidden = options.decoder_hidden_size;
  decoder.layers = options.decoder_hidden_layers + 1;
  decoder.activation = options.decoder_activation;
  return decoder;
}

class DeepAr final : public ForecastModel {
 public:
  using State = std::tuple<torch::Tensor, torch::Tensor>;

  DeepAr(const ModelConfig& config, const DeepArOptions& options, Likelihood likelihood)
      : input_size_(config.input_size),
        horizon_(config.horizon),
        seed_(config.seed),
        options_(options),
        likelihood_(likelihood) {
    const int64_t inputs = 1 + config.hist_exog + config.futr_exog + config.stat_exog;
    lstm_ = register_module("hist_encoder",
                            torch::nn::LSTM(torch::nn::LSTMOptions(inputs, options.lstm_hidden_size)
                                                .num_layers(options.lstm_n_layers)
                                                .dropout(options.lstm_dropout)
                                                .batch_first(true)));
    decoder_ = register_module(
        "decoder",
        MlpDecoder(options.lstm_hidden_size, likelihood.num_params(), DecoderOptions(options)));
  }

  // [B, L] -> [B, L, P]: at step t, the parameters of the distribution of the value after t.
  torch::Tensor Forward(const WindowBatch& batch) override {
    CheckInsample(batch.insample_y);
    return Decode(std::get<0>(FusedLstm(lstm_, Inputs(batch, batch.insample_y, 0))),
                  Stats(batch, 0));
  }

  torch::Tensor TrainingLoss(const WindowBatch& batch, const torch::Tensor& y,
                             const torch::Tensor& mask) override {
    const torch::Tensor& x = batch.insample_y;
    CheckInsample(x);
    TORCH_CHECK(y.dim() == 2 && y.size(0) == x.size(0) && y.size(1) == horizon_, kName,
                ": outsample_y must be [", x.size(0), ", ", horizon_, "], got ", y.sizes());
    TORCH_CHECK(mask.sizes() == y.sizes(), kName, ": outsample_mask ", mask.sizes(),
                " does not match outsample_y ", y.sizes());
    const int64_t steps = options_.h_train;
    torch::Tensor sequence = steps > 1 ? torch::cat({x, y.narrow(1, 0, steps - 1)}, 1) : x;
    torch::Tensor params =
        Decode(std::get<0>(FusedLstm(lstm_, Inputs(batch, sequence, 0))), Stats(batch, 0))
            .narrow(1, input_size_ - 1, steps);        // [B, h_train, P]
    torch::Tensor weights = mask.narrow(1, 0, steps);  // x draw counts of a merged batch
    if (batch.weight.defined()) weights = weights * batch.weight.unsqueeze(1);
    torch::Tensor target = y.narrow(1, 0, steps);
    if (InSeriesUnits(batch)) target = InvertScale(target, batch.scale);
    return likelihood_.MaskedNll(params, target, weights);
  }

  // Windows are independent apart from the LSTM's dropout between layers and RReLU's slopes in
  // the decoder.
  RepeatedDraws Repeats() const override {
    return (options_.lstm_dropout > 0 && options_.lstm_n_layers > 1) ||
                   DrawsRandom(DecoderOptions(options_))
               ? RepeatedDraws::kMergeSharingDropout
               : RepeatedDraws::kMerge;
  }

  torch::Tensor PointForecast(const WindowBatch& batch) override {
    return Quantiles(batch, torch::Tensor()).point;
  }

  // NF 3.x: the quantiles of trajectory_samples draws from each step's distribution along the
  // mean path. With sample_trajectories: the quantiles of the sampled paths.
  QuantileForecast Quantiles(const WindowBatch& batch, const torch::Tensor& q) override {
    CheckInsample(batch.insample_y);
    if (!options_.sample_trajectories) return MeanPath(batch, q);
    torch::Tensor paths = SampledPaths(batch);  // [B, S, H]
    if (!q.defined()) return {paths.mean(1), torch::Tensor()};
    return {paths.mean(1), torch::quantile(paths, q.to(paths.options()), 1).movedim(0, -1)};
  }

 private:
  void CheckInsample(const torch::Tensor& y) const {
    TORCH_CHECK(y.defined(), kName, ": insample_y is undefined");
    TORCH_CHECK(y.dim() == 2 && y.size(1) == input_size_, kName, ": insample_y must be [B, ",
                input_size_, "], got ", y.sizes());
  }

  // Whether the likelihood lives in the series' units for these windows (they carry statistics).
  bool InSeriesUnits(const WindowBatch& batch) const {
    return likelihood_.in_series_units() && batch.scale.scale.defined();
  }

  // The windows' shift and scale for the likelihoods fitted in the series' units: [B, 1], or with
  // `repeat` >= 1 one row per window repeated that many times, [B * repeat]; {} otherwise.
  WindowScale Stats(const WindowBatch& batch, int64_t repeat) const {
    if (!InSeriesUnits(batch)) return {};
    if (repeat == 0) return batch.scale;
    return {batch.scale.shift.reshape({-1}).repeat_interleave(repeat),
            batch.scale.scale.reshape({-1}).repeat_interleave(repeat)};
  }

  // Values in the likelihood's units [N] or [N, Q] -> the scaled space, for rows' stats [N].
  static torch::Tensor Scaled(const torch::Tensor& x, const WindowScale& stats) {
    if (!stats.scale.defined()) return x;
    if (x.dim() == 1) return (x - stats.shift) / stats.scale;
    return (x - stats.shift.unsqueeze(-1)) / stats.scale.unsqueeze(-1);
  }

  // LSTM outputs [..., hidden] -> distribution parameters [..., P], with the rows' statistics
  // (broadcasting against the parameters' [...]) when the likelihood lives in the series' units.
  torch::Tensor Decode(const torch::Tensor& states, const WindowScale& stats) {
    if (!stats.scale.defined()) return likelihood_.MapParams(decoder_->forward(states));
    return likelihood_.MapParams(decoder_->forward(states), stats.shift, stats.scale);
  }

  // The LSTM's inputs for the steps that read `values` [B, T] from step `first` of the window on:
  // [B, T, 1 + X + F + S], each value beside the exogenous variables at the next step.
  static torch::Tensor Inputs(const WindowBatch& batch, const torch::Tensor& values,
                              int64_t first) {
    return ShiftedSteps(batch, values, first, StepOrder::kHistFutrStat);
  }

  // One LSTM step from `state` on scaled values [N] with their inputs' exogenous part `exog`
  // [N, 1, E] (undefined without): updates `state`, returns the next parameters [N, P].
  torch::Tensor Step(const torch::Tensor& values, const torch::Tensor& exog, State& state,
                     const WindowScale& stats) {
    torch::Tensor inputs = values.reshape({-1, 1, 1});
    if (exog.defined()) inputs = torch::cat({inputs, exog}, 2);
    auto [out, next] = FusedLstm(lstm_, inputs, state);
    state = std::move(next);
    return Decode(out.select(1, 0), stats);
  }

  // NF 3.x: each step fed the previous step's mean; [B, L] -> [B, H]. With levels q, also the
  // quantiles of trajectory_samples draws from each step's distribution, [B, H, Q] (NF's
  // quantile columns: the spread of one step given the mean path before it). The draws come from
  // a generator seeded with the model's seed and do not touch the means.
  QuantileForecast MeanPath(const WindowBatch& batch, const torch::Tensor& q) {
    auto [out, state] = FusedLstm(lstm_, Inputs(batch, batch.insample_y, 0));
    const WindowScale stats = Stats(batch, 1);
    torch::Tensor params = Decode(out.select(1, input_size_ - 1), stats);
    c10::optional<at::Generator> generator;
    if (q.defined()) generator = at::detail::createCPUGenerator(seed_);
    std::vector<torch::Tensor> means, quantiles;  // scaled
    for (int64_t t = 0; t < horizon_; ++t) {
      if (t > 0) params = Step(means.back(), HorizonExog(batch, t), state, stats);
      means.push_back(Scaled(likelihood_.Mean(params), stats));
      if (q.defined()) {
        quantiles.push_back(Scaled(
            likelihood_.SampleQuantiles(params, q, options_.trajectory_samples, generator), stats));
      }
    }
    return {torch::stack(means, 1), q.defined() ? torch::stack(quantiles, 1) : torch::Tensor()};
  }

  // trajectory_samples paths per window, each fed its own draws; [B, L] -> [B, S, H].
  torch::Tensor SampledPaths(const WindowBatch& windows) {
    const int64_t batch = windows.insample_y.size(0), paths = options_.trajectory_samples;
    at::Generator generator = at::detail::createCPUGenerator(seed_);
    auto [out, encoded] = FusedLstm(lstm_, Inputs(windows, windows.insample_y, 0));
    // Every window's state and first distribution, repeated per path: [.., B * S, ..].
    State state{std::get<0>(encoded).repeat_interleave(paths, 1),
                std::get<1>(encoded).repeat_interleave(paths, 1)};
    const WindowScale stats = Stats(windows, paths);
    torch::Tensor params =
        Decode(out.select(1, input_size_ - 1).repeat_interleave(paths, 0), stats);
    std::vector<torch::Tensor> draws;  // scaled
    for (int64_t t = 0; t < horizon_; ++t) {
      if (t > 0) {
        torch::Tensor exog = HorizonExog(windows, t);
        if (exog.defined()) exog = exog.repeat_interleave(paths, 0);
        params = Step(draws.back(), exog, state, stats);
      }
      draws.push_back(Scaled(likelihood_.Sample(params, generator), stats));
    }
    return torch::stack(draws, 1).view({batch, paths, horizon_});
  }

  // The exogenous part of the inputs of horizon step t >= 1 (which reads step t - 1's value):
  // [B, 1, E], or undefined without exogenous variables.
  torch::Tensor HorizonExog(const WindowBatch& batch, int64_t t) const {
    return HorizonStepExog(batch, input_size_, t, StepOrder::kHistFutrStat);
  }

  int64_t input_size_;
  int64_t horizon_;
  uint64_t seed_;
  DeepArOptions options_;
  Likelihood likelihood_;
  torch::nn::LSTM lstm_{nullptr};
  MlpDecoder decoder_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeDeepAr(const ModelConfig& config) {
  Params params(kName, config.params);
  DeepArOptions o;
  o.h_train = params.TakeInt("h_train", 1);
  o.lstm_n_layers = params.TakeInt("lstm_n_layers", 2);
  o.lstm_hidden_size = params.TakeInt("lstm_hidden_size", 128);
  o.lstm_dropout = params.Take("lstm_dropout", 0.1);
  o.decoder_hidden_layers = params.TakeInt("decoder_hidden_layers", 0);
  o.decoder_hidden_size = params.TakeInt("decoder_hidden_size", 0);
  DRC_ASSIGN_OR_RETURN(o.decoder_activation,
                       TakeNfActivation(kName, params, "decoder_activation", NfActivation::kReLU));
  o.trajectory_samples = params.TakeInt("trajectory_samples", 100);
  const double distribution = params.Take("distribution", 0);
  const double sample = params.Take("sample_trajectories", 0);
  DRC_RETURN_NOT_OK(params.Finish());

  constexpr double kLarge = 1e9;
  DRC_RETURN_NOT_OK(CheckRange(kName, "h_train", o.h_train, 1, config.horizon));
  DRC_RETURN_NOT_OK(CheckRange(kName, "lstm_n_layers", o.lstm_n_layers, 1, kLarge));
  DRC_RETURN_NOT_OK(CheckRange(kName, "lstm_hidden_size", o.lstm_hidden_size, 1, kLarge));
  DRC_RETURN_NOT_OK(CheckRate(kName, "lstm_dropout", o.lstm_dropout));
  DRC_RETURN_NOT_OK(CheckRange(kName, "decoder_hidden_layers", o.decoder_hidden_layers, 0, kLarge));
  if (o.decoder_hidden_layers > 0 && o.decoder_hidden_size < 1) {
    // NF builds zero-width layers here and trains a constant (NF issue 1615); refuse instead.
    return Status::InvalidArgument(kName, ": decoder_hidden_layers ", o.decoder_hidden_layers,
                                   " needs decoder_hidden_size >= 1, got ", o.decoder_hidden_size);
  }
  DRC_RETURN_NOT_OK(CheckRange(kName, "trajectory_samples", o.trajectory_samples, 1, kLarge));
  if (distribution != 0 && distribution != 1) {
    return Status::InvalidArgument(kName, ": distribution must be 0 (StudentT) or 1 (Normal), got ",
                                   distribution);
  }
  if (sample != 0 && sample != 1) {
    return Status::InvalidArgument(kName, ": sample_trajectories must be 0 or 1, got ", sample);
  }
  o.sample_trajectories = sample == 1;
  DRC_ASSIGN_OR_RETURN(Likelihood likelihood,
                       config.likelihood.empty()
                           ? Likelihood::Make(distribution == 0 ? "StudentT" : "Normal")
                           : Likelihood::Make(config.likelihood, config.likelihood_options));
  torch::manual_seed(config.seed);  // as NF seeds before building the layers
  return std::make_shared<DeepAr>(config, o, likelihood);
}

}  // namespace

Status RegisterDeepArModels(ModelRegistry& registry) {
  TrainDefaults defaults;
  defaults.learning_rate = 1e-3;
  defaults.batch_size = 32;
  defaults.windows_batch_size = 1024;
  defaults.num_lr_decays = 3;
  defaults.scaler = "identity";
  defaults.loss = "DistributionLoss(StudentT)";
  defaults.grad_clip_norm = 0;
  defaults.gives_quantiles = true;
  defaults.recurrent = true;
  defaults.ReadAllExog();
  return registry.Register(kName, MakeDeepAr, defaults);
}

}  // namespace drc::dl
