// Training and evaluation of NeuralHydrology-style rainfall-runoff models (see
// include/drc/dl/hydrology.h for what follows NH and where it deviates).
#include "drc/dl/hydrology.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>

#include "drc/common/clock.h"
#include "drc/common/cpus.h"
#include "drc/dl/basin_table.h"
#include "drc/dl/metrics.h"
#include "src/dl/data_parallel.h"
#include "src/dl/hydro_models.h"
#include "src/dl/torch_status.h"
#include "src/dl/trainer.h"
#include "src/dl/window_parallel.h"

namespace drc::dl {
namespace {

// NH's NSELoss eps.
constexpr double kNseEps = 0.1;

struct Period {
  Day start = 0, end = 0;
};

Result<Period> ParsePeriod(const std::string& name, const std::string& start,
                           const std::string& end) {
  Period p;
  auto s = ParseDay(start);
  if (!s.ok())
    return Status::InvalidArgument("hydrology config ", name, "_start: ", s.status().message());
  auto e = ParseDay(end);
  if (!e.ok())
    return Status::InvalidArgument("hydrology config ", name, "_end: ", e.status().message());
  p.start = *s;
  p.end = *e;
  if (p.end < p.start) {
    return Status::InvalidArgument("hydrology config: ", name, " period ", start, " .. ", end,
                                   " ends before it starts");
  }
  return p;
}

Status CheckConfig(const HydroConfig& c) {
  auto bad = [](const char* field, auto value, const char* expected) {
    return Status::InvalidArgument("hydrology config ", field, ": ", value, "; expected ",
                                   expected);
  };
  if (c.seq_length < 1) return bad("seq_length", c.seq_length, ">= 1");
  if (c.predict_last_n < 1 || c.predict_last_n > c.seq_length) {
    return bad("predict_last_n", c.predict_last_n, "1 .. seq_length");
  }
  if (c.hidden_size < 1) return bad("hidden_size", c.hidden_size, ">= 1");
  if (!(c.output_dropout >= 0 && c.output_dropout < 1)) {
    return bad("output_dropout", c.output_dropout, "in [0, 1)");
  }
  if (c.epochs < 0) return bad("epochs", c.epochs, ">= 0");
  if (c.batch_size < 1) return bad("batch_size", c.batch_size, ">= 1");
  if (c.clip_gradient_norm < 0) return bad("clip_gradient_norm", c.clip_gradient_norm, ">= 0");
  if (c.loss != "NSE" && c.loss != "MSE") return bad("loss", c.loss, "NSE or MSE");
  if (c.learning_rate.empty() || c.learning_rate.begin()->first != 0) {
    return Status::InvalidArgument(
        "hydrology config learning_rate: needs a rate from epoch 0 on ({0: lr, ...})");
  }
  for (auto [epoch, lr] : c.learning_rate) {
    if (!(lr > 0)) {
      return Status::InvalidArgument("hydrology config learning_rate at epoch ", epoch, ": ", lr,
                                     "; expected > 0");
    }
  }
  if (c.table.empty() && c.dynamic_inputs.empty()) {
    return bad("dynamic_inputs", "none", "at least one");
  }
  DRC_RETURN_NOT_OK(
      MakeHydroModel(
          c.model, {.dynamic_inputs = 1, .static_inputs = 1, .hidden_size = 1, .output_dropout = 0})
          .status());
  return Status::OK();
}

// Mean and std (ddof 0, NaN skipped) of values; std 0 or no value -> scale 1.
struct Moments {
  double mean = 0, std = 1;
};

struct Accumulator {
  double sum = 0, sum_sq = 0;
  int64_t n = 0;
  void Add(double v) {
    if (std::isnan(v)) return;
    sum += v;
    sum_sq += v * v;
    ++n;
  }
  // ddof 0; 0 when constant.
  double RawStd() const {
    if (n == 0) return 0;
    const double mean = sum / static_cast<double>(n);
    return std::sqrt(std::max(0.0, sum_sq / static_cast<double>(n) - mean * mean));
  }
  Moments Get(bool ddof1 = false) const {
    Moments m;
    if (n == 0) return m;
    m.mean = sum / static_cast<double>(n);
    const double denom = static_cast<double>(ddof1 ? n - 1 : n);
    const double var = denom > 0 ? std::max(0.0, (sum_sq - n * m.mean * m.mean) / denom) : 0.0;
    m.std = var > 0 ? std::sqrt(var) : 1.0;
    return m;
  }
};

// Index range [first, last] of a basin's days inside a period (empty when first > last).
std::pair<int64_t, int64_t> Range(const BasinSeries& basin, Period p) {
  const int64_t n = static_cast<int64_t>(basin.days.size());
  const int64_t first = std::max<int64_t>(0, p.start - basin.days.front());
  const int64_t last = std::min<int64_t>(n - 1, p.end - basin.days.front());
  return {first, last};
}

double Median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Everything the training and evaluation loops read, as tensors.
struct Prepared {
  std::vector<BasinSeries> basins;
  std::vector<int64_t> offsets;            // row of each basin's first day in x / y
  torch::Tensor x;                         // [rows, F_dyn] normalised, NaN where missing
  torch::Tensor y;                         // [rows] normalised target, NaN where missing
  torch::Tensor statics;                   // [basins, F_stat] normalised
  torch::Tensor target_std;                // [basins] NSE* std of the raw training target
  std::vector<int32_t> incomplete_before;  // per row: rows with a NaN input before it (+1 end)
  Moments target;
  HydroScaler scaler;  // the same moments, reported
};

// Whether rows [end - len + 1, end] of the basin starting at `offset` have every input.
bool WindowComplete(const Prepared& d, int64_t offset, int64_t end, int64_t len) {
  if (end - len + 1 < 0) return false;
  const int64_t a = offset + end - len + 1, b = offset + end + 1;
  return d.incomplete_before[b] - d.incomplete_before[a] == 0;
}

// The basins, their static attributes ([basin][attribute]) and the names of both, from the
// CAMELS-US folder or from tables.
struct Loaded {
  std::vector<BasinSeries> basins;
  std::vector<std::vector<double>> attributes;
  std::vector<std::string> dynamic_inputs, static_attributes;
};

Result<Loaded> Load(const HydroConfig& config) {
  Loaded l;
  l.dynamic_inputs = config.dynamic_inputs;
  std::vector<std::string> gauges = config.basins;
  if (!config.table.empty()) {
    DRC_ASSIGN_OR_RETURN(l.basins, ReadBasinTable(config.table, gauges, &l.dynamic_inputs));
    gauges.clear();
    for (const auto& basin : l.basins) gauges.push_back(basin.gauge_id);
    if (!config.attributes_table.empty()) {
      l.static_attributes = config.static_attributes;
      DRC_ASSIGN_OR_RETURN(
          l.attributes, ReadAttributeTable(config.attributes_table, gauges, &l.static_attributes));
    }
  } else {
    if (gauges.empty()) {
      DRC_ASSIGN_OR_RETURN(gauges, ListCamelsBasins(config.data_dir));
      if (gauges.empty()) {
        return Status::NotFound("hydrology: no basin under ", config.data_dir, "/forcing_daymet");
      }
    }
    for (const auto& g : gauges) {
      DRC_ASSIGN_OR_RETURN(auto basin, ReadCamelsBasin(config.data_dir, g, l.dynamic_inputs));
      l.basins.push_back(std::move(basin));
    }
    l.static_attributes = config.static_attributes;
    if (!l.static_attributes.empty()) {
      DRC_ASSIGN_OR_RETURN(l.attributes,
                           ReadCamelsAttributes(config.data_dir, gauges, l.static_attributes));
    }
  }
  l.attributes.resize(l.basins.size());
  for (size_t b = 0; b < gauges.size(); ++b) {
    for (size_t a = 0; a < l.static_attributes.size(); ++a) {
      if (std::isnan(l.attributes[b][a])) {
        return Status::InvalidArgument("hydrology: basin ", gauges[b],
                                       " has no value (NA) for static attribute '",
                                       l.static_attributes[a], "'");
      }
    }
  }
  return l;
}

Result<Prepared> Prepare(Loaded loaded, Period train, const HydroConfig& config) {
  Prepared d;
  d.basins = std::move(loaded.basins);
  const auto& attributes = loaded.attributes;
  const size_t nf = loaded.dynamic_inputs.size();

  // Normalisation over the training period of every basin (NH's scaler).
  std::vector<Accumulator> feature(nf);
  Accumulator target;
  std::vector<double> target_std(d.basins.size());
  for (size_t b = 0; b < d.basins.size(); ++b) {
    const auto& basin = d.basins[b];
    auto [first, last] = Range(basin, train);
    Accumulator own;
    for (int64_t i = first; i <= last; ++i) {
      for (size_t f = 0; f < nf; ++f) feature[f].Add(basin.Dynamic(i, f));
      target.Add(basin.qobs_mm_day[i]);
      own.Add(basin.qobs_mm_day[i]);
    }
    if (own.n == 0) {
      return Status::InvalidArgument("hydrology: basin ", basin.gauge_id,
                                     " has no observed discharge in the training period ",
                                     config.train_start, " .. ", config.train_end);
    }
    target_std[b] = own.RawStd();  // NH: np.nanstd of the raw target (ddof 0)
  }
  d.target = target.Get();
  std::vector<Moments> fm(nf);
  for (size_t f = 0; f < nf; ++f) fm[f] = feature[f].Get();
  const size_t ns = loaded.static_attributes.size();
  std::vector<Moments> sm(ns);
  for (size_t a = 0; a < ns; ++a) {
    Accumulator acc;
    for (size_t b = 0; b < d.basins.size(); ++b) acc.Add(attributes[b][a]);
    sm[a] = acc.Get(/*ddof1=*/true);  // pandas' std, as NH's attribute scaler
  }
  for (const Moments& m : fm) {
    d.scaler.dynamic_mean.push_back(m.mean);
    d.scaler.dynamic_std.push_back(m.std);
  }
  for (const Moments& m : sm) {
    d.scaler.attribute_mean.push_back(m.mean);
    d.scaler.attribute_std.push_back(m.std);
  }
  d.scaler.target_mean = d.target.mean;
  d.scaler.target_std = d.target.std;
  d.scaler.basin_target_std = target_std;

  int64_t rows = 0;
  for (const auto& basin : d.basins) {
    d.offsets.push_back(rows);
    rows += static_cast<int64_t>(basin.days.size());
  }
  std::vector<float> x(static_cast<size_t>(rows) * nf), y(static_cast<size_t>(rows));
  d.incomplete_before.assign(static_cast<size_t>(rows) + 1, 0);
  for (size_t b = 0; b < d.basins.size(); ++b) {
    const auto& basin = d.basins[b];
    for (size_t i = 0; i < basin.days.size(); ++i) {
      const size_t r = static_cast<size_t>(d.offsets[b]) + i;
      bool complete = true;
      for (size_t f = 0; f < nf; ++f) {
        const double v = basin.Dynamic(i, f);
        complete = complete && std::isfinite(v);
        x[r * nf + f] = static_cast<float>((v - fm[f].mean) / fm[f].std);
      }
      y[r] = static_cast<float>((basin.qobs_mm_day[i] - d.target.mean) / d.target.std);
      d.incomplete_before[r + 1] = d.incomplete_before[r] + (complete ? 0 : 1);
    }
  }
  const size_t nb = d.basins.size();
  std::vector<float> s(nb * ns);
  for (size_t b = 0; b < nb; ++b) {
    for (size_t a = 0; a < ns; ++a) {
      s[b * ns + a] = static_cast<float>((attributes[b][a] - sm[a].mean) / sm[a].std);
    }
  }
  DRC_RETURN_NOT_OK(Guard("hydrology: building the input tensors", [&] {
    d.x = torch::from_blob(x.data(), {rows, static_cast<int64_t>(nf)}, torch::kFloat32).clone();
    d.y = torch::from_blob(y.data(), {rows}, torch::kFloat32).clone();
    d.statics = torch::from_blob(s.data(), {static_cast<int64_t>(nb), static_cast<int64_t>(ns)},
                                 torch::kFloat32)
                    .clone();
    d.target_std = torch::tensor(std::vector<float>(target_std.begin(), target_std.end()));
  }));
  return d;
}

// One sample: basin b, the index of its last input day.
struct Sample {
  int32_t basin;
  int32_t end;
};

// The inputs (and targets) of `samples`: x_d [B, L, F], x_s [B, F_s], y [B, n], std [B].
struct Gathered {
  HydroBatch batch;
  torch::Tensor y, target_std;
};

// On `device`: the data stay in host memory, and each batch is copied where the model is.
Gathered Gather(const Prepared& d, const Sample* samples, int64_t count, int64_t len,
                int64_t last_n, const torch::Device& device) {
  std::vector<int64_t> rows(static_cast<size_t>(count * len));
  std::vector<int64_t> basins(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    const int64_t start = d.offsets[samples[k].basin] + samples[k].end - len + 1;
    for (int64_t t = 0; t < len; ++t) rows[k * len + t] = start + t;
    basins[k] = samples[k].basin;
  }
  auto rows_t = torch::tensor(rows, torch::kInt64).view({count, len});
  auto basins_t = torch::tensor(basins, torch::kInt64);
  Gathered g;
  g.batch.x_d = d.x.index_select(0, rows_t.view({-1})).view({count, len, d.x.size(1)});
  g.batch.x_s = d.statics.index_select(0, basins_t);
  g.y = d.y.index_select(0, rows_t.narrow(1, len - last_n, last_n).reshape({-1}))
            .view({count, last_n});
  g.target_std = d.target_std.index_select(0, basins_t);
  if (!device.is_cpu()) {
    g.batch.x_d = g.batch.x_d.to(device);
    g.batch.x_s = g.batch.x_s.to(device);
    g.y = g.y.to(device);
    g.target_std = g.target_std.to(device);
  }
  return g;
}

}  // namespace

Result<HydroResult> TrainAndEvaluateHydro(const HydroConfig& config) {
  Stopwatch watch;
  DRC_RETURN_NOT_OK(CheckConfig(config));
  auto resolved = ResolveDevice(config.device);
  if (!resolved.ok()) return resolved.status().WithContext("hydrology");
  const torch::Device device = *resolved;
  DRC_ASSIGN_OR_RETURN(Period train, ParsePeriod("train", config.train_start, config.train_end));
  DRC_ASSIGN_OR_RETURN(Period test, ParsePeriod("test", config.test_start, config.test_end));
  DRC_ASSIGN_OR_RETURN(Loaded loaded, Load(config));
  const std::vector<std::string> dynamic_inputs = loaded.dynamic_inputs;
  const std::vector<std::string> static_attributes = loaded.static_attributes;
  DRC_ASSIGN_OR_RETURN(Prepared d, Prepare(std::move(loaded), train, config));
  const int64_t len = config.seq_length, last_n = config.predict_last_n;

  std::vector<Sample> samples;
  for (size_t b = 0; b < d.basins.size(); ++b) {
    auto [first, last] = Range(d.basins[b], train);
    const float* y = d.y.data_ptr<float>() + d.offsets[b];
    for (int64_t i = first; i <= last; ++i) {
      if (!WindowComplete(d, d.offsets[b], i, len)) continue;
      bool observed = false;
      for (int64_t t = i - last_n + 1; t <= i; ++t) observed = observed || !std::isnan(y[t]);
      if (observed) samples.push_back({static_cast<int32_t>(b), static_cast<int32_t>(i)});
    }
  }
  if (samples.empty()) {
    return Status::FailedPrecondition(
        "hydrology: no training sample: no day of ", config.train_start, " .. ", config.train_end,
        " has a complete ", len,
        "-day input window and an observed target (shorten seq_length "
        "or move the training period later)");
  }

  const int threads = config.threads > 0 ? config.threads : DefaultThreads();
  DRC_RETURN_NOT_OK(Guard("hydrology: seeding", [&] {
    torch::set_num_threads(threads);
    SetBlasThreads(threads);
    torch::manual_seed(config.seed);
  }));
  HydroModelOptions mo;
  mo.dynamic_inputs = static_cast<int>(dynamic_inputs.size());
  mo.static_inputs = static_cast<int>(static_attributes.size());
  mo.hidden_size = config.hidden_size;
  mo.output_dropout = config.output_dropout;
  mo.initial_forget_bias = config.initial_forget_bias;
  DRC_ASSIGN_OR_RETURN(auto model, MakeHydroModel(config.model, mo));
  DRC_RETURN_NOT_OK(Guard(config.model + ": moving the model to " + device.str(), [&] {
    if (!device.is_cpu()) model->to(device);
  }));
  // Data-parallel: the replicas start from rank 0's parameters.
  const int ranks = config.comm != nullptr ? config.comm->size() : 1;
  const int rank = config.comm != nullptr ? config.comm->rank() : 0;
  std::optional<GradientAllReducer> reducer;
  if (ranks > 1) {
    reducer.emplace(config.comm);
    DRC_RETURN_NOT_OK(reducer->BroadcastParameters(*model));
  }
  std::vector<Sample> mine;  // this rank's samples of a batch

  HydroResult result;
  result.model = config.model;
  result.scaler = d.scaler;
  result.train_samples = static_cast<int64_t>(samples.size());
  result.device = device.str();
  result.dynamic_inputs = dynamic_inputs;
  result.static_attributes = static_attributes;
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(config.learning_rate.at(0)));
  std::mt19937_64 rng(config.seed);
  model->train();
  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    if (auto it = config.learning_rate.find(epoch); it != config.learning_rate.end()) {
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(it->second);
      }
    }
    std::shuffle(samples.begin(), samples.end(), rng);
    double sum = 0;
    int64_t batches = 0;
    for (size_t begin = 0; begin < samples.size(); begin += config.batch_size) {
      const int64_t count =
          std::min<int64_t>(config.batch_size, static_cast<int64_t>(samples.size() - begin));
      // The batch's observed targets (the loss's denominator), and this rank's samples of it.
      int64_t observed = 0;
      mine.clear();
      for (int64_t k = 0; k < count; ++k) {
        const Sample& sample = samples[begin + k];
        const float* y = d.y.data_ptr<float>() + d.offsets[sample.basin];
        for (int64_t t = sample.end - last_n + 1; t <= sample.end; ++t) {
          observed += std::isnan(y[t]) ? 0 : 1;
        }
        if (k % ranks == rank) mine.push_back(sample);
      }
      double scalar = 0;
      const Status stepped =
          Guard(config.model + " training epoch " + std::to_string(epoch) + ", batch of " +
                    std::to_string(count) + " x " + std::to_string(len) + " days",
                [&] {
                  optimizer.zero_grad();
                  if (!mine.empty()) {
                    const auto local = static_cast<int64_t>(mine.size());
                    Gathered g = Gather(d, mine.data(), local, len, last_n, device);
                    torch::Tensor y_hat = model->Forward(g.batch, last_n);  // [B, n]
                    const torch::Tensor mask = ~torch::isnan(g.y);
                    const torch::Tensor diff = y_hat - torch::nan_to_num(g.y, 0.0);
                    torch::Tensor per = diff * diff * mask;
                    torch::Tensor l;
                    if (config.loss == "NSE") {
                      const torch::Tensor w = 1.0 / (g.target_std + kNseEps).pow(2);
                      l = (per * w.unsqueeze(1)).sum();
                    } else {
                      l = 0.5 * per.sum();
                    }
                    // This rank's share of the batch's loss; the ranks' gradients are summed below
                    // (the reducer averages them, hence the factor).
                    l = l * static_cast<double>(ranks) / static_cast<double>(observed);
                    l.backward();
                    scalar = l.item<double>();
                  }
                });
      if (reducer) {
        // Every rank reaches the all-reduce, whatever its step did, and all learn of a failure.
        DRC_RETURN_NOT_OK(AgreeOnStatus(config.comm, stepped));
        DRC_RETURN_NOT_OK(reducer->AllReduceGradients(model->parameters(), &scalar).status());
      } else {
        DRC_RETURN_NOT_OK(stepped);
      }
      DRC_RETURN_NOT_OK(Guard(config.model + " optimizer step", [&] {
        if (config.clip_gradient_norm > 0) {
          torch::nn::utils::clip_grad_norm_(model->parameters(), config.clip_gradient_norm);
        }
        optimizer.step();
      }));
      const double loss = scalar;
      if (!std::isfinite(loss)) {
        return Status::FailedPrecondition(config.model, ": training loss is ", loss, " in epoch ",
                                          epoch);
      }
      sum += loss;
      ++batches;
    }
    result.epoch_losses.push_back(sum / static_cast<double>(batches));
  }

  // Evaluation: every test day of every basin, inputs reaching back before the period.
  model->eval();
  torch::NoGradGuard no_grad;
  std::vector<double> nses;
  for (size_t b = 0; b < d.basins.size(); ++b) {
    const auto& basin = d.basins[b];
    auto [first, last] = Range(basin, test);
    if (first > last) {
      return Status::InvalidArgument("hydrology: basin ", basin.gauge_id,
                                     " has no day in the test "
                                     "period ",
                                     config.test_start, " .. ", config.test_end);
    }
    BasinEvaluation e;
    e.basin = basin.gauge_id;
    std::vector<Sample> todo;
    for (int64_t i = first; i <= last; ++i) {
      e.days.push_back(basin.days[i]);
      e.observed.push_back(basin.qobs_mm_day[i]);
      e.simulated.push_back(std::nan(""));
      if (WindowComplete(d, d.offsets[b], i, len)) {
        todo.push_back({static_cast<int32_t>(b), static_cast<int32_t>(i)});
      }
    }
    for (size_t begin = 0; begin < todo.size(); begin += config.batch_size) {
      const int64_t count =
          std::min<int64_t>(config.batch_size, static_cast<int64_t>(todo.size() - begin));
      DRC_ASSIGN_OR_RETURN(
          auto y_hat,
          Guard(config.model + " prediction for basin " + basin.gauge_id, [&]() -> torch::Tensor {
            Gathered g = Gather(d, todo.data() + begin, count, len, 1, device);
            return model->Forward(g.batch, 1).reshape({-1}).to(torch::kFloat64).cpu().contiguous();
          }));
      const double* p = y_hat.data_ptr<double>();
      for (int64_t k = 0; k < count; ++k) {
        e.simulated[todo[begin + k].end - first] = p[k] * d.target.std + d.target.mean;
      }
    }
    auto nse = Nse(e.observed, e.simulated);
    auto kge = Kge(e.observed, e.simulated);
    if (!nse.ok() || !kge.ok()) {
      return Status::InvalidArgument("hydrology: basin ", basin.gauge_id, " test period: ",
                                     (nse.ok() ? kge.status() : nse.status()).message());
    }
    e.nse = *nse;
    e.kge = *kge;
    nses.push_back(e.nse);
    result.basins.push_back(std::move(e));
  }
  result.median_nse = Median(nses);
  result.seconds = watch.Seconds();
  return result;
}

}  // namespace drc::dl
