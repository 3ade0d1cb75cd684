// Time-series helpers for the forecasting and hydrology pipelines, on long-format tables
// (one row per series id and time stamp, like NeuralForecast's unique_id, ds, y).
//
// Series are identified by `id_column` (any type) and ordered by `time_column` (timestamp,
// date or integer); functions sort by (id, time) first unless told the table is sorted.
#pragma once

#include <string>
#include <vector>

#include "drc/common/result.h"
#include "drc/data/context.h"

namespace drc::data {

struct SeriesColumns {
  std::string id = "unique_id";
  std::string time = "ds";
  std::string value = "y";
};

// Adds "<value>_lag<k>" for each k: the value k steps earlier in the same series (null at
// the start of a series).
Result<TablePtr> AddLags(const TablePtr& table, const SeriesColumns& cols,
                         const std::vector<int>& lags);

enum class RollingStat { kMean, kStd, kMin, kMax, kSum };
// Adds "<value>_roll<stat><window>": the statistic over the last `window` values of the series
// (current row included), null until min_periods values are available.
Result<TablePtr> AddRolling(const TablePtr& table, const SeriesColumns& cols, int window,
                            RollingStat stat, int min_periods = 0 /* 0: window */);

enum class ScalerKind { kIdentity, kStandard, kRobust, kMinMax };
// Per-series scaling parameters (one row per series: id, shift, scale), as NeuralForecast's
// TemporalNorm: standard = mean / population std; robust = median / MAD (median absolute
// deviation; std * 0.6745 when the MAD is 0); min-max = min / (max - min). Nulls and NaN are
// ignored. Zero scales become 1 (NeuralForecast's extra +1e-6 is left out).
struct SeriesScaler {
  ScalerKind kind = ScalerKind::kStandard;
  TablePtr params;  // columns: <id>, shift (float64), scale (float64)
};
Result<SeriesScaler> FitScaler(const TablePtr& table, const SeriesColumns& cols, ScalerKind kind);
// value -> (value - shift) / scale, in place of the value column (float64).
Result<TablePtr> Transform(const TablePtr& table, const SeriesColumns& cols,
                           const SeriesScaler& scaler, const std::string& column = "");
// value -> value * scale + shift; `column` defaults to cols.value.
Result<TablePtr> InverseTransform(const TablePtr& table, const SeriesColumns& cols,
                                  const SeriesScaler& scaler, const std::string& column = "");

// Splits each series: the last `horizon` rows go to `test`, the rest to `train`.
struct Split {
  TablePtr train;
  TablePtr test;
};
Result<Split> SplitLastH(const TablePtr& table, const SeriesColumns& cols, int horizon);
// The series with at least `min_rows` rows, sorted by (id, time); `dropped`, when not null, gets
// the number of series left out.
Result<TablePtr> DropShortSeries(const TablePtr& table, const SeriesColumns& cols, int64_t min_rows,
                                 int64_t* dropped = nullptr);
// Splits by time stamp: rows with time < cutoff go to train (cutoff as the time column's type,
// given as ISO text "2002-01-01" for dates/timestamps or an integer).
Result<Split> SplitByTime(const TablePtr& table, const SeriesColumns& cols,
                          const std::string& cutoff);

// Every series' time stamps are present and distinct. The first null or repeated stamp is an
// error naming the series and the stamp: "series 'A' has duplicate time stamp 2020-01-31".
Status CheckTimeStamps(const TablePtr& table, const SeriesColumns& cols);

// Reads a long-format table of series (CSV, Parquet or Arrow IPC, by extension, as ReadTable).
// In a CSV, a value column that does not parse as numbers, or a time column that does not parse
// as dates or timestamps (ISO 8601; as integers when its first stamp is one), is an error that
// names the first line that does not: "data.csv:17:3: column 'y' expects float64, got 'abc'".
// A CSV's series ids read as text, whatever they look like ("01022500" keeps its zero).
// Parquet and Arrow IPC files come back as read.
Result<TablePtr> ReadSeries(const std::string& path, const SeriesColumns& cols = {});
// This rank's share of the series table at `path`, collectively: a CSV split at line boundaries
// (ReadCsvSplit) and typed as ReadSeries types it, the types agreed by the ranks (text time
// stamps as rank 0's first one reads); another format read whole and sliced into equal shares in
// rank order. A series may be split across ranks: RangePartition by the id gathers it.
Result<TablePtr> ReadSeriesSplit(const Context& ctx, const std::string& path,
                                 const SeriesColumns& cols = {});
// Every part of a partitioned table in this process: the files `pattern` names with "{rank}"
// replaced by 0, 1, ... up to the first missing one (RankPath), each read by ReadSeries, then
// concatenated. An IOError when part 0 is missing; parts of different schemas are an error.
Result<TablePtr> ReadSeriesParts(const std::string& pattern, const SeriesColumns& cols = {});

// Resamples every series to a regular frequency ("D", "h", "W", "MS", "ME"/"M", "QS", "QE",
// "YS", "YE"/"Y"; pandas aliases) between its first and last time stamp, inserting missing
// steps with a null value and an "is_gap" boolean column. Duplicate stamps are an error, and so
// is a stamp off the grid that starts at the series' first stamp (e.g. a mid-month date for
// "ME"); "W" steps 7 days from the first stamp. Integer time columns take an integer step
// ("1", "7"). Other columns of gap rows are null; the id is repeated.
Result<TablePtr> Resample(const TablePtr& table, const SeriesColumns& cols,
                          const std::string& freq);

// The `horizon` time stamps that follow each series' last one, on the `freq` grid that starts
// at its first stamp (the grid Resample lays): a table (id, time) of `horizon` rows per series,
// in the order of the series sorted by id. The last stamp must be on the grid.
Result<TablePtr> FutureStamps(const TablePtr& table, const SeriesColumns& cols,
                              const std::string& freq, int horizon);

}  // namespace drc::data
