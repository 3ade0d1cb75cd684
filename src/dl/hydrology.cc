// Training and evaluation of NeuralHydrology-style rainfall-runoff models (see
// include/drc/dl/hydrology.h for what follows NH and where it deviates).
#include "drc/dl/hydrology.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <optional>
#include <random>
#include <tuple>

#include "drc/common/clock.h"
#include "drc/common/cpus.h"
#include "drc/common/strings.h"
#include "drc/data/dist_io.h"
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
  // The three sums, appended to `out` (to be added up across ranks), and back.
  void AppendTo(std::vector<double>* out) const {
    out->insert(out->end(), {sum, sum_sq, static_cast<double>(n)});
  }
  static Accumulator From(const double* sums) {
    return {.sum = sums[0], .sum_sq = sums[1], .n = static_cast<int64_t>(sums[2])};
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

// Which basins a rank reads, trains on and evaluates: basin b of the run (in the order of its
// gauge list) on rank b mod R. (From a table of one part per rank, the basins of its part.)
struct Shard {
  int rank = 0, ranks = 1;
  explicit Shard(const comm::Communicator* comm)
      : rank(comm != nullptr ? comm->rank() : 0), ranks(comm != nullptr ? comm->size() : 1) {}
  bool Holds(size_t b) const { return static_cast<int>(b % static_cast<size_t>(ranks)) == rank; }
};

// Everything the training and evaluation loops read, as tensors: this rank's basins' series, and
// what its batches need of any basin (statics, target std).
struct Prepared {
  std::vector<BasinSeries> basins;         // this rank's basins
  std::vector<int32_t> ids;                // each one's index among the run's basins
  std::vector<int32_t> local;              // per basin of the run: its index in `basins`, or -1
  std::vector<int64_t> offsets;            // row of each of `basins`' first day in x / y
  torch::Tensor x;                         // [rows, F_dyn] normalised, NaN where missing
  torch::Tensor y;                         // [rows] normalised target, NaN where missing
  torch::Tensor statics;                   // [run's basins, F_stat] normalised
  torch::Tensor target_std;                // [run's basins] NSE* std of the raw training target
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

// The run's basins: the series of those this rank holds, and every basin's gauge id and static
// attributes ([basin][attribute]); the names of the inputs and attributes.
struct Loaded {
  std::vector<std::string> gauges;  // every basin of the run, in order
  std::vector<BasinSeries> basins;  // this rank's, in that order
  std::vector<int32_t> ids;         // each one's index in `gauges`
  std::vector<std::vector<double>> attributes;
  std::vector<std::string> dynamic_inputs, static_attributes;
};

// Whether each rank reads only its own part of the table: "{rank}" in its path, several ranks,
// no basins named, and one part per rank (parts 0 to R-1, no part R). Collective: the ranks agree.
// Otherwise every rank reads every part.
Result<bool> OwnParts(const HydroConfig& config) {
  comm::Communicator* comm = config.comm;
  if (comm == nullptr || comm->size() < 2 || !data::IsRankPattern(config.table) ||
      !config.basins.empty()) {
    return false;
  }
  const bool mine = std::filesystem::exists(data::RankPath(config.table, comm->rank())) &&
                    !std::filesystem::exists(data::RankPath(config.table, comm->size()));
  std::vector<double> parts = {mine ? 1.0 : 0.0};
  DRC_RETURN_NOT_OK(AllReduceSums(comm, parts));
  return parts[0] == comm->size();
}

// The series of this rank's basins: from its own part of the table (`own_part`; the basins are
// numbered by NumberParts then), from the whole table (every part), keeping basin b when the
// shard holds it, or from the CAMELS folder, reading only those basins' files.
Result<Loaded> LoadSeries(const HydroConfig& config, const Shard& shard, bool own_part) {
  Loaded l;
  l.dynamic_inputs = config.dynamic_inputs;
  if (own_part) {
    DRC_ASSIGN_OR_RETURN(
        l.basins, ReadBasinTable(data::RankPath(config.table, shard.rank), {}, &l.dynamic_inputs));
    for (const auto& basin : l.basins) l.gauges.push_back(basin.gauge_id);
    return l;
  }
  std::vector<std::string> gauges = config.basins;
  auto hold = [&](size_t b, BasinSeries basin) {
    l.ids.push_back(static_cast<int32_t>(b));
    l.basins.push_back(std::move(basin));
  };
  if (!config.table.empty()) {
    DRC_ASSIGN_OR_RETURN(auto all, ReadBasinTable(config.table, gauges, &l.dynamic_inputs));
    gauges.clear();
    for (size_t b = 0; b < all.size(); ++b) {
      gauges.push_back(all[b].gauge_id);
      if (shard.Holds(b)) hold(b, std::move(all[b]));
    }
  } else {
    if (gauges.empty()) {
      DRC_ASSIGN_OR_RETURN(gauges, ListCamelsBasins(config.data_dir));
      if (gauges.empty()) {
        return Status::NotFound("hydrology: no basin under ", config.data_dir, "/forcing_daymet");
      }
    }
    for (size_t b = 0; b < gauges.size(); ++b) {
      if (!shard.Holds(b)) continue;
      DRC_ASSIGN_OR_RETURN(auto basin,
                           ReadCamelsBasin(config.data_dir, gauges[b], l.dynamic_inputs));
      hold(b, std::move(basin));
    }
  }
  l.gauges = std::move(gauges);
  return l;
}

// A table of one part per rank: every rank learns every part's basins, numbered in id order (the
// whole table's order). A basin in two parts, or parts with other inputs, are errors. Collective;
// the outcome is the same on every rank.
Status NumberParts(const HydroConfig& config, Loaded* l) {
  DRC_ASSIGN_OR_RETURN(const auto gauges, AllGatherStrings(config.comm, l->gauges));
  DRC_ASSIGN_OR_RETURN(const auto inputs, AllGatherStrings(config.comm, l->dynamic_inputs));
  for (size_t r = 1; r < inputs.size(); ++r) {
    if (inputs[r] != inputs[0]) {
      return Status::InvalidArgument("hydrology table ", config.table, ": part ", r,
                                     " has the inputs ", JoinList(inputs[r]), ", part 0 ",
                                     JoinList(inputs[0]));
    }
  }
  std::vector<std::pair<std::string, size_t>> all;  // basin, part
  for (size_t r = 0; r < gauges.size(); ++r) {
    for (const std::string& g : gauges[r]) all.emplace_back(g, r);
  }
  std::sort(all.begin(), all.end());
  l->gauges.clear();
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0 && all[i].first == all[i - 1].first) {
      return Status::InvalidArgument(
          "hydrology table ", config.table, ": basin ", all[i].first, " is in parts ",
          all[i - 1].second, " and ", all[i].second,
          "; with a part per rank each basin must be whole in one part (as a partitioned "
          "prepare stage writes them)");
    }
    l->gauges.push_back(all[i].first);
  }
  for (const auto& basin : l->basins) {
    const auto at = std::lower_bound(l->gauges.begin(), l->gauges.end(), basin.gauge_id);
    l->ids.push_back(static_cast<int32_t>(at - l->gauges.begin()));
  }
  return Status::OK();
}

// Every basin's static attributes (the same on every rank).
Status ReadAttributes(const HydroConfig& config, Loaded* l) {
  const std::vector<std::string>& gauges = l->gauges;
  if (!config.table.empty()) {
    if (!config.attributes_table.empty()) {
      l->static_attributes = config.static_attributes;
      DRC_ASSIGN_OR_RETURN(l->attributes, ReadAttributeTable(config.attributes_table, gauges,
                                                             &l->static_attributes));
    }
  } else {
    l->static_attributes = config.static_attributes;
    if (!l->static_attributes.empty()) {
      DRC_ASSIGN_OR_RETURN(l->attributes,
                           ReadCamelsAttributes(config.data_dir, gauges, l->static_attributes));
    }
  }
  l->attributes.resize(gauges.size());
  for (size_t b = 0; b < gauges.size(); ++b) {
    for (size_t a = 0; a < l->static_attributes.size(); ++a) {
      if (std::isnan(l->attributes[b][a])) {
        return Status::InvalidArgument("hydrology: basin ", gauges[b],
                                       " has no value (NA) for static attribute '",
                                       l->static_attributes[a], "'");
      }
    }
  }
  return Status::OK();
}

// Collective over config.comm: the normalisation is taken over every rank's basins.
Result<Prepared> Prepare(Loaded loaded, Period train, const HydroConfig& config) {
  Prepared d;
  d.basins = std::move(loaded.basins);
  d.ids = std::move(loaded.ids);
  const size_t nb = loaded.gauges.size();
  d.local.assign(nb, -1);
  for (size_t b = 0; b < d.ids.size(); ++b) d.local[d.ids[b]] = static_cast<int32_t>(b);
  const auto& attributes = loaded.attributes;
  const size_t nf = loaded.dynamic_inputs.size();

  // Normalisation over the training period of every basin (NH's scaler): each rank adds up its
  // basins, then one all-reduce adds up the ranks' sums and the per-basin stds.
  std::vector<Accumulator> feature(nf);
  Accumulator target;
  std::vector<double> target_std(nb, 0.0);
  Status summed = Status::OK();
  for (size_t b = 0; b < d.basins.size() && summed.ok(); ++b) {
    const auto& basin = d.basins[b];
    auto [first, last] = Range(basin, train);
    Accumulator own;
    for (int64_t i = first; i <= last; ++i) {
      for (size_t f = 0; f < nf; ++f) feature[f].Add(basin.Dynamic(i, f));
      target.Add(basin.qobs_mm_day[i]);
      own.Add(basin.qobs_mm_day[i]);
    }
    if (own.n == 0) {
      summed = Status::InvalidArgument("hydrology: basin ", basin.gauge_id,
                                       " has no observed discharge in the training period ",
                                       config.train_start, " .. ", config.train_end);
    }
    target_std[d.ids[b]] = own.RawStd();  // NH: np.nanstd of the raw target (ddof 0)
  }
  DRC_RETURN_NOT_OK(AgreeOnStatus(config.comm, summed));
  if (config.comm != nullptr) {
    std::vector<double> sums = target_std;
    for (const Accumulator& a : feature) a.AppendTo(&sums);
    target.AppendTo(&sums);
    DRC_RETURN_NOT_OK(AllReduceSums(config.comm, sums));
    std::copy_n(sums.begin(), nb, target_std.begin());
    for (size_t f = 0; f < nf; ++f) feature[f] = Accumulator::From(&sums[nb + 3 * f]);
    target = Accumulator::From(&sums[nb + 3 * nf]);
  }
  d.target = target.Get();
  std::vector<Moments> fm(nf);
  for (size_t f = 0; f < nf; ++f) fm[f] = feature[f].Get();
  const size_t ns = loaded.static_attributes.size();
  std::vector<Moments> sm(ns);
  for (size_t a = 0; a < ns; ++a) {
    Accumulator acc;
    for (size_t b = 0; b < nb; ++b) acc.Add(attributes[b][a]);
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

// One sample: basin `basin` of the run, the index of its last input day, and how many of its
// last predict_last_n targets are observed. Gathered across the ranks as raw bytes.
struct Sample {
  int32_t basin;
  int32_t end;
  int32_t observed;
};
static_assert(sizeof(Sample) == 3 * sizeof(int32_t), "sent as raw bytes: no padding");

// The inputs (and targets) of `samples`: x_d [B, L, F], x_s [B, F_s], y [B, n], std [B].
struct Gathered {
  HydroBatch batch;
  torch::Tensor y, target_std;
};

// `samples` are of this rank's basins. On `device`: the data stay in host memory, and each batch is
// copied where the model is.
Gathered Gather(const Prepared& d, const Sample* samples, int64_t count, int64_t len,
                int64_t last_n, const torch::Device& device) {
  std::vector<int64_t> rows(static_cast<size_t>(count * len));
  std::vector<int64_t> basins(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    const int64_t start = d.offsets[d.local[samples[k].basin]] + samples[k].end - len + 1;
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

// The test period of this rank's basin b (every day; inputs reaching back before the period),
// scored.
Result<BasinEvaluation> Evaluate(HydroModel& model, const torch::Device& device, const Prepared& d,
                                 size_t b, Period test, const HydroConfig& config) {
  const int64_t len = config.seq_length;
  const auto& basin = d.basins[b];
  auto [first, last] = Range(basin, test);
  if (first > last) {
    return Status::InvalidArgument("hydrology: basin ", basin.gauge_id,
                                   " has no day in the test period ", config.test_start, " .. ",
                                   config.test_end);
  }
  BasinEvaluation e;
  e.basin = basin.gauge_id;
  std::vector<Sample> todo;
  for (int64_t i = first; i <= last; ++i) {
    e.days.push_back(basin.days[i]);
    e.observed.push_back(basin.qobs_mm_day[i]);
    e.simulated.push_back(std::nan(""));
    if (WindowComplete(d, d.offsets[b], i, len)) {
      todo.push_back({d.ids[b], static_cast<int32_t>(i), 0});
    }
  }
  for (size_t begin = 0; begin < todo.size(); begin += config.batch_size) {
    const int64_t count =
        std::min<int64_t>(config.batch_size, static_cast<int64_t>(todo.size() - begin));
    DRC_ASSIGN_OR_RETURN(
        auto y_hat,
        Guard(config.model + " prediction for basin " + basin.gauge_id, [&]() -> torch::Tensor {
          Gathered g = Gather(d, todo.data() + begin, count, len, 1, device);
          return model.Forward(g.batch, 1).reshape({-1}).to(torch::kFloat64).cpu().contiguous();
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
  return e;
}

// Every rank's evaluations of its basins (`ids` among the run's `gauges`), on every rank, in the
// order of the run's basins. Null comm: `mine`.
Result<std::vector<BasinEvaluation>> GatherEvaluations(comm::Communicator* comm,
                                                       const std::vector<int32_t>& ids,
                                                       const std::vector<std::string>& gauges,
                                                       std::vector<BasinEvaluation>& mine) {
  if (comm == nullptr) return std::move(mine);
  struct Head {
    int64_t basin, days;
    double nse, kge;
  };
  static_assert(sizeof(Head) == 4 * 8, "sent as raw bytes: no padding");
  std::vector<Head> heads;
  std::vector<Day> days;
  std::vector<double> values;  // per basin: its observed values, then its simulated ones
  for (size_t b = 0; b < mine.size(); ++b) {
    const BasinEvaluation& e = mine[b];
    heads.push_back({ids[b], static_cast<int64_t>(e.days.size()), e.nse, e.kge});
    days.insert(days.end(), e.days.begin(), e.days.end());
    values.insert(values.end(), e.observed.begin(), e.observed.end());
    values.insert(values.end(), e.simulated.begin(), e.simulated.end());
  }
  DRC_ASSIGN_OR_RETURN(heads, AllGatherVector(comm, heads));
  DRC_ASSIGN_OR_RETURN(days, AllGatherVector(comm, days));
  DRC_ASSIGN_OR_RETURN(values, AllGatherVector(comm, values));
  // The three lists hold the ranks' basins in the same order.
  std::vector<BasinEvaluation> all(gauges.size());
  auto day = days.begin();
  auto value = values.begin();
  for (const Head& h : heads) {
    BasinEvaluation& e = all[static_cast<size_t>(h.basin)];
    e.basin = gauges[static_cast<size_t>(h.basin)];
    e.nse = h.nse;
    e.kge = h.kge;
    e.days.assign(day, day + h.days);
    e.observed.assign(value, value + h.days);
    e.simulated.assign(value + h.days, value + 2 * h.days);
    day += h.days;
    value += 2 * h.days;
  }
  return all;
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
  // From here on an error on one rank (one of its basins' files) is an error on every rank.
  DRC_ASSIGN_OR_RETURN(const bool own_part, OwnParts(config));
  Result<Loaded> loaded = LoadSeries(config, Shard(config.comm), own_part);
  DRC_RETURN_NOT_OK(AgreeOnStatus(config.comm, loaded.status()));
  if (own_part) DRC_RETURN_NOT_OK(NumberParts(config, &*loaded));
  DRC_RETURN_NOT_OK(AgreeOnStatus(config.comm, ReadAttributes(config, &*loaded)));
  const std::vector<std::string> gauges = loaded->gauges;
  const std::vector<std::string> dynamic_inputs = loaded->dynamic_inputs;
  const std::vector<std::string> static_attributes = loaded->static_attributes;
  DRC_ASSIGN_OR_RETURN(Prepared d, Prepare(std::move(*loaded), train, config));
  const int64_t len = config.seq_length, last_n = config.predict_last_n;

  // Every basin's samples, in the order of one rank's run: each rank lists its own basins', and
  // they are gathered and sorted, so that every rank shuffles the same list and draws the same
  // batches.
  std::vector<Sample> samples;
  for (size_t b = 0; b < d.basins.size(); ++b) {
    auto [first, last] = Range(d.basins[b], train);
    const float* y = d.y.data_ptr<float>() + d.offsets[b];
    for (int64_t i = first; i <= last; ++i) {
      if (!WindowComplete(d, d.offsets[b], i, len)) continue;
      int32_t observed = 0;
      for (int64_t t = i - last_n + 1; t <= i; ++t) observed += std::isnan(y[t]) ? 0 : 1;
      if (observed > 0) samples.push_back({d.ids[b], static_cast<int32_t>(i), observed});
    }
  }
  if (config.comm != nullptr) {
    DRC_ASSIGN_OR_RETURN(samples, AllGatherVector(config.comm, samples));
    std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
      return std::tie(a.basin, a.end) < std::tie(b.basin, b.end);
    });
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
  std::optional<GradientAllReducer> reducer;
  if (ranks > 1) {
    reducer.emplace(config.comm);
    DRC_RETURN_NOT_OK(reducer->BroadcastParameters(*model));
  }
  std::vector<Sample> mine;  // a batch's samples of this rank's basins

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
      // The batch's observed targets (the loss's denominator), and its samples of this rank's
      // basins.
      int64_t observed = 0;
      mine.clear();
      for (int64_t k = 0; k < count; ++k) {
        const Sample& sample = samples[begin + k];
        observed += sample.observed;
        if (d.local[sample.basin] >= 0) mine.push_back(sample);
      }
      double scalar = 0;
      const Status stepped =
          Guard(config.model + " training epoch " + std::to_string(epoch) + ", batch of " +
                    std::to_string(count) + " x " + std::to_string(len) + " days",
                [&] {
                  optimizer.zero_grad();
                  if (!mine.empty()) {
                    // On several ranks the share's size varies from batch to batch.
                    Gathered g = Gather(d, mine.data(), static_cast<int64_t>(mine.size()), len,
                                        last_n, device);
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

  // Evaluation: every test day of each of this rank's basins, inputs reaching back before the
  // period; then every rank gathers all basins' evaluations.
  model->eval();
  torch::NoGradGuard no_grad;
  std::vector<BasinEvaluation> evaluated;
  const Status evaluation = [&]() -> Status {
    for (size_t b = 0; b < d.basins.size(); ++b) {
      DRC_ASSIGN_OR_RETURN(BasinEvaluation e, Evaluate(*model, device, d, b, test, config));
      evaluated.push_back(std::move(e));
    }
    return Status::OK();
  }();
  DRC_RETURN_NOT_OK(AgreeOnStatus(config.comm, evaluation));
  DRC_ASSIGN_OR_RETURN(result.basins, GatherEvaluations(config.comm, d.ids, gauges, evaluated));
  std::vector<double> nses;
  for (const BasinEvaluation& e : result.basins) nses.push_back(e.nse);
  result.median_nse = Median(nses);
  result.seconds = watch.Seconds();
  return result;
}

}  // namespace drc::dl
