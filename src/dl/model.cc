#include "src/dl/model.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "drc/common/strings.h"

#include "src/dl/categorical.h"
#include "src/dl/distributions.h"
#include "src/dl/named_params.h"
#include "src/dl/torch_status.h"
#include "src/dl/windows.h"

namespace drc::dl {
namespace {

// Values of `likelihood` ([B, H] or [B, H, Q]) between the scaled space and the units it lives
// in: the series' units for a count distribution of a batch with statistics, else unchanged.
torch::Tensor ToLikelihoodUnits(const Likelihood& likelihood, const torch::Tensor& z,
                                const WindowScale& s) {
  return likelihood.in_series_units() && s.scale.defined() ? InvertScale(z, s) : z;
}
torch::Tensor FromLikelihoodUnits(const Likelihood& likelihood, const torch::Tensor& x,
                                  const WindowScale& s) {
  return likelihood.in_series_units() && s.scale.defined() ? ApplyScale(x, s) : x;
}

}  // namespace

torch::Tensor ForecastModel::TrainingLoss(const WindowBatch& batch, const torch::Tensor& y,
                                          const torch::Tensor& mask) {
  return ScoreOutputs(
      batch, point_loss_.is_distribution() ? DistributionParams(batch) : Forward(batch), y, mask);
}

torch::Tensor ForecastModel::ScoreOutputs(const WindowBatch& batch, const torch::Tensor& y_hat,
                                          const torch::Tensor& y, const torch::Tensor& mask) const {
  std::vector<int64_t> expected = y.sizes().vec();
  if (point_loss_.Outputs() > 1 || point_loss_.is_distribution()) {
    expected.push_back(point_loss_.Outputs());
  }
  if (y_hat.sizes().vec() != expected) {
    std::string shape = "[";
    for (size_t i = 0; i < expected.size(); ++i) {
      shape += (i > 0 ? ", " : "") + std::to_string(expected[i]);
    }
    throw std::invalid_argument("forward gave " + ShapeOf(y_hat) + " for input " +
                                ShapeOf(batch.insample_y) + "; expected " + shape + "]");
  }
  const auto weights = batch.weight.defined() ? mask * batch.weight.unsqueeze(1) : mask;
  if (point_loss_.kind == PointLoss::kMae) return MaskedMae(y, y_hat, weights);
  // FreDF's frequency term is a mean over the windows: merged repeats count by their draws.
  if (point_loss_.kind == PointLoss::kFreDF) {
    return FreDFLoss(point_loss_, y, y_hat, weights, batch.weight);
  }
  if (point_loss_.is_distribution()) {
    // NF's DistributionLoss: the weighted mean negative log-likelihood, of the values in the
    // units the distribution lives in.
    const auto likelihood = point_loss_.likelihood();
    return likelihood.MaskedNll(y_hat, ToLikelihoodUnits(likelihood, y, batch.scale), weights);
  }
  return ComputePointLoss(point_loss_, y, y_hat, weights, batch.insample_y);
}

torch::Tensor ForecastModel::DistributionParams(const WindowBatch& batch) {
  return MapDistribution(batch, Forward(batch));
}

torch::Tensor ForecastModel::MapDistribution(const WindowBatch& batch, torch::Tensor raw) const {
  const auto likelihood = point_loss_.likelihood();
  if (likelihood.num_params() == 1 && raw.dim() == 2) raw = raw.unsqueeze(-1);  // Poisson's [B, H]
  if (!likelihood.in_series_units()) return likelihood.MapParams(raw);
  return likelihood.MapParams(raw, batch.scale.shift, batch.scale.scale);
}

torch::Tensor ForecastModel::DistributionMean(const WindowBatch& batch,
                                              const torch::Tensor& params) const {
  const auto likelihood = point_loss_.likelihood();
  return FromLikelihoodUnits(likelihood, likelihood.Mean(params), batch.scale);
}

torch::Tensor ForecastModel::PointForecast(const WindowBatch& batch) {
  if (point_loss_.is_distribution()) return DistributionMean(batch, DistributionParams(batch));
  auto out = Forward(batch);
  if (point_loss_.Outputs() == 1) return out;
  return out.select(-1, point_loss_.PointOutput());
}

SelectionWeights ForecastModel::VariableSelection(const WindowBatch& batch) {
  (void)batch;
  throw std::invalid_argument("the model selects no variables (TFT does)");
}

QuantileForecast ForecastModel::Quantiles(const WindowBatch& batch, const torch::Tensor& q) {
  if (point_loss_.is_distribution()) {
    // NF's DistributionLoss.sample: num_samples draws per point and their empirical quantiles,
    // from a generator seeded with the run's seed. The point forecast is the distribution's
    // mean, which NF estimates by the mean of those draws. Both go back to the scaled space.
    const auto likelihood = point_loss_.likelihood();
    const auto params = DistributionParams(batch);  // [B, H, P]
    QuantileForecast f{FromLikelihoodUnits(likelihood, likelihood.Mean(params), batch.scale),
                       torch::Tensor()};
    if (!q.defined() || q.numel() == 0) return f;
    at::Generator generator = at::detail::createCPUGenerator(point_loss_.sampling_seed);
    f.quantiles =
        FromLikelihoodUnits(likelihood,
                            likelihood.SampleQuantiles(params, q.to(params.options()),
                                                       point_loss_.num_samples, generator),
                            batch.scale);
    return f;
  }
  if (!point_loss_.multi_quantile()) return {PointForecast(batch), torch::Tensor()};
  auto out = Forward(batch);                    // [B, H, Q]
  if (out.dim() == 2) out = out.unsqueeze(-1);  // MQLoss(quantiles=[0.5]): one output
  QuantileForecast f{out.select(-1, point_loss_.PointOutput()), torch::Tensor()};
  if (!q.defined() || q.numel() == 0) return f;
  // The outputs at the levels asked, which must be among the loss's quantiles.
  const auto& trained = point_loss_.quantiles;
  std::vector<int64_t> columns;
  const auto asked = q.to(torch::kFloat64).contiguous();
  for (int64_t i = 0; i < asked.numel(); ++i) {
    const double level = asked.data_ptr<double>()[i];
    auto it = std::find_if(trained.begin(), trained.end(),
                           [&](double t) { return std::abs(t - level) < 1e-9; });
    if (it == trained.end()) {
      throw std::invalid_argument("quantile " + std::to_string(level) + " is not one of " +
                                  point_loss_.Name() + "'s");
    }
    columns.push_back(it - trained.begin());
  }
  f.quantiles = out.index_select(-1, torch::tensor(columns, torch::kInt64).to(out.device()));
  return f;
}

Status ModelRegistry::Register(std::string name, ModelFactory factory, TrainDefaults defaults,
                               DefaultsRule rule) {
  if (name.empty()) return Status::InvalidArgument("model registry: empty model name");
  if (entries_.count(name) != 0) {
    return Status::AlreadyExists("model registry: '", name, "' is already registered");
  }
  entries_.emplace(std::move(name),
                   Entry{std::move(factory), std::move(defaults), std::move(rule)});
  return Status::OK();
}

Result<std::shared_ptr<ForecastModel>> ModelRegistry::Make(const std::string& name,
                                                           const ModelConfig& config) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return Status::NotFound("unknown model '", name, "' (registered: ", JoinList(Names()), ")");
  }
  if (config.input_size <= 0 || config.horizon <= 0) {
    return Status::InvalidArgument(name, ": input_size and horizon must be > 0, got ",
                                   config.input_size, " and ", config.horizon);
  }
  if (config.categorical.empty()) return it->second.factory(config);
  DRC_ASSIGN_OR_RETURN(const TrainDefaults defaults, Defaults(name, config.params));
  return CategoricalExogModel::Make(config, it->second.factory, defaults.recurrent);
}

Result<TrainDefaults> ModelRegistry::Defaults(const std::string& name) const {
  return Defaults(name, {});
}

Result<TrainDefaults> ModelRegistry::Defaults(const std::string& name,
                                              const std::map<std::string, double>& params) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return Status::NotFound("unknown model '", name, "' (registered: ", JoinList(Names()), ")");
  }
  TrainDefaults defaults = it->second.defaults;
  if (it->second.rule) it->second.rule(defaults, params);
  return defaults;
}

std::vector<std::string> ModelRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

double Params::Take(const std::string& key, double fallback) {
  taken_.push_back(key);
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

int Params::TakeInt(const std::string& key, int fallback) {
  const double v = Take(key, fallback);
  const bool whole = v == std::floor(v) && v >= std::numeric_limits<int>::min() &&
                     v <= std::numeric_limits<int>::max();
  if (!whole) {
    if (not_whole_.empty()) not_whole_ = key;
    return fallback;
  }
  return static_cast<int>(v);
}

Status Params::Finish() const {
  for (const auto& [key, value] : values_) {
    if (std::find(taken_.begin(), taken_.end(), key) == taken_.end()) {
      std::vector<std::string> known = taken_;
      std::sort(known.begin(), known.end());
      return Status::InvalidArgument(model_, ": unknown hyper-parameter '", key, "' (", model_,
                                     " takes ", JoinList(known), ")");
    }
  }
  if (!not_whole_.empty()) {
    return Status::InvalidArgument(model_, ": ", not_whole_, " must be a whole number, got ",
                                   values_.at(not_whole_));
  }
  return Status::OK();
}

torch::Tensor WithFlatExog(const torch::Tensor& x, const WindowBatch& batch, int64_t hist,
                           int64_t futr, int64_t stat) {
  if (hist + futr + stat == 0) return x;
  std::vector<torch::Tensor> parts = {x};
  if (hist > 0) parts.push_back(batch.hist_exog.flatten(1));
  if (futr > 0) parts.push_back(batch.futr_exog.flatten(1));
  if (stat > 0) parts.push_back(batch.stat_exog.flatten(1));
  return torch::cat(parts, 1);
}

Status CheckAtLeast(const std::string& model, const std::string& key, double value, double min) {
  if (!(value >= min)) {
    return Status::InvalidArgument(model, ": ", key, " must be >= ", min, ", got ", value);
  }
  return Status::OK();
}

Status CheckNamedCode(const std::string& model, const std::string& key, int code) {
  const int count = static_cast<int>(FindNamedParam(key)->names.size());
  if (code < 0 || code >= count) {
    return Status::InvalidArgument(model, ": ", key, " must be one of ", NamedParamChoices(key),
                                   " (or its code 0 to ", count - 1, "), got ", code);
  }
  return Status::OK();
}

Status CheckRange(const std::string& model, const std::string& key, double value, double min,
                  double max) {
  if (!(value >= min && value <= max)) {
    return Status::InvalidArgument(model, ": ", key, " must be in [", min, ", ", max, "], got ",
                                   value);
  }
  return Status::OK();
}

torch::Tensor MultivariateWindows(const std::string& model, const torch::Tensor& insample_y,
                                  int64_t n_series, int64_t input_size) {
  const torch::Tensor& y = insample_y;
  TORCH_CHECK(y.defined() && y.dim() == 2 && y.size(1) == input_size && y.size(0) % n_series == 0,
              model, ": insample_y must be [W * ", n_series, " series, ", input_size, "], got ",
              y.defined() ? y.sizes() : torch::IntArrayRef{});
  return y.view({y.size(0) / n_series, n_series, input_size});
}

torch::Tensor MultivariateRows(const torch::Tensor& z, int64_t horizon, int64_t outputs) {
  return outputs == 1 ? z.reshape({-1, horizon}) : z.reshape({-1, horizon, outputs});
}

torch::Tensor MixedSeriesOutputs(const torch::Tensor& z, int64_t n_series, int64_t outputs,
                                 bool series_major) {
  const int64_t W = z.size(0), H = z.size(1);
  const torch::Tensor per_series =
      series_major ? z.view({W, H, n_series, outputs}).permute({0, 2, 1, 3})
                   : z.view({W, H, outputs, n_series}).permute({0, 3, 1, 2});  // [W, N, H, Q]
  return per_series.reshape({W, n_series, H * outputs});
}

torch::Tensor SeriesNorm::Normalize(const torch::Tensor& x, bool detach_std) {
  mean_ = x.mean(2, /*keepdim=*/true).detach();
  const torch::Tensor centred = x - mean_;
  std_ = torch::sqrt(centred.var(2, /*unbiased=*/false, /*keepdim=*/true) + 1e-5);
  if (detach_std) std_ = std_.detach();
  return centred / std_;
}

TrainDefaults MultivariateTrainDefaults() {
  TrainDefaults d;
  d.num_lr_decays = -1;
  d.windows_batch_size = 32;
  d.multivariate = true;
  return d;
}

Status CheckMultivariateConfig(const std::string& model, const ModelConfig& config) {
  if (config.n_series < 1) {
    return Status::InvalidArgument(model, ": n_series must be >= 1, got ", config.n_series);
  }
  if (config.outputs < 1) {
    return Status::InvalidArgument(model, ": outputs per step must be >= 1, got ", config.outputs);
  }
  if (!config.likelihood.empty()) {
    return Status::InvalidArgument(model, ": a likelihood (", config.likelihood,
                                   ") is for DeepAR; a multivariate model takes a "
                                   "DistributionLoss as its loss");
  }
  return Status::OK();
}

Status CheckFlag(const std::string& model, const std::string& key, double value) {
  if (value != 0 && value != 1) {
    return Status::InvalidArgument(model, ": ", key, " must be 0 or 1 (false or true), got ",
                                   value);
  }
  return Status::OK();
}

Status CheckRate(const std::string& model, const std::string& key, double value) {
  if (!(value >= 0 && value < 1)) {
    return Status::InvalidArgument(model, ": ", key, " must be in [0, 1), got ", value);
  }
  return Status::OK();
}

}  // namespace drc::dl
