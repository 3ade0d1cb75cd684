// The model zoo's interface (internal to the dl layer: it includes libtorch).
//
// A ForecastModel maps a batch of input windows to point forecasts of the next `horizon`
// steps. Every model is a torch::nn::Module built from a ModelConfig; the trainer owns the
// optimizer, the loss, scaling and windowing, so models stay pure functions of their inputs.
// Models register by name in a ModelRegistry together with the training defaults that
// NeuralForecast uses for them (learning rate, batch sizes, LR decays, scaler), so that
// `drc forecast --models NBEATS` trains what `NBEATS(h, input_size, max_steps)` trains there.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "drc/common/result.h"
#include "src/dl/losses.h"

namespace drc::dl {

// Per-window statistics, [B, 1] each: z = (x - shift) / scale (windows.h fits them).
struct WindowScale {
  torch::Tensor shift;
  torch::Tensor scale;
};

// One batch of windows, already scaled. B windows of `input_size` past values each.
struct WindowBatch {
  torch::Tensor insample_y;     // [B, L] float32
  torch::Tensor insample_mask;  // [B, L] float32, 1 where the value is available
  // [B] float32: how many times each window was drawn when the sampler merged repeated draws
  // (see RepeatedDraws); undefined: once each.
  torch::Tensor weight = {};
  // Exogenous variables (NF's futr_exog, hist_exog and stat_exog), scaled as insample_y is
  // (each variable by its own statistics over the window's available input points; static ones
  // not at all); undefined when the model has none (ModelConfig's counts).
  torch::Tensor futr_exog = {};  // [B, L + H, F]: known over the input and the horizon
  torch::Tensor hist_exog = {};  // [B, L, X]: known over the input only
  torch::Tensor stat_exog = {};  // [B, S]: one value per series
  // The scaler's statistics of each window (what its values were scaled with), which a
  // distribution fitted in the series' units reads (distributions.h: Poisson, NegativeBinomial);
  // undefined: not scaled (shift 0, scale 1).
  WindowScale scale = {};
  // [B, H] float32: the quantile each horizon point trains at in this step, for a model trained
  // on an implicit quantile loss (implicit_quantile.h), drawn by its PrepareStep; undefined
  // otherwise.
  torch::Tensor quantiles = {};
};

// What a model allows the trainer to do with a window drawn c times in one training step.
enum class RepeatedDraws {
  // Compute every draw (the model couples the windows of a batch in a way that ignores
  // WindowBatch::weight).
  kCompute,
  // Compute it once with weight c: the loss is the weight-weighted sum of per-window terms
  // that depend on nothing random (no dropout), and every statistic over the batch (none, or
  // weighted ones) honours the weight: the same loss and gradient as the repeated batch.
  kMerge,
  // As kMerge, except that the model draws dropout masks: the c copies then share one mask
  // instead of drawing c. The expected gradient is the same, its variance somewhat higher.
  // The trainer merges these only when TrainOptions::repeats_share_dropout is set.
  kMergeSharingDropout,
};

// Whether a training step may run on parts of the batch at once, adding their gradients
// (window_parallel.h). Allowed when each window's forecast depends only on that window and the
// parameters (no batch statistics), the training forward draws no random numbers (draws made
// for the whole batch in ForecastModel::PrepareStep are fine), and the loss
// is the default TrainingLoss (a masked mean of per-window terms).
enum class WindowParallelism {
  kNone,     // windows are coupled: whole steps only
  kAllowed,  // allowed, but whole steps are the default (large GEMMs that split well by rows)
  kDefault,  // allowed and the default with two or more threads (chains of small operators)
};

// One categorical exogenous variable: which list it is in, its column there, how many
// categories it has and the width of its embedding.
struct CategoricalExog {
  enum Kind { kFutr, kHist, kStat };
  Kind kind = kFutr;
  int column = 0;       // index among that kind's columns (WindowBatch's last axis)
  int cardinality = 1;  // categories seen in training; codes 1..cardinality
  int dim = 1;          // embedding width (CatEmbeddingDim)
};

struct ModelConfig {
  int input_size = 24;
  int horizon = 24;
  uint64_t seed = 1;
  // Model hyper-parameters by NeuralForecast's names ("hidden_size", "num_layers", ...);
  // absent keys take the model's defaults. Unknown keys are an error naming the key.
  std::map<std::string, double> params;
  // How many exogenous variables of each kind the batches carry (WindowBatch); nonzero only for
  // models whose TrainDefaults reads that kind.
  int futr_exog = 0, hist_exog = 0, stat_exog = 0;
  // Those of them that are categorical (NF's cat_exog_list): their batch columns hold category
  // codes (1..cardinality, 0 for one not seen in training), which ModelRegistry::Make embeds
  // before the model reads them (CategoricalExogModel, categorical.h).
  std::vector<CategoricalExog> categorical = {};
  // Outputs per horizon step (NF's loss.outputsize_multiplier): MQLoss's quantiles, else 1.
  // With more than one, Forward() gives [B, H, outputs] instead of [B, H]; every point model
  // builds its last layers wider by this factor, as NF's do.
  int outputs = 1;
  // A likelihood model's (DeepAR's) distribution when a loss gives one other than those its own
  // `distribution` parameter names (Normal, StudentT): the likelihood's name and options
  // (distributions.h). Empty: the model's own.
  std::string likelihood = {};
  LikelihoodOptions likelihood_options = {};
  // A multivariate model's (TrainDefaults::multivariate) number of series, NF's n_series: its
  // batches hold W windows of all of them as W * n_series rows of insample_y, window-major.
  int n_series = 1;
  // How NF's loss reads a multivariate model's N * Q outputs of a step (Q = `outputs`): as N
  // groups of Q (series-major: MQLoss, HuberMQLoss and the mixtures reshape them so), else as Q
  // groups of N (DistributionLoss splits them so). Read only by the models whose last layer mixes
  // every series (MLPMultivariate, TimeMixer), so that a seed gives NF's forecasts; the others
  // give each series the outputs of its own token or row (MultivariateRows).
  bool series_major_outputs = false;
};

// How NeuralForecast trains a model by default (per model class).
// A model's registration sets the fields where NF's signature differs from these (NF's
// BaseWindows defaults: NBEATS's and NHITS's are all of them).
struct TrainDefaults {
  double learning_rate = 1e-3;
  int batch_size = 32;              // series per batch
  int windows_batch_size = 1024;    // windows sampled per training step
  int num_lr_decays = 3;            // StepLR: step_size = max_steps / num_lr_decays, gamma 0.5;
                                    // -1: no decay
  std::string scaler = "identity";  // per-window scaler of NF's TemporalNorm: identity,
                                    // standard, robust, minmax
  std::string loss = "MAE";         // what the model's TrainingLoss() computes (informational)
  double grad_clip_norm = 0;        // 0: none
  // The model forecasts a distribution (NF's DistributionLoss): it gives quantiles and
  // prediction intervals (ForecastModel::Quantiles), by default at NF's levels 80 and 90 with
  // the median.
  bool gives_quantiles = false;
  // Its variable selection weighs its inputs (ForecastModel::VariableSelection: TFT's).
  bool selects_variables = false;
  // NF's RECURRENT models (DeepAR) read input_size + 1 values: NF grows their input_size by
  // one (its shift of the input by a step needs it) and scales each window on those values.
  // ModelInputSize() and WindowOptionsFrom() add it.
  bool recurrent = false;
  // The kinds of exogenous variables the model reads (WindowBatch::futr_exog, hist_exog and
  // stat_exog), as NF's EXOGENOUS_FUTR, EXOGENOUS_HIST and EXOGENOUS_STAT.
  bool futr_exog = false, hist_exog = false, stat_exog = false;
  void ReadAllExog() { futr_exog = hist_exog = stat_exog = true; }
  // NF's MULTIVARIATE models (TSMixer, TSMixerx, iTransformer, SOFTS, TimeXer, MLPMultivariate): a
  // window holds every series over the same steps (WindowOptions::multivariate), and the model
  // forecasts them together, reading across series.
  bool multivariate = false;
};

// The weights that a model's variable selection gives its inputs, per window (TFT's selection
// networks: the softmax weights of NF's interpretability_params).
struct SelectionWeights {
  // [B, L, n]: per input step, over the historic selection's variables in the order the model
  // reads them: the historic variables, the future ones (TFT without future variables: the
  // window's last value, repeated), the target.
  torch::Tensor history;
  torch::Tensor future;   // [B, H, F]: per horizon step, over the future variables; undefined
                          // when there are none
  torch::Tensor statics;  // [B, S]: over the static variables; undefined when there are none
  // [B, H, L + H]: the attention of each horizon step over the input and horizon steps
  // (averaged over the heads; zero after the step itself), NF's TFT.attention_weights()'s last
  // H rows; undefined for a model without attention.
  torch::Tensor attention;
};

// A point forecast with quantiles of the forecast distribution, in the scaled space.
struct QuantileForecast {
  torch::Tensor point;      // [B, H]: what PointForecast() gives
  torch::Tensor quantiles;  // [B, H, Q]; undefined when the model gives point forecasts only
};

class ForecastModel : public torch::nn::Module {
 public:
  // [B, L] windows -> the model's output (in the scaled space): [B, H] point forecasts for
  // point models ([B, H, Q] with ModelConfig::outputs Q > 1: one per MQLoss quantile),
  // distribution parameters for likelihood models.
  virtual torch::Tensor Forward(const WindowBatch& batch) = 0;
  // The training loss of one batch, in the scaled space; `y` and `mask` [B, H] are the horizon.
  // Default: NeuralForecast's masked point loss (point_loss(), MAE unless set) of Forward()
  // against y (an InvalidArgument-style std::invalid_argument naming the shapes when Forward()
  // does not give [B, H], or [B, H, Q] for MQLoss's Q quantiles). Likelihood models (DeepAR)
  // override it with their negative log-likelihood.
  virtual torch::Tensor TrainingLoss(const WindowBatch& batch, const torch::Tensor& y,
                                     const torch::Tensor& mask);
  // Under a DistributionLoss: the distribution's parameters [B, H, P] (the likelihood's map of
  // the raw outputs, NF's scale_decouple: distributions.h), which the default TrainingLoss,
  // PointForecast and Quantiles read: in the scaled space for Normal and StudentT, in the series'
  // units (batch.scale's map) for the likelihoods fitted there (Likelihood::in_series_units).
  // Default: that map of Forward(); a wrapper that transforms the output (RevinScaledModel)
  // transforms the distribution.
  virtual torch::Tensor DistributionParams(const WindowBatch& batch);
  // Called by the trainer on every training step's batch before TrainingLoss, on the calling
  // thread and before a window-parallel step splits the batch: a model that draws per-point
  // random numbers for its loss (implicit_quantile.h) draws them here, for the whole batch, so
  // that they do not depend on how the step is split. Default: nothing.
  // `horizon` is the batch's H.
  virtual void PrepareStep(WindowBatch& batch, int64_t horizon) {
    (void)batch;
    (void)horizon;
  }
  // The point loss that the default TrainingLoss computes (NF's loss= of a point model).
  // Wrappers pass it on to the model they wrap. A multi-quantile loss must match the outputs
  // the model was built with (ModelConfig::outputs).
  virtual void SetPointLoss(const PointLoss& loss) { point_loss_ = loss; }
  const PointLoss& point_loss() const { return point_loss_; }
  // The point forecast [B, H] in the scaled space, in eval mode under no_grad. Default:
  // Forward(), its median output under MQLoss; likelihood models return the mean, as NF's
  // model column for a DistributionLoss.
  virtual torch::Tensor PointForecast(const WindowBatch& batch);
  // The point forecast and the quantiles at levels `q` ([Q] float, in [0, 1]) of the forecast
  // distribution, in eval mode under no_grad. Default: PointForecast() and no quantiles, or
  // under MQLoss its outputs at those levels (each must be one of its quantiles, else an
  // InvalidArgument-style std::invalid_argument); models with TrainDefaults::gives_quantiles
  // override it.
  virtual QuantileForecast Quantiles(const WindowBatch& batch, const torch::Tensor& q);
  // How the trainer may compute a window drawn c times in one step (NF samples
  // windows_batch_size windows with replacement when a batch has fewer): see RepeatedDraws.
  virtual RepeatedDraws Repeats() const { return RepeatedDraws::kCompute; }
  // Whether a training step may run on parts of its batch at once (window_parallel.h).
  virtual WindowParallelism WindowParallel() const { return WindowParallelism::kNone; }
  // Whether the model selects variables (TFT does; by default none do), and the weights its
  // variable selection gives the batch's inputs, for the trainer to call in eval mode under
  // no_grad (the default throws an std::invalid_argument saying the model selects none).
  virtual bool SelectsVariables() const { return false; }
  virtual SelectionWeights VariableSelection(const WindowBatch& batch);

 protected:
  // What the default TrainingLoss computes from the outputs `y_hat` (Forward()'s, or
  // DistributionParams()' under a DistributionLoss), for a model whose TrainingLoss makes them
  // another way (the recurrent RNN, LSTM and GRU: teacher-forced steps).
  torch::Tensor ScoreOutputs(const WindowBatch& batch, const torch::Tensor& y_hat,
                             const torch::Tensor& y, const torch::Tensor& mask) const;
  // Under a DistributionLoss: the likelihood's map of raw outputs [B, H, P] ([B, H] for one
  // parameter) to the parameters DistributionParams() gives, with the batch's statistics; and
  // the mean of such parameters [B, H, P], in the scaled space, as PointForecast() gives it.
  torch::Tensor MapDistribution(const WindowBatch& batch, torch::Tensor raw) const;
  torch::Tensor DistributionMean(const WindowBatch& batch, const torch::Tensor& params) const;

 private:
  PointLoss point_loss_;
};

using ModelFactory =
    std::function<Result<std::shared_ptr<ForecastModel>>(const ModelConfig& config)>;
// How a model's hyper-parameters change how it trains, where they do (NF's recurrent=True makes
// RNN, LSTM and GRU RECURRENT models): adjusts `defaults` for `params` (ModelConfig::params).
// Checking the values is the factory's job; the rule reads what it needs and ignores the rest.
using DefaultsRule =
    std::function<void(TrainDefaults& defaults, const std::map<std::string, double>& params)>;

class ModelRegistry {
 public:
  Status Register(std::string name, ModelFactory factory, TrainDefaults defaults,
                  DefaultsRule rule = nullptr);
  // NotFound lists the registered names. The model reads Defaults(name, config.params).
  Result<std::shared_ptr<ForecastModel>> Make(const std::string& name,
                                              const ModelConfig& config) const;
  // How `name` trains by default; with `params`, as those hyper-parameters make it train (its
  // DefaultsRule applied).
  Result<TrainDefaults> Defaults(const std::string& name) const;
  Result<TrainDefaults> Defaults(const std::string& name,
                                 const std::map<std::string, double>& params) const;
  std::vector<std::string> Names() const;

 private:
  struct Entry {
    ModelFactory factory;
    TrainDefaults defaults;
    DefaultsRule rule;
  };
  std::map<std::string, Entry> entries_;
};

// Every built-in model; each models/*.cc file exports a Register*Models(ModelRegistry&) that
// DefaultModelRegistry() calls once.
const ModelRegistry& DefaultModelRegistry();

// Reads a model hyper-parameter with a default, rejecting unknown keys: call Take for every
// parameter a model knows, then Finish() returns InvalidArgument naming any key left over (and
// the keys the model knows), or the first TakeInt key whose value was not a whole number.
class Params {
 public:
  Params(std::string model, std::map<std::string, double> values)
      : model_(std::move(model)), values_(std::move(values)) {}
  double Take(const std::string& key, double fallback);
  int TakeInt(const std::string& key, int fallback);
  Status Finish() const;

 private:
  std::string model_;
  std::map<std::string, double> values_;
  std::vector<std::string> taken_;
  std::string not_whole_;  // the first TakeInt key with a fractional or out-of-range value
};

// x [B, n] followed by the window's variables flattened as NF's MLP, KAN and NBEATSx blocks read
// them, each time-major: [x | hist (L x X) | futr ((L + H) x F) | stat (S)], the kinds whose
// counts are non-zero.
torch::Tensor WithFlatExog(const torch::Tensor& x, const WindowBatch& batch, int64_t hist,
                           int64_t futr, int64_t stat);

// A multivariate model's batch (TrainDefaults::multivariate): insample_y [W * n_series, L],
// window-major, as [W, n_series, L]. Throws a c10::Error naming the model and the shape
// otherwise.
torch::Tensor MultivariateWindows(const std::string& model, const torch::Tensor& insample_y,
                                  int64_t n_series, int64_t input_size);
// A multivariate model's forecast z [W, N, H * Q], series n's step t's output j at t * Q + j, as
// the rows that the losses read: [W * N, H] with one output per step, else [W * N, H, Q].
// NF's models that compute a series' H * Q values from its own token (iTransformer, SOFTS,
// TSMixer, ...) lay them out as [W, H * Q, N] and read step t's N * Q values as Q groups of N
// under DistributionLoss, but as N groups of Q under MQLoss and the mixtures: with more than one
// series and output, those losses give a series the values of other series' tokens (and their
// de-normalisation). Here a series' outputs are always its own.
torch::Tensor MultivariateRows(const torch::Tensor& z, int64_t horizon, int64_t outputs);
// The same from a last layer that mixes every series, z [W, H, N * Q], read as NF's loss reads it
// (ModelConfig::series_major_outputs), as [W, N, H * Q].
torch::Tensor MixedSeriesOutputs(const torch::Tensor& z, int64_t n_series, int64_t outputs,
                                 bool series_major);
// NF's normalisation "from Non-stationary Transformer" of a multivariate window [W, N, L], the
// use_norm of iTransformer, SOFTS, TimeXer and XLinear: Normalize centres each series' window
// and divides it by its population std (+ 1e-5) over the L steps; Restore scales a forecast
// [W, N, H] back. The mean is detached; the std too with `detach_std` (XLinear's), else it
// carries gradients, as NF's does.
class SeriesNorm {
 public:
  torch::Tensor Normalize(const torch::Tensor& x, bool detach_std);
  torch::Tensor Restore(const torch::Tensor& z) const { return z * std_ + mean_; }

 private:
  torch::Tensor mean_, std_;
};
// NF's training defaults of its multivariate models (TSMixer, TSMixerx, iTransformer, SOFTS,
// TimeXer, MLPMultivariate): Adam lr 1e-3 without LR decays, 32 windows per step, the identity
// scaler.
TrainDefaults MultivariateTrainDefaults();
// What every multivariate model needs of its config: n_series >= 1 (InvalidArgument), and no
// likelihood of its own (DeepAR's; InvalidArgument).
Status CheckMultivariateConfig(const std::string& model, const ModelConfig& config);

// Hyper-parameter checks, one message format for the zoo: InvalidArgument "<model>: <key> must
// be ..., got <value>". NaN fails every check.
Status CheckAtLeast(const std::string& model, const std::string& key, double value, double min);
Status CheckRange(const std::string& model, const std::string& key, double value, double min,
                  double max);
Status CheckRate(const std::string& model, const std::string& key, double value);  // [0, 1)
Status CheckFlag(const std::string& model, const std::string& key, double value);  // 0 or 1
// A value that stands for a name (named_params.h): "<model>: <key> must be one of <names> (or its
// code 0 to n - 1), got <code>".
Status CheckNamedCode(const std::string& model, const std::string& key, int code);

}  // namespace drc::dl
