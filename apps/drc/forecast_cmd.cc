#include "forecast_cmd.h"

#include <arrow/api.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "drc/common/strings.h"
#include "drc/data/dist.h"
#include "drc/data/dist_io.h"
#include "drc/data/io.h"
#include "drc/data/timeseries.h"
#include "world.h"

namespace drc::app {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Writes `table` as CSV or Parquet by the extension of `path` (its folder made if missing);
// `option` names the flag in the error for another extension.
Status WriteTable(const arrow::Table& table, const std::string& path, const char* option) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (EndsWith(path, ".csv")) return data::WriteCsv(table, path);
  if (EndsWith(path, ".parquet")) return data::WriteParquet(table, path);
  return Status::InvalidArgument(option, " ", path, ": use a .csv or .parquet file name");
}

// The model column's width: 12, or the longest name (VanillaTransformer is 18).
int NameWidth(const std::vector<dl::ModelForecast>& results) {
  size_t width = 12;
  for (const auto& r : results) width = std::max(width, r.model.size());
  return static_cast<int>(width);
}

}  // namespace

void PrintForecastTable(const std::vector<dl::ModelForecast>& results) {
  const int w = NameWidth(results);
  std::printf("%-*s %14s %14s %9s %9s %9s\n", w, "model", "MAE", "RMSE", "MAPE %", "sMAPE %",
              "seconds");
  for (const auto& r : results) {
    std::printf("%-*s %14.2f %14.2f %9.3f %9.3f %9.3f\n", w, r.model.c_str(), r.mae, r.rmse, r.mape,
                r.smape, r.seconds);
  }
  for (const auto& r : results) {
    for (const auto& [level, score] : r.intervals) {
      std::printf("%s %g %% interval: %.3f of the actual values inside, mean width %.2f\n",
                  r.model.c_str(), level, score.coverage, score.width);
    }
  }
}

Status WriteForecasts(const std::vector<dl::ModelForecast>& results, const std::string& path,
                      bool future) {
  if (results.empty()) return Status::InvalidArgument("no forecasts to write");
  const auto& first = results.front().predictions;
  std::vector<std::shared_ptr<arrow::Field>> fields;
  std::vector<std::shared_ptr<arrow::ChunkedArray>> columns;
  // The columns before the forecasts (unique_id, ds, [cutoff,] y), y left out with `future`.
  for (int i = 0; i < first->num_columns(); ++i) {
    const std::string& name = first->schema()->field(i)->name();
    if (name.rfind("y_hat", 0) == 0) break;
    if (future && name == data::SeriesColumns().value) continue;
    fields.push_back(first->schema()->field(i));
    columns.push_back(first->column(i));
  }
  // y_hat and its quantile columns (y_hat-lo-80, ...) under the model's name, as NF's.
  for (const auto& r : results) {
    const auto& schema = *r.predictions->schema();
    for (int i = 0; i < schema.num_fields(); ++i) {
      const std::string& name = schema.field(i)->name();
      if (name.rfind("y_hat", 0) != 0) continue;
      fields.push_back(arrow::field(r.model + name.substr(5), arrow::float64()));
      columns.push_back(r.predictions->column(i));
    }
  }
  return WriteTable(*arrow::Table::Make(arrow::schema(fields), columns), path, "--out");
}

Status WriteImportances(const std::vector<dl::ModelForecast>& results, const std::string& path) {
  std::vector<std::shared_ptr<arrow::Table>> tables;
  for (const auto& r : results) {
    if (!r.importances) continue;
    auto column =
        arrow::MakeArrayFromScalar(arrow::StringScalar(r.model), r.importances->num_rows());
    if (!column.ok()) return Status::IOError("--importances: ", column.status().ToString());
    auto with_model = r.importances->AddColumn(0, arrow::field("model", arrow::utf8()),
                                               std::make_shared<arrow::ChunkedArray>(*column));
    if (!with_model.ok()) return Status::IOError("--importances: ", with_model.status().ToString());
    tables.push_back(*with_model);
  }
  if (tables.empty()) return Status::InvalidArgument("--importances: no model gave importances");
  auto table = arrow::ConcatenateTables(tables);
  if (!table.ok()) return Status::IOError("--importances: ", table.status().ToString());
  return WriteTable(**table, path, "--importances");
}

namespace {

// With --future: seconds and final loss per model, and the stamps forecast (no metrics: the
// future has no actual values yet).
void PrintFutureTable(const std::vector<dl::ModelForecast>& results,
                      const data::SeriesColumns& cols) {
  const int w = NameWidth(results);
  std::printf("%-*s %9s %14s\n", w, "model", "seconds", "final loss");
  for (const auto& r : results) {
    std::printf("%-*s %9.3f %14.6f\n", w, r.model.c_str(), r.seconds, r.final_loss);
  }
  for (const auto& r : results) {
    for (const auto& [level, score] : r.intervals) {
      std::printf("%s %g %% interval: mean width %.2f\n", r.model.c_str(), level, score.width);
    }
  }
  const auto& p = results.front().predictions;
  const auto ds = p->GetColumnByName(cols.time);
  auto first = ds->GetScalar(0);
  auto last = ds->GetScalar(ds->length() - 1);
  if (first.ok() && last.ok()) {
    std::printf("forecast %lld rows: %s .. %s (no actual values, so no metrics)\n",
                static_cast<long long>(p->num_rows()), (*first)->ToString().c_str(),
                (*last)->ToString().c_str());
  }
}

Result<dl::ForecastConfig> ConfigFrom(const ForecastArgs& args, comm::Communicator* comm) {
  for (const auto& [option, path] :
       {std::pair{"--out", &args.out}, std::pair{"--importances", &args.importances}}) {
    if (!path->empty() && !EndsWith(*path, ".csv") && !EndsWith(*path, ".parquet")) {
      return Status::InvalidArgument(option, " ", *path, ": use a .csv or .parquet file name");
    }
  }
  dl::ForecastConfig config;
  config.models = SplitList(args.models);
  config.horizon = args.horizon;
  config.input_size = args.input_size;
  config.max_steps = args.steps;
  config.freq = args.freq;
  config.seed = args.seed;
  config.comm = comm;
  config.scaler = args.scaler;
  config.loss = args.loss;
  config.valid_loss = args.valid_loss;
  config.futr_exog = SplitList(args.futr_exog);
  config.hist_exog = SplitList(args.hist_exog);
  config.stat_exog = SplitList(args.stat_exog);
  config.cat_exog = SplitList(args.cat_exog);
  config.cat_emb_dim = args.cat_emb_dim;
  config.hierarchy = args.hierarchy;
  config.reconciliation = args.reconciliation;
  if (!args.futr_data.empty()) {
    DRC_ASSIGN_OR_RETURN(config.futr_data, data::ReadSeries(args.futr_data, {}));
  }
  config.threads = args.threads;
  config.val_size = args.val_size;
  config.val_check_steps = args.val_check_steps;
  config.early_stop_patience_steps = args.early_stop_patience;
  config.checkpoint_dir = args.checkpoint_dir;
  config.checkpoint_every = args.checkpoint_every;
  config.resume = args.resume;
  config.exact_repeats = args.exact_repeats;
  config.nf_dropout = args.nf_dropout;
  config.importances = !args.importances.empty();
  config.window_parts = args.window_parts;
  config.device = args.device;
  config.future = args.future;
  config.level = args.level;
  config.cv_windows = args.cv_windows;
  config.cv_step = args.cv_step;
  config.cv_refit = args.cv_refit;
  config.warm_start = args.warm_start;
  config.init_from = args.init_from;
  config.conformal_windows = args.conformal_windows;
  config.conformal_step = args.conformal_step;
  config.conformal_method = args.conformal_method;
  if (!args.model_config.empty()) {
    DRC_RETURN_NOT_OK(dl::ReadModelParams(args.model_config, config));
  }
  for (const auto& text : args.params) DRC_RETURN_NOT_OK(dl::ParseModelParam(text, config));
  return config;
}

// One model's line of `--json`.
nlohmann::json ResultJson(const ForecastArgs& args, const dl::ForecastConfig& config,
                          const dl::ModelForecast& r, int ranks) {
  nlohmann::json j = {{"model", r.model},
                      {"seconds", r.seconds},
                      {"final_loss", r.final_loss},
                      {"steps", r.steps},
                      {"stopped_early", r.stopped_early},
                      {"threads", r.threads},
                      {"ranks", ranks},
                      {"partitioned", config.partitioned},
                      {"h", args.horizon},
                      {"input_size", args.input_size}};
  if (args.cv_windows > 0) {
    j["cv_windows"] = args.cv_windows;
    j["cv_refit"] = args.cv_refit;
  }
  if (!r.val_losses.empty()) j["val_losses"] = r.val_losses;
  if (args.warm_start) j["warm_start"] = true;
  if (!args.init_from.empty()) j["init_from"] = args.init_from;
  for (const auto& exog : config.ExogLists()) {
    if (!exog.columns->empty()) j[exog.key] = *exog.columns;
  }
  const auto own_loss = config.model_losses.find(r.model);
  const std::string loss = own_loss != config.model_losses.end() ? own_loss->second : config.loss;
  if (!loss.empty()) j["loss"] = loss;
  const auto own_valid = config.model_valid_losses.find(r.model);
  const std::string valid =
      own_valid != config.model_valid_losses.end() ? own_valid->second : config.valid_loss;
  if (!valid.empty()) j["valid_loss"] = valid;
  if (!r.reconciliation.empty()) j["reconciliation"] = r.reconciliation;
  if (!config.cat_exog.empty()) {
    j["cat_exog"] = config.cat_exog;
    j["cat_emb_dim"] = config.cat_emb_dim;
  }
  if (args.future) {
    j["future"] = true;
  } else {
    j["mae"] = r.mae;
    j["rmse"] = r.rmse;
    j["mape"] = r.mape;
    j["smape"] = r.smape;
  }
  // The model's overrides, for the record (max_steps and random_seed among them); a value that
  // stands for names (TFT's rnn_type, NBEATS's stack_types) as the names.
  if (auto it = config.params.find(r.model); it != config.params.end()) {
    auto& params = j["params"] = nlohmann::json::object();
    for (const auto& [key, value] : it->second) {
      const std::string text = dl::ParamText(key, value);
      params[key] = text.empty() ? nlohmann::json(value) : nlohmann::json(text);
    }
  }
  if (auto it = config.model_scalers.find(r.model); it != config.model_scalers.end()) {
    j["scaler_type"] = it->second;
  }
  for (const auto& [level, score] : r.intervals) {
    char key[48];
    std::snprintf(key, sizeof(key), "%g", level);
    if (!args.future) j[std::string("coverage_") + key] = score.coverage;
    j[std::string("width_") + key] = score.width;
  }
  return j;
}

// Each rank's part of a partitioned table, sorted; the frequency agreed by the ranks when not
// given. Rank 0 checks that no part lies beyond the last rank (it would be left out).
Result<std::shared_ptr<arrow::Table>> ReadPart(const ForecastArgs& args,
                                               const data::SeriesColumns& cols,
                                               dl::ForecastConfig& config) {
  comm::Communicator* comm = config.comm;
  const int rank = comm ? comm->rank() : 0;
  const int ranks = comm ? comm->size() : 1;
  const std::string path = data::RankPath(args.data, rank);
  const std::string beyond = data::RankPath(args.data, ranks);
  std::shared_ptr<arrow::Table> table;
  Status local = [&]() -> Status {
    DRC_ASSIGN_OR_RETURN(auto read, data::ReadSeries(path, cols));
    DRC_ASSIGN_OR_RETURN(table, dl::SortSeries(read, cols));
    if (table->num_rows() == 0) {
      return Status::InvalidArgument("no rows; each part of a partitioned table needs a series");
    }
    return Status::OK();
  }();
  if (!local.ok() && local.message().find(path) == std::string::npos) {
    local = local.WithContext(path);
  }
  if (local.ok() && rank == 0 && std::filesystem::exists(beyond)) {
    local = Status::InvalidArgument("--data ", args.data, ": ", beyond, " exists, but ", ranks,
                                    " rank(s) read parts 0 to ", ranks - 1,
                                    "; run with --ranks equal to the number of parts");
  }
  DRC_RETURN_NOT_OK(data::AgreeOnStatus(data::Context(comm), local));
  config.partitioned = true;
  if (config.freq.empty()) {
    DRC_ASSIGN_OR_RETURN(config.freq, dl::InferFreq(table, cols, comm));
  }
  return table;
}

// --partition: this rank's share of the one file, then a range of whole series; the frequency
// agreed by the ranks when not given.
Result<std::shared_ptr<arrow::Table>> ReadAndPartition(const ForecastArgs& args,
                                                       const data::SeriesColumns& cols,
                                                       dl::ForecastConfig& config) {
  const data::Context ctx(config.comm);
  DRC_ASSIGN_OR_RETURN(auto share, data::ReadSeriesSplit(ctx, args.data, cols));
  auto mine = data::RangePartition(ctx, share, cols.id);
  if (!mine.ok()) return mine.status().WithContext(args.data);
  std::shared_ptr<arrow::Table> table;
  Status local = [&]() -> Status {
    DRC_ASSIGN_OR_RETURN(table, dl::SortSeries(*mine, cols));
    if (table->num_rows() == 0) {
      return Status::InvalidArgument(args.data, ": --partition over ", ctx.world_size(),
                                     " ranks left rank ", ctx.rank(),
                                     " without a series (fewer series than ranks)");
    }
    return Status::OK();
  }();
  DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, local));
  config.partitioned = true;
  if (config.freq.empty()) {
    DRC_ASSIGN_OR_RETURN(config.freq, dl::InferFreq(table, cols, config.comm));
  }
  return table;
}

Result<std::shared_ptr<arrow::Table>> ReadTable(const ForecastArgs& args,
                                                const data::SeriesColumns& cols,
                                                dl::ForecastConfig& config) {
  // `--data` with "{rank}" names the parts of a partitioned table, one per rank.
  if (data::IsRankPattern(args.data)) {
    if (args.partition) {
      return Status::InvalidArgument("--partition splits one file; --data ", args.data,
                                     " names parts, one per rank, already");
    }
    return ReadPart(args, cols, config);
  }
  if (args.partition && config.comm != nullptr && config.comm->size() > 1) {
    return ReadAndPartition(args, cols, config);
  }
  DRC_ASSIGN_OR_RETURN(auto read, data::ReadSeries(args.data, cols));
  // Sorted by series and time once: inferring the frequency and every step of the forecast
  // then find the rows in order (a file in that order is only checked).
  DRC_ASSIGN_OR_RETURN(auto table, dl::SortSeries(read, cols));
  if (config.freq.empty()) {
    DRC_ASSIGN_OR_RETURN(config.freq, dl::InferFreq(table, cols));
  }
  return table;
}

int ForecastOnRank(const ForecastArgs& args, comm::Communicator* comm) {
  const bool root = comm == nullptr || comm->rank() == 0;
  auto fail = [&](const Status& st) { return FailOnRank("drc forecast", comm, st); };
  auto configured = ConfigFrom(args, comm);
  if (!configured.ok()) return fail(configured.status());
  dl::ForecastConfig config = std::move(configured).ValueOrDie();
  const data::SeriesColumns cols;
  auto table = ReadTable(args, cols, config);
  if (!table.ok()) return fail(table.status());
  const int ranks = comm ? comm->size() : 1;
  int64_t rows = (*table)->num_rows();
  if (config.partitioned && comm != nullptr) {
    auto all = comm::AllGatherValue<int64_t>(*comm, rows);
    if (!all.ok()) return fail(all.status());
    rows = std::accumulate(all->begin(), all->end(), int64_t{0});
  }
  if (!args.json && root) {
    std::printf(
        "%s: %lld rows%s, freq %s%s; h=%d, input_size=%d, max_steps=%d, seed=%llu, ranks=%d\n",
        args.data.c_str(), static_cast<long long>(rows),
        !config.partitioned ? ""
        : args.partition    ? " split by series over the ranks"
                            : " in parts (one per rank)",
        config.freq.c_str(), args.freq.empty() ? " (inferred)" : "", args.horizon, args.input_size,
        args.steps, static_cast<unsigned long long>(args.seed), ranks);
    // The overrides of the models that run.
    std::vector<std::string> overrides;
    for (const auto& model : config.models) {
      if (auto it = config.params.find(model); it != config.params.end()) {
        for (const auto& [key, value] : it->second) {  // names as names (ParamText)
          std::string text = dl::ParamText(key, value);
          if (text.empty()) {
            char number[64];
            std::snprintf(number, sizeof(number), "%g", value);
            text = number;
          }
          overrides.push_back(model + "." + key + "=" + text);
        }
      }
      if (auto it = config.model_scalers.find(model); it != config.model_scalers.end()) {
        overrides.push_back(model + ".scaler_type=" + it->second);
      }
      if (auto it = config.model_losses.find(model); it != config.model_losses.end()) {
        overrides.push_back(model + ".loss=" + it->second);
      }
      if (auto it = config.model_valid_losses.find(model); it != config.model_valid_losses.end()) {
        overrides.push_back(model + ".valid_loss=" + it->second);
      }
    }
    if (!overrides.empty()) std::printf("overrides: %s\n", JoinList(overrides).c_str());
    if (!config.loss.empty()) std::printf("loss: %s\n", config.loss.c_str());
    if (!config.valid_loss.empty()) std::printf("valid_loss: %s\n", config.valid_loss.c_str());
    std::vector<std::string> exog;
    for (const auto& list : config.ExogLists()) {
      if (!list.columns->empty())
        exog.push_back(std::string(list.key) + "=" + JoinList(*list.columns, ","));
    }
    if (!config.cat_exog.empty()) {
      exog.push_back("cat_exog=" + JoinList(config.cat_exog, ",") + " (embedded, cat_emb_dim " +
                     config.cat_emb_dim + ")");
    }
    if (!exog.empty()) std::printf("exogenous: %s\n", JoinList(exog, " ").c_str());
  }
  auto results = dl::Forecast(*table, cols, config);
  if (!results.ok()) return fail(results.status());
  if (!root) return 0;  // every rank holds the same forecasts; rank 0 reports them
  if (args.json) {
    for (const auto& r : *results) {
      std::printf("%s\n", ResultJson(args, config, r, ranks).dump().c_str());
    }
  } else if (args.future) {
    PrintFutureTable(*results, cols);
  } else {
    PrintForecastTable(*results);
  }
  if (!args.out.empty()) {
    Status st = WriteForecasts(*results, args.out, args.future);
    if (!st.ok()) return fail(st);
    if (!args.json) std::printf("wrote %s\n", args.out.c_str());
  }
  if (!args.importances.empty()) {
    Status st = WriteImportances(*results, args.importances);
    if (!st.ok()) return fail(st);
    if (!args.json) std::printf("wrote %s\n", args.importances.c_str());
  }
  return 0;
}

}  // namespace

Status ForecastToStream(const ForecastArgs& args, comm::Communicator* comm, std::ostream& out) {
  DRC_ASSIGN_OR_RETURN(dl::ForecastConfig config, ConfigFrom(args, comm));
  const data::SeriesColumns cols;
  DRC_ASSIGN_OR_RETURN(auto table, ReadTable(args, cols, config));
  DRC_ASSIGN_OR_RETURN(auto results, dl::Forecast(table, cols, config));
  if (comm != nullptr && comm->rank() != 0) return Status::OK();
  const int ranks = comm ? comm->size() : 1;
  for (const auto& r : results) out << ResultJson(args, config, r, ranks).dump() << "\n";
  out.flush();
  if (!args.out.empty()) DRC_RETURN_NOT_OK(WriteForecasts(results, args.out, args.future));
  if (!args.importances.empty()) DRC_RETURN_NOT_OK(WriteImportances(results, args.importances));
  return Status::OK();
}

int RunForecast(const ForecastArgs& args) {
  return RunOnRanks(args.ranks, args.backend, "drc forecast",
                    [&](comm::Communicator* comm) { return ForecastOnRank(args, comm); });
}

}  // namespace drc::app
