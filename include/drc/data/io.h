// Table I/O through Arrow: CSV, Parquet and Arrow IPC files in and out. Writes are atomic
// (temporary name, then rename).
//
// Tables are arrow::Table held by shared_ptr (immutable, shared). Errors name the file.
// This is the first slice of the data layer (issue 4 builds the engine on it).
#pragma once

#include <arrow/type_fwd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "drc/common/result.h"

namespace drc::data {

// Initializes Arrow's compute function registry (needed from Arrow 21 on). Idempotent and
// thread-safe; every entry point of this layer calls it.
Status Initialize();

Result<std::shared_ptr<arrow::Table>> ReadParquet(const std::string& path);
Status WriteParquet(const arrow::Table& table, const std::string& path);

struct CsvOptions {
  char delimiter = ',';
  bool header = true;
  // Column types by name (Arrow type names: "int64", "float64", "string", "bool",
  // "date32", "timestamp[s]", ...); other columns are inferred.
  std::map<std::string, std::string> column_types;
  // Columns parsed as dates/timestamps with these strptime formats (tried in order);
  // empty: ISO-8601 only.
  std::vector<std::string> timestamp_formats;
  std::vector<std::string> null_values = {"", "NA", "NaN", "null", "NULL"};
};
// Reads a whole CSV file. Errors name file:line:column and what was expected, e.g.
// "data.csv:17:3: column 'y' expects int64, got 'abc'" or "data.csv:9: expected 3 columns,
// got 2" (COLUMN is the 1-based field number). A missing file: "cannot read FILE: No such file".
// Dates (date32) given with timestamp_formats are parsed with those formats.
Result<std::shared_ptr<arrow::Table>> ReadCsv(const std::string& path,
                                              const CsvOptions& options = {});
Status WriteCsv(const arrow::Table& table, const std::string& path);
Result<std::shared_ptr<arrow::Table>> ReadIpc(const std::string& path);
Status WriteIpc(const arrow::Table& table, const std::string& path);

enum class TableFormat { kCsv, kParquet, kIpc };
// The format a file's extension names, in any case: .csv, .parquet/.pq, .arrow/.ipc/.feather;
// another extension is an error that lists these.
Result<TableFormat> TableFormatOf(const std::string& path);

// Reads by extension (TableFormatOf).
Result<std::shared_ptr<arrow::Table>> ReadTable(const std::string& path);
// Writes by extension (TableFormatOf).
Status WriteTable(const arrow::Table& table, const std::string& path);

// The version of the Arrow C++ library linked at run time, e.g. "26.0.1".
std::string ArrowVersion();

}  // namespace drc::data
