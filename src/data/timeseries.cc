// Time-series helpers on long tables (id, time, value).
//
// Every function first sorts by (id, time) (ops Sort, stable) and cuts the sorted table into
// series with a dictionary encoding of the id column (so ids of any type work, nulls included);
// row-wise results are built as index arrays and applied with one Take per column, so every
// column type passes through unchanged.
#include "drc/data/timeseries.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "drc/comm/communicator.h"
#include "drc/data/dist_io.h"
#include "drc/data/io.h"
#include "drc/data/ops.h"
#include "src/data/arrow_status.h"

namespace drc::data {
namespace {

namespace cp = arrow::compute;

Status CheckColumn(const TablePtr& table, const std::string& column, std::string_view op,
                   std::string_view role) {
  if (table->schema()->GetFieldIndex(column) >= 0) return Status::OK();
  std::string names;
  for (const auto& f : table->schema()->fields()) names += (names.empty() ? "" : ", ") + f->name();
  return Status::InvalidArgument(op, ": unknown ", role, " column '", column, "' (table has ",
                                 names, ")");
}

Result<std::shared_ptr<arrow::Array>> Contiguous(const std::shared_ptr<arrow::ChunkedArray>& c) {
  if (c->num_chunks() == 1) return c->chunk(0);
  if (c->num_chunks() == 0) {
    DRC_ARROW_ASSIGN_OR_RETURN(auto empty, arrow::MakeEmptyArray(c->type()), "time series");
    return empty;
  }
  DRC_ARROW_ASSIGN_OR_RETURN(auto array, arrow::Concatenate(c->chunks()), "time series");
  return array;
}

// A table sorted by (id, time) and the row ranges of its series.
struct Series {
  TablePtr table;
  std::vector<int64_t> starts;  // series s is rows [starts[s], starts[s + 1])
  int64_t count() const { return static_cast<int64_t>(starts.size()) - 1; }
  int64_t begin(int64_t s) const { return starts[s]; }
  int64_t end(int64_t s) const { return starts[s + 1]; }
};

Result<Series> SortedSeries(const TablePtr& table, const SeriesColumns& cols, std::string_view op,
                            bool need_value) {
  DRC_RETURN_NOT_OK(Initialize());
  if (table == nullptr) return Status::InvalidArgument(op, ": table is null");
  DRC_RETURN_NOT_OK(CheckColumn(table, cols.id, op, "id"));
  DRC_RETURN_NOT_OK(CheckColumn(table, cols.time, op, "time"));
  if (need_value) DRC_RETURN_NOT_OK(CheckColumn(table, cols.value, op, "value"));
  Series series;
  DRC_ASSIGN_OR_RETURN(series.table, Sort(table, {{cols.id}, {cols.time}}));
  const int64_t n = series.table->num_rows();
  series.starts.push_back(0);
  if (n > 0) {
    DRC_ASSIGN_OR_RETURN(auto ids, Contiguous(series.table->GetColumnByName(cols.id)));
    DRC_ARROW_ASSIGN_OR_RETURN(auto encoded, cp::DictionaryEncode(ids), std::string(op));
    const auto encoded_array = encoded.make_array();
    const auto& dict = static_cast<const arrow::DictionaryArray&>(*encoded_array);
    DRC_ARROW_ASSIGN_OR_RETURN(auto codes_datum, cp::Cast(dict.indices(), arrow::int64()),
                               std::string(op));
    const auto codes_array = codes_datum.make_array();
    const auto& codes = static_cast<const arrow::Int64Array&>(*codes_array);
    for (int64_t i = 1; i < n; ++i) {
      const bool same = codes.IsNull(i)
                            ? codes.IsNull(i - 1)
                            : (!codes.IsNull(i - 1) && codes.Value(i) == codes.Value(i - 1));
      if (!same) series.starts.push_back(i);
    }
    series.starts.push_back(n);
  }
  return series;
}

// A column as doubles with validity (nulls and NaN are invalid).
struct Doubles {
  std::vector<double> values;
  std::vector<bool> valid;
};

Result<Doubles> ToDoubles(const TablePtr& table, const std::string& column, std::string_view op) {
  auto chunked = table->GetColumnByName(column);
  const auto& type = *chunked->type();
  if (!arrow::is_integer(type.id()) && !arrow::is_floating(type.id()) &&
      type.id() != arrow::Type::NA) {
    return Status::InvalidArgument(op, ": column '", column, "' must be numeric, got ",
                                   type.ToString());
  }
  DRC_ARROW_ASSIGN_OR_RETURN(auto cast, cp::Cast(chunked, arrow::float64()), std::string(op));
  DRC_ASSIGN_OR_RETURN(auto array, Contiguous(cast.chunked_array()));
  const auto& d = static_cast<const arrow::DoubleArray&>(*array);
  Doubles out;
  out.values.resize(d.length());
  out.valid.resize(d.length());
  for (int64_t i = 0; i < d.length(); ++i) {
    out.valid[i] = d.IsValid(i) && !std::isnan(d.Value(i));
    out.values[i] = out.valid[i] ? d.Value(i) : 0.0;
  }
  return out;
}

Result<std::shared_ptr<arrow::Array>> MakeDoubles(const std::vector<double>& values,
                                                  const std::vector<bool>& valid) {
  arrow::DoubleBuilder b;
  DRC_ARROW_RETURN_NOT_OK(b.AppendValues(values, valid), "time series");
  std::shared_ptr<arrow::Array> out;
  DRC_ARROW_RETURN_NOT_OK(b.Finish(&out), "time series");
  return out;
}

Result<TablePtr> AddOrReplace(const TablePtr& table, const std::string& name,
                              const std::shared_ptr<arrow::Array>& array) {
  auto field = arrow::field(name, array->type());
  auto column = std::make_shared<arrow::ChunkedArray>(array);
  const int index = table->schema()->GetFieldIndex(name);
  if (index >= 0) {
    DRC_ARROW_ASSIGN_OR_RETURN(auto out, table->SetColumn(index, field, column), name);
    return out;
  }
  DRC_ARROW_ASSIGN_OR_RETURN(auto out, table->AddColumn(table->num_columns(), field, column), name);
  return out;
}

// Rows `indices` (int64, null: a null row) of every column.
Result<TablePtr> TakeRows(const TablePtr& table, const std::shared_ptr<arrow::Array>& indices,
                          std::string_view op) {
  DRC_ARROW_ASSIGN_OR_RETURN(auto taken, cp::Take(table, indices), std::string(op));
  return taken.table();
}

Result<std::shared_ptr<arrow::Array>> MakeIndices(const std::vector<int64_t>& rows,
                                                  const std::vector<bool>* valid = nullptr) {
  arrow::Int64Builder b;
  if (valid != nullptr) {
    DRC_ARROW_RETURN_NOT_OK(b.AppendValues(rows, *valid), "time series");
  } else {
    DRC_ARROW_RETURN_NOT_OK(b.AppendValues(rows), "time series");
  }
  std::shared_ptr<arrow::Array> out;
  DRC_ARROW_RETURN_NOT_OK(b.Finish(&out), "time series");
  return out;
}

// The value of `column` at `row` of the sorted table, as text.
std::string CellText(const Series& s, const std::string& column, int64_t row) {
  auto scalar = s.table->GetColumnByName(column)->GetScalar(row);
  return scalar.ok() ? (*scalar)->ToString() : "?";
}
std::string IdText(const Series& s, const SeriesColumns& cols, int64_t row) {
  return CellText(s, cols.id, row);
}
std::string StampText(const Series& s, const SeriesColumns& cols, int64_t row) {
  return CellText(s, cols.time, row);
}

// The first null or repeated time stamp of any series, as an error naming the series and the
// stamp (no operation prefix: callers add their own).
Status CheckStamps(const Series& s, const arrow::Int64Array& ticks, const SeriesColumns& cols) {
  for (int64_t k = 0; k < s.count(); ++k) {
    const int64_t b = s.begin(k);
    for (int64_t i = b; i < s.end(k); ++i) {
      if (ticks.IsNull(i)) {
        return Status::InvalidArgument("series '", IdText(s, cols, b), "' has a null time stamp");
      }
      if (i > b && ticks.Value(i) == ticks.Value(i - 1)) {
        return Status::InvalidArgument("series '", IdText(s, cols, b),
                                       "' has duplicate time stamp ", StampText(s, cols, i));
      }
    }
  }
  return Status::OK();
}

// ---- Scalers ------------------------------------------------------------------------------

// torch.median semantics (NeuralForecast's masked_median uses nanmedian): the lower of the two
// middle values for an even count.
double LowerMedian(std::vector<double> v) {
  const size_t mid = (v.size() - 1) / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  return v[mid];
}

double PopulationStd(const std::vector<double>& v) {
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(v.size()));
}

// Shift and scale of one series, following NeuralForecast's TemporalNorm statistics
// (neuralforecast/common/_scalers.py) except for its +1e-6 on the scale, left out so that
// Transform/InverseTransform are exact:
//   standard: mean and population std (ddof 0, a masked mean of squared deviations);
//   robust:   median (lower middle value, as torch) and MAD = median |x - median|; a zero MAD
//             falls back to std * 0.6744897501960817 (the normal MAD/std ratio);
//   minmax:   min and max - min.
// A zero scale becomes 1; a series without valid values gets shift 0, scale 1.
std::pair<double, double> FitOne(ScalerKind kind, const std::vector<double>& v) {
  if (kind == ScalerKind::kIdentity || v.empty()) return {0.0, 1.0};
  double shift = 0;
  double scale = 1;
  switch (kind) {
    case ScalerKind::kStandard: {
      for (double x : v) shift += x;
      shift /= static_cast<double>(v.size());
      scale = PopulationStd(v);
      break;
    }
    case ScalerKind::kRobust: {
      shift = LowerMedian(v);
      std::vector<double> dev;
      dev.reserve(v.size());
      for (double x : v) dev.push_back(std::abs(x - shift));
      scale = LowerMedian(std::move(dev));
      if (scale == 0) scale = PopulationStd(v) * 0.6744897501960817;
      break;
    }
    case ScalerKind::kMinMax: {
      const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
      shift = *lo;
      scale = *hi - *lo;
      break;
    }
    case ScalerKind::kIdentity: break;
  }
  if (scale == 0 || !std::isfinite(scale)) scale = 1;
  return {shift, scale};
}

Result<TablePtr> ApplyScaler(const TablePtr& table, const SeriesColumns& cols,
                             const SeriesScaler& scaler, const std::string& column, bool inverse) {
  const std::string_view op = inverse ? "InverseTransform" : "Transform";
  DRC_RETURN_NOT_OK(Initialize());
  if (table == nullptr) return Status::InvalidArgument(op, ": table is null");
  if (scaler.params == nullptr) return Status::InvalidArgument(op, ": scaler is not fitted");
  const std::string target = column.empty() ? cols.value : column;
  DRC_RETURN_NOT_OK(CheckColumn(table, cols.id, op, "id"));
  DRC_RETURN_NOT_OK(CheckColumn(table, target, op, "value"));
  DRC_RETURN_NOT_OK(CheckColumn(scaler.params, cols.id, op, "scaler id"));
  auto ids = table->GetColumnByName(cols.id);
  auto param_ids = scaler.params->GetColumnByName(cols.id);
  if (!ids->type()->Equals(*param_ids->type())) {
    return Status::InvalidArgument(op, ": id column '", cols.id, "' is ", ids->type()->ToString(),
                                   " but the scaler was fitted on ", param_ids->type()->ToString());
  }
  DRC_ASSIGN_OR_RETURN(auto value_set, Contiguous(param_ids));
  cp::SetLookupOptions lookup(value_set, cp::SetLookupOptions::MATCH);
  DRC_ARROW_ASSIGN_OR_RETURN(auto where, cp::IndexIn(ids, lookup), std::string(op));
  DRC_ASSIGN_OR_RETURN(auto where_array, Contiguous(where.chunked_array()));
  const auto& index = static_cast<const arrow::Int32Array&>(*where_array);
  DRC_ASSIGN_OR_RETURN(auto shift, ToDoubles(scaler.params, "shift", op));
  DRC_ASSIGN_OR_RETURN(auto scale, ToDoubles(scaler.params, "scale", op));
  DRC_ASSIGN_OR_RETURN(auto values, ToDoubles(table, target, op));
  const int64_t n = table->num_rows();
  std::vector<double> out(n);
  std::vector<bool> valid(n);
  for (int64_t i = 0; i < n; ++i) {
    if (index.IsNull(i)) {
      auto id = ids->GetScalar(i);
      return Status::InvalidArgument(op, ": series '", id.ok() ? (*id)->ToString() : "?",
                                     "' was not seen by FitScaler");
    }
    const int32_t p = index.Value(i);
    valid[i] = values.valid[i];
    out[i] = inverse ? values.values[i] * scale.values[p] + shift.values[p]
                     : (values.values[i] - shift.values[p]) / scale.values[p];
  }
  DRC_ASSIGN_OR_RETURN(auto array, MakeDoubles(out, valid));
  return AddOrReplace(table, target, array);
}

// ---- Calendar ------------------------------------------------------------------------------

namespace chr = std::chrono;

// The proleptic Gregorian date of a day number (days since 1970-01-01) in InCalendarRange.
chr::year_month_day DateOf(int64_t day) {
  return chr::year_month_day{chr::sys_days{chr::days{day}}};
}

// Whether a day number lies in the years std::chrono's calendar covers (-32767 to 32767).
bool InCalendarRange(int64_t day) {
  constexpr chr::sys_days kFirst{chr::year::min() / chr::January / 1};
  constexpr chr::sys_days kLast{chr::year::max() / chr::December / 31};
  return day >= kFirst.time_since_epoch().count() && day <= kLast.time_since_epoch().count();
}

// Months since January of year 0.
int64_t MonthIndex(const chr::year_month_day& date) {
  return (chr::year_month{date.year(), date.month()} - chr::year{0} / chr::January).count();
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// How a time column's int64 value maps to days and time of day.
struct TimeAxis {
  int64_t ticks_per_day = 1;     // date32: 1; timestamp[s]: 86400; ...
  int64_t ticks_per_second = 0;  // 0: no time of day (dates, integers)
  bool calendar = true;          // false: plain integers
};

Result<TimeAxis> AxisOf(const arrow::DataType& type, std::string_view op) {
  TimeAxis axis;
  switch (type.id()) {
    case arrow::Type::DATE32: return axis;
    case arrow::Type::DATE64:
      axis.ticks_per_second = 1000;
      axis.ticks_per_day = 86400000;
      return axis;
    case arrow::Type::TIMESTAMP: {
      const auto unit = static_cast<const arrow::TimestampType&>(type).unit();
      axis.ticks_per_second = unit == arrow::TimeUnit::SECOND  ? 1
                              : unit == arrow::TimeUnit::MILLI ? 1000
                              : unit == arrow::TimeUnit::MICRO ? 1000000
                                                               : 1000000000;
      axis.ticks_per_day = 86400 * axis.ticks_per_second;
      return axis;
    }
    default:
      if (arrow::is_integer(type.id())) {
        axis.calendar = false;
        return axis;
      }
      return Status::InvalidArgument(op, ": time column has type ", type.ToString(),
                                     "; expected a date, timestamp or integer");
  }
}

// A regular frequency: a fixed step in ticks, or a number of months anchored at the start or
// the end of the month.
struct Frequency {
  int64_t step = 0;    // fixed steps (ticks)
  int64_t months = 0;  // calendar steps: 1, 3 or 12
  bool month_end = false;
};

Result<Frequency> ParseFrequency(const std::string& freq, const TimeAxis& axis) {
  Frequency f;
  if (!axis.calendar) {
    char* end = nullptr;
    const long long step = std::strtoll(freq.c_str(), &end, 10);
    if (freq.empty() || *end != '\0' || step <= 0) {
      return Status::InvalidArgument(
          "Resample: an integer time column takes an integer step, got '", freq, "'");
    }
    f.step = step;
    return f;
  }
  auto sub_day = [&](int64_t seconds) -> Result<Frequency> {
    if (axis.ticks_per_second == 0) {
      return Status::InvalidArgument("Resample: frequency '", freq,
                                     "' needs a timestamp column, not dates");
    }
    f.step = seconds * axis.ticks_per_second;
    return f;
  };
  if (freq == "D") {
    f.step = axis.ticks_per_day;
  } else if (freq == "W") {
    f.step = 7 * axis.ticks_per_day;
  } else if (freq == "h" || freq == "H") {
    return sub_day(3600);
  } else if (freq == "min" || freq == "T") {
    return sub_day(60);
  } else if (freq == "s" || freq == "S") {
    return sub_day(1);
  } else if (freq == "MS" || freq == "ME" || freq == "M") {
    f.months = 1;
  } else if (freq == "QS" || freq == "QE" || freq == "Q") {
    f.months = 3;
  } else if (freq == "YS" || freq == "YE" || freq == "Y" || freq == "AS" || freq == "A") {
    f.months = 12;
  } else {
    return Status::InvalidArgument("Resample: unknown frequency '", freq,
                                   "' (use D, W, h, min, s, MS, ME, QS, QE, YS or YE)");
  }
  f.month_end = f.months > 0 && freq.find('S') == std::string::npos;
  return f;
}

// Position of stamp t on the grid that starts at t0, or nullopt if t is off the grid.
std::optional<int64_t> GridIndex(int64_t t, int64_t t0, const Frequency& f, const TimeAxis& axis) {
  if (f.step > 0) {
    if ((t - t0) % f.step != 0) return std::nullopt;
    return (t - t0) / f.step;
  }
  const int64_t day = FloorDiv(t, axis.ticks_per_day);
  const int64_t tod = t - day * axis.ticks_per_day;
  const int64_t day0 = FloorDiv(t0, axis.ticks_per_day);
  if (tod != t0 - day0 * axis.ticks_per_day) return std::nullopt;
  const chr::year_month_day date = DateOf(day);
  const chr::day wanted =
      f.month_end ? (date.year() / date.month() / chr::last).day() : chr::day{1};
  if (date.day() != wanted) return std::nullopt;
  // Quarters and years: anchored at Jan/Apr/Jul/Oct (start) or Mar/Jun/Sep/Dec (end).
  const int64_t month_index = MonthIndex(date);
  const int64_t phase = f.month_end ? f.months - 1 : 0;
  if (((month_index - phase) % f.months + f.months) % f.months != 0) return std::nullopt;
  return (month_index - MonthIndex(DateOf(day0))) / f.months;
}

int64_t GridStamp(int64_t k, int64_t t0, const Frequency& f, const TimeAxis& axis) {
  if (f.step > 0) return t0 + k * f.step;
  const int64_t day0 = FloorDiv(t0, axis.ticks_per_day);
  const int64_t tod = t0 - day0 * axis.ticks_per_day;
  const chr::year_month_day start = DateOf(day0);
  const chr::year_month month =
      chr::year_month{start.year(), start.month()} + chr::months{k * f.months};
  const chr::year_month_day date = f.month_end ? chr::year_month_day{month / chr::last} : month / 1;
  return chr::sys_days{date}.time_since_epoch().count() * axis.ticks_per_day + tod;
}

// The time column as int64 ticks (dates: days; date64: ms; timestamps: their unit).
Result<std::shared_ptr<arrow::Int64Array>> Ticks(const TablePtr& table, const std::string& column,
                                                 std::string_view op) {
  auto chunked = table->GetColumnByName(column);
  std::shared_ptr<arrow::DataType> storage = arrow::int64();
  if (chunked->type()->id() == arrow::Type::DATE32) storage = arrow::int32();
  DRC_ASSIGN_OR_RETURN(auto array, Contiguous(chunked));
  std::shared_ptr<arrow::Array> as_int = array;
  if (!arrow::is_integer(array->type_id())) {
    // Reinterpret the temporal storage as integers (no conversion).
    auto data = array->data()->Copy();
    data->type = storage;
    as_int = arrow::MakeArray(data);
  }
  DRC_ARROW_ASSIGN_OR_RETURN(auto cast, cp::Cast(as_int, arrow::int64()), std::string(op));
  return std::static_pointer_cast<arrow::Int64Array>(cast.make_array());
}

// Ticks back to the time column's type.
Result<std::shared_ptr<arrow::Array>> FromTicks(const std::vector<int64_t>& ticks,
                                                const std::shared_ptr<arrow::DataType>& type,
                                                std::string_view op) {
  DRC_ASSIGN_OR_RETURN(auto array, MakeIndices(ticks));
  if (type->id() == arrow::Type::INT64) return array;
  if (arrow::is_integer(type->id())) {
    DRC_ARROW_ASSIGN_OR_RETURN(auto cast, cp::Cast(array, type), std::string(op));
    return cast.make_array();
  }
  std::shared_ptr<arrow::Array> storage = array;
  if (type->id() == arrow::Type::DATE32) {
    DRC_ARROW_ASSIGN_OR_RETURN(auto cast, cp::Cast(array, arrow::int32()), std::string(op));
    storage = cast.make_array();
  }
  auto data = storage->data()->Copy();
  data->type = type;
  return arrow::MakeArray(data);
}

// One series' rolling mean, sum, min or max, updated as rows enter and leave the window: sums
// with Kahan compensation, min and max by a deque of the rows that can still be the extreme.
// O(1) per row (amortised for min and max), where recomputing each window is O(window).
// Infinities are counted, not summed, so that one leaving the window leaves no NaN behind. The
// std is recomputed per window (in AddRolling): Welford's removals, pandas' way, carry the
// rounding of a large value that has left the window into the small ones after it (a std of 0.7
// off by 1e-6 after a value of 1e6, in AddRolling's test).
class RollingWindow {
 public:
  explicit RollingWindow(RollingStat stat) : stat_(stat) {}

  int64_t count() const { return count_; }

  void Add(int64_t row, double v) {
    ++count_;
    switch (stat_) {
      case RollingStat::kMean:
      case RollingStat::kSum: Sum(v, +1); break;
      case RollingStat::kStd: break;  // recomputed in AddRolling
      case RollingStat::kMin:
      case RollingStat::kMax:
        while (!extremes_.empty() && !Beats(extremes_.back().second, v)) extremes_.pop_back();
        extremes_.emplace_back(row, v);
        break;
    }
  }

  void Remove(int64_t row, double v) {
    --count_;
    if (count_ == 0) {  // start again: no drift carried into the next values
      sum_ = compensation_ = 0;
      infinities_ = {0, 0};
      extremes_.clear();
      return;
    }
    switch (stat_) {
      case RollingStat::kMean:
      case RollingStat::kSum: Sum(v, -1); break;
      case RollingStat::kStd: break;
      case RollingStat::kMin:
      case RollingStat::kMax:
        if (!extremes_.empty() && extremes_.front().first == row) extremes_.pop_front();
        break;
    }
  }

  // The statistic of the values in the window (count() > 0; not the std).
  double Value() const {
    const double sum = infinities_[0] > 0 && infinities_[1] > 0 ? std::nan("")
                       : infinities_[0] > 0 ? std::numeric_limits<double>::infinity()
                       : infinities_[1] > 0 ? -std::numeric_limits<double>::infinity()
                                            : sum_;
    switch (stat_) {
      case RollingStat::kMean: return sum / static_cast<double>(count_);
      case RollingStat::kSum: return sum;
      case RollingStat::kStd: break;
      case RollingStat::kMin:
      case RollingStat::kMax: return extremes_.front().second;
    }
    return std::nan("");
  }

 private:
  // Whether `a`, an earlier value, stays a candidate once `b` has come.
  bool Beats(double a, double b) const { return stat_ == RollingStat::kMin ? a < b : a > b; }

  // `v` added to (sign +1) or taken from (-1) the sum.
  void Sum(double v, int sign) {
    if (std::isinf(v)) {
      infinities_[v > 0 ? 0 : 1] += sign;
    } else {
      KahanAdd(sign * v);
    }
  }

  void KahanAdd(double v) {
    const double y = v - compensation_;
    const double t = sum_ + y;
    compensation_ = (t - sum_) - y;
    sum_ = t;
  }

  RollingStat stat_;
  int64_t count_ = 0;
  double sum_ = 0, compensation_ = 0;                // mean, sum: of the finite values
  std::array<int64_t, 2> infinities_ = {0, 0};       // mean, sum: +inf and -inf in the window
  std::deque<std::pair<int64_t, double>> extremes_;  // min, max: (row, value), oldest first
};

}  // namespace

// ---- Public functions ------------------------------------------------------------------------

Result<TablePtr> AddLags(const TablePtr& table, const SeriesColumns& cols,
                         const std::vector<int>& lags) {
  DRC_ASSIGN_OR_RETURN(auto s, SortedSeries(table, cols, "AddLags", true));
  TablePtr out = s.table;
  const int64_t n = out->num_rows();
  auto values = out->GetColumnByName(cols.value);
  for (int lag : lags) {
    if (lag <= 0) return Status::InvalidArgument("AddLags: lags must be > 0, got ", lag);
    std::vector<int64_t> rows(n, 0);
    std::vector<bool> valid(n, false);
    for (int64_t k = 0; k < s.count(); ++k) {
      for (int64_t i = s.begin(k) + lag; i < s.end(k); ++i) {
        rows[i] = i - lag;
        valid[i] = true;
      }
    }
    DRC_ASSIGN_OR_RETURN(auto indices, MakeIndices(rows, &valid));
    DRC_ARROW_ASSIGN_OR_RETURN(auto lagged, cp::Take(values, indices), "AddLags");
    DRC_ASSIGN_OR_RETURN(auto array, Contiguous(lagged.chunked_array()));
    DRC_ASSIGN_OR_RETURN(out, AddOrReplace(out, cols.value + "_lag" + std::to_string(lag), array));
  }
  return out;
}

Result<TablePtr> AddRolling(const TablePtr& table, const SeriesColumns& cols, int window,
                            RollingStat stat, int min_periods) {
  if (window <= 0) return Status::InvalidArgument("AddRolling: window must be > 0, got ", window);
  if (min_periods < 0 || min_periods > window) {
    return Status::InvalidArgument("AddRolling: min_periods must be in [0, window], got ",
                                   min_periods);
  }
  const int need = min_periods == 0 ? window : min_periods;
  DRC_ASSIGN_OR_RETURN(auto s, SortedSeries(table, cols, "AddRolling", true));
  DRC_ASSIGN_OR_RETURN(auto x, ToDoubles(s.table, cols.value, "AddRolling"));
  const int64_t n = s.table->num_rows();
  std::vector<double> out(n, 0.0);
  std::vector<bool> valid(n, false);
  for (int64_t k = 0; k < s.count(); ++k) {
    RollingWindow w(stat);
    for (int64_t i = s.begin(k); i < s.end(k); ++i) {
      if (x.valid[i]) w.Add(i, x.values[i]);
      const int64_t leaving = i - window;  // the row that left the window
      if (leaving >= s.begin(k) && x.valid[leaving]) w.Remove(leaving, x.values[leaving]);
      if (w.count() < need) continue;
      if (stat == RollingStat::kStd) {
        // Sample std (ddof 1) as pandas' rolling std, two passes over the window; undefined for
        // one value.
        if (w.count() < 2) continue;
        const int64_t from = std::max(s.begin(k), i - window + 1);
        double sum = 0;
        for (int64_t j = from; j <= i; ++j) sum += x.valid[j] ? x.values[j] : 0.0;
        const double mean = sum / static_cast<double>(w.count());
        double ss = 0;
        for (int64_t j = from; j <= i; ++j) {
          if (x.valid[j]) ss += (x.values[j] - mean) * (x.values[j] - mean);
        }
        out[i] = std::sqrt(ss / static_cast<double>(w.count() - 1));
      } else {
        out[i] = w.Value();
      }
      valid[i] = true;
    }
  }
  static const char* kNames[] = {"mean", "std", "min", "max", "sum"};
  DRC_ASSIGN_OR_RETURN(auto array, MakeDoubles(out, valid));
  return AddOrReplace(
      s.table, cols.value + "_roll" + kNames[static_cast<int>(stat)] + std::to_string(window),
      array);
}

Result<SeriesScaler> FitScaler(const TablePtr& table, const SeriesColumns& cols, ScalerKind kind) {
  DRC_ASSIGN_OR_RETURN(auto s, SortedSeries(table, cols, "FitScaler", true));
  DRC_ASSIGN_OR_RETURN(auto x, ToDoubles(s.table, cols.value, "FitScaler"));
  std::vector<int64_t> first_rows;
  std::vector<double> shifts;
  std::vector<double> scales;
  for (int64_t k = 0; k < s.count(); ++k) {
    std::vector<double> v;
    for (int64_t i = s.begin(k); i < s.end(k); ++i) {
      if (x.valid[i]) v.push_back(x.values[i]);
    }
    const auto [shift, scale] = FitOne(kind, v);
    first_rows.push_back(s.begin(k));
    shifts.push_back(shift);
    scales.push_back(scale);
  }
  DRC_ASSIGN_OR_RETURN(auto indices, MakeIndices(first_rows));
  DRC_ARROW_ASSIGN_OR_RETURN(auto ids, cp::Take(s.table->GetColumnByName(cols.id), indices),
                             "FitScaler");
  const std::vector<bool> all(shifts.size(), true);
  DRC_ASSIGN_OR_RETURN(auto shift_array, MakeDoubles(shifts, all));
  DRC_ASSIGN_OR_RETURN(auto scale_array, MakeDoubles(scales, all));
  auto id_field = s.table->schema()->GetFieldByName(cols.id);
  SeriesScaler scaler;
  scaler.kind = kind;
  scaler.params =
      arrow::Table::Make(arrow::schema({id_field, arrow::field("shift", arrow::float64()),
                                        arrow::field("scale", arrow::float64())}),
                         {ids.chunked_array(), std::make_shared<arrow::ChunkedArray>(shift_array),
                          std::make_shared<arrow::ChunkedArray>(scale_array)});
  return scaler;
}

Result<TablePtr> Transform(const TablePtr& table, const SeriesColumns& cols,
                           const SeriesScaler& scaler, const std::string& column) {
  return ApplyScaler(table, cols, scaler, column, /*inverse=*/false);
}

Result<TablePtr> InverseTransform(const TablePtr& table, const SeriesColumns& cols,
                                  const SeriesScaler& scaler, const std::string& column) {
  return ApplyScaler(table, cols, scaler, column, /*inverse=*/true);
}

Result<Split> SplitLastH(const TablePtr& table, const SeriesColumns& cols, int horizon) {
  if (horizon < 0)
    return Status::InvalidArgument("SplitLastH: horizon must be >= 0, got ", horizon);
  DRC_ASSIGN_OR_RETURN(auto s, SortedSeries(table, cols, "SplitLastH", false));
  std::vector<int64_t> train;
  std::vector<int64_t> test;
  for (int64_t k = 0; k < s.count(); ++k) {
    // A series of at most `horizon` rows goes to test whole.
    const int64_t cut = std::max(s.begin(k), s.end(k) - horizon);
    for (int64_t i = s.begin(k); i < cut; ++i) train.push_back(i);
    for (int64_t i = cut; i < s.end(k); ++i) test.push_back(i);
  }
  Split split;
  DRC_ASSIGN_OR_RETURN(auto train_idx, MakeIndices(train));
  DRC_ASSIGN_OR_RETURN(auto test_idx, MakeIndices(test));
  DRC_ASSIGN_OR_RETURN(split.train, TakeRows(s.table, train_idx, "SplitLastH"));
  DRC_ASSIGN_OR_RETURN(split.test, TakeRows(s.table, test_idx, "SplitLastH"));
  return split;
}

Result<TablePtr> DropShortSeries(const TablePtr& table, const SeriesColumns& cols, int64_t min_rows,
                                 int64_t* dropped) {
  DRC_ASSIGN_OR_RETURN(auto s, SortedSeries(table, cols, "DropShortSeries", false));
  std::vector<int64_t> rows;
  int64_t short_series = 0;
  for (int64_t k = 0; k < s.count(); ++k) {
    if (s.end(k) - s.begin(k) < min_rows) {
      ++short_series;
      continue;
    }
    for (int64_t i = s.begin(k); i < s.end(k); ++i) rows.push_back(i);
  }
  if (dropped != nullptr) *dropped = short_series;
  if (short_series == 0) return s.table;
  DRC_ASSIGN_OR_RETURN(auto indices, MakeIndices(rows));
  return TakeRows(s.table, indices, "DropShortSeries");
}

Result<Split> SplitByTime(const TablePtr& table, const SeriesColumns& cols,
                          const std::string& cutoff) {
  DRC_ASSIGN_OR_RETURN(auto s, SortedSeries(table, cols, "SplitByTime", false));
  auto time = s.table->GetColumnByName(cols.time);
  DRC_ASSIGN_OR_RETURN(auto axis, AxisOf(*time->type(), "SplitByTime"));
  (void)axis;
  auto text = std::make_shared<arrow::StringScalar>(cutoff);
  auto cut = cp::Cast(arrow::Datum(text), time->type());
  if (!cut.ok()) {
    return Status::InvalidArgument("SplitByTime: cannot read cutoff '", cutoff, "' as ",
                                   time->type()->ToString());
  }
  DRC_ARROW_ASSIGN_OR_RETURN(auto before, cp::CallFunction("less", {time, *cut}), "SplitByTime");
  DRC_ARROW_ASSIGN_OR_RETURN(auto after, cp::CallFunction("greater_equal", {time, *cut}),
                             "SplitByTime");
  Split split;
  DRC_ARROW_ASSIGN_OR_RETURN(auto train, cp::Filter(s.table, before), "SplitByTime");
  DRC_ARROW_ASSIGN_OR_RETURN(auto test, cp::Filter(s.table, after), "SplitByTime");
  split.train = train.table();
  split.test = test.table();
  return split;
}

Status CheckTimeStamps(const TablePtr& table, const SeriesColumns& cols) {
  constexpr std::string_view kOp = "CheckTimeStamps";
  DRC_ASSIGN_OR_RETURN(auto s, SortedSeries(table, cols, kOp, false));
  DRC_ASSIGN_OR_RETURN(auto ticks, Ticks(s.table, cols.time, kOp));
  return CheckStamps(s, *ticks, cols);
}

namespace {

// The column types that make a CSV read as a table of series (ReadSeries), given the table
// Arrow inferred: a value column that did not parse as numbers asked for as float64 (so that
// the reader names the first line that does not), ids as text, text time stamps as integers
// when the first one is one, else as timestamps. Empty when the inferred types will do.
CsvOptions SeriesTypes(const arrow::Table& table, const SeriesColumns& cols) {
  CsvOptions typed;
  const auto value = table.GetColumnByName(cols.value);
  if (value && !arrow::is_integer(value->type()->id()) &&
      !arrow::is_floating(value->type()->id()) && value->type()->id() != arrow::Type::NA) {
    typed.column_types[cols.value] = "float64";
  }
  // Series ids are labels: "01022500" keeps its leading zero.
  const auto id = table.GetColumnByName(cols.id);
  if (id && !arrow::is_binary_like(id->type()->id()) && id->type()->id() != arrow::Type::NA) {
    typed.column_types[cols.id] = "string";
  }
  const auto time = table.GetColumnByName(cols.time);
  if (time && arrow::is_binary_like(time->type()->id())) {
    // Integers if the first stamp is one, else dates or timestamps (ISO 8601).
    std::string first;
    for (const auto& chunk : time->chunks()) {
      const auto& text = static_cast<const arrow::BinaryArray&>(*chunk);
      for (int64_t i = 0; i < text.length() && first.empty(); ++i) {
        if (text.IsValid(i)) first = text.GetString(i);
      }
      if (!first.empty()) break;
    }
    int64_t integer = 0;
    const auto parsed = std::from_chars(first.data(), first.data() + first.size(), integer);
    const bool is_integer =
        !first.empty() && parsed.ec == std::errc() && parsed.ptr == first.data() + first.size();
    typed.column_types[cols.time] = is_integer ? "int64" : "timestamp[s]";
  }
  return typed;
}

}  // namespace

Result<TablePtr> ReadSeries(const std::string& path, const SeriesColumns& cols) {
  DRC_ASSIGN_OR_RETURN(const TableFormat format, TableFormatOf(path));
  DRC_ASSIGN_OR_RETURN(auto table, ReadTable(path));
  if (format != TableFormat::kCsv) return table;
  const CsvOptions typed = SeriesTypes(*table, cols);
  if (typed.column_types.empty()) return table;
  return ReadCsv(path, typed);
}

Result<TablePtr> ReadSeriesSplit(const Context& ctx, const std::string& path,
                                 const SeriesColumns& cols) {
  DRC_ASSIGN_OR_RETURN(const TableFormat format, TableFormatOf(path));
  DRC_ASSIGN_OR_RETURN(auto table, ReadTableSplit(ctx, path));
  if (format != TableFormat::kCsv) return table;
  // The ranks agree on the inferred schema, so all ask for types and read again, or none does;
  // text time stamps take the type that rank 0's first one reads as.
  CsvOptions typed = SeriesTypes(*table, cols);
  if (auto it = typed.column_types.find(cols.time);
      it != typed.column_types.end() && ctx.world_size() > 1) {
    char integers = it->second == "int64";
    DRC_RETURN_NOT_OK(ctx.comm()->Broadcast(&integers, 1, 0));
    it->second = integers ? "int64" : "timestamp[s]";
  }
  if (typed.column_types.empty()) return table;
  return ReadCsvSplit(ctx, path, typed);
}

Result<TablePtr> ReadSeriesParts(const std::string& pattern, const SeriesColumns& cols) {
  std::vector<TablePtr> parts;
  for (int r = 0; std::filesystem::exists(RankPath(pattern, r)); ++r) {
    DRC_ASSIGN_OR_RETURN(auto part, ReadSeries(RankPath(pattern, r), cols));
    parts.push_back(std::move(part));
  }
  if (parts.empty()) {
    return Status::IOError("cannot read ", RankPath(pattern, 0), ": No such file (part 0 of ",
                           pattern, ")");
  }
  DRC_ARROW_ASSIGN_OR_RETURN(auto all, arrow::ConcatenateTables(parts), pattern);
  return all;
}

// A table's series, sorted and with present, distinct stamps, on the grid of a frequency: what
// Resample and FutureStamps start from.
struct Grid {
  Series s;
  std::shared_ptr<arrow::DataType> time_type;
  TimeAxis axis;
  Frequency f;
  std::string freq;
  std::shared_ptr<arrow::Int64Array> ticks;

  // Row i's position on the grid that starts at the stamp of row b, its series' first; off the
  // grid, an error naming the series and the stamp.
  Result<int64_t> Index(const SeriesColumns& cols, int64_t b, int64_t i,
                        std::string_view op) const {
    const int64_t t = ticks->Value(i);
    if (f.months > 0 && !InCalendarRange(FloorDiv(t, axis.ticks_per_day))) {
      return Status::InvalidArgument(op, ": series '", IdText(s, cols, b), "' has stamp ",
                                     StampText(s, cols, i), ", outside the years -32767 to 32767 ",
                                     "that monthly, quarterly and yearly grids cover");
    }
    const auto index = GridIndex(t, ticks->Value(b), f, axis);
    if (!index) {
      return Status::InvalidArgument(op, ": series '", IdText(s, cols, b), "' has stamp ",
                                     StampText(s, cols, i), ", which is not on the '", freq,
                                     "' grid that starts at ", StampText(s, cols, b));
    }
    return *index;
  }
  // The stamp at position g of the grid that starts at row b's stamp.
  int64_t Stamp(int64_t b, int64_t g) const { return GridStamp(g, ticks->Value(b), f, axis); }
};

Result<Grid> GridOf(const TablePtr& table, const SeriesColumns& cols, const std::string& freq,
                    std::string_view op) {
  Grid grid;
  DRC_ASSIGN_OR_RETURN(grid.s, SortedSeries(table, cols, op, false));
  grid.time_type = grid.s.table->GetColumnByName(cols.time)->type();
  DRC_ASSIGN_OR_RETURN(grid.axis, AxisOf(*grid.time_type, op));
  DRC_ASSIGN_OR_RETURN(grid.f, ParseFrequency(freq, grid.axis));
  grid.freq = freq;
  DRC_ASSIGN_OR_RETURN(grid.ticks, Ticks(grid.s.table, cols.time, op));
  DRC_RETURN_NOT_OK(CheckStamps(grid.s, *grid.ticks, cols).WithContext(op));
  return grid;
}

Result<TablePtr> FutureStamps(const TablePtr& table, const SeriesColumns& cols,
                              const std::string& freq, int horizon) {
  constexpr std::string_view kOp = "FutureStamps";
  if (horizon <= 0) {
    return Status::InvalidArgument(kOp, ": horizon must be > 0, got ", horizon);
  }
  DRC_ASSIGN_OR_RETURN(const Grid grid, GridOf(table, cols, freq, kOp));
  const Series& s = grid.s;
  std::vector<int64_t> id_rows;
  std::vector<int64_t> stamps;
  for (int64_t k = 0; k < s.count(); ++k) {
    const int64_t b = s.begin(k);
    DRC_ASSIGN_OR_RETURN(const int64_t last, grid.Index(cols, b, s.end(k) - 1, kOp));
    for (int64_t g = 1; g <= horizon; ++g) {
      id_rows.push_back(b);
      stamps.push_back(grid.Stamp(b, last + g));
    }
  }
  DRC_ASSIGN_OR_RETURN(auto id_idx, MakeIndices(id_rows));
  const auto id_column = s.table->GetColumnByName(cols.id);
  DRC_ARROW_ASSIGN_OR_RETURN(auto ids, cp::Take(id_column, id_idx), std::string(kOp));
  DRC_ASSIGN_OR_RETURN(auto times, FromTicks(stamps, grid.time_type, kOp));
  return arrow::Table::Make(arrow::schema({arrow::field(cols.id, id_column->type()),
                                           arrow::field(cols.time, grid.time_type)}),
                            {ids.chunked_array(), std::make_shared<arrow::ChunkedArray>(times)},
                            static_cast<int64_t>(stamps.size()));
}

Result<TablePtr> Resample(const TablePtr& table, const SeriesColumns& cols,
                          const std::string& freq) {
  constexpr std::string_view kOp = "Resample";
  DRC_ASSIGN_OR_RETURN(const Grid grid, GridOf(table, cols, freq, kOp));
  const Series& s = grid.s;
  std::vector<int64_t> rows;     // source row per output row (valid: not a gap)
  std::vector<bool> present;     // false: a gap
  std::vector<int64_t> id_rows;  // a row of the series, for the id column
  std::vector<int64_t> stamps;
  for (int64_t k = 0; k < s.count(); ++k) {
    const int64_t b = s.begin(k);
    int64_t last = -1;
    for (int64_t i = b; i < s.end(k); ++i) {
      DRC_ASSIGN_OR_RETURN(const int64_t index, grid.Index(cols, b, i, kOp));
      // Fill the gap before this stamp.
      for (int64_t g = last + 1; g < index; ++g) {
        rows.push_back(0);
        present.push_back(false);
        id_rows.push_back(b);
        stamps.push_back(grid.Stamp(b, g));
      }
      rows.push_back(i);
      present.push_back(true);
      id_rows.push_back(b);
      stamps.push_back(grid.ticks->Value(i));
      last = index;
    }
  }
  // Without gaps the output's rows are the sorted input's, which are then kept as they are.
  const bool gaps_found = static_cast<int64_t>(rows.size()) != s.table->num_rows();
  std::shared_ptr<arrow::Array> value_idx, id_idx;
  if (gaps_found) {
    DRC_ASSIGN_OR_RETURN(value_idx, MakeIndices(rows, &present));
    DRC_ASSIGN_OR_RETURN(id_idx, MakeIndices(id_rows));
  }
  std::vector<std::shared_ptr<arrow::Field>> fields;
  std::vector<std::shared_ptr<arrow::ChunkedArray>> columns;
  for (int c = 0; c < s.table->num_columns(); ++c) {
    const auto& field = s.table->schema()->field(c);
    if (field->name() == "is_gap") continue;
    fields.push_back(field);
    if (!gaps_found) {
      columns.push_back(s.table->column(c));
      continue;
    }
    if (field->name() == cols.time) {
      DRC_ASSIGN_OR_RETURN(auto array, FromTicks(stamps, grid.time_type, kOp));
      columns.push_back(std::make_shared<arrow::ChunkedArray>(array));
      continue;
    }
    const auto& idx = field->name() == cols.id ? id_idx : value_idx;
    DRC_ARROW_ASSIGN_OR_RETURN(auto taken, cp::Take(s.table->column(c), idx), std::string(kOp));
    columns.push_back(taken.chunked_array());
  }
  arrow::BooleanBuilder gaps;
  for (bool p : present) DRC_ARROW_RETURN_NOT_OK(gaps.Append(!p), kOp);
  std::shared_ptr<arrow::Array> gap_array;
  DRC_ARROW_RETURN_NOT_OK(gaps.Finish(&gap_array), kOp);
  fields.push_back(arrow::field("is_gap", arrow::boolean()));
  columns.push_back(std::make_shared<arrow::ChunkedArray>(gap_array));
  return arrow::Table::Make(arrow::schema(fields), columns, static_cast<int64_t>(rows.size()));
}

}  // namespace drc::data
