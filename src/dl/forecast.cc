#include "drc/dl/forecast.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "drc/comm/communicator.h"
#include "drc/common/clock.h"
#include "drc/common/cpus.h"
#include "drc/common/strings.h"
#include "drc/data/dist.h"
#include "drc/data/io.h"
#include "drc/data/ops.h"
#include "drc/dl/metrics.h"
#include "src/dl/categorical.h"
#include "src/dl/category_codes.h"
#include "src/dl/conformal.h"
#include "src/dl/data_parallel.h"
#include "src/dl/distributions.h"
#include "src/dl/hierarchy.h"
#include "src/dl/tensor_view.h"
#include "src/dl/torch_status.h"
#include "src/dl/trainer.h"
#include "src/dl/windows.h"

namespace drc::dl {
namespace {

Status FromArrow(const arrow::Status& st, const std::string& context) {
  return st.ok() ? Status::OK() : Status::Internal(context, ": ", st.ToString());
}

// The series ids of a table sorted by id, as text (ids of any type; a null is ""), and the rows
// where each series starts, plus the end.
struct SeriesIds {
  std::shared_ptr<arrow::StringArray> text;
  std::vector<int64_t> bounds;

  std::string_view Id(int64_t row) const {
    return text->IsNull(row) ? std::string_view() : text->GetView(row);
  }
};

Result<SeriesIds> IdsOf(const data::TablePtr& table, const std::string& id) {
  const std::string what = "Forecast: id column '" + id + "'";
  auto cast = arrow::compute::Cast(table->GetColumnByName(id), arrow::utf8());
  if (!cast.ok()) return FromArrow(cast.status(), what);
  const auto& chunks = cast->chunked_array()->chunks();
  std::shared_ptr<arrow::Array> one;
  if (chunks.size() == 1) {
    one = chunks[0];
  } else {
    auto joined =
        chunks.empty() ? arrow::MakeEmptyArray(arrow::utf8()) : arrow::Concatenate(chunks);
    if (!joined.ok()) return FromArrow(joined.status(), what);
    one = *joined;
  }
  SeriesIds ids;
  ids.text = std::static_pointer_cast<arrow::StringArray>(one);
  const int64_t n = ids.text->length();
  ids.bounds = {0};
  for (int64_t i = 1; i < n; ++i) {
    if (ids.Id(i) != ids.Id(i - 1)) ids.bounds.push_back(i);
  }
  if (n > 0) ids.bounds.push_back(n);
  return ids;
}

Result<std::vector<double>> AsDoubles(const data::TablePtr& table, const std::string& name) {
  auto column = table->GetColumnByName(name);
  auto cast = arrow::compute::Cast(column, arrow::float64());
  if (!cast.ok()) return FromArrow(cast.status(), "Forecast: value column '" + name + "'");
  std::vector<double> out;
  for (const auto& chunk : cast->chunked_array()->chunks()) {
    const auto& a = static_cast<const arrow::DoubleArray&>(*chunk);
    for (int64_t i = 0; i < a.length(); ++i) out.push_back(a.IsNull(i) ? std::nan("") : a.Value(i));
  }
  return out;
}

// The value column of `table` (whose series start at `bounds`) as the models' float series.
Result<SeriesData> SeriesOf(const data::TablePtr& table, const std::string& value,
                            std::vector<int64_t> bounds) {
  SeriesData series;
  series.offsets = std::move(bounds);
  auto f32 = arrow::compute::Cast(table->GetColumnByName(value), arrow::float32());
  if (!f32.ok()) return FromArrow(f32.status(), "Forecast: value column '" + value + "'");
  DRC_ASSIGN_OR_RETURN(auto view, ColumnAsTensor(f32->chunked_array()));
  series.values = view.tensor;
  return series;
}

// The rows of `table` (or of one column) at `rows`, in that order.
Result<arrow::Datum> TakeRows(const arrow::Datum& data, const std::vector<int64_t>& rows) {
  arrow::Int64Builder builder;
  auto st = builder.AppendValues(rows);
  std::shared_ptr<arrow::Array> indices;
  if (st.ok()) st = builder.Finish(&indices);
  if (!st.ok()) return FromArrow(st, "Forecast: cross-validation rows");
  auto taken = arrow::compute::Take(data, indices);
  if (!taken.ok()) return FromArrow(taken.status(), "Forecast: cross-validation rows");
  return *taken;
}

// The three columns are there, and the values are numbers.
Status CheckColumns(const data::TablePtr& table, const data::SeriesColumns& cols) {
  for (const auto& name : {cols.id, cols.time, cols.value}) {
    if (!table->GetColumnByName(name)) {
      std::string have;
      for (const auto& f : table->schema()->fields())
        have += (have.empty() ? "" : ", ") + f->name();
      return Status::InvalidArgument("Forecast: no column '", name, "' (table has ", have, ")");
    }
  }
  const auto& type = *table->GetColumnByName(cols.value)->type();
  if (!arrow::is_integer(type.id()) && !arrow::is_floating(type.id()) &&
      type.id() != arrow::Type::NA) {
    return Status::InvalidArgument("Forecast: value column '", cols.value, "' has type ",
                                   type.ToString(), "; expected numbers");
  }
  return Status::OK();
}

// NF's quantile columns (level_to_outputs in NF's losses): levels L give the quantiles
// (50 - L/2) % and (50 + L/2) %, named -lo-L and -hi-L, in ascending order; NF's default
// output of a distribution model puts the median (-median) first.
struct QuantileColumns {
  std::vector<double> quantiles;                  // in [0, 1]
  std::vector<std::string> suffixes;              // "-median", "-lo-80", ...
  std::vector<double> levels;                     // ascending, without repeats
  std::vector<std::pair<size_t, size_t>> bounds;  // per level: its -lo- and -hi- column
};

std::string LevelText(double level) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", level);
  return text;
}

Result<QuantileColumns> IntervalColumns(std::vector<double> levels, bool median) {
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  std::vector<std::pair<double, std::string>> columns;
  for (double level : levels) {
    if (!(level > 0 && level < 100)) {
      return Status::InvalidArgument("Forecast: prediction interval level ", level,
                                     " is not in (0, 100)");
    }
    columns.emplace_back((50 - level / 2) / 100, "-lo-" + LevelText(level));
    columns.emplace_back((50 + level / 2) / 100, "-hi-" + LevelText(level));
  }
  std::stable_sort(columns.begin(), columns.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  if (median) columns.insert(columns.begin(), {0.5, "-median"});
  QuantileColumns out;
  out.levels = std::move(levels);
  for (auto& [q, suffix] : columns) {
    out.quantiles.push_back(q);
    out.suffixes.push_back(std::move(suffix));
  }
  const auto& names = out.suffixes;
  auto column = [&](const std::string& suffix) {
    return static_cast<size_t>(std::find(names.begin(), names.end(), suffix) - names.begin());
  };
  for (double level : out.levels) {
    out.bounds.emplace_back(column("-lo-" + LevelText(level)), column("-hi-" + LevelText(level)));
  }
  return out;
}

// The columns of MQLoss's or a DistributionLoss's quantiles: the median, then the others ascending,
// named as NF's (quantiles_to_outputs: q < 0.5 is -lo-(100 - 200 q), q > 0.5 is -hi-(200 q - 100));
// a level is scored (bounds) where both of its quantiles are there.
QuantileColumns MultiQuantileColumns(const PointLoss& loss) {
  std::vector<double> quantiles = loss.quantiles;
  std::sort(quantiles.begin(), quantiles.end(),
            [](double a, double b) { return (a == 0.5) != (b == 0.5) ? a == 0.5 : a < b; });
  QuantileColumns out;
  auto level_of = [](double q) { return std::round(std::abs(200 * q - 100) * 1e6) / 1e6; };
  for (double q : quantiles) {
    out.quantiles.push_back(q);
    const std::string side = q < 0.5 ? "-lo-" : "-hi-";
    out.suffixes.push_back(q == 0.5 ? "-median" : side + LevelText(level_of(q)));
  }
  std::vector<std::tuple<double, size_t, size_t>> scored;  // level, its -lo- and -hi- column
  for (size_t lo = 0; lo < quantiles.size(); ++lo) {
    for (size_t hi = 0; hi < quantiles.size(); ++hi) {
      if (quantiles[lo] < 0.5 && quantiles[hi] > 0.5 &&
          level_of(quantiles[hi]) == level_of(quantiles[lo])) {
        scored.emplace_back(level_of(quantiles[lo]), lo, hi);
      }
    }
  }
  std::sort(scored.begin(), scored.end());  // levels ascending, as IntervalColumns gives them
  for (const auto& [level, lo, hi] : scored) {
    out.levels.push_back(level);
    out.bounds.emplace_back(lo, hi);
  }
  return out;
}

// A float64 column of a [S, H] tensor, row-major (series by series, as the held-out rows).
std::vector<double> Flat(const torch::Tensor& t) {
  auto flat = t.to(torch::kFloat64).contiguous().view({-1});
  return std::vector<double>(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
}

Result<std::shared_ptr<arrow::ChunkedArray>> DoubleColumn(const std::vector<double>& values) {
  arrow::DoubleBuilder builder;
  DRC_RETURN_NOT_OK(FromArrow(builder.AppendValues(values), "Forecast"));
  std::shared_ptr<arrow::Array> array;
  DRC_RETURN_NOT_OK(FromArrow(builder.Finish(&array), "Forecast"));
  return std::make_shared<arrow::ChunkedArray>(array);
}

// Whether a model gives quantiles of its own: a distribution model (DeepAR), or a point model
// trained on MQLoss or a DistributionLoss.
bool GivesQuantiles(const TrainDefaults& defaults, const PointLoss& loss) {
  return defaults.gives_quantiles || loss.gives_quantiles();
}

// Whether a model gets conformal intervals: levels were asked of a point model.
bool NeedsConformal(const TrainDefaults& defaults, const PointLoss& loss,
                    const ForecastConfig& config) {
  return !config.level.empty() && !GivesQuantiles(defaults, loss);
}

// Whether each rank holds its own series (ForecastConfig::partitioned) on two ranks or more.
bool Partitioned(const ForecastConfig& config) {
  return config.partitioned && config.comm != nullptr && config.comm->size() > 1;
}

// A step that may fail on some ranks only when each holds its own series: every rank's verdict
// (AgreeOnStatus), so that none goes on into a collective the others never enter. Otherwise
// every rank computes the same and fails alike: `local`.
Status Agreed(const ForecastConfig& config, const Status& local) {
  return Partitioned(config) ? AgreeOnStatus(config.comm, local) : local;
}

// The frequency inferred on every rank, which must be one.
Result<std::string> AgreeOnFreq(comm::Communicator& comm, const std::string& freq) {
  struct Alias {
    char text[32] = {};
  } mine;
  freq.copy(mine.text, sizeof(mine.text) - 1);
  DRC_ASSIGN_OR_RETURN(const auto all, comm::AllGatherValue(comm, mine));
  for (size_t r = 1; r < all.size(); ++r) {
    if (std::string_view(all[r].text) != all[0].text) {
      return Status::InvalidArgument(
          "Forecast: the ranks' series have different frequencies (rank ", 0, ": ", all[0].text,
          ", rank ", r, ": ", all[r].text, "); pass the frequency (--freq)");
    }
  }
  return std::string(all[0].text);
}

// Every rank learns every rank's series ids (`ids`: this rank's, one per series) and checks that
// no series is on two ranks: a split series would train and score as two.
Status CheckEachSeriesOnOneRank(comm::Communicator& comm,
                                const std::shared_ptr<arrow::Array>& ids) {
  data::Context ctx(&comm);
  auto mine = arrow::Table::Make(arrow::schema({arrow::field("id", arrow::utf8())}), {ids});
  DRC_ASSIGN_OR_RETURN(const auto counts, comm::AllGatherValue<int64_t>(comm, ids->length()));
  DRC_ASSIGN_OR_RETURN(const data::TablePtr all, data::AllGather(ctx, mine));
  auto joined = arrow::Concatenate(all->column(0)->chunks());
  if (!joined.ok()) return FromArrow(joined.status(), "Forecast: series ids");
  const auto& text = static_cast<const arrow::StringArray&>(**joined);
  std::unordered_map<std::string_view, int> owner;
  int64_t row = 0;
  for (int r = 0; r < comm.size(); ++r) {
    if (counts[r] == 0) {
      return Status::InvalidArgument("Forecast: rank ", r, " holds no series; each rank of a ",
                                     "partitioned table needs at least one");
    }
    for (int64_t i = 0; i < counts[r]; ++i, ++row) {
      auto [it, fresh] = owner.emplace(text.GetView(row), r);
      if (!fresh) {
        return Status::InvalidArgument(
            "Forecast: series '", it->first, "' is on ranks ", it->second, " and ", r,
            "; a partitioned table holds each series whole on one rank (data::Shuffle by the id "
            "column does that)");
      }
    }
  }
  return Status::OK();
}

// NF's HINT on a partitioned table reconciles every rank's series together: their ids in the
// order one rank holding the whole table gives them (by id), and where this rank's are there.
struct PanelOrder {
  std::vector<std::string> ids;  // every rank's series, sorted
  torch::Tensor from_gathered;   // [N]: for each of `ids`, its row in the ranks' rows back to back
  torch::Tensor mine;            // [n]: this rank's series' places in `ids`, in its order
};

Result<PanelOrder> PanelOrderOf(comm::Communicator* comm, const std::vector<std::string>& mine) {
  DRC_ASSIGN_OR_RETURN(const auto all, AllGatherStrings(comm, mine));
  std::vector<std::string> gathered;
  int64_t first = 0;
  for (size_t r = 0; r < all.size(); ++r) {
    if (static_cast<int>(r) == comm->rank()) first = static_cast<int64_t>(gathered.size());
    gathered.insert(gathered.end(), all[r].begin(), all[r].end());
  }
  std::vector<int64_t> order(gathered.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return gathered[a] < gathered[b]; });
  PanelOrder out;
  std::vector<int64_t> place(gathered.size());
  for (size_t j = 0; j < order.size(); ++j) {
    out.ids.push_back(gathered[order[j]]);
    place[order[j]] = static_cast<int64_t>(j);
  }
  out.from_gathered = torch::tensor(order, torch::kInt64);
  out.mine =
      torch::tensor(std::vector<int64_t>(place.begin() + first,
                                         place.begin() + first + static_cast<int64_t>(mine.size())),
                    torch::kInt64);
  return out;
}

// Every rank's base samples [n_r, H, K] on every rank, in `order`'s series order: [N, H, K].
Result<torch::Tensor> GatherSamples(comm::Communicator* comm, const torch::Tensor& samples,
                                    const PanelOrder& order) {
  const torch::Tensor host = samples.to(torch::kCPU).contiguous();
  DRC_ASSIGN_OR_RETURN(
      const std::vector<uint8_t> bytes,
      AllGatherBytes(comm, {static_cast<const uint8_t*>(host.data_ptr()), host.nbytes()}));
  torch::Tensor all = torch::empty(
      {static_cast<int64_t>(order.ids.size()), host.size(1), host.size(2)}, host.options());
  if (bytes.size() != all.nbytes()) {
    return Status::Internal("Forecast: the ranks' HINT samples came to ", bytes.size(),
                            " bytes; expected ", all.nbytes());
  }
  std::memcpy(all.data_ptr(), bytes.data(), bytes.size());
  return all.index_select(0, order.from_gathered);
}

// Every rank's predictions on every rank, sorted as one rank's are: by series, [cutoff,] time.
Result<data::TablePtr> GatherInOrder(comm::Communicator& comm, const data::TablePtr& mine,
                                     const data::SeriesColumns& cols, bool cv) {
  data::Context ctx(&comm);
  DRC_ASSIGN_OR_RETURN(auto all, data::AllGather(ctx, mine));
  std::vector<data::SortKey> keys = {{cols.id}};
  if (cv) keys.push_back({"cutoff"});
  keys.push_back({cols.time});
  return data::Sort(all, keys);
}

// f's metrics and interval scores from its predictions (y against y_hat and the quantile
// columns); the metrics and coverages are NaN with `future`, which has no actual values.
Status Score(ModelForecast& f, const std::string& value, const QuantileColumns& intervals,
             bool future) {
  DRC_ASSIGN_OR_RETURN(const auto y_hat, AsDoubles(f.predictions, "y_hat"));
  std::vector<double> y;
  if (future) {
    f.mae = f.rmse = f.mape = f.smape = std::nan("");
  } else {
    DRC_ASSIGN_OR_RETURN(y, AsDoubles(f.predictions, value));
    DRC_ASSIGN_OR_RETURN(f.mae, Mae(y, y_hat));
    DRC_ASSIGN_OR_RETURN(f.rmse, Rmse(y, y_hat));
    DRC_ASSIGN_OR_RETURN(f.mape, Mape(y, y_hat));
    DRC_ASSIGN_OR_RETURN(f.smape, Smape(y, y_hat));
  }
  for (size_t i = 0; i < intervals.levels.size(); ++i) {
    DRC_ASSIGN_OR_RETURN(
        const auto lo,
        AsDoubles(f.predictions, "y_hat" + intervals.suffixes[intervals.bounds[i].first]));
    DRC_ASSIGN_OR_RETURN(
        const auto hi,
        AsDoubles(f.predictions, "y_hat" + intervals.suffixes[intervals.bounds[i].second]));
    IntervalScore& score = f.intervals[intervals.levels[i]];
    score.coverage = std::nan("");
    if (!future) {
      DRC_ASSIGN_OR_RETURN(score.coverage, Coverage(y, lo, hi));
    }
    for (size_t k = 0; k < lo.size(); ++k) score.width += (hi[k] - lo[k]) / lo.size();
  }
  return Status::OK();
}

// How one model trains: its name, NF's defaults (with the config's scaler and the model's
// overrides), its windows, steps, seed and own hyper-parameters.
struct ModelRun {
  std::string name;
  TrainDefaults defaults;
  WindowOptions windows;
  int max_steps = 0;
  uint64_t seed = 0;
  std::map<std::string, double> params;  // the model's own (training keys taken out)
  std::string loss;                      // a point loss (ParsePointLoss); empty: MAE
  PointLoss point_loss;                  // `loss` parsed
  std::string valid_loss;                // ForecastConfig::valid_loss; empty: the loss
};

ModelConfig ModelConfigOf(const ModelRun& run, const ForecastConfig& config) {
  ModelConfig mc;
  mc.input_size = ModelInputSize(run.defaults, config.input_size);
  mc.horizon = config.horizon;
  mc.seed = run.seed;
  mc.params = run.params;
  mc.futr_exog = static_cast<int>(config.futr_exog.size());
  mc.hist_exog = static_cast<int>(config.hist_exog.size());
  mc.stat_exog = static_cast<int>(config.stat_exog.size());
  return mc;
}

bool HasExog(const ForecastConfig& config) {
  return !config.futr_exog.empty() || !config.hist_exog.empty() || !config.stat_exog.empty();
}

// The exogenous settings that do not depend on the table: models that read them, a scaler they
// go with, a mode that has their values.
Status CheckExogSettings(const std::vector<ModelRun>& runs, const ForecastConfig& config) {
  if (!HasExog(config)) {
    if (config.cat_exog.empty()) return Status::OK();
    return Status::InvalidArgument(
        "Forecast: categorical columns (cat_exog: ", JoinList(config.cat_exog),
        ") are in none of futr_exog, "
        "hist_exog and stat_exog; name each in one of them too");
  }
  // TrainDefaults' flag per list of ExogLists().
  constexpr bool TrainDefaults::*kReads[] = {&TrainDefaults::futr_exog, &TrainDefaults::hist_exog,
                                             &TrainDefaults::stat_exog};
  const auto lists = config.ExogLists();
  for (const ModelRun& run : runs) {
    for (size_t i = 0; i < lists.size(); ++i) {
      if (lists[i].columns->empty() || run.defaults.*kReads[i]) continue;
      std::vector<std::string> readers;
      const ModelRegistry& registry = DefaultModelRegistry();
      for (const auto& name : registry.Names()) {
        if ((*registry.Defaults(name)).*kReads[i]) readers.push_back(name);
      }
      return Status::InvalidArgument("Forecast: ", run.name, " does not read ", lists[i].kind,
                                     " exogenous variables (", lists[i].key,
                                     "), as NF's does not; ", JoinList(readers), " do");
    }
    if (run.windows.scaler == ScalerType::kRevIN) {
      return Status::NotImplemented("Forecast: ", run.name,
                                    ": the revin scaler with exogenous variables is not built "
                                    "yet (identity, standard, robust and minmax are)");
    }
  }
  for (const auto& name : config.cat_exog) {
    const bool listed = std::any_of(lists.begin(), lists.end(), [&](const ExogList& list) {
      return std::find(list.columns->begin(), list.columns->end(), name) != list.columns->end();
    });
    if (!listed || std::count(config.cat_exog.begin(), config.cat_exog.end(), name) > 1) {
      return Status::InvalidArgument("Forecast: categorical column '", name, "' (cat_exog) ",
                                     listed
                                         ? "is named twice"
                                         : "is in none of futr_exog, "
                                           "hist_exog and stat_exog; name it in one of them too");
    }
  }
  if (!config.cat_exog.empty()) {
    DRC_RETURN_NOT_OK(CatEmbeddingDim(config.cat_emb_dim, 1).status());
  }
  if (config.future && !config.futr_exog.empty() && !config.futr_data) {
    return Status::InvalidArgument(
        "Forecast: future exogenous variables (", JoinList(config.futr_exog),
        ") need their values over the horizon after each series' end: pass them as futr_data "
        "(drc forecast --futr-data FILE, NF's futr_df)");
  }
  return Status::OK();
}

// Each exogenous column is in the table, numeric, not one of the three and named once.
Status CheckExogColumns(const data::TablePtr& table, const data::SeriesColumns& cols,
                        const ForecastConfig& config) {
  std::vector<std::string> seen = {cols.id, cols.time, cols.value};
  for (const auto* names : {&config.futr_exog, &config.hist_exog, &config.stat_exog}) {
    for (const auto& name : *names) {
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
        return Status::InvalidArgument("Forecast: exogenous column '", name, "' is named twice ",
                                       "or is the id, time or value column");
      }
      seen.push_back(name);
      auto column = table->GetColumnByName(name);
      if (!column) {
        return Status::InvalidArgument("Forecast: no exogenous column '", name, "' (table has ",
                                       JoinList(table->schema()->field_names()), ")");
      }
      const auto id = column->type()->id();
      const bool categorical =
          std::find(config.cat_exog.begin(), config.cat_exog.end(), name) != config.cat_exog.end();
      if (!categorical && !arrow::is_integer(id) && !arrow::is_floating(id) &&
          id != arrow::Type::BOOL) {
        return Status::InvalidArgument("Forecast: exogenous column '", name, "' has type ",
                                       column->type()->ToString(),
                                       "; expected numbers (a column of categories goes in "
                                       "cat_exog too: drc forecast --cat-exog)");
      }
    }
  }
  return Status::OK();
}

// The time stamp of `row` of `table`, as text.
std::string StampOf(const data::TablePtr& table, const data::SeriesColumns& cols, int64_t row) {
  auto scalar = table->GetColumnByName(cols.time)->GetScalar(row);
  return scalar.ok() ? (*scalar)->ToString() : "?";
}

// InvalidArgument naming `row` of `table` (its series and stamp) where `name` has no value.
Status MissingExog(const data::TablePtr& table, const data::SeriesColumns& cols,
                   const SeriesIds& ids, const std::string& name, int64_t row) {
  return Status::InvalidArgument("Forecast: exogenous column '", name, "' has no value in series '",
                                 ids.Id(row), "' at ", StampOf(table, cols, row),
                                 " (a null, or a gap in the time stamps); exogenous variables need "
                                 "one at every stamp");
}

// The distributions fitted in the series' units (Poisson, NegativeBinomial, Tweedie and the
// mixtures PMM and NBMM) have no mass below 0, and NF's torch refuses a negative value in the
// log-likelihood of counts (Tweedie's takes the log of the window's shift): InvalidArgument naming
// the first such value of `table` (series, stamp), before any model trains.
Status CheckCounts(const data::TablePtr& table, const data::SeriesColumns& cols,
                   const std::vector<ModelRun>& runs) {
  const auto counts = std::find_if(runs.begin(), runs.end(), [](const ModelRun& run) {
    return run.point_loss.is_distribution() && run.point_loss.likelihood().in_series_units();
  });
  if (counts == runs.end()) return Status::OK();
  DRC_ASSIGN_OR_RETURN(const auto values, AsDoubles(table, cols.value));
  const auto negative = std::find_if(values.begin(), values.end(), [](double v) { return v < 0; });
  if (negative == values.end()) return Status::OK();
  const int64_t row = negative - values.begin();
  DRC_ASSIGN_OR_RETURN(const SeriesIds ids, IdsOf(table, cols.id));
  return Status::InvalidArgument("Forecast: ", counts->name, " trains on ",
                                 counts->point_loss.Name(), ", a distribution of values >= 0; ",
                                 cols.value, " is ", *negative, " in series '", ids.Id(row),
                                 "' at ", StampOf(table, cols, row));
}

// The categories of each categorical column (ForecastConfig::cat_exog), by name.
using Categories = std::map<std::string, CategoryCodes>;

// The values of exogenous column `name` of `table`: its numbers (NaN for a null), or the codes
// of its categories.
Result<std::vector<double>> ExogValues(const data::TablePtr& table, const std::string& name,
                                       const Categories& categories) {
  auto it = categories.find(name);
  if (it == categories.end()) return AsDoubles(table, name);
  return it->second.Codes(table, name);
}

// The categories of config.cat_exog over the rows that the models train on: each series of
// `regular` (sorted, gaps filled) but its last `held` rows. A partitioned table's ranks unite
// theirs (collective, and an error on one rank is an error on every rank).
Result<Categories> CategoriesOf(const data::TablePtr& regular, const data::SeriesColumns& cols,
                                int64_t held, const ForecastConfig& config) {
  auto ids = IdsOf(regular, cols.id);
  DRC_RETURN_NOT_OK(Agreed(config, ids.status()));
  std::vector<std::pair<int64_t, int64_t>> rows;
  const auto& bounds = ids->bounds;
  for (size_t k = 0; k + 1 < bounds.size(); ++k) {
    rows.emplace_back(bounds[k], std::max(bounds[k], bounds[k + 1] - held));
  }
  Categories out;
  for (const auto& name : config.cat_exog) {
    auto codes = CategoryCodes::Of(regular, name, rows);
    DRC_RETURN_NOT_OK(Agreed(config, codes.status()));
    if (Partitioned(config)) DRC_RETURN_NOT_OK(codes->Unite(*config.comm, name));
    if (codes->cardinality() == 0) {
      return Status::InvalidArgument("Forecast: categorical column '", name,
                                     "' has no value in the training rows");
    }
    out.emplace(name, std::move(codes).ValueOrDie());
  }
  return out;
}

// The future variables over the horizon after each series' end, from config.futr_data:
// [S, H, F] for the rows of `stamps` (FutureStamps: H per series, series by series).
Result<torch::Tensor> FutureExogValues(const data::TablePtr& stamps,
                                       const data::SeriesColumns& cols,
                                       const ForecastConfig& config, const Categories& categories) {
  const data::TablePtr& given = config.futr_data;
  std::vector<std::string> needed = {cols.id, cols.time};
  needed.insert(needed.end(), config.futr_exog.begin(), config.futr_exog.end());
  for (const auto& name : needed) {
    if (!given->GetColumnByName(name)) {
      return Status::InvalidArgument("Forecast: the future values (futr_data) have no column '",
                                     name, "' (they have ",
                                     JoinList(given->schema()->field_names()), ")");
    }
  }
  // Rows by series and stamp, the stamps read as the table's.
  const auto time_type = stamps->GetColumnByName(cols.time)->type();
  auto times = arrow::compute::Cast(given->GetColumnByName(cols.time), time_type);
  if (!times.ok()) {
    return FromArrow(times.status(), "Forecast: futr_data's column '" + cols.time + "' as " +
                                         time_type->ToString());
  }
  const auto given_times = times->chunked_array();
  DRC_ASSIGN_OR_RETURN(const SeriesIds given_ids, IdsOf(given, cols.id));
  auto key = [](std::string_view id, const arrow::ChunkedArray& time, int64_t row) {
    auto stamp = time.GetScalar(row);
    return std::string(id) + '\x1f' + (stamp.ok() ? (*stamp)->ToString() : std::string());
  };
  std::unordered_map<std::string, int64_t> rows;
  for (int64_t row = 0; row < given->num_rows(); ++row) {
    rows.emplace(key(given_ids.Id(row), *given_times, row), row);
  }
  std::vector<std::vector<double>> columns;
  for (const auto& name : config.futr_exog) {
    DRC_ASSIGN_OR_RETURN(auto values, ExogValues(given, name, categories));
    columns.push_back(std::move(values));
  }
  DRC_ASSIGN_OR_RETURN(const SeriesIds ids, IdsOf(stamps, cols.id));
  const auto& stamp_times = *stamps->GetColumnByName(cols.time);
  const int64_t n = stamps->num_rows(), F = static_cast<int64_t>(columns.size());
  std::vector<float> out(n * F);
  for (int64_t i = 0; i < n; ++i) {
    auto found = rows.find(key(ids.Id(i), stamp_times, i));
    for (int64_t f = 0; f < F; ++f) {
      const double value = found == rows.end() ? std::nan("") : columns[f][found->second];
      if (std::isnan(value)) {
        std::string stamp = "?";
        if (auto scalar = stamp_times.GetScalar(i); scalar.ok()) stamp = (*scalar)->ToString();
        return Status::InvalidArgument(
            "Forecast: the future values (futr_data) have ",
            found == rows.end() ? "no row" : "no value of '" + config.futr_exog[f] + "'",
            " for series '", ids.Id(i), "' at ", stamp,
            "; the forecast needs one per series and stamp of its horizon");
      }
      out[i * F + f] = static_cast<float>(value);
    }
  }
  const int64_t S = static_cast<int64_t>(ids.bounds.size()) - 1;
  return torch::tensor(out, torch::kFloat32).view({S, config.horizon, F});
}

// The exogenous variables of `table`'s rows (its series start at ids.bounds) into `series`:
// SeriesData::exog (future, then historic columns) and ::statics.
Status AddExog(const data::TablePtr& table, const data::SeriesColumns& cols, const SeriesIds& ids,
               const ForecastConfig& config, const Categories& categories, SeriesData& series) {
  std::vector<std::string> temporal = config.futr_exog;
  temporal.insert(temporal.end(), config.hist_exog.begin(), config.hist_exog.end());
  const auto& bounds = ids.bounds;
  const int64_t n_series = bounds.empty() ? 0 : static_cast<int64_t>(bounds.size()) - 1;
  // Historic values are read over input windows only, so without `future` each series' last
  // h values are never read (the last forecast's horizon): missing ones there become zeros.
  const int64_t unread = config.future ? 0 : config.horizon;
  std::vector<torch::Tensor> columns;
  for (size_t c = 0; c < temporal.size(); ++c) {
    const std::string& name = temporal[c];
    const bool historic = c >= config.futr_exog.size();
    DRC_ASSIGN_OR_RETURN(auto values, ExogValues(table, name, categories));
    for (int64_t k = 0; k < n_series; ++k) {
      for (int64_t row = bounds[k]; row < bounds[k + 1]; ++row) {
        if (!std::isnan(values[row])) continue;
        if (!historic || row < bounds[k + 1] - unread) {
          return MissingExog(table, cols, ids, name, row);
        }
        values[row] = 0;
      }
    }
    // One copy, to float32 (from_blob views the doubles).
    columns.push_back(
        torch::from_blob(values.data(), {static_cast<int64_t>(values.size())}, torch::kFloat64)
            .to(torch::kFloat32));
  }
  if (!temporal.empty()) {
    series.exog = torch::stack(columns, 1);
    series.futr = static_cast<int64_t>(config.futr_exog.size());
  }
  // The categorical columns, in cat_exog's order, by their kind and place in its list.
  const auto lists = config.ExogLists();
  for (const auto& name : config.cat_exog) {
    for (size_t kind = 0; kind < lists.size(); ++kind) {
      const auto& list = *lists[kind].columns;
      auto at = std::find(list.begin(), list.end(), name);
      if (at == list.end()) continue;
      CategoricalExog c;
      c.kind = static_cast<CategoricalExog::Kind>(kind);
      c.column = static_cast<int>(at - list.begin());
      c.cardinality = categories.at(name).cardinality();
      DRC_ASSIGN_OR_RETURN(c.dim, CatEmbeddingDim(config.cat_emb_dim, c.cardinality));
      series.categorical.push_back(c);
    }
  }
  if (config.stat_exog.empty()) return Status::OK();
  std::vector<torch::Tensor> statics;
  for (const auto& name : config.stat_exog) {
    DRC_ASSIGN_OR_RETURN(const auto values, ExogValues(table, name, categories));
    std::vector<double> per_series(n_series);
    for (int64_t k = 0; k < n_series; ++k) {
      for (int64_t row = bounds[k]; row < bounds[k + 1]; ++row) {
        if (std::isnan(values[row])) return MissingExog(table, cols, ids, name, row);
        if (values[row] != values[bounds[k]]) {
          auto column = table->GetColumnByName(name);
          auto text = [&](int64_t r) {
            auto scalar = column->GetScalar(r);
            return scalar.ok() ? (*scalar)->ToString() : std::string("?");
          };
          return Status::InvalidArgument("Forecast: static exogenous column '", name,
                                         "' takes two values in series '", ids.Id(row), "' (",
                                         text(bounds[k]), " and ", text(row),
                                         "); a static variable has one value per series");
        }
      }
      per_series[k] = values[bounds[k]];
    }
    statics.push_back(torch::tensor(per_series, torch::kFloat64).to(torch::kFloat32));
  }
  series.statics = torch::stack(statics, 1);
  return Status::OK();
}

// What a multivariate model (TrainDefaults::multivariate) cannot do yet, or at all.
Status CheckMultivariate(const std::string& name, const ForecastConfig& config) {
  if (Partitioned(config)) {
    return Status::InvalidArgument(
        "Forecast: ", name,
        " is multivariate: each of its windows holds every series, so every rank needs the whole "
        "table (run it without partitioning; the ranks then share its windows)");
  }
  return Status::OK();
}

// A multivariate model lines the series up by their last points (NF's does, whatever their
// stamps), so they must end at one stamp: InvalidArgument names two series that do not.
Status CheckSeriesEndTogether(const data::TablePtr& regular, const data::SeriesColumns& cols,
                              const std::string& model) {
  DRC_ASSIGN_OR_RETURN(const SeriesIds ids, IdsOf(regular, cols.id));
  const auto time = regular->GetColumnByName(cols.time);
  if (time == nullptr || ids.bounds.size() < 3) return Status::OK();
  auto last = [&](size_t k) { return time->GetScalar(ids.bounds[k + 1] - 1); };
  auto first = last(0);
  if (!first.ok()) return FromArrow(first.status(), "Forecast: " + model);
  for (size_t k = 1; k + 1 < ids.bounds.size(); ++k) {
    auto end = last(k);
    if (!end.ok()) return FromArrow(end.status(), "Forecast: " + model);
    if (!(*end)->Equals(**first)) {
      return Status::InvalidArgument(
          "Forecast: ", model, " is multivariate: its windows line the series up by their last ",
          "points, so every series must end at the same ", cols.time, "; '", ids.Id(ids.bounds[k]),
          "' ends at ", (*end)->ToString(), ", '", ids.Id(ids.bounds[0]), "' at ",
          (*first)->ToString());
    }
  }
  return Status::OK();
}

// How `name` trains under `config`. A model with overrides is built once here, so that a bad
// key or value fails before any model trains.
Result<ModelRun> PlanRun(const ModelRegistry& registry, const std::string& name,
                         const ForecastConfig& config) {
  ModelRun run;
  run.name = name;
  const auto given = config.params.find(name);
  DRC_ASSIGN_OR_RETURN(run.defaults, given == config.params.end()
                                         ? registry.Defaults(name)
                                         : registry.Defaults(name, given->second));
  if (run.defaults.multivariate) DRC_RETURN_NOT_OK(CheckMultivariate(name, config));
  run.max_steps = config.max_steps;
  run.seed = config.seed;
  if (!config.scaler.empty()) run.defaults.scaler = config.scaler;
  if (auto it = config.model_scalers.find(name); it != config.model_scalers.end()) {
    run.defaults.scaler = it->second;
  }
  run.loss = config.loss;
  if (auto it = config.model_losses.find(name); it != config.model_losses.end()) {
    run.loss = it->second;
  }
  if (!run.loss.empty()) {
    auto loss = PointLossOf(name, run.defaults, run.loss);
    if (!loss.ok()) return loss.status().WithContext("Forecast");
    DRC_RETURN_NOT_OK(CheckLossInput(name, *loss, config.input_size).WithContext("Forecast"));
    run.point_loss = *loss;
    if (loss->is_distribution() && run.defaults.loss != "MAE") {
      ModelConfig scratch;
      if (const auto it = config.params.find(name); it != config.params.end()) {
        scratch.params = it->second;
      }
      DRC_RETURN_NOT_OK(SetLikelihood(name, *loss, scratch).WithContext("Forecast"));
    }
    if (run.defaults.scaler == "revin") {
      DRC_RETURN_NOT_OK(CheckRevinLoss(name, *loss).WithContext("Forecast"));
    }
  }
  run.valid_loss = config.valid_loss;
  if (auto it = config.model_valid_losses.find(name); it != config.model_valid_losses.end()) {
    run.valid_loss = it->second;
  }
  if (!run.valid_loss.empty()) {
    auto valid = ValidLossOf(name, run.defaults, run.point_loss, run.valid_loss);
    if (!valid.ok()) return valid.status().WithContext("Forecast");
    DRC_RETURN_NOT_OK(
        CheckLossInput(name + ": valid_loss", *valid, config.input_size).WithContext("Forecast"));
  }
  // MQLoss gives the quantiles it was trained for, so levels asked must be among them.
  if (run.point_loss.multi_quantile()) {
    const auto& trained = run.point_loss.quantiles;
    std::vector<std::string> names;
    for (double t : trained) names.push_back(LevelText(t));
    for (double level : config.level) {
      if (!(level > 0 && level < 100)) continue;  // IntervalColumns names it
      for (double q : {(50 - level / 2) / 100, (50 + level / 2) / 100}) {
        if (std::none_of(trained.begin(), trained.end(),
                         [&](double t) { return std::abs(t - q) < 1e-9; })) {
          return Status::InvalidArgument(
              "Forecast: ", name, " trains on ", run.point_loss.Name(),
              ", whose outputs are the quantiles ", JoinList(names), "; level ", level,
              " asks for ", q, ": give levels among the loss's (or no level, for all of them)");
        }
      }
    }
  }
  if (config.importances && !run.defaults.selects_variables) {
    return Status::InvalidArgument("Forecast: ", name,
                                   " selects no variables, so it gives no importances (TFT does)");
  }
  if (config.importances && !config.cat_exog.empty()) {
    return Status::NotImplemented(
        "Forecast: importances with categorical variables are not built (their embeddings would "
        "need their weights added up per variable); leave out cat_exog or importances");
  }
  if (auto it = config.params.find(name); it != config.params.end()) {
    run.params = it->second;
    DRC_RETURN_NOT_OK(TakeTrainingParams(name, run.params, run.defaults, run.max_steps, run.seed));
    auto model = registry.Make(name, ModelConfigOf(run, config));
    if (!model.ok()) {
      const Status& st = model.status();
      if (st.message().find("unknown hyper-parameter") == std::string::npos) return st;
      return Status(st.code(),
                    st.message() + " or a training key (" + JoinList(TrainingParamNames()) + ")");
    }
  }
  DRC_ASSIGN_OR_RETURN(run.windows,
                       WindowOptionsFrom(run.defaults, config.input_size, config.horizon));
  return run;
}

// The selection weights of the windows forecast from, summed over the windows (ModelForecast::
// importances).
struct SelectionSums {
  // [L, n], [H, F], [S], [H, L + H], float64; undefined: none
  torch::Tensor history, future, statics, attention;
  int64_t windows = 0;

  void Add(const SelectionWeights& w) {
    auto add = [](torch::Tensor& sum, const torch::Tensor& weights) {
      if (!weights.defined()) return;
      const torch::Tensor s = weights.to(torch::kFloat64).sum(0);
      sum = sum.defined() ? sum + s : s;
    };
    add(history, w.history);
    add(future, w.future);
    add(statics, w.statics);
    add(attention, w.attention);
    windows += w.history.size(0);
  }
};

// The importances table of ModelForecast::importances from the sums of every rank's windows.
Result<data::TablePtr> ImportancesTable(const std::string& model, SelectionSums sums,
                                        const ForecastConfig& config) {
  if (Partitioned(config)) {  // every rank's windows: the count and the sums, added in place
    std::vector<torch::Tensor*> parts;
    std::vector<torch::Tensor> flat = {
        torch::full({1}, static_cast<double>(sums.windows), torch::kFloat64)};
    for (torch::Tensor* t : {&sums.history, &sums.future, &sums.statics, &sums.attention}) {
      if (!t->defined()) continue;
      parts.push_back(t);
      flat.push_back(t->flatten());
    }
    torch::Tensor all = torch::cat(flat);
    DRC_RETURN_NOT_OK(comm::AllReduce(*config.comm,
                                      std::span<double>(all.data_ptr<double>(), all.numel()),
                                      comm::ReduceOp::kSum));
    sums.windows = static_cast<int64_t>(all[0].item<double>());
    int64_t at = 1;
    for (torch::Tensor* t : parts) {
      *t = all.narrow(0, at, t->numel()).view(t->sizes());
      at += t->numel();
    }
  }
  std::vector<std::string> history_names = config.hist_exog;
  if (config.futr_exog.empty()) {
    history_names.push_back("repeated_target");
  } else {
    history_names.insert(history_names.end(), config.futr_exog.begin(), config.futr_exog.end());
  }
  history_names.push_back("observed_target");
  arrow::StringBuilder kinds, variables;
  arrow::Int64Builder steps;
  arrow::DoubleBuilder importances;
  arrow::Status st;
  // Rows per step, then variable; `first_step` numbers the steps (none: a static variable).
  auto add = [&](const char* kind, const torch::Tensor& sum, const std::vector<std::string>& names,
                 std::optional<int64_t> first_step) -> Status {
    if (!sum.defined()) return Status::OK();
    const torch::Tensor mean =
        (sum / static_cast<double>(sums.windows)).reshape({-1, sum.size(-1)}).contiguous();
    if (mean.size(1) != static_cast<int64_t>(names.size())) {
      return Status::Internal(model, ": ", mean.size(1), " ", kind, " selection weights for ",
                              names.size(), " variables");
    }
    const auto m = mean.accessor<double, 2>();
    for (int64_t step = 0; step < mean.size(0); ++step) {
      for (int64_t v = 0; v < mean.size(1); ++v) {
        st &= kinds.Append(kind);
        st &= variables.Append(names[v]);
        st &= first_step ? steps.Append(*first_step + step) : steps.AppendNull();
        st &= importances.Append(m[step][v]);
      }
    }
    return Status::OK();
  };
  DRC_RETURN_NOT_OK(add("history", sums.history, history_names, -config.input_size));
  DRC_RETURN_NOT_OK(add("future", sums.future, config.futr_exog, 1));
  DRC_RETURN_NOT_OK(add("static", sums.statics, config.stat_exog, std::nullopt));
  // Attention: per horizon step (the query), over the steps it attends to, named t-L .. t-1
  // over the input and t+1 .. t+H over the horizon.
  std::vector<std::string> keys;
  for (int64_t k = -config.input_size; k <= config.horizon; ++k) {
    if (k != 0) keys.push_back(k < 0 ? "t" + std::to_string(k) : "t+" + std::to_string(k));
  }
  DRC_RETURN_NOT_OK(add("attention", sums.attention, keys, 1));
  std::shared_ptr<arrow::Array> a, b, c, d;
  st &= kinds.Finish(&a);
  st &= variables.Finish(&b);
  st &= steps.Finish(&c);
  st &= importances.Finish(&d);
  if (!st.ok()) return FromArrow(st, "Forecast: " + model + " importances");
  return arrow::Table::Make(
      arrow::schema({arrow::field("kind", arrow::utf8()), arrow::field("variable", arrow::utf8()),
                     arrow::field("step", arrow::int64()),
                     arrow::field("importance", arrow::float64())}),
      {a, b, c, d});
}

// The points each series' conformal calibration holds out: h + step * (windows - 1).
int64_t ConformalHeldOut(const ForecastConfig& config) {
  return config.horizon +
         static_cast<int64_t>(config.conformal_step) * (config.conformal_windows - 1);
}

// Resume of a partitioned run: every rank from its own checkpoint (`found` here), at one step,
// or none; otherwise an error on every rank.
Status ResumeEveryRankOrNone(const ForecastConfig& config, const std::string& model, bool found,
                             Trainer& trainer, const std::string& path, WindowedDataset& data) {
  comm::Communicator& comm = *config.comm;
  int64_t counts[1] = {found ? 1 : 0};
  DRC_RETURN_NOT_OK(comm::AllReduce(comm, std::span<int64_t>(counts), comm::ReduceOp::kSum));
  if (counts[0] == 0) return Status::OK();
  if (counts[0] != comm.size()) {
    return Status::FailedPrecondition(
        "Forecast: ", model, ": ", counts[0], " of ", comm.size(), " ranks have a checkpoint in ",
        config.checkpoint_dir, " (one per rank: ", model, ".ckpt for rank 0, ", model,
        ".rank<r>.ckpt for rank r); this rank's ", path, found ? " is there" : " is missing",
        ": remove them to start again");
  }
  DRC_RETURN_NOT_OK(AgreeOnStatus(config.comm, trainer.Resume(path, data)));
  // {step, -step}: their maxima are the highest and the lowest step.
  int64_t steps[2] = {trainer.step(), -trainer.step()};
  DRC_RETURN_NOT_OK(comm::AllReduce(comm, std::span<int64_t>(steps), comm::ReduceOp::kMax));
  if (steps[0] != -steps[1]) {
    return Status::FailedPrecondition("Forecast: ", model, ": the ranks' checkpoints in ",
                                      config.checkpoint_dir, " are at steps ", -steps[1], " to ",
                                      steps[0], " (a run stopped while writing them)");
  }
  return Status::OK();
}

// The checkpoint whose weights model `name` starts from (ForecastConfig::init_from).
std::string InitFromPath(const ForecastConfig& config, const std::string& name) {
  return (std::filesystem::path(config.init_from) / (name + ".ckpt")).string();
}

// Trains `run` on `series` as the config asks: early stopping on the validation windows of
// val_size (from `dataset`, built on `series`), this rank's shard of the windows before them,
// and, with a `checkpoint` name (MODEL, or MODEL.cv<w> for a refit cross-validation window),
// the config's checkpoints and resume as <checkpoint>.ckpt. With `start`, the model begins
// with its weights (a warm start: ForecastConfig::warm_start) instead of its initial ones, and
// without it, with config.init_from, with that checkpoint's; a resumed checkpoint holds the
// weights it had reached. `final_loss` gets the loss of the last step.
Result<std::unique_ptr<Trainer>> TrainOn(const ModelRun& run, const SeriesData& series,
                                         WindowedDataset& dataset, const ForecastConfig& config,
                                         const std::string& checkpoint, double& final_loss,
                                         const ForecastModel* start = nullptr) {
  const int rank = config.comm ? config.comm->rank() : 0;
  const int ranks = config.comm ? config.comm->size() : 1;
  std::optional<WindowedDataset> fit_part;
  std::optional<TrainBatch> validation;
  if (config.val_size > 0) {
    auto windows = dataset.ValidationWindows(config.val_size);
    DRC_RETURN_NOT_OK(Agreed(config, windows.status()));
    validation = std::move(windows).ValueOrDie();
  }
  if (config.val_size > 0 || ranks > 1) {
    // A rank of a partitioned table draws from the windows of its own series.
    WindowOptions shard = run.windows;
    shard.shard_rank = Partitioned(config) ? 0 : rank;
    shard.shard_count = Partitioned(config) ? 1 : ranks;
    auto part = WindowedDataset::Make(
        config.val_size > 0 ? DropLast(series, config.val_size) : series, shard);
    DRC_RETURN_NOT_OK(AgreeOnStatus(config.comm, part.status()));
    fit_part = std::move(*part);
  }
  ModelConfig mc = ModelConfigOf(run, config);
  mc.categorical = series.categorical;
  mc.n_series = static_cast<int>(series.offsets.size()) - 1;
  TrainOptions topts = OptionsFrom(run.defaults, run.max_steps, run.seed);
  topts.threads = config.threads > 0 ? config.threads : DefaultThreads(ranks);
  topts.comm = config.comm;
  topts.revin = run.windows.scaler == ScalerType::kRevIN;
  topts.val_check_steps = config.val_check_steps;
  topts.early_stop_patience_steps = config.early_stop_patience_steps;
  topts.repeats_share_dropout = !config.exact_repeats;
  topts.nf_dropout = config.nf_dropout;
  topts.window_parts = config.window_parts;
  topts.device = config.device;
  topts.loss = run.loss;
  topts.valid_loss = run.valid_loss;
  const bool checkpointed = !checkpoint.empty() && !config.checkpoint_dir.empty();
  // Every rank holds the same replica, and rank 0 writes it. The ranks of a partitioned table
  // draw from their own series, so each writes its own checkpoint too (its sampler and RNGs),
  // rank r > 0 as MODEL.rank<r>.ckpt.
  const bool own_checkpoint = Partitioned(config) && rank > 0;
  const auto path =
      (std::filesystem::path(config.checkpoint_dir) /
       (checkpoint + (own_checkpoint ? ".rank" + std::to_string(rank) : std::string()) + ".ckpt"))
          .string();
  if (checkpointed) {
    std::error_code ec;
    std::filesystem::create_directories(config.checkpoint_dir, ec);
    if (ec) {
      return Status::IOError("Forecast: cannot create checkpoint directory ", config.checkpoint_dir,
                             ": ", ec.message());
    }
    if (rank == 0 || own_checkpoint) topts.checkpoint_path = path;
    topts.checkpoint_every = config.checkpoint_every;
  }
  DRC_ASSIGN_OR_RETURN(auto trainer, Trainer::Make(run.name, mc, topts, DefaultModelRegistry()));
  if (start != nullptr) {
    DRC_RETURN_NOT_OK(trainer->StartFrom(*start));
  } else if (!config.init_from.empty()) {
    DRC_RETURN_NOT_OK(trainer->StartFromCheckpoint(InitFromPath(config, run.name)));
  }
  WindowedDataset& fit_data = fit_part ? *fit_part : dataset;
  if (checkpointed && config.resume) {
    const bool found = std::filesystem::exists(path);
    if (Partitioned(config)) {
      DRC_RETURN_NOT_OK(ResumeEveryRankOrNone(config, checkpoint, found, *trainer, path, fit_data));
    } else if (found) {
      DRC_RETURN_NOT_OK(trainer->Resume(path, fit_data));
    }
  }
  DRC_ASSIGN_OR_RETURN(final_loss, trainer->Fit(fit_data, validation ? &*validation : nullptr));
  return trainer;
}

// NF's conformity scores (PredictionIntervals with refit=False cross-validation): a model
// trained on each series without its last h + step * (windows - 1) points forecasts h points
// from each of `windows` cutoffs `step` apart, the last one h points before the end, and the
// scores are the absolute errors: [S, windows, H] (NaN where a value is missing).
// Every series is at least ConformalHeldOut(config) + 1 points long (Forecast checks).
// The calibration model starts from `start`'s weights when given (TrainOn), and is kept in
// `calibrated` when that is given (the next fit of a warm start begins with it).
Result<torch::Tensor> ConformityScores(const ModelRun& run, const SeriesData& series,
                                       const ForecastConfig& config,
                                       const ForecastModel* start = nullptr,
                                       std::unique_ptr<Trainer>* calibrated = nullptr) {
  const int64_t held = ConformalHeldOut(config);
  const SeriesData calibration = DropLast(series, held);
  auto dataset = WindowedDataset::Make(calibration, run.windows);
  Status made = dataset.status();
  if (!made.ok()) {
    made = Status::InvalidArgument("Forecast: ", run.name, " conformal calibration (each series ",
                                   "without its last ", held, " points): ", made.message());
  }
  DRC_RETURN_NOT_OK(Agreed(config, made));
  double loss = 0;
  DRC_ASSIGN_OR_RETURN(auto trainer, TrainOn(run, calibration, *dataset, config, "", loss, start));
  auto scored = [&]() -> Result<torch::Tensor> {
    std::vector<torch::Tensor> scores;
    for (int64_t w = 0; w < config.conformal_windows; ++w) {
      const int64_t after = held - w * config.conformal_step;  // points after this cutoff
      DRC_ASSIGN_OR_RETURN(auto upto, WindowedDataset::Make(DropLast(series, after), run.windows));
      DRC_ASSIGN_OR_RETURN(torch::Tensor forecast, trainer->Predict(upto));
      DRC_ASSIGN_OR_RETURN(
          auto score, Guard(run.name + " conformity scores", [&] {
            std::vector<torch::Tensor> actual;
            for (size_t k = 0; k + 1 < series.offsets.size(); ++k) {
              const int64_t cutoff = series.offsets[k + 1] - after;
              actual.push_back(series.values.slice(0, cutoff, cutoff + config.horizon));
            }
            return (forecast - torch::stack(actual).to(forecast.dtype())).abs();
          }));
      scores.push_back(std::move(score));
    }
    return Guard(run.name + " conformity scores", [&] { return torch::stack(scores, 1); });
  }();
  DRC_RETURN_NOT_OK(Agreed(config, scored.status()));
  if (calibrated != nullptr) *calibrated = std::move(trainer);
  return scored;
}

}  // namespace

std::vector<std::string> ModelNames() { return DefaultModelRegistry().Names(); }

Result<data::TablePtr> SortSeries(const data::TablePtr& table, const data::SeriesColumns& cols) {
  DRC_RETURN_NOT_OK(data::Initialize());
  if (!table) return Status::InvalidArgument("Forecast: null table");
  DRC_RETURN_NOT_OK(CheckColumns(table, cols));
  return data::Sort(table, {{cols.id}, {cols.time}});
}

namespace {

// InferFreq of a table that SortSeries gave.
Result<std::string> InferFreqOfSorted(const data::TablePtr& sorted,
                                      const data::SeriesColumns& cols) {
  DRC_ASSIGN_OR_RETURN(const SeriesIds ids, IdsOf(sorted, cols.id));
  const auto& bounds = ids.bounds;
  if (bounds.size() < 2) return Status::InvalidArgument("InferFreq: empty table");
  // The longest series tells most.
  int64_t best = 0;
  for (size_t k = 1; k + 1 < bounds.size(); ++k) {
    if (bounds[k + 1] - bounds[k] > bounds[best + 1] - bounds[best]) best = static_cast<int64_t>(k);
  }
  const int64_t n = std::min<int64_t>(bounds[best + 1] - bounds[best], 2000);
  if (n < 2) return Status::InvalidArgument("InferFreq: every series has one time stamp");
  DRC_ASSIGN_OR_RETURN(auto one, data::Slice(sorted, bounds[best], n));
  std::vector<std::string> candidates = {"D", "W", "MS", "ME", "QS", "QE", "YS", "YE", "h", "min"};
  if (arrow::is_integer(one->GetColumnByName(cols.time)->type()->id())) {
    DRC_ASSIGN_OR_RETURN(auto t, AsDoubles(one, cols.time));
    int64_t step = 0;
    for (int64_t i = 1; i < n; ++i) {
      step = std::gcd(step, static_cast<int64_t>(t[i] - t[i - 1]));
    }
    candidates = {std::to_string(std::max<int64_t>(step, 1))};
  }
  for (const auto& freq : candidates) {
    auto regular = data::Resample(one, cols, freq);
    if (regular.ok() && (*regular)->num_rows() == n) return freq;
  }
  // Missing or repeated stamps fail every frequency: say so rather than that none fits.
  DRC_RETURN_NOT_OK(data::CheckTimeStamps(one, cols));
  return Status::InvalidArgument("cannot infer the frequency of series '", ids.Id(bounds[best]),
                                 "' from its time stamps; pass it (D, W, MS, ME, QS, QE, YS, YE, "
                                 "h)");
}

// What Forecast trains on and scores, from one rank's table.
struct Panel {
  SeriesData series;  // each series' training part
  SeriesData whole;   // with cross-validation: each series whole
  // The rows forecast: the held-out points, the future stamps (no values) or, with
  // cross-validation, the windows' rows, and their cutoffs.
  data::TablePtr held_out;
  std::shared_ptr<arrow::ChunkedArray> cutoffs;
  std::vector<double> y_test;           // held_out's values (none with `future`)
  std::shared_ptr<arrow::Array> ids;    // partitioned: one per series, as text
  std::vector<std::string> series_ids;  // in the order of `series`
};

// The points that cross-validation holds out of each series: h + cv_step * (cv_windows - 1).
int64_t CvHeldOut(const ForecastConfig& config) {
  return config.horizon +
         static_cast<int64_t>(config.cv_step) * (static_cast<int64_t>(config.cv_windows) - 1);
}

Result<Panel> PanelOf(const data::TablePtr& regular, const data::SeriesColumns& cols,
                      const std::string& freq, const ForecastConfig& config, bool any_conformal,
                      const Categories& categories) {
  // The models train on `history`:
  // all but the last H of each series, which are `held_out` for the metrics, or with `future`
  // every point, the forecasts then being for the H stamps after each series' end. With
  // cross-validation they train on all but the last `held` points, and `held_out` becomes the
  // windows' rows (below).
  const bool cv = config.cv_windows > 0;
  const int held = cv ? static_cast<int>(CvHeldOut(config)) : config.horizon;
  const std::string what =
      (cv ? "h + cv_step * (cv_windows - 1) = " : "horizon ") + std::to_string(held);
  Panel panel;
  data::TablePtr history = regular;
  data::TablePtr& held_out = panel.held_out;
  if (config.future) {
    DRC_ASSIGN_OR_RETURN(held_out, data::FutureStamps(regular, cols, freq, config.horizon));
  } else {
    DRC_ASSIGN_OR_RETURN(auto split, data::SplitLastH(regular, cols, held));
    history = split.train;
    held_out = split.test;
  }
  DRC_ASSIGN_OR_RETURN(const SeriesIds train_ids, IdsOf(history, cols.id));
  DRC_ASSIGN_OR_RETURN(const SeriesIds test_ids, IdsOf(held_out, cols.id));
  const auto& train_bounds = train_ids.bounds;
  const auto& test_bounds = test_ids.bounds;
  if (train_bounds.size() != test_bounds.size()) {
    return Status::InvalidArgument("Forecast: some series have at most ", what,
                                   " points, so nothing to train on");
  }
  for (size_t k = 0; k + 1 < test_bounds.size(); ++k) {
    const std::string_view id = test_ids.Id(test_bounds[k]);
    if (id != train_ids.Id(train_bounds[k]) || test_bounds[k + 1] - test_bounds[k] != held) {
      return Status::InvalidArgument("Forecast: series '", id, "' has too few points for ", what);
    }
  }
  // Conformal calibration holds out h + step * (windows - 1) more points (and val_size), as NF
  // asks of every series (its min_samples).
  if (any_conformal) {
    const int64_t calibration = ConformalHeldOut(config);
    for (size_t k = 0; k + 1 < train_bounds.size(); ++k) {
      const int64_t points = train_bounds[k + 1] - train_bounds[k];
      if (points < calibration + 1 + config.val_size) {
        return Status::InvalidArgument(
            "Forecast: series '", train_ids.Id(train_bounds[k]), "' has ", points,
            " points to train on; conformal intervals with ", config.conformal_windows,
            " windows need at least ", calibration + 1 + config.val_size,
            " (h + step * (windows - 1) + 1", config.val_size > 0 ? " + val_size)" : ")");
      }
    }
  }
  // With exogenous variables the training part is each series whole less its held-out points,
  // which keeps their future variables for the forecast (SeriesData::next_futr).
  const bool exog = HasExog(config);
  if (exog) {
    DRC_ASSIGN_OR_RETURN(const SeriesIds ids, IdsOf(regular, cols.id));
    DRC_ASSIGN_OR_RETURN(panel.whole, SeriesOf(regular, cols.value, ids.bounds));
    DRC_RETURN_NOT_OK(AddExog(regular, cols, ids, config, categories, panel.whole));
    panel.series = config.future ? panel.whole : DropLast(panel.whole, held);
    if (config.future && !config.futr_exog.empty()) {
      DRC_ASSIGN_OR_RETURN(panel.series.next_futr,
                           FutureExogValues(held_out, cols, config, categories));
    }
  } else {
    DRC_ASSIGN_OR_RETURN(panel.series, SeriesOf(history, cols.value, train_bounds));
  }
  for (size_t k = 0; k + 1 < train_bounds.size(); ++k) {
    panel.series_ids.emplace_back(train_ids.Id(train_bounds[k]));
  }
  if (Partitioned(config)) {
    arrow::StringBuilder ids;
    for (size_t k = 0; k + 1 < train_bounds.size(); ++k) {
      DRC_RETURN_NOT_OK(FromArrow(ids.Append(train_ids.Id(train_bounds[k])), "Forecast: ids"));
    }
    DRC_RETURN_NOT_OK(FromArrow(ids.Finish(&panel.ids), "Forecast: ids"));
  }
  // Cross-validation: every series whole (the forecasts of window w see it up to its cutoff),
  // and the windows' rows of `regular`, series by series and window by window; `held_out`
  // becomes those rows and `cutoffs` the last stamp before each.
  if (cv) {
    // regular's series k is history's, then held_out's.
    std::vector<int64_t> bounds(train_bounds.size());
    for (size_t k = 0; k < bounds.size(); ++k) bounds[k] = train_bounds[k] + test_bounds[k];
    if (!exog) {
      DRC_ASSIGN_OR_RETURN(panel.whole, SeriesOf(regular, cols.value, bounds));
    }
    std::vector<int64_t> rows, cutoff_rows;
    for (size_t k = 0; k + 1 < bounds.size(); ++k) {
      for (int w = 0; w < config.cv_windows; ++w) {
        const int64_t start = bounds[k + 1] - held + static_cast<int64_t>(w) * config.cv_step;
        for (int j = 0; j < config.horizon; ++j) {
          rows.push_back(start + j);
          cutoff_rows.push_back(start - 1);
        }
      }
    }
    DRC_ASSIGN_OR_RETURN(auto taken, TakeRows(regular, rows));
    held_out = taken.table();
    DRC_ASSIGN_OR_RETURN(auto stamps, TakeRows(regular->GetColumnByName(cols.time), cutoff_rows));
    panel.cutoffs = stamps.chunked_array();
  }
  if (!config.future) {
    DRC_ASSIGN_OR_RETURN(panel.y_test, AsDoubles(held_out, cols.value));
  }
  return panel;
}

// InferFreqOfSorted on each rank of `comm`, which must agree (null: this rank alone).
Result<std::string> InferFreqOnRanks(const data::TablePtr& sorted, const data::SeriesColumns& cols,
                                     comm::Communicator* comm) {
  auto freq = InferFreqOfSorted(sorted, cols);
  if (comm == nullptr) return freq;
  DRC_RETURN_NOT_OK(AgreeOnStatus(comm, freq.status()));
  return AgreeOnFreq(*comm, *freq);
}

}  // namespace

Result<std::string> InferFreq(const data::TablePtr& table, const data::SeriesColumns& cols,
                              comm::Communicator* comm) {
  auto sorted = SortSeries(table, cols);
  if (comm != nullptr) DRC_RETURN_NOT_OK(AgreeOnStatus(comm, sorted.status()));
  if (!sorted.ok()) return sorted.status();
  return InferFreqOnRanks(*sorted, cols, comm);
}

Result<std::vector<ModelForecast>> Forecast(const data::TablePtr& table,
                                            const data::SeriesColumns& cols,
                                            const ForecastConfig& config) {
  DRC_RETURN_NOT_OK(data::Initialize());
  if (!table) return Status::InvalidArgument("Forecast: null table");
  if (config.models.empty()) return Status::InvalidArgument("Forecast: no model given");
  if (config.horizon <= 0 || config.input_size <= 0 || config.max_steps < 0) {
    return Status::InvalidArgument(
        "Forecast: horizon and input_size must be > 0 and max_steps "
        ">= 0, got ",
        config.horizon, ", ", config.input_size, ", ", config.max_steps);
  }
  if (config.val_size < 0 || (config.val_size > 0 && config.val_size < config.horizon)) {
    return Status::InvalidArgument(
        "Forecast: val_size must be 0 or at least the horizon h = ", config.horizon,
        " (NF's rule: a validation window's horizon lies inside the last val_size points), got ",
        config.val_size);
  }
  const auto& registry = DefaultModelRegistry();
  // Interval settings are checked before any training.
  if (config.conformal_windows != 0 && config.conformal_windows < 2) {
    return Status::InvalidArgument("Forecast: conformal_windows must be 0 (none) or >= 2, got ",
                                   config.conformal_windows);
  }
  if (config.conformal_step < 1) {
    return Status::InvalidArgument("Forecast: conformal_step must be >= 1, got ",
                                   config.conformal_step);
  }
  DRC_RETURN_NOT_OK(CheckConformalMethod(config.conformal_method));
  if (Partitioned(config) && config.comm->memory() != comm::MemoryKind::kHost) {
    return Status::NotImplemented("Forecast: a partitioned table is gathered in host memory; the ",
                                  config.comm->backend(),
                                  " communicator reads device memory (use mpi or gloo)");
  }
  if (config.cv_windows < 0 || config.cv_step < 1 || CvHeldOut(config) > (int64_t{1} << 30)) {
    return Status::InvalidArgument(
        "Forecast: cv_windows must be >= 0 and cv_step >= 1 with h + cv_step * (cv_windows - 1) "
        "at most 2^30, got ",
        config.cv_windows, " and ", config.cv_step);
  }
  const bool cv = config.cv_windows > 0;
  if (config.cv_refit < 0 || (config.cv_refit > 0 && !cv)) {
    return Status::InvalidArgument(
        "Forecast: cv_refit must be >= 0 (0: train once; N: train again at every N-th "
        "cross-validation window) and needs cv_windows >= 1, got cv_refit ",
        config.cv_refit, " with cv_windows ", config.cv_windows);
  }
  if (config.warm_start && config.cv_refit == 0 && config.conformal_windows == 0) {
    return Status::InvalidArgument(
        "Forecast: warm_start chains a model's fits, and there is one: it needs cv_refit >= 1 "
        "(a fit per refit window) or conformal_windows (a calibration fit before the fit)");
  }
  if (!config.init_from.empty() && !config.checkpoint_dir.empty()) {
    std::error_code ec;
    if (std::filesystem::equivalent(config.init_from, config.checkpoint_dir, ec)) {
      return Status::InvalidArgument(
          "Forecast: init_from and checkpoint_dir are the same folder (", config.checkpoint_dir,
          "): the run's checkpoints would replace the weights its fits start from; write them "
          "to another");
    }
  }
  if (cv && config.future) {
    return Status::InvalidArgument(
        "Forecast: cross-validation scores forecasts of held-out windows; it does not go with "
        "future (forecasts after the series' ends)");
  }
  // Overrides must name registered models (a misspelt name would otherwise be ignored); those
  // of registered models that do not run are ignored, so that one file serves many runs.
  auto known = [&](const std::string& name) {
    return registry.Defaults(name).status().WithContext("Forecast: hyper-parameters given");
  };
  for (const auto& entry : config.params) DRC_RETURN_NOT_OK(known(entry.first));
  for (const auto& entry : config.model_scalers) DRC_RETURN_NOT_OK(known(entry.first));
  for (const auto& entry : config.model_losses) DRC_RETURN_NOT_OK(known(entry.first));
  for (const auto& entry : config.model_valid_losses) DRC_RETURN_NOT_OK(known(entry.first));
  // Each model's plan (defaults, overrides, windows), checked before any training.
  std::vector<ModelRun> runs;
  bool any_conformal = false;
  for (const auto& name : config.models) {
    DRC_ASSIGN_OR_RETURN(ModelRun run, PlanRun(registry, name, config));
    runs.push_back(run);
    if (!config.init_from.empty() && !std::filesystem::exists(InitFromPath(config, name))) {
      return Status::NotFound("Forecast: init_from ", config.init_from, " has no ", name,
                              ".ckpt (the checkpoint a run with checkpoint_dir writes for ", name,
                              ")");
    }
    const TrainDefaults& defaults = run.defaults;
    if (!NeedsConformal(defaults, run.point_loss, config)) continue;
    if (config.conformal_windows == 0) {
      return Status::InvalidArgument(
          "Forecast: ", name, " gives point forecasts only (loss ",
          run.loss.empty() ? defaults.loss : run.loss,
          "), so its prediction intervals are conformal: set conformal_windows >= 2 (NF's "
          "PredictionIntervals(n_windows)), train it on MQLoss, or ask levels of distribution "
          "models (DeepAR) only");
    }
    any_conformal = true;
  }
  DRC_RETURN_NOT_OK(CheckExogSettings(runs, config));
  // NF's HINT: read and checked before any training.
  std::optional<Hierarchy> hierarchy;
  Reconciliation reconciliation = Reconciliation::kIdentity;
  if (!config.hierarchy.empty() || !config.reconciliation.empty()) {
    if (config.hierarchy.empty() || config.reconciliation.empty()) {
      return Status::InvalidArgument(
          "Forecast: a hierarchy (a summing matrix) and a reconciliation (BottomUp, "
          "MinTraceOLS, MinTraceWLS or Identity) go together, as NF's HINT(S, reconciliation)");
    }
    DRC_ASSIGN_OR_RETURN(reconciliation, ParseReconciliation(config.reconciliation));
    for (const ModelRun& run : runs) {
      if (!run.point_loss.is_distribution() && !run.defaults.gives_quantiles) {
        return Status::InvalidArgument(
            "Forecast: ", run.name, " trains on ", run.point_loss.Name(),
            "; a hierarchy (NF's HINT) needs a distribution loss: DistributionLoss(...), GMM, "
            "PMM or NBMM");
      }
    }
    DRC_ASSIGN_OR_RETURN(hierarchy, ReadHierarchy(config.hierarchy));
  }
  if (cv && any_conformal && config.cv_refit == 0) {
    return Status::InvalidArgument(
        "Forecast: conformal intervals within cross-validation need cv_refit >= 1 (each fit "
        "calibrated on its own training part), as NF's cross_validation(refit=True) with "
        "prediction_intervals");
  }
  // The quantile columns: the levels given (none when empty), or NF's default output of a
  // distribution model when none are.
  DRC_ASSIGN_OR_RETURN(QuantileColumns given, IntervalColumns(config.level, false));
  DRC_ASSIGN_OR_RETURN(QuantileColumns nf_default, IntervalColumns({80, 90}, true));

  // Sorted once here; the steps below find the rows in order.
  auto sorted = SortSeries(table, cols);
  DRC_RETURN_NOT_OK(Agreed(config, sorted.status()));
  std::string freq = config.freq;
  if (freq.empty()) {
    DRC_ASSIGN_OR_RETURN(
        freq, InferFreqOnRanks(*sorted, cols, Partitioned(config) ? config.comm : nullptr));
  }
  const int64_t held = cv ? CvHeldOut(config) : config.horizon;
  // Regular series: gaps become nulls, i.e. unavailable points.
  auto regular = data::Resample(*sorted, cols, freq);
  DRC_RETURN_NOT_OK(Agreed(config, regular.status()));
  if (HasExog(config)) DRC_RETURN_NOT_OK(Agreed(config, CheckExogColumns(*regular, cols, config)));
  DRC_RETURN_NOT_OK(Agreed(config, CheckCounts(*regular, cols, runs)));
  for (const ModelRun& run : runs) {
    if (!run.defaults.multivariate) continue;
    DRC_RETURN_NOT_OK(CheckSeriesEndTogether(*regular, cols, run.name));
    break;
  }
  Categories categories;
  if (!config.cat_exog.empty()) {
    DRC_ASSIGN_OR_RETURN(categories,
                         CategoriesOf(*regular, cols, config.future ? 0 : held, config));
  }
  auto made = PanelOf(*regular, cols, freq, config, any_conformal, categories);
  DRC_RETURN_NOT_OK(Agreed(config, made.status()));
  const Panel panel = std::move(made).ValueOrDie();
  if (Partitioned(config)) DRC_RETURN_NOT_OK(CheckEachSeriesOnOneRank(*config.comm, panel.ids));
  const SeriesData& series = panel.series;
  torch::Tensor reconciler;               // S P in the panel's series order; undefined: none
  std::optional<PanelOrder> panel_order;  // a partitioned table's, for HINT
  if (hierarchy) {
    if (Partitioned(config)) {
      auto made_order = PanelOrderOf(config.comm, panel.series_ids);
      DRC_RETURN_NOT_OK(Agreed(config, made_order.status()));
      panel_order = std::move(made_order).ValueOrDie();
    }
    auto made_reconciler = ReconcilerFor(*hierarchy, reconciliation,
                                         panel_order ? panel_order->ids : panel.series_ids);
    if (!made_reconciler.ok()) return made_reconciler.status().WithContext(config.hierarchy);
    reconciler = *made_reconciler;
  }
  if (Partitioned(config)) {
    // NF pads every series to the panel's longest: tell each rank's windows how much longer
    // that is than the longest it holds.
    const int64_t longest = LongestSeries(series);
    int64_t panel_longest = longest;
    DRC_RETURN_NOT_OK(
        comm::AllReduce(*config.comm, std::span<int64_t>(&panel_longest, 1), comm::ReduceOp::kMax));
    for (ModelRun& run : runs) run.windows.longer_elsewhere = panel_longest - longest;
  }

  std::vector<ModelForecast> out;
  for (const ModelRun& run : runs) {
    const std::string& name = run.name;
    Stopwatch watch;
    const TrainDefaults& defaults = run.defaults;
    // Point models give intervals from the errors of a calibration run (NF's
    // PredictionIntervals), trained before the model itself.
    const bool conformal = NeedsConformal(defaults, run.point_loss, config);
    ModelForecast f;
    f.model = name;
    // Window w's data: each series up to the window's cutoff (window 0's is the training part).
    // Each fit trains a model on its window's data (after calibrating its conformity scores
    // there), from the initial weights, or with warm_start from those the fit before it ended
    // with; the windows up to the next fit are forecast with it.
    const int windows = cv ? config.cv_windows : 1;
    auto upto = [&](int w) {
      return w == 0 ? series : DropLast(panel.whole, held - int64_t{w} * config.cv_step);
    };
    torch::Tensor scores;
    std::unique_ptr<Trainer> trainer;
    auto fit = [&](int w, const SeriesData& data, WindowedDataset& dataset) -> Status {
      // The previous fit's model: the last window's, then the calibration model.
      std::unique_ptr<Trainer> previous = config.warm_start ? std::move(trainer) : nullptr;
      auto start = [&] { return previous ? &previous->model() : nullptr; };
      if (conformal) {
        DRC_ASSIGN_OR_RETURN(scores, ConformityScores(run, data, config, start(),
                                                      config.warm_start ? &previous : nullptr));
      }
      const std::string checkpoint = w == 0 ? name : name + ".cv" + std::to_string(w);
      DRC_ASSIGN_OR_RETURN(trainer,
                           TrainOn(run, data, dataset, config, checkpoint, f.final_loss, start()));
      f.steps = trainer->step();
      f.stopped_early = trainer->stopped_early();
      f.val_losses = trainer->validation_losses();
      f.threads = trainer->threads();
      if (hierarchy) f.reconciliation = ReconciliationName(reconciliation);
      return Status::OK();
    };
    // Without levels: NF's default columns of a distribution model, or all of the loss's
    // (MQLoss's, or those a DistributionLoss names).
    const QuantileColumns own =
        run.point_loss.gives_quantiles() ? MultiQuantileColumns(run.point_loss) : nf_default;
    const QuantileColumns& intervals =
        config.level.empty() && GivesQuantiles(defaults, run.point_loss) ? own : given;
    const std::vector<double> asked = conformal ? std::vector<double>{} : intervals.quantiles;
    std::vector<torch::Tensor> points, quantiles;
    SelectionSums selection;
    for (int w = 0; w < windows; ++w) {
      // The window's data gives its forecast windows (and, for a fit, its validation windows).
      const SeriesData data = upto(w);
      auto made_dataset = WindowedDataset::Make(data, run.windows);
      DRC_RETURN_NOT_OK(Agreed(config, made_dataset.status()));
      WindowedDataset dataset = std::move(made_dataset).ValueOrDie();
      if (w == 0 || (config.cv_refit > 0 && w % config.cv_refit == 0)) {
        DRC_RETURN_NOT_OK(fit(w, data, dataset));
      }
      auto predicted = [&]() -> Result<Trainer::Prediction> {
        if (reconciler.defined()) {  // NF's HINT.predict
          auto base = trainer->PredictQuantiles(dataset, SampleLevels(run.point_loss.num_samples));
          // A partitioned table's ranks reconcile every rank's samples (each rank the same) and
          // keep their own series' rows.
          DRC_RETURN_NOT_OK(Agreed(config, base.status()));
          torch::Tensor samples = base->quantiles;
          if (panel_order) {
            DRC_ASSIGN_OR_RETURN(samples, GatherSamples(config.comm, samples, *panel_order));
          }
          return Guard(name + " reconciliation", [&] {
            ReconciledForecast r =
                ReconcileSamples(reconciler, samples, asked,
                                 static_cast<uint64_t>(run.seed) + static_cast<uint64_t>(w));
            if (panel_order) {
              r.mean = r.mean.index_select(0, panel_order->mine);
              if (r.quantiles.defined()) {
                r.quantiles = r.quantiles.index_select(0, panel_order->mine);
              }
            }
            return Trainer::Prediction{r.mean, r.quantiles};
          });
        }
        DRC_ASSIGN_OR_RETURN(auto prediction, trainer->PredictQuantiles(dataset, asked));
        if (conformal) {
          DRC_ASSIGN_OR_RETURN(prediction.quantiles,
                               ConformalQuantiles(name, prediction.point, scores,
                                                  intervals.quantiles, config.conformal_method));
        }
        return prediction;
      }();
      DRC_RETURN_NOT_OK(Agreed(config, predicted.status()));
      points.push_back(predicted->point);
      quantiles.push_back(predicted->quantiles);
      if (config.importances) {
        auto selected = trainer->VariableSelection(dataset);
        DRC_RETURN_NOT_OK(Agreed(config, selected.status()));
        selection.Add(*selected);
      }
    }
    if (config.importances) {
      DRC_ASSIGN_OR_RETURN(f.importances, ImportancesTable(name, std::move(selection), config));
    }
    // Rows in the order of held_out: series, then window, then step.
    auto predicted = Guard(name + " cross-validation", [&] {
      if (!cv) return Trainer::Prediction{points[0], quantiles[0]};
      Trainer::Prediction all;
      all.point = torch::stack(points, 1).flatten(0, 1);
      if (quantiles[0].defined()) all.quantiles = torch::stack(quantiles, 1).flatten(0, 1);
      return all;
    });
    DRC_RETURN_NOT_OK(Agreed(config, predicted.status()));
    const Trainer::Prediction& prediction = *predicted;
    // This rank's rows: unique_id, ds, [cutoff,] y, y_hat and the quantile columns.
    const data::TablePtr& held_out = panel.held_out;
    std::vector<std::shared_ptr<arrow::Field>> fields = {
        arrow::field(cols.id, held_out->GetColumnByName(cols.id)->type()),
        arrow::field(cols.time, held_out->GetColumnByName(cols.time)->type())};
    std::vector<std::shared_ptr<arrow::ChunkedArray>> columns = {
        held_out->GetColumnByName(cols.id), held_out->GetColumnByName(cols.time)};
    if (cv) {
      fields.push_back(arrow::field("cutoff", panel.cutoffs->type()));
      columns.push_back(panel.cutoffs);
    }
    const std::vector<double> y_hat = Flat(prediction.point);
    std::shared_ptr<arrow::ChunkedArray> actual;
    if (config.future) {
      auto nulls = arrow::MakeArrayOfNull(arrow::float64(), static_cast<int64_t>(y_hat.size()));
      if (!nulls.ok()) return FromArrow(nulls.status(), "Forecast");
      actual = std::make_shared<arrow::ChunkedArray>(*nulls);
    } else {
      DRC_ASSIGN_OR_RETURN(actual, DoubleColumn(panel.y_test));
    }
    fields.push_back(arrow::field(cols.value, arrow::float64()));
    fields.push_back(arrow::field("y_hat", arrow::float64()));
    columns.push_back(actual);
    DRC_ASSIGN_OR_RETURN(auto y_hat_col, DoubleColumn(y_hat));
    columns.push_back(y_hat_col);
    for (size_t k = 0; k < intervals.quantiles.size(); ++k) {
      fields.push_back(arrow::field("y_hat" + intervals.suffixes[k], arrow::float64()));
      DRC_ASSIGN_OR_RETURN(
          auto column, DoubleColumn(Flat(prediction.quantiles.select(2, static_cast<int64_t>(k)))));
      columns.push_back(std::move(column));
    }
    f.predictions = arrow::Table::Make(arrow::schema(fields), columns);
    if (Partitioned(config)) {
      // Every rank gets every series' rows, in the order one rank would give them.
      DRC_ASSIGN_OR_RETURN(f.predictions, GatherInOrder(*config.comm, f.predictions, cols, cv));
    }
    f.seconds = watch.Seconds();
    // The scores, over the rows of every series.
    DRC_RETURN_NOT_OK(Score(f, cols.value, intervals, config.future));
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace drc::dl
