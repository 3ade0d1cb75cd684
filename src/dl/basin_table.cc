// Basins from long-format tables, and CAMELS-US written as such tables (basin_table.h).
#include "drc/dl/basin_table.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "drc/common/strings.h"
#include "drc/data/dist_io.h"
#include "drc/data/io.h"
#include "drc/data/timeseries.h"

namespace drc::dl {
namespace {

namespace cp = arrow::compute;

Status FromArrow(const arrow::Status& st, const std::string& context) {
  return st.ok() ? Status::OK() : Status::Internal(context, ": ", st.ToString());
}

bool IsNumber(const arrow::DataType& type) {
  return arrow::is_integer(type.id()) || arrow::is_floating(type.id());
}

// A column (which the callers found) as one array of `type`.
Result<std::shared_ptr<arrow::Array>> Whole(const arrow::Table& table, const std::string& name,
                                            const std::shared_ptr<arrow::DataType>& type,
                                            const std::string& what) {
  const auto column = table.GetColumnByName(name);
  auto cast = cp::Cast(column, type);
  if (!cast.ok()) {
    return Status::InvalidArgument(what, ": column '", name, "' holds ", column->type()->ToString(),
                                   ", not ", type->ToString(), " (", cast.status().message(), ")");
  }
  const auto& chunks = cast->chunked_array()->chunks();
  if (chunks.size() == 1) return chunks[0];
  auto joined = chunks.empty() ? arrow::MakeEmptyArray(type) : arrow::Concatenate(chunks);
  if (!joined.ok()) return FromArrow(joined.status(), what);
  return *joined;
}

// A numeric column as doubles, NaN where null.
Result<std::vector<double>> Doubles(const arrow::Table& table, const std::string& name,
                                    const std::string& what) {
  const auto column = table.GetColumnByName(name);
  if (!IsNumber(*column->type()) && column->type()->id() != arrow::Type::NA) {
    return Status::InvalidArgument(what, ": column '", name, "' holds ", column->type()->ToString(),
                                   "; expected numbers");
  }
  DRC_ASSIGN_OR_RETURN(auto array, Whole(table, name, arrow::float64(), what));
  const auto& d = static_cast<const arrow::DoubleArray&>(*array);
  std::vector<double> out(static_cast<size_t>(d.length()));
  for (int64_t i = 0; i < d.length(); ++i) out[i] = d.IsNull(i) ? std::nan("") : d.Value(i);
  return out;
}

// Every number column of `table` but `skip`, in the table's order (a column without a value is
// one too: Arrow's CSV reader types it null).
std::vector<std::string> NumberColumns(const arrow::Table& table, const std::string& skip) {
  std::vector<std::string> names;
  for (const auto& field : table.schema()->fields()) {
    if (field->name() != skip &&
        (IsNumber(*field->type()) || field->type()->id() == arrow::Type::NA)) {
      names.push_back(field->name());
    }
  }
  return names;
}

// "its columns are a, b, c", for errors.
std::string ColumnsOf(const arrow::Table& table) {
  return "its columns are " + JoinList(table.schema()->field_names(), ", ");
}

// A column that should hold numbers but does not. One of a CSV file (not of parts) is read again
// asking for float64, so that the reader names the first line that does not parse.
Status NotNumbers(const std::string& path, const arrow::Table& table, const std::string& name,
                  const std::string& what) {
  const auto type = table.GetColumnByName(name)->type();
  if (IsNumber(*type) || type->id() == arrow::Type::NA) return Status::OK();
  auto format = data::TableFormatOf(path);
  if (format.ok() && *format == data::TableFormat::kCsv && arrow::is_binary_like(type->id()) &&
      !data::IsRankPattern(path)) {
    data::CsvOptions typed;
    typed.column_types[name] = "float64";
    typed.column_types[data::SeriesColumns().id] = "string";
    DRC_RETURN_NOT_OK(data::ReadCsv(path, typed).status());
  }
  return Status::InvalidArgument(what, ": column '", name, "' holds ", type->ToString(),
                                 "; expected numbers");
}

// A day column (date32, date64 or timestamp) as days since 1970-01-01; a stamp that is not at
// midnight is an error naming it.
Result<std::vector<Day>> Days(const arrow::Table& table, const std::string& name,
                              const std::string& what) {
  const auto type = table.GetColumnByName(name)->type();
  int64_t per_day = 0;
  switch (type->id()) {
    case arrow::Type::DATE32: per_day = 1; break;
    case arrow::Type::DATE64: per_day = 86400000; break;
    case arrow::Type::TIMESTAMP: {
      const auto unit = static_cast<const arrow::TimestampType&>(*type).unit();
      per_day = unit == arrow::TimeUnit::SECOND  ? 86400
                : unit == arrow::TimeUnit::MILLI ? 86400000
                : unit == arrow::TimeUnit::MICRO ? 86400000000
                                                 : 86400000000000;
      break;
    }
    default:
      return Status::InvalidArgument(what, ": column '", name, "' holds ", type->ToString(),
                                     "; expected dates (YYYY-MM-DD)");
  }
  DRC_ASSIGN_OR_RETURN(auto array, Whole(table, name, type, what));
  const bool narrow = type->id() == arrow::Type::DATE32;
  const int32_t* narrow_values = narrow ? array->data()->GetValues<int32_t>(1) : nullptr;
  const int64_t* wide_values = narrow ? nullptr : array->data()->GetValues<int64_t>(1);
  std::vector<Day> days(static_cast<size_t>(array->length()));
  for (int64_t i = 0; i < array->length(); ++i) {
    if (array->IsNull(i)) {
      return Status::InvalidArgument(what, ": column '", name, "' has no day at row ", i);
    }
    const int64_t t = narrow ? narrow_values[i] : wide_values[i];
    if (t % per_day != 0) {
      return Status::InvalidArgument(what, ": column '", name, "' at row ", i,
                                     " holds a time of day; expected days at midnight");
    }
    days[i] = static_cast<Day>(t / per_day);
  }
  return days;
}

// Rows where each id starts (ids sorted), plus the end.
std::vector<int64_t> Bounds(const arrow::StringArray& ids) {
  std::vector<int64_t> bounds = {0};
  for (int64_t i = 1; i < ids.length(); ++i) {
    if (ids.GetView(i) != ids.GetView(i - 1)) bounds.push_back(i);
  }
  if (ids.length() > 0) bounds.push_back(ids.length());
  return bounds;
}

Result<data::TablePtr> ReadAny(const std::string& path) {
  return data::IsRankPattern(path) ? data::ReadSeriesParts(path) : data::ReadSeries(path);
}

// Keeps the rows of `gauges`; each must have one.
Result<data::TablePtr> KeepGauges(const data::TablePtr& table,
                                  const std::vector<std::string>& gauges, const std::string& what) {
  const std::string id = data::SeriesColumns().id;
  DRC_ASSIGN_OR_RETURN(auto ids, Whole(*table, id, arrow::utf8(), what));
  arrow::StringBuilder wanted;
  DRC_RETURN_NOT_OK(FromArrow(wanted.AppendValues(gauges), what));
  std::shared_ptr<arrow::Array> set;
  DRC_RETURN_NOT_OK(FromArrow(wanted.Finish(&set), what));
  auto found = cp::IsIn(ids, cp::SetLookupOptions(set));
  if (!found.ok()) return FromArrow(found.status(), what);
  auto present = cp::IsIn(set, cp::SetLookupOptions(ids));
  if (!present.ok()) return FromArrow(present.status(), what);
  const auto& flags = static_cast<const arrow::BooleanArray&>(*present->make_array());
  for (int64_t g = 0; g < flags.length(); ++g) {
    if (!flags.Value(g)) {
      return Status::NotFound(what, ": basin '", gauges[g], "' has no row (column '", id, "')");
    }
  }
  auto kept = cp::Filter(table, *found);
  if (!kept.ok()) return FromArrow(kept.status(), what);
  return kept->table();
}

}  // namespace

Result<std::vector<BasinSeries>> ReadBasinTable(const std::string& path,
                                                const std::vector<std::string>& gauges,
                                                std::vector<std::string>* dynamic_inputs) {
  const data::SeriesColumns cols;
  const std::string what = "hydrology table " + path;
  DRC_ASSIGN_OR_RETURN(data::TablePtr table, ReadAny(path));
  for (const auto& name : {cols.id, cols.time, cols.value}) {
    if (table->GetColumnByName(name) == nullptr) {
      return Status::InvalidArgument(what, ": no column '", name, "' (expected ", cols.id,
                                     " the basin, ", cols.time, " the day, ", cols.value,
                                     " the discharge in mm/day); ", ColumnsOf(*table));
    }
  }
  const bool every = dynamic_inputs->empty();
  if (every) {
    // Every other column (a resampled table's is_gap too is left out).
    for (const auto& field : table->schema()->fields()) {
      const auto& name = field->name();
      if (name != cols.id && name != cols.time && name != cols.value && name != "is_gap") {
        dynamic_inputs->push_back(name);
      }
    }
    if (dynamic_inputs->empty()) {
      return Status::InvalidArgument(what, ": no column besides ", cols.id, ", ", cols.time,
                                     " and ", cols.value, " to take as an input");
    }
  }
  for (const auto& name : *dynamic_inputs) {
    if (table->GetColumnByName(name) == nullptr) {
      return Status::NotFound(what, ": no input column '", name, "'; ", ColumnsOf(*table));
    }
    if (Status st = NotNumbers(path, *table, name, what); !st.ok()) {
      if (!every) return st;
      return Status::InvalidArgument(st.message(), " (the inputs default to every column but ",
                                     cols.id, ", ", cols.time, " and ", cols.value,
                                     ": name them to leave one out)");
    }
  }
  DRC_RETURN_NOT_OK(NotNumbers(path, *table, cols.value, what));
  if (!gauges.empty()) {
    DRC_ASSIGN_OR_RETURN(table, KeepGauges(table, gauges, what));
  }
  if (table->num_rows() == 0) return Status::InvalidArgument(what, ": no rows");
  // Sorted by basin and day, every day present (a day without a row: nulls), duplicates refused.
  const auto resampled = data::Resample(table, cols, "D");
  if (!resampled.ok()) return resampled.status().WithContext(what);
  table = *resampled;

  DRC_ASSIGN_OR_RETURN(auto id_array, Whole(*table, cols.id, arrow::utf8(), what));
  const auto& ids = static_cast<const arrow::StringArray&>(*id_array);
  DRC_ASSIGN_OR_RETURN(const std::vector<Day> days, Days(*table, cols.time, what));
  DRC_ASSIGN_OR_RETURN(const std::vector<double> target, Doubles(*table, cols.value, what));
  const size_t nf = dynamic_inputs->size();
  std::vector<std::vector<double>> inputs;
  for (const auto& name : *dynamic_inputs) {
    DRC_ASSIGN_OR_RETURN(auto values, Doubles(*table, name, what));
    inputs.push_back(std::move(values));
  }
  const std::vector<int64_t> bounds = Bounds(ids);
  std::map<std::string, BasinSeries> by_id;
  for (size_t k = 0; k + 1 < bounds.size(); ++k) {
    const int64_t b = bounds[k], e = bounds[k + 1];
    BasinSeries basin;
    basin.gauge_id = std::string(ids.GetView(b));
    basin.dynamic_names = *dynamic_inputs;
    basin.days.assign(days.begin() + b, days.begin() + e);
    basin.qobs_mm_day.assign(target.begin() + b, target.begin() + e);
    basin.dynamic.resize(static_cast<size_t>(e - b) * nf);
    for (int64_t i = b; i < e; ++i) {
      if (days[i] != days[b] + (i - b)) {
        return Status::Internal(what, ": basin '", basin.gauge_id, "' has day ", FormatDay(days[i]),
                                " out of order after resampling");
      }
      for (size_t f = 0; f < nf; ++f) basin.dynamic[(i - b) * nf + f] = inputs[f][i];
    }
    by_id.emplace(basin.gauge_id, std::move(basin));
  }
  std::vector<BasinSeries> basins;
  if (gauges.empty()) {
    for (auto& [id, basin] : by_id) basins.push_back(std::move(basin));
  } else {
    for (const auto& g : gauges) basins.push_back(by_id.at(g));
  }
  return basins;
}

Result<std::vector<std::vector<double>>> ReadAttributeTable(const std::string& path,
                                                            const std::vector<std::string>& gauges,
                                                            std::vector<std::string>* names) {
  const std::string id = data::SeriesColumns().id;
  const std::string what = "attribute table " + path;
  DRC_ASSIGN_OR_RETURN(data::TablePtr table, data::ReadSeries(path));
  if (table->GetColumnByName(id) == nullptr) {
    return Status::InvalidArgument(what, ": no column '", id, "' (the basin); ", ColumnsOf(*table));
  }
  if (names->empty()) *names = NumberColumns(*table, id);
  std::vector<std::vector<double>> columns;
  for (const auto& name : *names) {
    if (table->GetColumnByName(name) == nullptr) {
      return Status::NotFound(what, ": no attribute column '", name, "'; ", ColumnsOf(*table));
    }
    DRC_RETURN_NOT_OK(NotNumbers(path, *table, name, what));
    DRC_ASSIGN_OR_RETURN(auto values, Doubles(*table, name, what));
    columns.push_back(std::move(values));
  }
  DRC_ASSIGN_OR_RETURN(auto id_array, Whole(*table, id, arrow::utf8(), what));
  const auto& ids = static_cast<const arrow::StringArray&>(*id_array);
  std::map<std::string, int64_t, std::less<>> row_of;
  for (int64_t i = 0; i < ids.length(); ++i) {
    if (ids.IsNull(i)) continue;
    if (!row_of.emplace(std::string(ids.GetView(i)), i).second) {
      return Status::InvalidArgument(what, ": basin '", ids.GetView(i), "' has two rows");
    }
  }
  std::vector<std::vector<double>> out;
  for (const auto& g : gauges) {
    auto it = row_of.find(g);
    if (it == row_of.end()) return Status::NotFound(what, ": no row for basin '", g, "'");
    std::vector<double> row;
    for (const auto& column : columns) row.push_back(column[it->second]);
    out.push_back(std::move(row));
  }
  return out;
}

namespace {

Result<std::shared_ptr<arrow::Array>> DoubleArray(const std::vector<double>& values) {
  arrow::DoubleBuilder builder;
  for (double v : values) {
    DRC_RETURN_NOT_OK(
        FromArrow(std::isnan(v) ? builder.AppendNull() : builder.Append(v), "CAMELS table"));
  }
  std::shared_ptr<arrow::Array> array;
  DRC_RETURN_NOT_OK(FromArrow(builder.Finish(&array), "CAMELS table"));
  return array;
}

Result<std::shared_ptr<arrow::Array>> StringArray(const std::vector<std::string>& values) {
  arrow::StringBuilder builder;
  DRC_RETURN_NOT_OK(FromArrow(builder.AppendValues(values), "CAMELS table"));
  std::shared_ptr<arrow::Array> array;
  DRC_RETURN_NOT_OK(FromArrow(builder.Finish(&array), "CAMELS table"));
  return array;
}

Result<std::vector<std::string>> GaugesOr(const std::string& dir,
                                          const std::vector<std::string>& gauges) {
  if (!gauges.empty()) return gauges;
  DRC_ASSIGN_OR_RETURN(auto all, ListCamelsBasins(dir));
  if (all.empty()) return Status::NotFound("no basin under ", dir, "/forcing_daymet");
  return all;
}

}  // namespace

Result<std::shared_ptr<arrow::Table>> CamelsSeriesTable(
    const std::string& dir, const std::vector<std::string>& gauges,
    const std::vector<std::string>& dynamic_inputs) {
  DRC_ASSIGN_OR_RETURN(const auto names, GaugesOr(dir, gauges));
  const data::SeriesColumns cols;
  const size_t nf = dynamic_inputs.size();
  std::vector<std::string> ids;
  std::vector<Day> days;
  std::vector<double> target;
  std::vector<std::vector<double>> inputs(nf);
  for (const auto& g : names) {
    DRC_ASSIGN_OR_RETURN(const BasinSeries basin, ReadCamelsBasin(dir, g, dynamic_inputs));
    ids.insert(ids.end(), basin.days.size(), g);
    days.insert(days.end(), basin.days.begin(), basin.days.end());
    target.insert(target.end(), basin.qobs_mm_day.begin(), basin.qobs_mm_day.end());
    for (size_t i = 0; i < basin.days.size(); ++i) {
      for (size_t f = 0; f < nf; ++f) inputs[f].push_back(basin.Dynamic(i, f));
    }
  }
  std::vector<std::shared_ptr<arrow::Field>> fields = {arrow::field(cols.id, arrow::utf8()),
                                                       arrow::field(cols.time, arrow::date32())};
  std::vector<std::shared_ptr<arrow::Array>> columns;
  DRC_ASSIGN_OR_RETURN(auto id_array, StringArray(ids));
  columns.push_back(id_array);
  arrow::Date32Builder day_builder;
  DRC_RETURN_NOT_OK(FromArrow(day_builder.AppendValues(days), "CAMELS table"));
  std::shared_ptr<arrow::Array> day_array;
  DRC_RETURN_NOT_OK(FromArrow(day_builder.Finish(&day_array), "CAMELS table"));
  columns.push_back(day_array);
  for (size_t f = 0; f < nf; ++f) {
    fields.push_back(arrow::field(dynamic_inputs[f], arrow::float64()));
    DRC_ASSIGN_OR_RETURN(auto array, DoubleArray(inputs[f]));
    columns.push_back(array);
  }
  fields.push_back(arrow::field(cols.value, arrow::float64()));
  DRC_ASSIGN_OR_RETURN(auto target_array, DoubleArray(target));
  columns.push_back(target_array);
  return arrow::Table::Make(arrow::schema(fields), columns);
}

Result<std::shared_ptr<arrow::Table>> CamelsAttributeTable(const std::string& dir,
                                                           const std::vector<std::string>& gauges,
                                                           const std::vector<std::string>& names) {
  DRC_ASSIGN_OR_RETURN(const auto ids, GaugesOr(dir, gauges));
  DRC_ASSIGN_OR_RETURN(const auto rows, ReadCamelsAttributes(dir, ids, names));
  std::vector<std::shared_ptr<arrow::Field>> fields = {
      arrow::field(data::SeriesColumns().id, arrow::utf8())};
  std::vector<std::shared_ptr<arrow::Array>> columns;
  DRC_ASSIGN_OR_RETURN(auto id_array, StringArray(ids));
  columns.push_back(id_array);
  for (size_t a = 0; a < names.size(); ++a) {
    std::vector<double> values;
    for (const auto& row : rows) values.push_back(row[a]);
    fields.push_back(arrow::field(names[a], arrow::float64()));
    DRC_ASSIGN_OR_RETURN(auto array, DoubleArray(values));
    columns.push_back(array);
  }
  return arrow::Table::Make(arrow::schema(fields), columns);
}

}  // namespace drc::dl
