// Trains one model of the zoo on a WindowedDataset as NeuralForecast does by default: Adam(lr),
// a step decay of the learning rate (StepLR with step_size = max(max_steps / num_lr_decays, 1),
// gamma 0.5, stepped after every optimizer step; no decay when num_lr_decays <= 0), optional
// gradient-norm clipping, the model's TrainingLoss (masked MAE on the horizon in the scaled
// space unless the model says otherwise), `max_steps` steps.
//
// Seeds: torch::manual_seed(seed) before the model is built (its initial weights, NF's at the
// same seed) and again when a fit starts, as NF's on_fit_start: the windows are then NF's draws
// from libtorch's generator (windows.h). A data-parallel shard draws its windows from a
// std::mt19937_64(seed) instead. Runs are repeatable.
//
// Early stopping (NF's val_size / val_check_steps / early_stop_patience_steps): given a
// validation batch, every `val_check_steps` steps the masked MAE (or TrainOptions::loss) of the
// point forecast on it is computed, in the series' units (each window's scaling inverted, as
// NF's valid_loss); after `early_stop_patience_steps` checks without improvement training stops.
//
// Checkpoints: every `checkpoint_every` steps (and at the end) the model, Adam's state, the step,
// the sampling RNG, the sampler's epoch order and libtorch's CPU generator are written to
// `checkpoint_path` (atomically: a temporary file renamed over it). Resume() restores them, so
// an interrupted run continues exactly where the checkpoint left it.
//
// Data-parallel: with a communicator of size R > 1, rank 0's initial parameters are broadcast,
// each rank samples from its own shard of windows (WindowOptions::shard_*), and gradients are
// averaged over the ranks in buckets before clipping and the optimizer step, so all replicas
// stay identical. losses() then holds the mean loss over the ranks.
//
// libtorch's seed and thread count are process-wide: one Trainer at a time per process.
// Internal to src/dl (it exposes torch types).
#pragma once

#include <torch/optim/adam.h>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "drc/comm/communicator.h"
#include "drc/common/result.h"
#include "src/dl/data_parallel.h"
#include "src/dl/model.h"
#include "src/dl/windows.h"

namespace drc::dl {

struct TrainOptions {
  int max_steps = 100;
  double learning_rate = 1e-3;
  int num_lr_decays = 3;
  double grad_clip_norm = 0;  // 0: none
  uint64_t seed = 1;
  int threads = 0;  // torch intra-op threads; 0: all cores
  // Early stopping (used only when Fit() gets a validation batch).
  int val_check_steps = 100;
  int early_stop_patience_steps = -1;  // validation checks without improvement; -1: never stop
  // Checkpoints: none when the path is empty; 0 = only at the end of Fit().
  std::string checkpoint_path;
  int checkpoint_every = 0;
  // Data-parallel world (not owned; null or size 1: single process).
  comm::Communicator* comm = nullptr;
  // The windows are scaled with the revin scaler: wrap the model in RevinScaledModel so that
  // RevIN's learnable affine part trains with it.
  bool revin = false;
  // Merge a window drawn c times in a step into one with weight c also for models with
  // dropout (RepeatedDraws::kMergeSharingDropout: the copies share one dropout mask). Off:
  // such models compute every draw, as NeuralForecast does.
  bool repeats_share_dropout = true;
  // Dropout masks drawn as NF's (NfDropoutMasks): with NF's window draws (WindowOptions::
  // nf_draws) a seed then follows NF's training through dropout too. Implies every repeated
  // draw computed (repeats_share_dropout off). Slower where dropout is heavy.
  bool nf_dropout = false;
  // Window-parallel steps (window_parallel.h): 0 = automatic (the models whose default it is,
  // when threads >= 2), 1 = every step whole, N = N parts of each step's windows at once.
  // CPU only.
  int window_parts = 0;
  // Where the model trains (ResolveDevice): "cpu", "cuda" (this rank's GPU), "cuda:N", "auto".
  std::string device = "cpu";
  // A point model's loss, in training and validation (ParsePointLoss: "MSE", "HuberLoss(0.5)",
  // "DistributionLoss(StudentT)", ...); empty: MAE. A DistributionLoss draws its quantiles with
  // `seed`; a model with a likelihood of its own (DeepAR) takes it as that likelihood
  // (SetLikelihood) and refuses any other loss (InvalidArgument).
  std::string loss;
  // Early stopping's loss (NF's valid_loss; ValidLossOf's rules); empty: the training loss.
  std::string valid_loss;
};

// The torch device for TrainOptions::device: "cpu"; "cuda", GPU rank % (visible GPUs), one GPU
// per rank on a node; "cuda:N"; "auto", CUDA as "cuda" when libtorch sees a GPU, else the CPU.
// FailedPrecondition when CUDA is asked for and libtorch has none compiled in (Debian's
// libtorch-dev is CPU-only) or sees no GPU; InvalidArgument for anything else or a GPU index
// out of range.
Result<torch::Device> ResolveDevice(const std::string& spec, int rank = 0);

// RevIN's learnable affine map (the original RevIN's; the statistics are applied to the
// windows): z * w + b on the scaled input of the wrapped point model and its inverse (y - b) / w
// on its output; w starts at 1 and b at 0. Under a DistributionLoss the inverse maps the
// distribution: location (loc - b) / w, scale scale / |w|. Only for point models. NF 3.3's
// revin is another map (docs/dl-benchmarks.md).
class RevinScaledModel final : public ForecastModel {
 public:
  explicit RevinScaledModel(std::shared_ptr<ForecastModel> inner);
  torch::Tensor Forward(const WindowBatch& batch) override;
  torch::Tensor PointForecast(const WindowBatch& batch) override;
  torch::Tensor DistributionParams(const WindowBatch& batch) override;
  void SetPointLoss(const PointLoss& loss) override {
    ForecastModel::SetPointLoss(loss);
    inner_->SetPointLoss(loss);
  }
  RepeatedDraws Repeats() const override { return inner_->Repeats(); }
  WindowParallelism WindowParallel() const override { return inner_->WindowParallel(); }
  bool SelectsVariables() const override { return inner_->SelectsVariables(); }
  SelectionWeights VariableSelection(const WindowBatch& batch) override {
    return inner_->VariableSelection(Affine(batch));
  }

 private:
  WindowBatch Affine(const WindowBatch& batch) const;
  torch::Tensor Inverse(const torch::Tensor& y) const;

  std::shared_ptr<ForecastModel> inner_;
  torch::Tensor weight_, bias_;
};

// The loss written `text` (ParsePointLoss) for `model`: InvalidArgument naming the model for a
// bad name, or for a model with a likelihood of its own (TrainDefaults::loss not MAE: DeepAR)
// given anything but a DistributionLoss.
Result<PointLoss> PointLossOf(const std::string& model, const TrainDefaults& defaults,
                              const std::string& text);
// The validation loss written `text` (NF's valid_loss) for `model` trained on `trained` (its
// parsed loss; PointLoss() for the default, a likelihood model's own included), by NF's rules:
// InvalidArgument naming the model when IQLoss or HuberIQLoss meets another kind, when a
// multi-quantile training loss meets anything but MQLoss or HuberMQLoss, when a distribution
// valid_loss differs from the training DistributionLoss (NF validates on the training
// likelihood) or meets a point model, and when a multi-quantile valid_loss has no quantiles to
// score (a point model) or not as many as the model gives; NotImplemented for a likelihood
// model's own likelihood. Returns the loss to validate on.
Result<PointLoss> ValidLossOf(const std::string& model, const TrainDefaults& defaults,
                              const PointLoss& trained, const std::string& text);
// OK unless `loss` needs a longer input: InvalidArgument naming the model when MASE's
// seasonality is not below `input_size`.
Status CheckLossInput(const std::string& model, const PointLoss& loss, int input_size);
// OK when the revin scaler can go with `loss`; NotImplemented naming the model for a
// distribution that is not a location-scale family RevIN's inverse can map (all but Normal,
// StudentT and GMM: those fitted in the series' units, and ISQF).
Status CheckRevinLoss(const std::string& model, const PointLoss& loss);
// A likelihood model (DeepAR) given a DistributionLoss or a mixture takes it as its likelihood,
// as NF's DeepAR(loss=...): Normal and StudentT through its `distribution` parameter (0 StudentT,
// 1 Normal; InvalidArgument when `config.params` already sets the other), any other as
// config.likelihood (InvalidArgument when `config.params` sets `distribution` too).
Status SetLikelihood(const std::string& model, const PointLoss& loss, ModelConfig& config);

// The options NeuralForecast uses for a model with these defaults.
TrainOptions OptionsFrom(const TrainDefaults& defaults, int max_steps, uint64_t seed);
// NeuralForecast's per-model training hyper-parameters, set as a model's params (ModelConfig):
// learning_rate, max_steps, batch_size, windows_batch_size, num_lr_decays and random_seed. Takes
// those found in `params` out of it into `defaults`, `max_steps` and `seed`, leaving the model's
// own; InvalidArgument names the model, the key and what it must be.
Status TakeTrainingParams(const std::string& model, std::map<std::string, double>& params,
                          TrainDefaults& defaults, int& max_steps, uint64_t& seed);
// Their names, for messages.
const std::vector<std::string>& TrainingParamNames();
// The input length a model with these defaults reads for a configured input_size, as NF:
// input_size + 1 for its recurrent models, else input_size.
int ModelInputSize(const TrainDefaults& defaults, int input_size);
// The window options NeuralForecast uses for a model with these defaults (input windows of
// ModelInputSize values).
Result<WindowOptions> WindowOptionsFrom(const TrainDefaults& defaults, int input_size, int horizon);

class Trainer {
 public:
  // Builds `name` from the registry (seeded first), and with a communicator broadcasts rank 0's
  // parameters. Errors name the model.
  static Result<std::unique_ptr<Trainer>> Make(const std::string& name, const ModelConfig& config,
                                               const TrainOptions& options,
                                               const ModelRegistry& registry);

  // Trains until step max_steps (or `until_step` when >= 0, to pause early), early stopping on
  // `validation` when given; returns the loss of the last step (NaN when no step ran). Errors
  // name the model and the shapes of the batch.
  Result<double> Fit(WindowedDataset& data, const TrainBatch* validation = nullptr,
                     int until_step = -1);
  // One forecast per series from its last input window, in the original scale: [S, H].
  Result<torch::Tensor> Predict(const WindowedDataset& data);
  // As Predict(), with the quantiles at `levels` (each in [0, 1]) of each series' forecast
  // distribution, in the original scale: point [S, H], quantiles [S, H, Q]. No levels: no
  // quantiles. InvalidArgument naming the model when it gives point forecasts only.
  struct Prediction {
    torch::Tensor point;
    torch::Tensor quantiles;
  };
  Result<Prediction> PredictQuantiles(const WindowedDataset& data,
                                      const std::vector<double>& levels);
  // The variable selection weights (ForecastModel::VariableSelection, on the CPU) of the windows
  // that Predict() forecasts from; InvalidArgument naming the model when it selects none.
  Result<SelectionWeights> VariableSelection(const WindowedDataset& data);
  // The masked point loss (MAE unless TrainOptions::loss) of the point forecast on a batch with
  // horizon, in the series' units.
  Result<double> ValidationLoss(const TrainBatch& batch);

  // Writes / reads the checkpoint described in the file comment. Resume() also restores the
  // sampler state of `data` (the dataset the run trains on) and checks that the checkpoint was
  // written for this model (name and parameter shapes); errors name the file.
  Status SaveCheckpoint(const std::string& path, const WindowedDataset& data) const;
  Status Resume(const std::string& path, WindowedDataset& data);
  // Warm start, as NeuralForecast's fit(use_init_models=False): the model's parameters and
  // buffers become those of `fitted` (another trainer's model of the same name and shapes),
  // while the optimizer, learning-rate schedule, step count and random streams stay this
  // trainer's, fresh. Only before the first step; FailedPrecondition after it, InvalidArgument
  // naming the tensor when the models differ. Checkpoints record whether their run started so,
  // and Resume() refuses one of a run that started the other way (from the initial weights).
  Status StartFrom(const ForecastModel& fitted);
  // The same from the parameters and buffers of a checkpoint (SaveCheckpoint's, of a model of
  // this name and shapes; its optimizer and sampler state are not read), as NeuralForecast's
  // fit(use_init_models=False) after load(): NotFound without the file, InvalidArgument naming
  // the file (and the tensor) when it is not this model's.
  Status StartFromCheckpoint(const std::string& path);

  ForecastModel& model() { return *model_; }
  int step() const { return step_; }
  bool stopped_early() const { return stopped_early_; }
  // Parts each training step's windows run in (1: whole steps); set by Fit().
  int window_parts() const { return window_parts_; }
  // Intra-op threads the steps run on: TrainOptions::threads, else DefaultThreads().
  int threads() const;
  // Where the model's parameters live and its steps run.
  const torch::Device& device() const { return device_; }
  const std::vector<double>& losses() const { return losses_; }
  const std::vector<double>& validation_losses() const { return val_losses_; }

 private:
  Trainer(std::string name, ModelConfig config, TrainOptions options,
          std::shared_ptr<ForecastModel> model, torch::Device device);
  double LearningRateAt(int step) const;
  Status CheckBeforeFirstStep() const;  // a warm start's precondition

  std::string name_;
  ModelConfig config_;
  TrainOptions options_;
  std::shared_ptr<ForecastModel> model_;
  torch::Device device_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  std::unique_ptr<GradientAllReducer> reducer_;
  std::mt19937_64 rng_;
  int step_ = 0;
  bool stopped_early_ = false;
  bool warm_started_ = false;  // StartFrom() or StartFromCheckpoint() gave the weights
  int window_parts_ = 1;
  double best_val_ = 0;
  int checks_without_improvement_ = 0;
  std::vector<double> losses_;
  std::vector<double> val_losses_;
  std::optional<PointLoss> valid_loss_;  // TrainOptions::valid_loss parsed; none: the loss
};

}  // namespace drc::dl
