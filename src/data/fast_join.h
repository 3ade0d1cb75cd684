// Join on one integer-like key by radix-sorting both sides and merging them (internal to the
// data layer).
//
// Both key columns are packed into (key - common minimum, row) words and radix-sorted
// (radix.h); a merge over the sorted words then pairs the runs of equal keys, split by key range
// over the CPU pool's threads, and the output rows are gathered by our own loop (fast_sort.h).
// On Cylon's benchmark shape (int64 keys, ~1.1 rows per key on each side, 10M rows a side) it
// takes 0.38 s where Acero's hash join takes 1.49 s (docs/data-benchmarks.md): the sorts stream
// through memory where hashing misses the cache on every row.
#pragma once

#include <arrow/type_fwd.h>

#include "drc/common/result.h"
#include "drc/data/context.h"
#include "drc/data/ops.h"

namespace drc::data::internal {

// `left` joined with `right` on left column `lkey` == right column `rkey` (equal types), with
// Join's semantics (ops.h): left columns then right columns (semi and anti: left columns only),
// a null on either side never matches, unmatched rows get nulls on the other side. Rows come
// in key order, the unmatched rows with null keys last. Columns keep their input names (the
// caller renames them). nullptr when this path does not apply: a key type that is not
// RadixSortableInteger (fast_sort.h), or a key range plus row count too wide to pack into 64 bits.
Result<TablePtr> SortMergeJoin(const TablePtr& left, const TablePtr& right, int lkey, int rkey,
                               JoinType type, arrow::MemoryPool* pool);

}  // namespace drc::data::internal
