// Basins from tables: how data prepared by the data engine reaches the hydrology models, and
// CAMELS-US written out as such tables.
//
// The series table is long-format, in the project's series convention: `unique_id` the basin,
// `ds` the day (a date, or a timestamp at midnight), `y` the observed discharge in mm/day (null
// or NaN where missing), and a column per dynamic input. The attribute table has a row per
// basin: `unique_id` and a column per static attribute. CSV, Parquet or Arrow IPC, by extension
// (a CSV is read as data::ReadSeries reads series: "01022500" keeps its leading zero).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "drc/common/result.h"
#include "drc/dl/camels.h"

namespace arrow {
class Table;
}  // namespace arrow

namespace drc::dl {

// Reads `gauges` (empty: every basin of the table, in id order) from the series table at `path`,
// or from every part of a partitioned table when `path` holds "{rank}" (data::ReadSeriesParts).
// Each basin's days run from its first row's to its last: a day without a row gets NaN inputs
// and target, so the input windows that reach it are skipped. `dynamic_inputs` names the input
// columns, which must hold numbers; empty, it is set to every column but unique_id, ds and y, in
// the table's order. Errors name the file and the column, the basin, the day or the CSV line.
Result<std::vector<BasinSeries>> ReadBasinTable(const std::string& path,
                                                const std::vector<std::string>& gauges,
                                                std::vector<std::string>* dynamic_inputs);

// Static attributes of `gauges` from the attribute table at `path`: result[g][a] is attribute
// a of gauge g, NaN where null. `names` empty is set to every integer or floating-point column
// but unique_id, in the table's order. A gauge without a row or with two is an error.
Result<std::vector<std::vector<double>>> ReadAttributeTable(const std::string& path,
                                                            const std::vector<std::string>& gauges,
                                                            std::vector<std::string>* names);

// The CAMELS-US basins `gauges` under `dir` (empty: all) as a series table: unique_id, ds
// (date32), one float64 column per dynamic input, y (null where the streamflow file has none).
Result<std::shared_ptr<arrow::Table>> CamelsSeriesTable(
    const std::string& dir, const std::vector<std::string>& gauges,
    const std::vector<std::string>& dynamic_inputs);

// Their static attributes `names` as an attribute table (null for "NA").
Result<std::shared_ptr<arrow::Table>> CamelsAttributeTable(const std::string& dir,
                                                           const std::vector<std::string>& gauges,
                                                           const std::vector<std::string>& names);

}  // namespace drc::dl
