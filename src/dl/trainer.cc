#include "src/dl/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <sstream>

#include "drc/common/cpus.h"
#include "src/dl/distributions.h"
#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/implicit_quantile.h"
#include "src/dl/torch_status.h"
#include "src/dl/window_parallel.h"

namespace drc::dl {

TrainOptions OptionsFrom(const TrainDefaults& defaults, int max_steps, uint64_t seed) {
  TrainOptions o;
  o.max_steps = max_steps;
  o.learning_rate = defaults.learning_rate;
  o.num_lr_decays = defaults.num_lr_decays;
  o.grad_clip_norm = defaults.grad_clip_norm;
  o.seed = seed;
  return o;
}

const std::vector<std::string>& TrainingParamNames() {
  static const std::vector<std::string> kNames = {"batch_size",  "learning_rate",
                                                  "max_steps",   "num_lr_decays",
                                                  "random_seed", "windows_batch_size"};
  return kNames;
}

Status TakeTrainingParams(const std::string& model, std::map<std::string, double>& params,
                          TrainDefaults& defaults, int& max_steps, uint64_t& seed) {
  // Whole numbers in [min, max]; NaN fails every check.
  auto whole = [&](const std::string& key, double value, int64_t min, int64_t max) {
    if (!(value >= static_cast<double>(min) && value <= static_cast<double>(max)) ||
        value != std::floor(value)) {
      return Status::InvalidArgument(model, ": ", key, " must be a whole number in [", min, ", ",
                                     max, "], got ", value);
    }
    return Status::OK();
  };
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  for (const std::string& key : TrainingParamNames()) {
    auto it = params.find(key);
    if (it == params.end()) continue;
    const double v = it->second;
    if (key == "learning_rate") {
      if (!(v > 0 && std::isfinite(v))) {
        return Status::InvalidArgument(model, ": learning_rate must be > 0, got ", v);
      }
      defaults.learning_rate = v;
    } else if (key == "max_steps") {
      DRC_RETURN_NOT_OK(whole(key, v, 0, kIntMax));
      max_steps = static_cast<int>(v);
    } else if (key == "batch_size") {
      DRC_RETURN_NOT_OK(whole(key, v, 1, kIntMax));
      defaults.batch_size = static_cast<int>(v);
    } else if (key == "windows_batch_size") {
      DRC_RETURN_NOT_OK(whole(key, v, 1, kIntMax));
      defaults.windows_batch_size = static_cast<int>(v);
    } else if (key == "num_lr_decays") {
      // NF: -1 means no decay; its StepLR step is max_steps / num_lr_decays.
      if (v != -1) {
        DRC_RETURN_NOT_OK(whole(key + " (-1: no decay)", v, 1, kIntMax));
      }
      defaults.num_lr_decays = static_cast<int>(v);
    } else if (key == "random_seed") {
      DRC_RETURN_NOT_OK(whole(key, v, 0, int64_t{1} << 53));  // exact in a double
      seed = static_cast<uint64_t>(v);
    }
    params.erase(it);
  }
  return Status::OK();
}

int ModelInputSize(const TrainDefaults& defaults, int input_size) {
  return defaults.recurrent ? input_size + 1 : input_size;
}

Result<WindowOptions> WindowOptionsFrom(const TrainDefaults& defaults, int input_size,
                                        int horizon) {
  WindowOptions w;
  w.input_size = ModelInputSize(defaults, input_size);
  w.horizon = horizon;
  w.batch_size = defaults.batch_size;
  w.windows_batch_size = defaults.windows_batch_size;
  w.multivariate = defaults.multivariate;
  DRC_ASSIGN_OR_RETURN(w.scaler, ParseScalerType(defaults.scaler));
  return w;
}

RevinScaledModel::RevinScaledModel(std::shared_ptr<ForecastModel> inner)
    : inner_(register_module("model", std::move(inner))) {
  weight_ = register_parameter("revin_weight", torch::ones({1}));
  bias_ = register_parameter("revin_bias", torch::zeros({1}));
}

WindowBatch RevinScaledModel::Affine(const WindowBatch& batch) const {
  WindowBatch affine = batch;
  affine.insample_y = batch.insample_y * weight_ + bias_;
  return affine;
}

torch::Tensor RevinScaledModel::Inverse(const torch::Tensor& y) const {
  return (y - bias_) / (weight_ + 1e-10);
}

torch::Tensor RevinScaledModel::Forward(const WindowBatch& batch) {
  return Inverse(inner_->Forward(Affine(batch)));
}

torch::Tensor RevinScaledModel::PointForecast(const WindowBatch& batch) {
  return Inverse(inner_->PointForecast(Affine(batch)));
}

torch::Tensor RevinScaledModel::DistributionParams(const WindowBatch& batch) {
  // [..., P]: the locations through the inverse map, the scales divided by |w| (Normal: loc,
  // scale; StudentT: df, loc, scale; GMM: K locations, then K scales, then any weights).
  const auto likelihood = point_loss().likelihood();
  TORCH_CHECK(!likelihood.LocationParams().empty(), "revin: ", likelihood.name(),
              " is not a location-scale family");
  std::vector<torch::Tensor> params = inner_->DistributionParams(Affine(batch)).unbind(-1);
  for (int i : likelihood.LocationParams()) params[i] = Inverse(params[i]);
  for (int i : likelihood.ScaleParams()) params[i] = params[i] / (weight_ + 1e-10).abs();
  return torch::stack(params, -1);
}

Result<PointLoss> PointLossOf(const std::string& model, const TrainDefaults& defaults,
                              const std::string& text) {
  auto loss = ParsePointLoss(text);
  if (!loss.ok()) return loss.status().WithContext(model);
  if (defaults.loss != "MAE" && !loss->is_distribution()) {
    return Status::InvalidArgument(model, " trains on its likelihood (NF's ", defaults.loss,
                                   "); loss '", text,
                                   "' is for point models (give it a DistributionLoss)");
  }
  return loss;
}

Result<PointLoss> ValidLossOf(const std::string& model, const TrainDefaults& defaults,
                              const PointLoss& trained, const std::string& text) {
  auto parsed = ParsePointLoss(text);
  if (!parsed.ok()) return parsed.status().WithContext(model + ": valid_loss");
  const PointLoss& valid = *parsed;
  const bool likelihood_model = defaults.loss != "MAE";  // DeepAR: its own likelihood
  const std::string trained_name = likelihood_model && !trained.is_distribution()
                                       ? "its likelihood (NF's " + defaults.loss + ")"
                                       : trained.Name();
  auto refuse = [&](const std::string& why) {
    return Status::InvalidArgument(model, ": valid_loss ", valid.Name(), " with loss ",
                                   trained_name, ": ", why);
  };
  if (valid.is_distribution()) {
    if (likelihood_model) {
      return Status::NotImplemented(model, ": valid_loss ", valid.Name(),
                                    " (validation on its own likelihood) is not built; give a "
                                    "point loss (its default, MAE) or MQLoss");
    }
    if (!trained.is_distribution()) {
      return refuse("a point model has no distribution to score (NF refuses it too)");
    }
    if (valid.Name() != trained.Name()) {
      return refuse(
          "a DistributionLoss validates on its own likelihood (NF's valid_loss); give "
          "the same, a point loss or MQLoss");
    }
    return trained;
  }
  if (valid.implicit_quantile() || trained.implicit_quantile()) {
    if (valid.kind != trained.kind) {
      return refuse("as NF, IQLoss and HuberIQLoss train and validate together");
    }
    return trained;  // the model's own draws of the quantiles
  }
  if (trained.multi_quantile() && !valid.multi_quantile()) {
    return refuse("as NF, a multi-quantile loss validates on MQLoss or HuberMQLoss");
  }
  if (valid.multi_quantile()) {
    // An MQLoss or a DistributionLoss gives its own quantiles; DeepAR those asked.
    const bool own = trained.multi_quantile() || trained.is_distribution();
    if (!own && !likelihood_model) {
      return refuse(
          "a point model gives no quantiles to score; train with MQLoss, HuberMQLoss "
          "or a DistributionLoss");
    }
    const size_t given = own ? trained.quantiles.size() : valid.quantiles.size();
    if (given != valid.quantiles.size()) {
      return refuse("the model gives " + std::to_string(given) +
                    " quantiles and valid_loss scores " + std::to_string(valid.quantiles.size()) +
                    "; give it the same level or quantiles");
    }
  }
  return valid;
}

Status CheckLossInput(const std::string& model, const PointLoss& loss, int input_size) {
  if (loss.kind == PointLoss::kMase && input_size <= loss.seasonality) {
    return Status::InvalidArgument(
        model, ": ", loss.Name(), " scales by each window's differences at lag ", loss.seasonality,
        ", so input_size must be > ", loss.seasonality, ", got ", input_size);
  }
  return Status::OK();
}

Status CheckRevinLoss(const std::string& model, const PointLoss& loss) {
  if (loss.is_distribution() && loss.likelihood().LocationParams().empty()) {
    return Status::NotImplemented(model, ": the revin scaler with ", loss.Name(),
                                  loss.likelihood().in_series_units()
                                      ? " (a distribution fitted in the series' units)"
                                      : " (RevIN's inverse map moves the locations and scales of "
                                        "Normal, StudentT and GMM only)",
                                  " is not built; use the identity, standard, robust or minmax "
                                  "scaler");
  }
  return Status::OK();
}

Status SetLikelihood(const std::string& model, const PointLoss& loss, ModelConfig& config) {
  const auto given = config.params.find("distribution");
  if (loss.distribution != "Normal" && loss.distribution != "StudentT") {
    if (given != config.params.end()) {
      return Status::InvalidArgument(model, ": distribution=", given->second, " and loss ",
                                     loss.Name(), " disagree; give one of them");
    }
    config.likelihood = loss.distribution;
    config.likelihood_options = loss.distribution_options;
    return Status::OK();
  }
  const double code = loss.distribution == "Normal" ? 1 : 0;
  if (given != config.params.end() && given->second != code) {
    return Status::InvalidArgument(model, ": distribution=", given->second, " (",
                                   given->second == 1 ? "Normal" : "StudentT", ") and loss ",
                                   loss.Name(), " disagree; give one of them");
  }
  config.params["distribution"] = code;
  return Status::OK();
}

Result<torch::Device> ResolveDevice(const std::string& spec, int rank) {
  if (spec == "cpu") return torch::Device(torch::kCPU);
  const bool automatic = spec == "auto";
  int64_t index = -1;
  if (spec.rfind("cuda:", 0) == 0) {
    const std::string digits = spec.substr(5);
    if (digits.empty() || digits.size() > 4 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Status::InvalidArgument("device '", spec, "': expected cuda:N with N a GPU index");
    }
    index = std::stoll(digits);
  } else if (spec != "cuda" && !automatic) {
    return Status::InvalidArgument("device must be cpu, cuda, cuda:N or auto, got '", spec, "'");
  }
  const bool compiled = at::Context::hasCUDART();
  const int64_t gpus = compiled ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  if (gpus == 0) {
    if (automatic) return torch::Device(torch::kCPU);
    if (!compiled) {
      return Status::FailedPrecondition(
          "device ", spec,
          ": this build's libtorch has no CUDA (Debian's libtorch-dev is CPU-only); build drc "
          "against a CUDA-enabled libtorch to train on a GPU, or use --device cpu");
    }
    return Status::FailedPrecondition("device ", spec,
                                      ": libtorch sees no CUDA device (check the driver and "
                                      "CUDA_VISIBLE_DEVICES), or use --device cpu");
  }
  if (index < 0) index = rank % gpus;
  if (index >= gpus) {
    return Status::InvalidArgument("device ", spec, ": ", gpus, " CUDA device(s) visible");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

namespace {

WindowBatch OnDevice(const WindowBatch& b, const torch::Device& device) {
  if (device.is_cpu()) return b;
  auto to = [&](const torch::Tensor& t) { return t.defined() ? t.to(device) : t; };
  return WindowBatch{to(b.insample_y),
                     to(b.insample_mask),
                     to(b.weight),
                     to(b.futr_exog),
                     to(b.hist_exog),
                     to(b.stat_exog),
                     WindowScale{to(b.scale.shift), to(b.scale.scale)}};
}

// The batch's windows on `device` (the host-side inverse reads the host batch's scale).
TrainBatch OnDevice(const TrainBatch& b, const torch::Device& device) {
  if (device.is_cpu()) return b;
  return TrainBatch{OnDevice(b.input, device), b.outsample_y.to(device),
                    b.outsample_mask.to(device)};
}

}  // namespace

Trainer::Trainer(std::string name, ModelConfig config, TrainOptions options,
                 std::shared_ptr<ForecastModel> model, torch::Device device)
    : name_(std::move(name)),
      config_(std::move(config)),
      options_(std::move(options)),
      model_(std::move(model)),
      device_(device),
      rng_(options_.seed) {
  optimizer_ = std::make_unique<torch::optim::Adam>(
      model_->parameters(), torch::optim::AdamOptions(options_.learning_rate));
  if (options_.comm != nullptr && options_.comm->size() > 1) {
    reducer_ = std::make_unique<GradientAllReducer>(options_.comm);
  }
}

namespace {
int IntraOpThreads(const TrainOptions& options) {
  return options.threads > 0 ? options.threads : DefaultThreads();
}
}  // namespace

int Trainer::threads() const { return IntraOpThreads(options_); }

Result<std::unique_ptr<Trainer>> Trainer::Make(const std::string& name, const ModelConfig& config,
                                               const TrainOptions& options,
                                               const ModelRegistry& registry) {
  if (options.max_steps < 0) {
    return Status::InvalidArgument(name, ": max_steps must be >= 0, got ", options.max_steps);
  }
  if (options.val_check_steps <= 0) {
    return Status::InvalidArgument(name, ": val_check_steps must be > 0, got ",
                                   options.val_check_steps);
  }
  const int threads = IntraOpThreads(options);
  const int rank = options.comm != nullptr ? options.comm->rank() : 0;
  auto device = ResolveDevice(options.device, rank);
  if (!device.ok()) return Status(device.status().code(), name + ": " + device.status().message());
  if (!device->is_cpu() && options.window_parts > 1) {
    return Status::InvalidArgument(name, ": window parts run on CPU threads; on ", device->str(),
                                   " window parts must be 0 or 1, got ", options.window_parts);
  }
  DRC_RETURN_NOT_OK(Guard(name + ": seeding", [&] {
    torch::set_num_threads(threads);
    SetBlasThreads(threads);
    torch::manual_seed(options.seed);
  }));
  DRC_ASSIGN_OR_RETURN(const TrainDefaults defaults, registry.Defaults(name, config.params));
  // The loss first: MQLoss widens the model's last layers (ModelConfig::outputs).
  PointLoss loss;
  if (!options.loss.empty()) {
    DRC_ASSIGN_OR_RETURN(loss, PointLossOf(name, defaults, options.loss));
    DRC_RETURN_NOT_OK(CheckLossInput(name, loss, config.input_size));
  }
  loss.sampling_seed = options.seed;
  std::optional<PointLoss> valid;
  if (!options.valid_loss.empty()) {
    DRC_ASSIGN_OR_RETURN(valid, ValidLossOf(name, defaults, loss, options.valid_loss));
    DRC_RETURN_NOT_OK(CheckLossInput(name + ": valid_loss", *valid, config.input_size));
    valid->sampling_seed = options.seed;
  }
  ModelConfig built = config;
  built.outputs = loss.Outputs();
  built.series_major_outputs = loss.series_major_outputs();
  if (loss.is_distribution()) {
    if (defaults.loss != "MAE") {
      // A likelihood model (DeepAR) takes a DistributionLoss as its own likelihood, as NF's
      // DeepAR(loss=DistributionLoss(...)): its outputs stay its own, and it validates on the
      // MAE of its mean (NF's valid_loss=MAE()).
      DRC_RETURN_NOT_OK(SetLikelihood(name, loss, built));
      built.outputs = 1;
      loss = PointLoss();
    }
  }
  DRC_ASSIGN_OR_RETURN(auto model, registry.Make(name, built));
  if (!model) return Status::Internal(name, ": the model factory returned null");
  // The wrappers below train through the model's Forward(), which a recurrent point model (RNN,
  // LSTM, GRU with recurrent=1) runs step by step, fed back, instead of teacher-forced.
  if (defaults.recurrent && defaults.loss == "MAE" && (options.revin || loss.implicit_quantile())) {
    return Status::NotImplemented(name, ": recurrent=1 with ",
                                  options.revin ? "the revin scaler" : loss.Name(),
                                  " is not built (its wrapper would train through the fed-back "
                                  "forecast, not teacher-forced steps); use recurrent=0");
  }
  if (options.revin) {
    if (defaults.loss != "MAE") {
      return Status::NotImplemented(name, ": the revin scaler with a ", defaults.loss,
                                    " model (RevIN's affine map is for point models so far)");
    }
    DRC_RETURN_NOT_OK(CheckRevinLoss(name, loss));
    model = std::make_shared<RevinScaledModel>(std::move(model));
  }
  if (loss.implicit_quantile()) {
    // The IQN head and its parameters wrap the point model (and its RevIN map).
    model = std::make_shared<ImplicitQuantileModel>(std::move(model), loss);
  }
  model->SetPointLoss(loss);
  std::unique_ptr<Trainer> trainer;
  DRC_RETURN_NOT_OK(Guard(name + ": moving the model to " + device->str(), [&] {
    if (!device->is_cpu()) model->to(*device);
  }));
  DRC_RETURN_NOT_OK(Guard(name + ": building the optimizer", [&] {
    trainer.reset(new Trainer(name, built, options, std::move(model), *device));
  }));
  trainer->valid_loss_ = std::move(valid);
  if (trainer->reducer_) {
    Status st = trainer->reducer_->BroadcastParameters(*trainer->model_);
    if (!st.ok()) return Status(st.code(), name + ": " + st.message());
  }
  return trainer;
}

double Trainer::LearningRateAt(int step) const {
  if (options_.num_lr_decays <= 0) return options_.learning_rate;
  const int decay_steps = std::max(options_.max_steps / options_.num_lr_decays, 1);
  return options_.learning_rate * std::pow(0.5, step / decay_steps);
}

Result<double> Trainer::ValidationLoss(const TrainBatch& host_batch) {
  return Guard(
      name_ + " validation on input " + ShapeOf(host_batch.input.insample_y),
      [&]() -> Result<double> {
        torch::NoGradGuard no_grad;
        const TrainBatch batch = OnDevice(host_batch, device_);
        model_->eval();
        const PointLoss& trained = model_->point_loss();
        const PointLoss& loss = valid_loss_ ? *valid_loss_ : trained;
        // NF's _compute_valid_loss: a DistributionLoss scores the likelihood of its
        // distribution, MQLoss all of an MQLoss's outputs or a distribution's sampled
        // quantiles (DeepAR's at MQLoss's levels), a point loss the point forecast (a
        // distribution's mean).
        torch::Tensor y_hat;
        if (loss.is_distribution()) {
          y_hat = model_->DistributionParams(batch.input);
        } else if (loss.multi_quantile() && !trained.multi_quantile()) {
          const auto& levels = trained.is_distribution() ? trained.quantiles : loss.quantiles;
          y_hat = model_->Quantiles(batch.input, torch::tensor(levels, torch::kFloat32)).quantiles;
        } else if (loss.Outputs() > 1) {
          y_hat = model_->Forward(batch.input);
        } else {
          y_hat = model_->PointForecast(batch.input);
        }
        model_->train();
        std::vector<int64_t> expected = batch.outsample_y.sizes().vec();
        if (loss.Outputs() > 1 || loss.is_distribution()) {
          expected.push_back(loss.Outputs());
        }
        if (y_hat.sizes().vec() != expected) {
          return Status::InvalidArgument(name_, ": forecast ", ShapeOf(y_hat), "; expected ",
                                         ShapeOf(batch.outsample_y),
                                         loss.is_distribution() ? " by parameter"
                                         : loss.Outputs() > 1   ? " by quantile"
                                                                : "");
        }
        // In the series' units, as NF's valid_loss (its windows' scaling inverted), so
        // that each window counts by its size.
        const auto& scale = host_batch.input.scale;
        const auto& mask = host_batch.outsample_mask;
        torch::Tensor terms, frequency;  // frequency: FreDF's per-window term
        if (loss.is_distribution()) {
          // -log p of the point under the distribution mapped to the series' units
          // (NF's scale_decouple): for Normal and StudentT the scaled one's plus
          // log(scale); Poisson's and NegativeBinomial's are there already.
          const auto likelihood = loss.likelihood();
          const auto params = y_hat.to(torch::kCPU);
          if (likelihood.in_series_units()) {
            terms = -likelihood.LogProb(params, InvertScale(host_batch.outsample_y, scale));
          } else {
            terms = -likelihood.LogProb(params, host_batch.outsample_y) +
                    scale.scale.log().expand_as(mask);
          }
        } else {
          const auto forecast = InvertScale(y_hat.to(torch::kCPU), scale);
          const auto actual = InvertScale(host_batch.outsample_y, scale);
          // MASE alone reads the input (scaled back, as NF's valid loss does).
          const auto insample = loss.kind == PointLoss::kMase
                                    ? InvertScale(host_batch.input.insample_y, scale)
                                    : torch::Tensor();
          terms = PointLossTerms(loss, actual, forecast, insample);  // FreDF's: MSE's
          if (loss.kind == PointLoss::kFreDF) {
            frequency = FrequencyTerms(torch::where(mask != 0, actual, torch::zeros_like(actual)),
                                       forecast);
          }
        }
        if (!reducer_ && !frequency.defined()) {
          return ReducePointLoss(loss, terms, mask).item<double>();
        }
        // The ranks' windows may differ (a partitioned table): the loss over all of
        // them, so that every rank makes the same early-stopping decision. FreDF adds its
        // frequency terms and windows.
        const auto kept = torch::where(mask != 0, terms, torch::zeros_like(terms));
        double sums[4] = {(kept * mask).sum().item<double>(), mask.sum().item<double>(), 0, 0};
        if (frequency.defined()) {
          sums[2] = frequency.sum().item<double>();
          sums[3] = static_cast<double>(frequency.size(0));
        }
        if (reducer_) {
          DRC_RETURN_NOT_OK(
              AllReduceSums(options_.comm, std::span<double>(sums, frequency.defined() ? 4 : 2)));
        }
        const double mean = sums[1] > 0 ? sums[0] / sums[1] : 0.0;
        if (frequency.defined()) {
          const double per_window = sums[3] > 0 ? sums[2] / sums[3] : 0.0;
          return (1 - loss.parameter) * mean + loss.parameter * per_window;
        }
        return loss.kind == PointLoss::kRmse ? std::sqrt(mean) : mean;
      });
}

Result<double> Trainer::Fit(WindowedDataset& data, const TrainBatch* validation, int until_step) {
  if (data.options().input_size != config_.input_size ||
      data.options().horizon != config_.horizon) {
    return Status::InvalidArgument(name_, ": windows of input_size ", data.options().input_size,
                                   " and horizon ", data.options().horizon,
                                   " for a model built for ", config_.input_size, " and ",
                                   config_.horizon);
  }
  const int last_step =
      until_step >= 0 ? std::min(until_step, options_.max_steps) : options_.max_steps;
  if (step_ == 0 && data.NfDraws()) {
    // NF's on_fit_start seeds torch again after building the model; its training draws (the
    // windows, dropout) start from there. A resumed fit restores the generator instead.
    DRC_RETURN_NOT_OK(Guard(name_ + ": seeding", [&] { torch::manual_seed(options_.seed); }));
  }
  const auto parameters = model_->parameters();
  model_->train();
  double last = std::nan("");
  const RepeatedDraws repeats = model_->Repeats();
  const bool merge =
      repeats == RepeatedDraws::kMerge || (repeats == RepeatedDraws::kMergeSharingDropout &&
                                           options_.repeats_share_dropout && !options_.nf_dropout);
  const NfDropoutMasks nf_masks(options_.nf_dropout);
  const int threads = IntraOpThreads(options_);
  const int64_t windows_per_step = data.options().windows_batch_size > 0
                                       ? data.options().windows_batch_size
                                       : data.num_windows();
  DRC_ASSIGN_OR_RETURN(window_parts_,
                       ChooseWindowParts(name_,
                                         model_->point_loss().IsMean() ? model_->WindowParallel()
                                                                       : WindowParallelism::kNone,
                                         options_.window_parts, threads, windows_per_step));
  if (!device_.is_cpu()) window_parts_ = 1;  // CPU threads (Make() refused more than one)
  std::unique_ptr<WindowParallelStep> parallel;
  if (window_parts_ > 1 && step_ < last_step) {
    DRC_RETURN_NOT_OK(Guard(name_ + ": starting window-parallel workers", [&] {
      parallel = std::make_unique<WindowParallelStep>(name_, window_parts_,
                                                      std::max(1, threads / window_parts_));
    }));
  }
  while (step_ < last_step && !stopped_early_) {
    DRC_ASSIGN_OR_RETURN(TrainBatch sampled, data.Sample(rng_, merge));
    TrainBatch batch = OnDevice(sampled, device_);
    const double lr = LearningRateAt(step_);
    DRC_ASSIGN_OR_RETURN(
        double loss,
        Guard(name_ + " training step " + std::to_string(step_) + " on input " +
                  ShapeOf(batch.input.insample_y),
              [&]() -> Result<double> {
                // As torch 2.x's zero_grad(): the gradients are reset to none, so that Adam
                // leaves alone a parameter that a step does not reach (SOFTSSharp's pe_scale
                // when its draw skips the positions), where zeros would move it on momentum.
                model_->zero_grad(/*set_to_none=*/true);
                model_->PrepareStep(batch.input, batch.outsample_y.size(1));
                double value = 0;
                if (parallel) {
                  value = parallel->ForwardBackward(*model_, batch);
                } else {
                  auto l =
                      model_->TrainingLoss(batch.input, batch.outsample_y, batch.outsample_mask);
                  l.backward();
                  value = l.item<double>();
                }
                if (reducer_) {
                  DRC_RETURN_NOT_OK(reducer_->AllReduceGradients(parameters, &value).status());
                }
                if (options_.grad_clip_norm > 0) {
                  torch::nn::utils::clip_grad_norm_(parameters, options_.grad_clip_norm);
                }
                for (auto& group : optimizer_->param_groups()) {
                  static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
                }
                AdamStep(*optimizer_);
                return value;
              }));
    if (!std::isfinite(loss)) {
      return Status::FailedPrecondition(name_, ": training loss is ", loss, " at step ", step_);
    }
    losses_.push_back(loss);
    last = loss;
    const int done = ++step_;
    if (validation != nullptr && done % options_.val_check_steps == 0) {
      std::optional<WindowParallelStep::AllThreads> all_threads;
      if (parallel) all_threads.emplace(*parallel);  // validation on all the caller's threads
      if (data.NfDraws()) {
        // NF's validation loop opens a data loader, which takes an int64 draw (its workers'
        // base seed) from libtorch's generator: the next windows are then NF's draws.
        DRC_RETURN_NOT_OK(
            Guard(name_ + ": validation", [] { torch::empty({}, torch::kInt64).random_(); }));
      }
      DRC_ASSIGN_OR_RETURN(double v, ValidationLoss(*validation));
      val_losses_.push_back(v);
      if (val_losses_.size() == 1 || v < best_val_) {
        best_val_ = v;
        checks_without_improvement_ = 0;
      } else if (options_.early_stop_patience_steps > 0 &&
                 ++checks_without_improvement_ >= options_.early_stop_patience_steps) {
        stopped_early_ = true;
      }
    }
    if (!options_.checkpoint_path.empty() && options_.checkpoint_every > 0 &&
        done % options_.checkpoint_every == 0 && done < last_step) {
      DRC_RETURN_NOT_OK(SaveCheckpoint(options_.checkpoint_path, data));
    }
  }
  if (!options_.checkpoint_path.empty()) {
    DRC_RETURN_NOT_OK(SaveCheckpoint(options_.checkpoint_path, data));
  }
  return last;
}

Result<torch::Tensor> Trainer::Predict(const WindowedDataset& data) {
  DRC_ASSIGN_OR_RETURN(Prediction p, PredictQuantiles(data, {}));
  return p.point;
}

Result<Trainer::Prediction> Trainer::PredictQuantiles(const WindowedDataset& data,
                                                      const std::vector<double>& levels) {
  for (double q : levels) {
    if (!(q >= 0 && q <= 1)) {
      return Status::InvalidArgument(name_, ": quantile level ", q, " is not in [0, 1]");
    }
  }
  DRC_ASSIGN_OR_RETURN(TrainBatch batch, data.LastWindows());
  return Guard(
      name_ + " forecast on input " + ShapeOf(batch.input.insample_y), [&]() -> Result<Prediction> {
        torch::NoGradGuard no_grad;
        model_->eval();
        torch::Tensor q;
        if (!levels.empty()) q = torch::tensor(levels, torch::kFloat64);
        QuantileForecast f = model_->Quantiles(OnDevice(batch.input, device_), q);
        model_->train();
        const int64_t s = batch.input.insample_y.size(0);
        const torch::Tensor& y_hat = f.point;
        if (y_hat.dim() != 2 || y_hat.size(0) != s || y_hat.size(1) != config_.horizon) {
          return Status::InvalidArgument(name_, ": forward gave ", ShapeOf(y_hat), " for input ",
                                         ShapeOf(batch.input.insample_y), "; expected [", s, ", ",
                                         config_.horizon, "]");
        }
        Prediction p;
        p.point = InvertScale(y_hat.cpu(), batch.input.scale);
        if (levels.empty()) return p;
        if (!f.quantiles.defined()) {
          return Status::InvalidArgument(
              name_,
              " gives point forecasts only, no quantiles (a model with a distribution loss, "
              "DeepAR, gives them; point models get conformal intervals from drc::dl::Forecast)");
        }
        const int64_t n = static_cast<int64_t>(levels.size());
        if (f.quantiles.sizes().vec() != std::vector<int64_t>{s, config_.horizon, n}) {
          return Status::InvalidArgument(name_, ": quantiles are ", ShapeOf(f.quantiles),
                                         "; expected [", s, ", ", config_.horizon, ", ", n, "]");
        }
        // Every scaler's scale is positive, so the order of the quantiles holds.
        p.quantiles = InvertScale(f.quantiles.cpu(), batch.input.scale);
        return p;
      });
}

Result<SelectionWeights> Trainer::VariableSelection(const WindowedDataset& data) {
  if (!model_->SelectsVariables()) {
    return Status::InvalidArgument(name_,
                                   " selects no variables, so it gives no importances (TFT "
                                   "does)");
  }
  DRC_ASSIGN_OR_RETURN(TrainBatch batch, data.LastWindows());
  return Guard(name_ + " variable selection on input " + ShapeOf(batch.input.insample_y),
               [&]() -> Result<SelectionWeights> {
                 torch::NoGradGuard no_grad;
                 model_->eval();
                 SelectionWeights w = model_->VariableSelection(OnDevice(batch.input, device_));
                 model_->train();
                 for (torch::Tensor* t : {&w.history, &w.future, &w.statics}) {
                   if (t->defined()) *t = t->cpu();
                 }
                 return w;
               });
}

namespace {

torch::Tensor BytesTensor(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  if (!s.empty()) std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
  return t;
}

std::string TensorBytes(const torch::Tensor& t) {
  auto c = t.contiguous().cpu();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), c.numel());
}

constexpr int64_t kCheckpointFormat = 1;

std::string Names(const torch::OrderedDict<std::string, torch::Tensor>& tensors) {
  std::string names;
  for (const auto& item : tensors) names += item.key() + "\n";
  return names;
}

// `kind`_names (newline-separated) and `kind`_<i>.
void WriteTensors(torch::serialize::OutputArchive& archive, const std::string& kind,
                  const torch::OrderedDict<std::string, torch::Tensor>& tensors) {
  archive.write(kind + "_names", BytesTensor(Names(tensors)));
  int64_t i = 0;
  for (const auto& item : tensors) {
    // Host copies: a checkpoint reads back on any device.
    archive.write(kind + "_" + std::to_string(i++), item.value().detach().cpu());
  }
}

// Copies the archive's tensors into `tensors` after checking names and shapes.
Status ReadTensors(torch::serialize::InputArchive& archive, const std::string& kind,
                   const torch::OrderedDict<std::string, torch::Tensor>& tensors,
                   const std::string& path) {
  torch::Tensor names;
  archive.read(kind + "_names", names);
  if (TensorBytes(names) != Names(tensors)) {
    return Status::InvalidArgument(path, ": the checkpoint's ", kind,
                                   "s do not match this model's (another architecture or "
                                   "hyper-parameters)");
  }
  torch::NoGradGuard no_grad;
  int64_t i = 0;
  for (const auto& item : tensors) {
    torch::Tensor saved;
    archive.read(kind + "_" + std::to_string(i++), saved);
    if (saved.sizes() != item.value().sizes()) {
      return Status::InvalidArgument(path, ": ", kind, " '", item.key(), "' is ", ShapeOf(saved),
                                     " in the checkpoint and ", ShapeOf(item.value()),
                                     " in this model");
    }
    item.value().copy_(saved);
  }
  return Status::OK();
}

// Opens the checkpoint at `path` into `archive` (its tensors onto `device`) after checking that
// it is one, of this build's format, written for model `name`.
Status OpenCheckpoint(const std::string& path, const std::string& name, const torch::Device& device,
                      torch::serialize::InputArchive& archive) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Status::NotFound(name, ": no checkpoint at ", path);
  }
  archive.load_from(path, device);
  // A fresh tensor per read (reading into a used one resizes its storage).
  torch::Tensor format, model_name;
  archive.read("format", format);
  if (format.item<int64_t>() != kCheckpointFormat) {
    return Status::InvalidArgument(path, ": checkpoint format ", format.item<int64_t>(),
                                   ", this build reads ", kCheckpointFormat);
  }
  archive.read("model_name", model_name);
  if (TensorBytes(model_name.cpu()) != name) {
    return Status::InvalidArgument(path, ": checkpoint of model '", TensorBytes(model_name.cpu()),
                                   "', not of '", name, "'");
  }
  return Status::OK();
}

}  // namespace

Status Trainer::CheckBeforeFirstStep() const {
  if (step_ == 0) return Status::OK();
  return Status::FailedPrecondition(name_, ": a warm start must come before the first step (",
                                    step_, " taken)");
}

Status Trainer::StartFromCheckpoint(const std::string& path) {
  DRC_RETURN_NOT_OK(CheckBeforeFirstStep());
  return Guard(name_ + ": starting from checkpoint " + path, [&]() -> Status {
    torch::serialize::InputArchive archive;
    DRC_RETURN_NOT_OK(OpenCheckpoint(path, name_, device_, archive));
    DRC_RETURN_NOT_OK(ReadTensors(archive, "param", model_->named_parameters(), path));
    DRC_RETURN_NOT_OK(ReadTensors(archive, "buffer", model_->named_buffers(), path));
    warm_started_ = true;
    return Status::OK();
  });
}

Status Trainer::StartFrom(const ForecastModel& fitted) {
  DRC_RETURN_NOT_OK(CheckBeforeFirstStep());
  auto copy = [&](const torch::OrderedDict<std::string, torch::Tensor>& from,
                  const torch::OrderedDict<std::string, torch::Tensor>& to,
                  const char* kind) -> Status {
    if (Names(from) != Names(to)) {
      return Status::InvalidArgument(name_, ": cannot start from the fitted model: its ", kind,
                                     "s are not this model's (another architecture)");
    }
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < to.size(); ++i) {
      const torch::Tensor& source = from[i].value();
      const torch::Tensor& target = to[i].value();
      if (source.sizes() != target.sizes()) {
        return Status::InvalidArgument(name_, ": cannot start from the fitted model: ", kind, " '",
                                       to[i].key(), "' is ", ShapeOf(source), " there and ",
                                       ShapeOf(target), " here");
      }
      target.copy_(source);
    }
    return Status::OK();
  };
  return Guard(name_ + ": warm start", [&]() -> Status {
    DRC_RETURN_NOT_OK(copy(fitted.named_parameters(), model_->named_parameters(), "parameter"));
    DRC_RETURN_NOT_OK(copy(fitted.named_buffers(), model_->named_buffers(), "buffer"));
    warm_started_ = true;
    return Status::OK();
  });
}

Status Trainer::SaveCheckpoint(const std::string& path, const WindowedDataset& data) const {
  const std::string tmp = path + ".tmp";
  DRC_RETURN_NOT_OK(Guard(name_ + ": writing checkpoint " + path, [&] {
    torch::serialize::OutputArchive archive;
    archive.write("format", torch::tensor(kCheckpointFormat));
    archive.write("model_name", BytesTensor(name_));
    archive.write("step", torch::tensor(static_cast<int64_t>(step_)));
    archive.write("stopped_early", torch::tensor(static_cast<int64_t>(stopped_early_)));
    archive.write("warm_start", torch::tensor(static_cast<int64_t>(warm_started_)));
    archive.write("best_val", torch::tensor(best_val_, torch::kFloat64));
    archive.write("checks_without_improvement",
                  torch::tensor(static_cast<int64_t>(checks_without_improvement_)));
    archive.write("losses", torch::tensor(losses_, torch::kFloat64));
    archive.write("val_losses", torch::tensor(val_losses_, torch::kFloat64));
    std::ostringstream rng;
    rng << rng_;
    archive.write("sampling_rng", BytesTensor(rng.str()));
    archive.write("sampler", torch::tensor(data.SamplerState(), torch::kInt64));
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      archive.write("torch_generator", gen.get_state());
    }
    if (device_.is_cuda()) {  // dropout masks on a GPU come from its own generator
      auto gen = at::globalContext().defaultGenerator(device_);
      std::lock_guard<std::mutex> lock(gen.mutex());
      archive.write("cuda_generator", gen.get_state());
    }
    // Parameters and buffers flat, by position, with their names alongside: Module::save
    // nests TorchScript modules named after ours, which breaks on names like "in".
    WriteTensors(archive, "param", model_->named_parameters());
    WriteTensors(archive, "buffer", model_->named_buffers());
    torch::serialize::OutputArchive optimizer_archive;
    optimizer_->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
    archive.save_to(tmp);
  }));
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return Status::IOError(name_, ": cannot move checkpoint into place at ", path, ": ",
                           ec.message());
  }
  return Status::OK();
}

Status Trainer::Resume(const std::string& path, WindowedDataset& data) {
  return Guard(name_ + ": reading checkpoint " + path, [&]() -> Status {
    torch::serialize::InputArchive archive;
    DRC_RETURN_NOT_OK(OpenCheckpoint(path, name_, device_, archive));
    // A fresh tensor per read (reading into a used one resizes its storage).
    auto read = [&](const char* key) {  // the run's own state: on the host
      torch::Tensor t;
      archive.read(key, t);
      return t.cpu();
    };
    torch::Tensor t;
    // Checkpoints from before warm starts lack the key: their runs started from the initial
    // weights.
    torch::Tensor warm;
    const bool written_warm = archive.try_read("warm_start", warm) && warm.item<int64_t>() != 0;
    if (written_warm != warm_started_) {
      auto start = [](bool given) {
        return given ? "from weights it was given (the fit before it, or --init-from's)"
                     : "from the initial weights";
      };
      return Status::InvalidArgument(path, ": checkpoint of a run that started ",
                                     start(written_warm), "; this one starts ",
                                     start(warm_started_),
                                     " (resume with the same --warm-start and --init-from, or "
                                     "remove the checkpoint)");
    }
    t = read("step");
    const int64_t step = t.item<int64_t>();
    if (step < 0 || step > options_.max_steps) {
      return Status::InvalidArgument(path, ": checkpoint at step ", step, " of a run of ",
                                     options_.max_steps, " steps");
    }
    DRC_RETURN_NOT_OK(ReadTensors(archive, "param", model_->named_parameters(), path));
    DRC_RETURN_NOT_OK(ReadTensors(archive, "buffer", model_->named_buffers(), path));
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer_->load(optimizer_archive);
    t = read("sampler");
    auto sampler = t.contiguous();
    DRC_RETURN_NOT_OK(data.SetSamplerState(std::vector<int64_t>(
        sampler.data_ptr<int64_t>(), sampler.data_ptr<int64_t>() + sampler.numel())));
    t = read("sampling_rng");
    std::istringstream rng(TensorBytes(t));
    rng >> rng_;
    if (!rng) return Status::InvalidArgument(path, ": unreadable sampling RNG state");
    t = read("torch_generator");
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(t);
    }
    // Written by a trainer on a GPU; resumed on a GPU, the masks go on as they would have. (On the
    // CPU it is not needed; a checkpoint from the CPU leaves the GPU's generator as seeded.)
    torch::Tensor cuda_state;  // a fresh tensor, as read() makes
    if (device_.is_cuda() && archive.try_read("cuda_generator", cuda_state)) {
      auto gen = at::globalContext().defaultGenerator(device_);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(cuda_state.cpu());
    }
    t = read("stopped_early");
    stopped_early_ = t.item<int64_t>() != 0;
    t = read("best_val");
    best_val_ = t.item<double>();
    t = read("checks_without_improvement");
    checks_without_improvement_ = static_cast<int>(t.item<int64_t>());
    t = read("losses");
    losses_.assign(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    t = read("val_losses");
    val_losses_.assign(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    step_ = static_cast<int>(step);
    return Status::OK();
  });
}

}  // namespace drc::dl
