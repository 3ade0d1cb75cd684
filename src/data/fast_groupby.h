// Group-by on one integer-like key by sorting (internal to the data layer).
//
// A radix sort of the key (fast_sort.h) puts each group's rows next to each other, already in
// the output order (ascending, the null group last), so every aggregate is one sequential scan
// over the group runs — no hash table, and no sort of the output afterwards. High-cardinality
// keys (Cylon's shape: ~0.6 groups per row) are where this beats hashing the most.
#pragma once

#include <arrow/type_fwd.h>

#include <string>
#include <vector>

#include "drc/common/result.h"
#include "drc/data/context.h"
#include "drc/data/ops.h"

namespace drc::data::internal {

struct SortAgg {
  AggKind kind = AggKind::kSum;
  int column = -1;  // input column; ignored by kCountAll
  std::string name;
};

// Column 0: the distinct keys of column `key` of `input` (ascending, null last); then one column
// per aggregate, with Acero's result types and null rules (sum: int64, uint64 or double; mean:
// double; count, count_all: int64; min, max: the input type; a group without valid values gives
// null, except for the counts). nullptr when this path does not apply: a key that is not an
// integer, date, time, timestamp or duration, or an aggregate other than sum, mean, count,
// count_all (any column), min, max (integer columns).
Result<TablePtr> SortGroupBy(const TablePtr& input, int key, const std::vector<SortAgg>& aggs,
                             arrow::MemoryPool* pool);

}  // namespace drc::data::internal
