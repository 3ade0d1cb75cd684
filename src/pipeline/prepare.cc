// The prepare stage: read a table, clean it into the long format (unique_id, ds, y) that the
// forecast stage reads, write it. Runs as the `pipeline.prepare` worker function.
#include <arrow/compute/expression.h>
#include <arrow/scalar.h>
#include <arrow/table.h>

#include <set>

#include "drc/common/strings.h"
#include "drc/data/io.h"
#include "drc/data/ops.h"
#include "drc/data/timeseries.h"
#include "drc/pipeline/pipeline.h"

namespace drc::pipeline {
namespace {

namespace cp = arrow::compute;

std::string ColumnList(const data::TablePtr& table) {
  return JoinList(table->schema()->field_names());
}

Result<data::TablePtr> Rename(const data::TablePtr& table,
                              const std::map<std::string, std::string>& rename,
                              const std::string& input) {
  std::vector<std::string> names = table->schema()->field_names();
  for (const auto& [from, to] : rename) {
    auto it = std::find(names.begin(), names.end(), from);
    if (it == names.end()) {
      return Status::InvalidArgument(input, ": rename: no column '", from, "' (the table has ",
                                     ColumnList(table), ")");
    }
    *it = to;
  }
  if (std::set<std::string>(names.begin(), names.end()).size() != names.size()) {
    return Status::InvalidArgument(input, ": rename gives two columns one name: ", JoinList(names));
  }
  auto renamed = table->RenameColumns(names);
  if (!renamed.ok())
    return Status::InvalidArgument(input, ": rename: ", renamed.status().message());
  return *renamed;
}

// Rows with `op`(ds, value): the value parsed as ds's type.
Result<data::TablePtr> KeepTimes(const data::TablePtr& table, const std::string& op,
                                 const std::string& value, const std::string& input) {
  const std::string time = data::SeriesColumns().time;
  const auto column = table->schema()->GetFieldByName(time);
  if (column == nullptr) {
    return Status::InvalidArgument(input, ": start/end compare with the '", time,
                                   "' column, which the table does not have (it has ",
                                   ColumnList(table), ")");
  }
  auto scalar = arrow::Scalar::Parse(column->type(), value);
  if (!scalar.ok()) {
    return Status::InvalidArgument(input, ": '", value, "' is not a value of column '", time, "' (",
                                   column->type()->ToString(), ")");
  }
  return data::Filter(table, cp::call(op, {cp::field_ref(time), cp::literal(*scalar)}));
}

}  // namespace

std::map<std::string, std::string> PrepareArgs(const PrepareSpec& spec) {
  std::map<std::string, std::string> args = {{"input", spec.input}, {"output", spec.output}};
  std::vector<std::string> pairs;
  for (const auto& [from, to] : spec.rename) pairs.push_back(from + "=" + to);
  if (!pairs.empty()) args["rename"] = JoinList(pairs, ",");
  if (!spec.select.empty()) args["select"] = JoinList(spec.select, ",");
  if (!spec.start.empty()) args["start"] = spec.start;
  if (!spec.end.empty()) args["end"] = spec.end;
  if (!spec.drop_nulls.empty()) args["drop_nulls"] = JoinList(spec.drop_nulls, ",");
  if (!spec.resample.empty()) args["resample"] = spec.resample;
  return args;
}

Result<PrepareSpec> PrepareFromArgs(const std::map<std::string, std::string>& args) {
  static const std::vector<std::string> kKnown = {"input", "output", "rename",     "select",
                                                  "start", "end",    "drop_nulls", "resample"};
  PrepareSpec spec;
  for (const auto& [key, value] : args) {
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
      return Status::InvalidArgument("pipeline.prepare: unknown argument '", key,
                                     "' (known: ", JoinList(kKnown), ")");
    }
    if (key == "input") spec.input = value;
    if (key == "output") spec.output = value;
    if (key == "select") spec.select = SplitList(value);
    if (key == "start") spec.start = value;
    if (key == "end") spec.end = value;
    if (key == "drop_nulls") spec.drop_nulls = SplitList(value);
    if (key == "resample") spec.resample = value;
    if (key == "rename") {
      for (const auto& pair : SplitList(value)) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
          return Status::InvalidArgument("pipeline.prepare: rename expects OLD=NEW pairs, got '",
                                         pair, "'");
        }
        spec.rename[pair.substr(0, eq)] = pair.substr(eq + 1);
      }
    }
  }
  if (spec.input.empty() || spec.output.empty()) {
    return Status::InvalidArgument("pipeline.prepare: input= and output= are required");
  }
  return spec;
}

Result<PrepareResult> PrepareTable(const PrepareSpec& spec) {
  DRC_RETURN_NOT_OK(data::Initialize());
  // The output's format first: a bad name fails before any work.
  DRC_RETURN_NOT_OK(data::TableFormatOf(spec.output).status());
  DRC_ASSIGN_OR_RETURN(data::TablePtr table, data::ReadTable(spec.input));
  PrepareResult result;
  result.rows_in = table->num_rows();
  if (!spec.rename.empty()) {
    DRC_ASSIGN_OR_RETURN(table, Rename(table, spec.rename, spec.input));
  }
  if (!spec.select.empty()) {
    auto selected = data::Select(table, spec.select);
    if (!selected.ok()) {
      return Status::InvalidArgument(spec.input, ": select: ", selected.status().message());
    }
    table = *selected;
  }
  const data::SeriesColumns cols;
  // Time stamps as the forecast reads them from a CSV (data::ReadSeries): timestamps, or
  // integers. A CSV's dates come in as date32 or text.
  if (const auto time = table->schema()->GetFieldByName(cols.time)) {
    const auto id = time->type()->id();
    if (id == arrow::Type::DATE32 || id == arrow::Type::DATE64 || arrow::is_binary_like(id)) {
      auto cast = data::Cast(table, cols.time, arrow::timestamp(arrow::TimeUnit::SECOND));
      if (!cast.ok()) {
        return Status::InvalidArgument(spec.input, ": column '", cols.time,
                                       "' does not read as dates: ", cast.status().message());
      }
      table = *cast;
    }
  }
  if (!spec.start.empty()) {
    DRC_ASSIGN_OR_RETURN(table, KeepTimes(table, "greater_equal", spec.start, spec.input));
  }
  if (!spec.end.empty()) {
    DRC_ASSIGN_OR_RETURN(table, KeepTimes(table, "less_equal", spec.end, spec.input));
  }
  if (!spec.drop_nulls.empty()) {
    std::vector<std::string> columns = spec.drop_nulls;
    if (columns == std::vector<std::string>{"*"}) columns.clear();
    auto dropped = data::DropNull(table, columns);
    if (!dropped.ok()) {
      return Status::InvalidArgument(spec.input, ": drop_nulls: ", dropped.status().message());
    }
    table = *dropped;
  }
  const bool series = table->schema()->GetFieldByName(cols.id) != nullptr &&
                      table->schema()->GetFieldByName(cols.time) != nullptr;
  if (!spec.resample.empty()) {
    if (!series) {
      return Status::InvalidArgument(spec.input, ": resample needs the columns ", cols.id, " and ",
                                     cols.time, " (the table has ", ColumnList(table), ")");
    }
    auto resampled = data::Resample(table, cols, spec.resample);
    if (!resampled.ok()) {
      return Status::InvalidArgument(spec.input, ": resample: ", resampled.status().message());
    }
    table = *resampled;
  }
  if (series) {
    DRC_ASSIGN_OR_RETURN(table, data::Sort(table, {{cols.id}, {cols.time}}));
  }
  DRC_RETURN_NOT_OK(data::WriteTable(*table, spec.output));
  result.rows_out = table->num_rows();
  result.columns = table->schema()->field_names();
  return result;
}

}  // namespace drc::pipeline
