#include "hydro_cmd.h"

#include <arrow/api.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "drc/common/strings.h"
#include "drc/data/io.h"
#include "drc/data/timeseries.h"
#include "drc/dl/basin_table.h"
#include "drc/dl/hydrology.h"
#include "world.h"

namespace drc::app {
namespace {

// "2000-01-01:2001-12-31" -> start, end.
Status SplitPeriod(const char* period, const std::string& text, std::string* start,
                   std::string* end) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos) {
    return Status::InvalidArgument(period, " period '", text,
                                   "': expected START:END, e.g. 2000-01-01:2001-12-31");
  }
  *start = text.substr(0, colon);
  *end = text.substr(colon + 1);
  return Status::OK();
}

// The static attributes --static names: none for "none", the defaults when empty.
std::vector<std::string> Statics(const HydroArgs& args, std::vector<std::string> defaults) {
  if (args.statics == "none") return {};
  return args.statics.empty() ? defaults : SplitList(args.statics);
}

Status CheckSource(const HydroArgs& args) {
  if (args.table.empty() && !args.attributes.empty()) {
    return Status::InvalidArgument(
        "--attributes goes with --table (CAMELS-US attributes are read from --data's "
        "attributes/ folder)");
  }
  if (!args.table.empty() && args.attributes.empty() && !args.statics.empty() &&
      args.statics != "none") {
    return Status::InvalidArgument("--static names attributes of a table, but no --attributes ",
                                   "table is given");
  }
  return Status::OK();
}

Result<dl::HydroConfig> ConfigOf(const HydroArgs& args) {
  DRC_RETURN_NOT_OK(CheckSource(args));
  dl::HydroConfig config;
  config.model = args.model;
  config.basins = SplitList(args.basins);
  if (args.table.empty()) {
    config.data_dir = args.data;
    if (!args.inputs.empty()) config.dynamic_inputs = SplitList(args.inputs);
    config.static_attributes = Statics(args, config.static_attributes);
  } else {
    config.table = args.table;
    config.dynamic_inputs = SplitList(args.inputs);  // empty: every other column
    if (args.statics != "none") {
      config.attributes_table = args.attributes;
      config.static_attributes = SplitList(args.statics);  // empty: every number column
    }
  }
  DRC_RETURN_NOT_OK(SplitPeriod("train", args.train, &config.train_start, &config.train_end));
  DRC_RETURN_NOT_OK(SplitPeriod("test", args.test, &config.test_start, &config.test_end));
  config.epochs = args.epochs;
  config.seq_length = args.seq_length;
  config.hidden_size = args.hidden_size;
  config.learning_rate = {{0, args.learning_rate}};
  config.output_dropout = args.dropout;
  config.batch_size = args.batch_size;
  config.loss = args.loss;
  config.seed = args.seed;
  config.threads = args.threads;
  config.device = args.device;
  return config;
}

// --json's lines: one per basin, then the summary.
std::vector<nlohmann::json> Records(const HydroArgs& args, const dl::HydroResult& result,
                                    int ranks) {
  std::vector<nlohmann::json> lines;
  for (const auto& b : result.basins) {
    lines.push_back({{"model", result.model}, {"basin", b.basin}, {"nse", b.nse}, {"kge", b.kge}});
  }
  const double final_loss = result.epoch_losses.empty() ? 0 : result.epoch_losses.back();
  lines.push_back({{"model", result.model},
                   {"median_nse", result.median_nse},
                   {"seconds", result.seconds},
                   {"device", result.device},
                   {"epochs", args.epochs},
                   {"seq_length", args.seq_length},
                   {"hidden_size", args.hidden_size},
                   {"seed", args.seed},
                   {"ranks", ranks},
                   {"train_samples", result.train_samples},
                   {"final_loss", final_loss},
                   {"inputs", result.dynamic_inputs},
                   {"static_attributes", result.static_attributes}});
  return lines;
}

Status WritePredictions(const dl::HydroResult& result, const std::string& path) {
  DRC_RETURN_NOT_OK(data::TableFormatOf(path).status());
  arrow::StringBuilder ids;
  arrow::Date32Builder days;
  arrow::DoubleBuilder observed, simulated;
  auto append = [](arrow::DoubleBuilder& b, double v) {
    return std::isnan(v) ? b.AppendNull() : b.Append(v);
  };
  arrow::Status st;
  for (const auto& b : result.basins) {
    for (size_t i = 0; i < b.days.size() && st.ok(); ++i) {
      st = ids.Append(b.basin);
      if (st.ok()) st = days.Append(b.days[i]);
      if (st.ok()) st = append(observed, b.observed[i]);
      if (st.ok()) st = append(simulated, b.simulated[i]);
    }
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(4);
  if (st.ok()) st = ids.Finish(&columns[0]);
  if (st.ok()) st = days.Finish(&columns[1]);
  if (st.ok()) st = observed.Finish(&columns[2]);
  if (st.ok()) st = simulated.Finish(&columns[3]);
  if (!st.ok()) return Status::Internal(path, ": ", st.message());
  const data::SeriesColumns cols;
  const auto schema = arrow::schema(
      {arrow::field(cols.id, arrow::utf8()), arrow::field(cols.time, arrow::date32()),
       arrow::field(cols.value, arrow::float64()), arrow::field(result.model, arrow::float64())});
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  return data::WriteTable(*arrow::Table::Make(schema, columns), path);
}

// --write-table and --write-attributes: the basins of --data as tables.
Status WriteTables(const HydroArgs& args) {
  if (!args.table.empty()) {
    return Status::InvalidArgument(
        "--write-table and --write-attributes write --data's basins; "
        "they do not go with --table");
  }
  const dl::HydroConfig defaults;
  const std::vector<std::string> basins = SplitList(args.basins);
  auto write = [](const std::shared_ptr<arrow::Table>& table, const std::string& path) {
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    DRC_RETURN_NOT_OK(data::WriteTable(*table, path));
    std::printf("%lld rows written to %s\n", static_cast<long long>(table->num_rows()),
                path.c_str());
    return Status::OK();
  };
  if (!args.write_table.empty()) {
    DRC_RETURN_NOT_OK(data::TableFormatOf(args.write_table).status());
    const auto inputs = args.inputs.empty() ? defaults.dynamic_inputs : SplitList(args.inputs);
    DRC_ASSIGN_OR_RETURN(auto table, dl::CamelsSeriesTable(args.data, basins, inputs));
    DRC_RETURN_NOT_OK(write(table, args.write_table));
  }
  if (!args.write_attributes.empty()) {
    DRC_RETURN_NOT_OK(data::TableFormatOf(args.write_attributes).status());
    const auto names = Statics(args, defaults.static_attributes);
    DRC_ASSIGN_OR_RETURN(auto table, dl::CamelsAttributeTable(args.data, basins, names));
    DRC_RETURN_NOT_OK(write(table, args.write_attributes));
  }
  return Status::OK();
}

}  // namespace

Status HydroToStream(const HydroArgs& args, comm::Communicator* comm, std::ostream& out) {
  DRC_ASSIGN_OR_RETURN(dl::HydroConfig config, ConfigOf(args));
  config.comm = comm;
  DRC_ASSIGN_OR_RETURN(const dl::HydroResult result, dl::TrainAndEvaluateHydro(config));
  if (comm != nullptr && comm->rank() != 0) return Status::OK();
  for (const auto& line : Records(args, result, comm ? comm->size() : 1)) {
    out << line.dump() << "\n";
  }
  out.flush();
  if (!args.out.empty()) DRC_RETURN_NOT_OK(WritePredictions(result, args.out));
  return Status::OK();
}

namespace {

int HydroOnRank(const HydroArgs& args, comm::Communicator* comm) {
  auto fail = [&](const Status& st) { return FailOnRank("drc hydro", comm, st); };
  if (args.json) {
    std::ostringstream lines;
    const Status st = HydroToStream(args, comm, lines);
    std::fputs(lines.str().c_str(), stdout);
    return st.ok() ? 0 : fail(st);
  }
  auto config = ConfigOf(args);
  if (!config.ok()) return fail(config.status());
  config->comm = comm;
  const bool root = comm == nullptr || comm->rank() == 0;
  if (root) {
    std::printf(
        "%s: %s on %s; train %s, test %s; seq_length=%d hidden=%d epochs=%d lr=%g batch=%d "
        "loss=%s seed=%llu ranks=%d\n",
        args.table.empty() ? args.data.c_str() : args.table.c_str(), args.model.c_str(),
        args.basins.empty() ? "all basins" : args.basins.c_str(), args.train.c_str(),
        args.test.c_str(), args.seq_length, args.hidden_size, args.epochs, args.learning_rate,
        args.batch_size, args.loss.c_str(), static_cast<unsigned long long>(args.seed),
        comm ? comm->size() : 1);
    std::fflush(stdout);
  }
  auto result = dl::TrainAndEvaluateHydro(*config);
  if (!result.ok()) return fail(result.status());
  if (!root) return 0;
  std::printf("inputs: %s; static attributes: %s\n", JoinList(result->dynamic_inputs, ", ").c_str(),
              result->static_attributes.empty()
                  ? "none"
                  : JoinList(result->static_attributes, ", ").c_str());
  std::printf("%-10s %10s %10s\n", "basin", "NSE", "KGE");
  for (const auto& b : result->basins) {
    std::printf("%-10s %10.4f %10.4f\n", b.basin.c_str(), b.nse, b.kge);
  }
  const double final_loss = result->epoch_losses.empty() ? 0 : result->epoch_losses.back();
  std::printf("%s: median NSE %.4f, %lld training samples, final loss %.4f, %.1f s\n",
              result->model.c_str(), result->median_nse,
              static_cast<long long>(result->train_samples), final_loss, result->seconds);
  if (!args.out.empty()) {
    if (Status st = WritePredictions(*result, args.out); !st.ok()) return fail(st);
    std::printf("predictions written to %s\n", args.out.c_str());
  }
  return 0;
}

}  // namespace

int RunHydro(const HydroArgs& args) {
  if (!args.write_table.empty() || !args.write_attributes.empty()) {
    const Status st = WriteTables(args);
    return st.ok() ? 0 : FailOnRank("drc hydro", nullptr, st);
  }
  return RunOnRanks(args.ranks, args.backend, "drc hydro",
                    [&](comm::Communicator* comm) { return HydroOnRank(args, comm); });
}

}  // namespace drc::app
