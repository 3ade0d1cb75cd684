// Seeded random tables for tests and benchmarks, and an order-insensitive table comparison.
//
// The same spec and seed give the same table on every machine (a splitmix64 stream per
// column; no std distributions). Generation is single-threaded; functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "drc/data/context.h"

namespace arrow {
class Table;
}  // namespace arrow

namespace drc::data::testing {

enum class ColumnKind { kInt64, kFloat64, kString, kBool, kDate32, kListInt64 };

struct ColumnSpec {
  std::string name;
  ColumnKind kind = ColumnKind::kInt64;
  double null_fraction = 0.0;  // probability that a value is null (lists: also each element)
  // Distinct values: kInt64 uniform in [0, range) (default 100); kFloat64 0.5 * [0, range)
  // (default 0: uniform in [0, 1)); kString a vocabulary word among the first `range`
  // (default all 8); kDate32 days from 2019-04-13 in [0, range) (default 365); kListInt64
  // element values in [0, range) (default 10). kBool ignores it.
  int64_t range = 0;
  int max_list_length = 4;  // kListInt64: lengths uniform in [0, max_list_length]
};

struct RandomTableSpec {
  int64_t rows = 0;  // 0 allowed
  std::vector<ColumnSpec> columns;
  int64_t chunk_rows = 0;  // > 0: chunks of at most this many rows; 0: one chunk
};

// A table per `spec`; column i draws from its own stream seeded by (seed, i).
TablePtr RandomTable(const RandomTableSpec& spec, uint64_t seed);

// Cylon's benchmark shape is drc::data::CylonTable (drc/data/generate.h), shared with
// `drc bench data`.

// True if `a` and `b` have the same column names and types and the same multiset of rows
// (row order ignored; NaN equals NaN). Otherwise false, and `diff` (if not null) says how
// they differ, showing a few rows that only one side has.
bool SameRows(const TablePtr& a, const TablePtr& b, std::string* diff = nullptr);

// The values of `column` in row order, as Arrow prints each ("null" for a null; "no column X"
// alone when there is none), for comparing a small table with values written by hand.
std::vector<std::string> ColumnTexts(const arrow::Table& table, const std::string& column);

}  // namespace drc::data::testing
