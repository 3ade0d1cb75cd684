// The prepare stage: read a table, clean it into the long format (unique_id, ds, y) that the
// forecast stage reads, write it; on one rank or several. Runs as the `pipeline.prepare` worker
// function.
#include <arrow/compute/expression.h>
#include <arrow/scalar.h>
#include <arrow/table.h>
#include <arrow/util/byte_size.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <span>

#include "drc/comm/communicator.h"
#include "drc/common/strings.h"
#include "drc/data/dist.h"
#include "drc/data/dist_io.h"
#include "drc/data/expr.h"
#include "drc/data/io.h"
#include "drc/data/ops.h"
#include "drc/data/timeseries.h"
#include "drc/pipeline/pipeline.h"

namespace drc::pipeline {

// The JSON of the arguments that travel as JSON (PrepareArgs), by the fields' names; reading one
// needs every field (nlohmann::json's out_of_range otherwise).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(JoinSpec, table, parts, on, how, rename, select)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RollingSpec, column, window, stats, min_periods)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(AggregateSpec, by, columns)

namespace {

namespace cp = arrow::compute;

// An aggregate's functions (AggregateSpec), by their data::AggKindName.
constexpr data::AggKind kAggregateKinds[] = {
    data::AggKind::kSum,   data::AggKind::kMean,  data::AggKind::kMin,    data::AggKind::kMax,
    data::AggKind::kCount, data::AggKind::kFirst, data::AggKind::kLast,   data::AggKind::kMedian,
    data::AggKind::kStd,   data::AggKind::kVar,   data::AggKind::kNUnique};

// A RollingSpec's stats, in data::RollingStat's order.
constexpr std::pair<const char*, data::RollingStat> kRollingStats[] = {
    {"mean", data::RollingStat::kMean},
    {"std", data::RollingStat::kStd},
    {"min", data::RollingStat::kMin},
    {"max", data::RollingStat::kMax},
    {"sum", data::RollingStat::kSum}};

// The names of a table of (name, value) pairs, in order.
template <typename Pairs>
std::vector<std::string> NamesOf(const Pairs& pairs) {
  std::vector<std::string> names;
  for (const auto& [name, value] : pairs) names.emplace_back(name);
  return names;
}

// The value called `name` in a table of (name, value) pairs; null when none is.
template <typename Pairs>
const auto* FindNamed(const Pairs& pairs, const std::string& name) {
  const auto it = std::find_if(std::begin(pairs), std::end(pairs),
                               [&](const auto& pair) { return name == pair.first; });
  return it == std::end(pairs) ? nullptr : &it->second;
}

// A join's `how` (JoinSpec).
constexpr std::pair<const char*, data::JoinType> kJoinTypes[] = {
    {"inner", data::JoinType::kInner},   {"left", data::JoinType::kLeft},
    {"right", data::JoinType::kRight},   {"outer", data::JoinType::kFullOuter},
    {"semi", data::JoinType::kLeftSemi}, {"anti", data::JoinType::kLeftAnti}};

std::string ColumnList(const data::TablePtr& table) {
  return JoinList(table->schema()->field_names());
}

// The table has the series' id and time columns.
bool HasSeries(const data::TablePtr& table) {
  const data::SeriesColumns cols;
  return table->schema()->GetFieldByName(cols.id) != nullptr &&
         table->schema()->GetFieldByName(cols.time) != nullptr;
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
  if (!spec.unique.empty()) args["unique"] = JoinList(spec.unique, ",");
  if (!spec.resample.empty()) args["resample"] = spec.resample;
  if (spec.min_length > 0) args["min_length"] = std::to_string(spec.min_length);
  if (spec.partitioned) args["partitioned"] = "true";
  if (spec.input_parts > 0) args["input_parts"] = std::to_string(spec.input_parts);
  if (!spec.join.empty()) args["join"] = nlohmann::json(spec.join).dump();
  if (!spec.compute.empty()) args["compute"] = nlohmann::json(spec.compute).dump();
  if (!spec.filter.empty()) args["filter"] = spec.filter;
  if (!spec.drop.empty()) args["drop"] = JoinList(spec.drop, ",");
  if (!spec.lags.empty()) args["lags"] = nlohmann::json(spec.lags).dump();
  if (!spec.sort.empty()) args["sort"] = JoinList(spec.sort, ",");
  if (!spec.rolling.empty()) args["rolling"] = nlohmann::json(spec.rolling).dump();
  if (!spec.aggregate.by.empty()) args["aggregate"] = nlohmann::json(spec.aggregate).dump();
  return args;
}

const std::vector<std::string>& AggregateFunctions() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const data::AggKind kind : kAggregateKinds) names.push_back(data::AggKindName(kind));
    return names;
  }();
  return kNames;
}

const std::vector<std::string>& RollingStats() {
  static const std::vector<std::string> kNames = NamesOf(kRollingStats);
  return kNames;
}

const std::vector<std::string>& JoinTypes() {
  static const std::vector<std::string> kNames = NamesOf(kJoinTypes);
  return kNames;
}

Result<PrepareSpec> PrepareFromArgs(const std::map<std::string, std::string>& args) {
  static const std::vector<std::string> kKnown = {
      "input",    "output",      "rename",      "select",  "start",     "end",     "drop_nulls",
      "resample", "min_length",  "partitioned", "join",    "aggregate", "compute", "filter",
      "drop",     "input_parts", "lags",        "rolling", "sort",      "unique"};
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
    if (key == "unique") spec.unique = SplitList(value);
    if (key == "filter") spec.filter = value;
    if (key == "drop") spec.drop = SplitList(value);
    if (key == "sort") spec.sort = SplitList(value);
    if (key == "resample") spec.resample = value;
    if (key == "input_parts") {
      const auto parsed =
          std::from_chars(value.data(), value.data() + value.size(), spec.input_parts);
      if (parsed.ec != std::errc() || parsed.ptr != value.data() + value.size() ||
          spec.input_parts < 1) {
        return Status::InvalidArgument(
            "pipeline.prepare: input_parts expects an integer >= 1, got '", value, "'");
      }
    }
    if (key == "min_length") {
      int length = 0;
      const auto parsed = std::from_chars(value.data(), value.data() + value.size(), length);
      if (parsed.ec != std::errc() || parsed.ptr != value.data() + value.size() || length < 1) {
        return Status::InvalidArgument(
            "pipeline.prepare: min_length expects an integer >= 1, got '", value, "'");
      }
      spec.min_length = length;
    }
    if (key == "partitioned") {
      if (value != "true" && value != "false") {
        return Status::InvalidArgument("pipeline.prepare: partitioned expects true or false, got '",
                                       value, "'");
      }
      spec.partitioned = value == "true";
    }
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
    if (key == "join" || key == "aggregate" || key == "compute" || key == "lags" ||
        key == "rolling") {
      // Written by PrepareArgs; a hand-written task file may get them wrong.
      const auto j = nlohmann::json::parse(value, nullptr, false);
      if (j.is_discarded() || (key != "aggregate" && !j.is_array())) {
        return Status::InvalidArgument("pipeline.prepare: ", key, " expects JSON",
                                       key != "aggregate" ? " (a list)" : "", ", got '", value,
                                       "'");
      }
      try {
        if (key == "join") j.get_to(spec.join);
        if (key == "compute") j.get_to(spec.compute);
        if (key == "lags") j.get_to(spec.lags);
        if (key == "rolling") j.get_to(spec.rolling);
        if (key == "aggregate") j.get_to(spec.aggregate);
      } catch (const nlohmann::json::exception& e) {
        return Status::InvalidArgument("pipeline.prepare: ", key,
                                       " expects the JSON that a pipeline file's prepare stage "
                                       "gives it: ",
                                       e.what());
      }
    }
  }
  if (spec.input.empty() || spec.output.empty()) {
    return Status::InvalidArgument("pipeline.prepare: input= and output= are required");
  }
  return spec;
}

namespace {

// A table as the stage reads it (the input, or a table joined to it), its name `file` in the
// errors: `rename`d, the `select` columns kept (and `keep`, a joined table's keys), ds as time
// stamps.
Result<data::TablePtr> Shape(data::TablePtr table, const std::string& file,
                             const std::map<std::string, std::string>& rename,
                             std::vector<std::string> select,
                             const std::vector<std::string>& keep = {}) {
  if (!rename.empty()) {
    DRC_ASSIGN_OR_RETURN(table, Rename(table, rename, file));
  }
  if (!select.empty()) {
    for (const auto& column : keep) {
      if (std::find(select.begin(), select.end(), column) == select.end()) {
        select.push_back(column);
      }
    }
    auto selected = data::Select(table, select);
    if (!selected.ok()) {
      return Status::InvalidArgument(file, ": select: ", selected.status().message());
    }
    table = *selected;
  }
  const data::SeriesColumns cols;
  // Time stamps as the forecast reads them from a CSV (data::ReadSeries): timestamps in
  // seconds, or integers. A CSV's dates come in as date32 or text, and a Parquet file's time
  // stamps in milliseconds (Parquet has no seconds), so that tables join on ds.
  if (const auto time = table->schema()->GetFieldByName(cols.time)) {
    const auto id = time->type()->id();
    const auto* stamp = dynamic_cast<const arrow::TimestampType*>(time->type().get());
    if (id == arrow::Type::DATE32 || id == arrow::Type::DATE64 || arrow::is_binary_like(id) ||
        (stamp != nullptr && stamp->unit() != arrow::TimeUnit::SECOND &&
         stamp->timezone().empty())) {
      auto cast = data::Cast(table, cols.time, arrow::timestamp(arrow::TimeUnit::SECOND));
      if (!cast.ok() && stamp != nullptr) {
        return Status::InvalidArgument(file, ": column '", cols.time,
                                       "' has time stamps finer than seconds, which a prepare "
                                       "stage does not keep: ",
                                       cast.status().message());
      }
      if (!cast.ok()) {
        return Status::InvalidArgument(file, ": column '", cols.time,
                                       "' does not read as dates: ", cast.status().message());
      }
      table = *cast;
    }
  }
  return table;
}

// `spec.compute`, `spec.filter` and `spec.drop`, in this order.
Result<data::TablePtr> ComputeFilterDrop(data::TablePtr table, const PrepareSpec& spec) {
  for (const auto& [name, text] : spec.compute) {
    auto expr = data::ParseExpression(text, *table->schema());
    std::vector<cp::Expression> exprs;
    std::vector<std::string> names = table->schema()->field_names();
    for (const auto& column : names) {
      exprs.push_back(column == name && expr.ok() ? *expr : cp::field_ref(column));
    }
    if (expr.ok() && std::find(names.begin(), names.end(), name) == names.end()) {
      exprs.push_back(*expr);
      names.push_back(name);
    }
    auto computed = expr.ok() ? data::Project(table, exprs, names) : expr.status();
    if (!computed.ok()) {
      return Status::InvalidArgument(spec.input, ": compute ", name, ": ",
                                     computed.status().message());
    }
    table = *computed;
  }
  if (!spec.filter.empty()) {
    auto expr = data::ParseExpression(spec.filter, *table->schema());
    if (expr.ok()) {
      auto bound = expr->Bind(*table->schema());
      if (bound.ok() && bound->type()->id() != arrow::Type::BOOL) {
        return Status::InvalidArgument(spec.input, ": filter '", spec.filter, "' gives ",
                                       bound->type()->ToString(),
                                       " values, not true or false (compare them: == != < > ...)");
      }
    }
    auto kept = expr.ok() ? data::Filter(table, *expr) : expr.status();
    if (!kept.ok()) {
      return Status::InvalidArgument(spec.input, ": filter ", kept.status().message());
    }
    table = *kept;
  }
  if (!spec.drop.empty()) {
    for (const auto& column : spec.drop) {
      if (table->schema()->GetFieldByName(column) == nullptr) {
        return Status::InvalidArgument(spec.input, ": drop: no column '", column,
                                       "' (the table has ", ColumnList(table), ")");
      }
    }
    std::vector<std::string> keep;
    for (const auto& column : table->schema()->field_names()) {
      if (std::find(spec.drop.begin(), spec.drop.end(), column) == spec.drop.end()) {
        keep.push_back(column);
      }
    }
    DRC_ASSIGN_OR_RETURN(table, data::Select(table, keep));
  }
  return table;
}

// The row filters of `spec`: start/end on ds, drop_nulls.
Result<data::TablePtr> FilterRows(data::TablePtr table, const PrepareSpec& spec) {
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
  return table;
}

// The rows of `table` kept once per distinct `spec.unique` combination: on one rank the first;
// on R, one of them (collective).
Result<data::TablePtr> UniqueRows(const data::Context& ctx, const data::TablePtr& table,
                                  const PrepareSpec& spec) {
  std::vector<std::string> columns = spec.unique;
  if (columns == std::vector<std::string>{"*"}) columns.clear();
  for (const std::string& column : columns) {
    if (table->schema()->GetFieldByName(column) == nullptr) {
      // The ranks agree on the schema: every rank returns here.
      return Status::InvalidArgument(spec.input, ": unique: no column '", column,
                                     "' (the table has ", ColumnList(table), ")");
    }
  }
  auto kept =
      ctx.world_size() > 1 ? data::DistUnique(ctx, table, columns) : data::Unique(table, columns);
  if (!kept.ok()) return Status::InvalidArgument(spec.input, ": unique: ", kept.status().message());
  return *kept;
}

// Resampling and lengths are of whole series: they need both columns.
Status CheckSeriesSteps(const data::TablePtr& table, const PrepareSpec& spec) {
  const data::SeriesColumns cols;
  for (const auto& [used, field] :
       {std::pair{!spec.resample.empty(), "resample"}, std::pair{!spec.lags.empty(), "lags"},
        std::pair{!spec.rolling.empty(), "rolling"}, std::pair{spec.min_length > 0, "min_length"},
        std::pair{spec.partitioned, "partitioned"}}) {
    if (used && !HasSeries(table)) {
      return Status::InvalidArgument(spec.input, ": ", field, " needs the columns ", cols.id,
                                     " and ", cols.time, " (the table has ", ColumnList(table),
                                     ")");
    }
  }
  // The columns that the lags and rolling statistics read: the table's, or a lag added before.
  std::vector<std::string> columns = table->schema()->field_names();
  const auto check = [&](const std::string& field, const std::string& column) {
    if (std::find(columns.begin(), columns.end(), column) != columns.end()) return Status::OK();
    return Status::InvalidArgument(spec.input, ": ", field, ": no column '", column,
                                   "' (the table has ", JoinList(columns), ")");
  };
  for (const auto& [column, lags] : spec.lags) {
    DRC_RETURN_NOT_OK(check("lags", column));
    for (const int lag : lags) columns.push_back(column + "_lag" + std::to_string(lag));
  }
  for (const RollingSpec& rolling : spec.rolling) {
    DRC_RETURN_NOT_OK(check("rolling", rolling.column));
    const auto type = table->schema()->GetFieldByName(rolling.column);
    if (type != nullptr && !arrow::is_numeric(type->type()->id()) &&
        type->type()->id() != arrow::Type::NA) {
      return Status::InvalidArgument(spec.input, ": rolling: column '", rolling.column, "' is ",
                                     type->type()->ToString(), ", not numbers");
    }
  }
  return Status::OK();
}

// A table without rows (a CSV of a header alone) has columns of type null, which Arrow's join
// refuses: its keys take the types of `left`'s, its other columns float64 (all null), so that it
// joins and no row matches.
Result<data::TablePtr> TypeEmptyKeys(data::TablePtr right, const data::TablePtr& left,
                                     const JoinSpec& join) {
  for (const auto& field : right->schema()->fields()) {
    if (field->type()->id() != arrow::Type::NA) continue;
    const bool key = std::find(join.on.begin(), join.on.end(), field->name()) != join.on.end();
    const auto l = left->schema()->GetFieldByName(field->name());
    const auto type = key && l != nullptr ? l->type() : arrow::float64();
    DRC_ASSIGN_OR_RETURN(right, data::Cast(right, field->name(), type));
  }
  return right;
}

// `right` (join.table) can be joined to `left` (the stage's table so far): its keys are in both
// with one type, and no other column is in both.
Status CheckJoin(const data::TablePtr& left, const data::TablePtr& right, const JoinSpec& join,
                 const std::string& input) {
  for (const auto& key : join.on) {
    const auto l = left->schema()->GetFieldByName(key);
    const auto r = right->schema()->GetFieldByName(key);
    if (l == nullptr || r == nullptr) {
      return Status::InvalidArgument(l == nullptr ? input : join.table, ": join on '", key,
                                     "': no such column (the table has ",
                                     ColumnList(l == nullptr ? left : right),
                                     l == nullptr ? " before the join)" : ")");
    }
    if (!l->type()->Equals(r->type())) {
      return Status::InvalidArgument(join.table, ": join on '", key, "': it is ",
                                     r->type()->ToString(), " here and ", l->type()->ToString(),
                                     " in ", input, " (cast one of them first)");
    }
  }
  const bool right_columns = join.how != "semi" && join.how != "anti";
  for (const auto& name : right->schema()->field_names()) {
    if (right_columns && left->schema()->GetFieldByName(name) != nullptr &&
        std::find(join.on.begin(), join.on.end(), name) == join.on.end()) {
      return Status::InvalidArgument(join.table, ": column '", name, "' is also in ", input,
                                     " and is not a join key: rename it, or leave it out with "
                                     "the join's select");
    }
  }
  return Status::OK();
}

// Whether the join of `left` and `right` over the ranks sends all of `right` to every rank
// (data::BroadcastJoin) instead of shuffling both sides by the keys (data::DistJoin): for a join
// that keeps `left`'s rows (inner, left, semi, anti), when `right` is the smaller side and at most
// 64 MiB in all, as a table of a region or an attribute per series is. Collective; every rank
// gets the same answer.
Result<bool> BroadcastRightSide(const data::Context& ctx, const data::TablePtr& left,
                                const data::TablePtr& right, const JoinSpec& join) {
  constexpr int64_t kMaxBroadcastBytes = int64_t{64} << 20;
  std::array<int64_t, 3> sizes = {left->num_rows(), right->num_rows(),
                                  arrow::util::TotalBufferSize(*right)};
  DRC_RETURN_NOT_OK(comm::AllReduce(*ctx.comm(), std::span<int64_t>(sizes), comm::ReduceOp::kSum));
  return join.how != "right" && join.how != "outer" && sizes[1] <= sizes[0] &&
         sizes[2] <= kMaxBroadcastBytes;
}

// `left` joined with `right` as `join` says, on this rank (one rank) or over the ranks; then a
// column per key. CheckJoin first.
Result<data::TablePtr> JoinTable(const data::Context& ctx, const data::TablePtr& left,
                                 const data::TablePtr& right, const JoinSpec& join) {
  data::JoinOptions options;
  const data::JoinType* type = FindNamed(kJoinTypes, join.how);
  if (type == nullptr) {
    return Status::InvalidArgument(join.table, ": join how '", join.how, "': expected one of ",
                                   JoinList(JoinTypes()));
  }
  options.type = *type;
  options.left_keys = options.right_keys = join.on;
  options.right_suffix = "_right";  // the right keys: dropped below
  Result<data::TablePtr> joined = Status::Internal("unset");
  if (ctx.world_size() == 1) {
    joined = data::Join(left, right, options);
  } else {
    DRC_ASSIGN_OR_RETURN(const bool broadcast, BroadcastRightSide(ctx, left, right, join));
    joined = broadcast ? data::BroadcastJoin(ctx, left, right, options)
                       : data::DistJoin(ctx, left, right, options);
  }
  if (!joined.ok()) {
    return Status::InvalidArgument(join.table, ": join: ", joined.status().message());
  }
  if (join.how == "semi" || join.how == "anti") return *joined;
  // Each key once: a right or outer join's unmatched right rows have their keys on the right.
  const bool either_side = join.how == "right" || join.how == "outer";
  std::vector<cp::Expression> exprs;
  std::vector<std::string> names;
  for (const auto& name : (*joined)->schema()->field_names()) {
    const bool key = std::find(join.on.begin(), join.on.end(), name) != join.on.end();
    const bool right_key =
        name.size() > options.right_suffix.size() && name.ends_with(options.right_suffix) &&
        std::find(join.on.begin(), join.on.end(),
                  name.substr(0, name.size() - options.right_suffix.size())) != join.on.end();
    if (right_key) continue;
    exprs.push_back(key && either_side
                        ? cp::call("coalesce", {cp::field_ref(name),
                                                cp::field_ref(name + options.right_suffix)})
                        : cp::field_ref(name));
    names.push_back(name);
  }
  return data::Project(*joined, exprs, names);
}

// `spec.aggregate` on this rank (one rank) or over the ranks.
Result<data::TablePtr> AggregateTable(const data::Context& ctx, const data::TablePtr& table,
                                      const PrepareSpec& spec) {
  std::vector<data::Aggregation> aggs;
  for (const auto& [column, function] : spec.aggregate.columns) {
    const auto kind =
        std::find_if(std::begin(kAggregateKinds), std::end(kAggregateKinds),
                     [&](data::AggKind k) { return data::AggKindName(k) == function; });
    if (kind == std::end(kAggregateKinds)) {
      return Status::InvalidArgument(spec.input, ": aggregate ", column, ": unknown function '",
                                     function, "' (known: ", JoinList(AggregateFunctions()), ")");
    }
    data::Aggregation agg;
    agg.kind = *kind;
    agg.column = agg.output = column;
    aggs.push_back(agg);
  }
  // Checked here, alike on every rank, before the collective group-by.
  std::vector<std::string> used = spec.aggregate.by;
  for (const auto& [column, function] : spec.aggregate.columns) used.push_back(column);
  for (const auto& column : used) {
    if (table->schema()->GetFieldByName(column) == nullptr) {
      return Status::InvalidArgument(spec.input, ": aggregate: no column '", column,
                                     "' (the table has ", ColumnList(table), ")");
    }
  }
  auto grouped = ctx.world_size() > 1 ? data::DistGroupBy(ctx, table, spec.aggregate.by, aggs)
                                      : data::GroupBy(table, spec.aggregate.by, aggs);
  if (!grouped.ok()) {
    return Status::InvalidArgument(spec.input, ": aggregate: ", grouped.status().message());
  }
  return *grouped;
}

// `spec.resample`, the lags, the rolling statistics, then `spec.min_length`, on whole series
// (all of a series' rows in `table`); adds the series left out to `dropped`.
Result<data::TablePtr> WholeSeriesSteps(data::TablePtr table, const PrepareSpec& spec,
                                        int64_t* dropped) {
  if (!spec.resample.empty()) {
    auto resampled = data::Resample(table, data::SeriesColumns(), spec.resample);
    if (!resampled.ok()) {
      return Status::InvalidArgument(spec.input, ": resample: ", resampled.status().message());
    }
    table = *resampled;
  }
  for (const auto& [column, lags] : spec.lags) {
    data::SeriesColumns cols;
    cols.value = column;
    auto lagged = data::AddLags(table, cols, lags);
    if (!lagged.ok()) {
      return Status::InvalidArgument(spec.input, ": lags: ", lagged.status().message());
    }
    table = *lagged;
  }
  for (const RollingSpec& rolling : spec.rolling) {
    data::SeriesColumns cols;
    cols.value = rolling.column;
    for (const std::string& name : rolling.stats) {
      // Checked when a pipeline file is parsed; a task file's arguments are checked here.
      const data::RollingStat* stat = FindNamed(kRollingStats, name);
      if (stat == nullptr) {
        return Status::InvalidArgument(spec.input, ": rolling: unknown statistic '", name,
                                       "' (one of ", JoinList(RollingStats()), ")");
      }
      auto rolled = data::AddRolling(table, cols, rolling.window, *stat, rolling.min_periods);
      if (!rolled.ok()) {
        return Status::InvalidArgument(spec.input, ": rolling: ", rolled.status().message());
      }
      table = *rolled;
    }
  }
  if (spec.min_length > 0) {
    int64_t short_series = 0;
    auto kept = data::DropShortSeries(table, data::SeriesColumns(), spec.min_length, &short_series);
    if (!kept.ok()) {
      return Status::InvalidArgument(spec.input, ": min_length: ", kept.status().message());
    }
    table = *kept;
    *dropped += short_series;
  }
  return table;
}

// The output's order: `spec.sort` (each "column" or "column desc"; nulls last), else unique_id
// and ds when the table has both, else none (the rows as they come).
Result<std::vector<data::SortKey>> OutputOrder(const data::TablePtr& table,
                                               const PrepareSpec& spec) {
  std::vector<data::SortKey> keys;
  for (const std::string& item : spec.sort) {
    data::SortKey key;
    key.column = item;
    constexpr std::string_view kDesc = " desc";
    if (item.size() > kDesc.size() && item.ends_with(kDesc)) {
      key.column = item.substr(0, item.size() - kDesc.size());
      key.ascending = false;
    }
    if (table->schema()->GetFieldByName(key.column) == nullptr) {
      return Status::InvalidArgument(spec.input, ": sort: no column '", key.column,
                                     "' (the table has ", ColumnList(table), ")");
    }
    keys.push_back(std::move(key));
  }
  if (keys.empty() && HasSeries(table)) {
    const data::SeriesColumns cols;
    keys = {{cols.id}, {cols.time}};
  }
  return keys;
}

// Sorted in the output's order, then written to `spec.output`.
Status SortAndWrite(data::TablePtr table, const PrepareSpec& spec) {
  DRC_ASSIGN_OR_RETURN(const auto keys, OutputOrder(table, spec));
  if (!keys.empty()) {
    DRC_ASSIGN_OR_RETURN(table, data::Sort(table, keys));
  }
  return data::WriteTable(*table, spec.output);
}

// The format name of `output` for data::WritePartitioned.
Result<std::string> PartFormat(const std::string& output) {
  DRC_ASSIGN_OR_RETURN(const data::TableFormat format, data::TableFormatOf(output));
  switch (format) {
    case data::TableFormat::kCsv: return std::string("csv");
    case data::TableFormat::kParquet: return std::string("parquet");
    default: return std::string("arrow");
  }
}

// The folder of a partitioned output: its name without the extension.
std::string PartsFolder(const std::string& output) {
  return std::filesystem::path(output).replace_extension().string();
}

// This rank's series, sorted, as its part of `spec.output`'s folder; rank 0 empties the
// folder first (parts of an earlier run on more ranks would be read as this run's). Collective.
Status WritePart(const data::Context& ctx, data::TablePtr table, const PrepareSpec& spec) {
  const std::string dir = PartsFolder(spec.output);
  Status local;
  if (table->num_rows() == 0) {
    local = Status::InvalidArgument(spec.input, ": partitioned: rank ", ctx.rank(),
                                    " holds no series (each of the ", ctx.world_size(),
                                    " parts needs one: use at most as many ranks as there are ",
                                    "series", spec.min_length > 0 ? " of min_length rows)" : ")");
  } else if (ctx.rank() == 0) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) local = Status::IOError("cannot empty ", dir, ": ", ec.message());
  }
  DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, local));
  const data::SeriesColumns cols;
  DRC_ASSIGN_OR_RETURN(table, data::Sort(table, {{cols.id}, {cols.time}}));
  DRC_ASSIGN_OR_RETURN(const std::string format, PartFormat(spec.output));
  return data::WritePartitioned(ctx, table, dir, format);
}

// A CSV's series ids as text, as data::ReadSeries reads them ("01022500" keeps its leading
// zero): when the column that `rename` makes unique_id was inferred as numbers, `read` again
// with that column typed as text.
Result<data::TablePtr> IdsAsText(
    const std::map<std::string, std::string>& rename, data::TablePtr table,
    const std::function<Result<data::TablePtr>(const data::CsvOptions&)>& read) {
  std::string id = data::SeriesColumns().id;
  for (const auto& [from, to] : rename) {
    if (to == data::SeriesColumns().id) id = from;
  }
  const auto column = table->GetColumnByName(id);
  if (column == nullptr || arrow::is_binary_like(column->type()->id()) ||
      column->type()->id() == arrow::Type::NA) {
    return table;
  }
  data::CsvOptions options;
  options.column_types[id] = "string";
  return read(options);
}

// The whole table at `path`, that `rename` then renames (IdsAsText).
Result<data::TablePtr> ReadWhole(const std::string& path,
                                 const std::map<std::string, std::string>& rename) {
  DRC_ASSIGN_OR_RETURN(const data::TableFormat format, data::TableFormatOf(path));
  DRC_ASSIGN_OR_RETURN(data::TablePtr table, data::ReadTable(path));
  if (format != data::TableFormat::kCsv) return table;
  return IdsAsText(rename, table,
                   [&](const data::CsvOptions& options) { return data::ReadCsv(path, options); });
}

// This rank's parts of `pattern` (parts 0 .. parts - 1): those whose number is the rank's modulo
// the ranks, in order (one rank: all; as many ranks as parts: its own), none of the rows of part 0
// on a rank beyond the parts. Collective: an error on one rank is an error on every rank.
Result<data::TablePtr> ReadParts(const data::Context& ctx, const std::string& pattern, int parts,
                                 const std::map<std::string, std::string>& rename) {
  std::vector<data::TablePtr> mine;
  Status read;
  for (int part = ctx.rank(); part < parts && read.ok(); part += ctx.world_size()) {
    auto table = ReadWhole(data::RankPath(pattern, part), rename);
    read = table.status();
    if (read.ok()) mine.push_back(*table);
  }
  if (read.ok() && mine.empty()) {
    auto first = ReadWhole(data::RankPath(pattern, 0), rename);
    read = first.status();
    if (read.ok()) mine.push_back((*first)->Slice(0, 0));
  }
  Result<data::TablePtr> table = read;
  if (read.ok()) table = data::Concat(mine);
  if (!table.ok() && read.ok()) {
    table = Status::InvalidArgument(pattern, ": the parts differ: ", table.status().message());
  }
  DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, table.status()));
  return *table;
}

// The table at `path` (the input, or one joined to it) that `rename` then renames: whole on one
// rank; on R ranks, this rank's share (a CSV split at line boundaries, another format read whole
// and sliced into equal shares in rank order; collective). With `parts`, `path` names parts
// (ReadParts).
Result<data::TablePtr> ReadStageTable(const data::Context& ctx, const std::string& path,
                                      const std::map<std::string, std::string>& rename, int parts) {
  if (parts > 0) return ReadParts(ctx, path, parts, rename);
  if (ctx.world_size() == 1) return ReadWhole(path, rename);
  DRC_ASSIGN_OR_RETURN(const data::TableFormat format, data::TableFormatOf(path));
  DRC_ASSIGN_OR_RETURN(data::TablePtr table, data::ReadTableSplit(ctx, path));
  if (format != data::TableFormat::kCsv) return table;
  // The ranks agree on the inferred schema, so all read again or none does.
  return IdsAsText(rename, table, [&](const data::CsvOptions& options) {
    return data::ReadTableSplit(ctx, path, options);
  });
}

// The stage's steps up to the whole-series ones, on this rank's rows (one rank: all of them):
// shape the input, join each table, filter the rows, aggregate. An error on one rank is an
// error on every rank.
Result<data::TablePtr> RowSteps(const data::Context& ctx, data::TablePtr table,
                                const PrepareSpec& spec) {
  auto shaped = Shape(table, spec.input, spec.rename, spec.select);
  DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, shaped.status()));
  table = *shaped;
  for (const JoinSpec& join : spec.join) {
    DRC_ASSIGN_OR_RETURN(data::TablePtr right,
                         ReadStageTable(ctx, join.table, join.rename, join.parts));
    auto right_shaped = Shape(right, join.table, join.rename, join.select, join.on);
    if (right_shaped.ok()) right_shaped = TypeEmptyKeys(*right_shaped, table, join);
    Status checked = right_shaped.status();
    // The ranks agree on both schemas, so this check comes out alike on every rank.
    if (checked.ok()) checked = CheckJoin(table, *right_shaped, join, spec.input);
    DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, checked));
    auto joined = JoinTable(ctx, table, *right_shaped, join);
    DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, joined.status()));
    table = *joined;
  }
  auto transformed = ComputeFilterDrop(table, spec);
  DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, transformed.status()));
  table = *transformed;
  auto filtered = FilterRows(table, spec);
  DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, filtered.status()));
  table = *filtered;
  if (!spec.unique.empty()) {
    auto kept = UniqueRows(ctx, table, spec);
    DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, kept.status()));
    table = *kept;
  }
  if (!spec.aggregate.by.empty()) {
    auto aggregated = AggregateTable(ctx, table, spec);
    DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, aggregated.status()));
    table = *aggregated;
  }
  DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, CheckSeriesSteps(table, spec)));
  return table;
}

// Each of `values` summed over the ranks, in place.
Status SumOverRanks(const data::Context& ctx, std::span<int64_t> values) {
  return comm::AllReduce(*ctx.comm(), values, comm::ReduceOp::kSum);
}

// PrepareTable on R > 1 ranks (pipeline.h).
Result<PrepareResult> PrepareOnRanks(const PrepareSpec& spec, const data::Context& ctx) {
  DRC_ASSIGN_OR_RETURN(data::TablePtr table,
                       ReadStageTable(ctx, spec.input, spec.rename, spec.input_parts));
  PrepareResult result;
  result.rows_in = table->num_rows();
  DRC_RETURN_NOT_OK(SumOverRanks(ctx, std::span<int64_t>(&result.rows_in, 1)));
  DRC_ASSIGN_OR_RETURN(table, RowSteps(ctx, table, spec));
  // The ranks agree on the schema (ReadCsvSplit), so all take the same branches below.
  if (HasSeries(table)) {
    // Every series to one rank; partitioned, rank r gets the r-th range of the ids, balanced by
    // rows, which it writes as its part.
    const std::string& id = data::SeriesColumns().id;
    DRC_ASSIGN_OR_RETURN(table, spec.partitioned ? data::RangePartition(ctx, table, id)
                                                 : data::Shuffle(ctx, table, {id}));
  }
  std::array<int64_t, 2> counts = {0, 0};  // rows out, series dropped
  auto whole_series = WholeSeriesSteps(table, spec, &counts[1]);
  DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, whole_series.status()));
  table = *whole_series;
  counts[0] = table->num_rows();
  DRC_RETURN_NOT_OK(SumOverRanks(ctx, counts));
  result.rows_out = counts[0];
  result.series_dropped = counts[1];
  result.columns = table->schema()->field_names();
  if (spec.partitioned) {
    // min_length may have left a rank without series: cut the ranges again over those kept.
    DRC_ASSIGN_OR_RETURN(const auto rows, comm::AllGatherValue(*ctx.comm(), table->num_rows()));
    if (std::find(rows.begin(), rows.end(), int64_t{0}) != rows.end()) {
      DRC_ASSIGN_OR_RETURN(table, data::RangePartition(ctx, table, data::SeriesColumns().id));
    }
    DRC_RETURN_NOT_OK(WritePart(ctx, table, spec));
    return result;
  }
  // The ranks agree on the schema, so on the keys (or the error).
  auto keys = OutputOrder(table, spec);
  DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, keys.status()));
  if (!keys->empty()) {
    // Rank r then holds the r-th range of the order, so rank 0 finds the gathered rows sorted.
    DRC_ASSIGN_OR_RETURN(table, data::DistSort(ctx, table, *keys));
  }
  DRC_ASSIGN_OR_RETURN(const data::TablePtr whole, data::Gather(ctx, table, 0));
  const Status written = ctx.rank() == 0 ? SortAndWrite(whole, spec) : Status::OK();
  DRC_RETURN_NOT_OK(data::AgreeOnStatus(ctx, written));
  return result;
}

}  // namespace

std::string PartsPattern(const PrepareSpec& spec) {
  if (!spec.partitioned) return "";
  auto format = PartFormat(spec.output);
  return PartsFolder(spec.output) + "/part-{rank}." + (format.ok() ? *format : "parquet");
}

Result<PrepareResult> PrepareTable(const PrepareSpec& spec, comm::Communicator* comm) {
  DRC_RETURN_NOT_OK(data::Initialize());
  // The output's format first: a bad name fails before any work (on every rank alike).
  DRC_RETURN_NOT_OK(data::TableFormatOf(spec.output).status());
  const data::Context ctx(comm);
  if (ctx.world_size() > 1) return PrepareOnRanks(spec, ctx);
  DRC_ASSIGN_OR_RETURN(data::TablePtr table,
                       ReadStageTable(ctx, spec.input, spec.rename, spec.input_parts));
  PrepareResult result;
  result.rows_in = table->num_rows();
  DRC_ASSIGN_OR_RETURN(table, RowSteps(ctx, table, spec));
  DRC_ASSIGN_OR_RETURN(table, WholeSeriesSteps(table, spec, &result.series_dropped));
  DRC_RETURN_NOT_OK(spec.partitioned ? WritePart(ctx, table, spec) : SortAndWrite(table, spec));
  result.rows_out = table->num_rows();
  result.columns = table->schema()->field_names();
  return result;
}

}  // namespace drc::pipeline
