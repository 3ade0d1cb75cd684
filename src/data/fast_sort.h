// Fast paths for sorting by one numeric key and for gathering rows (internal to the data layer).
//
// RadixSortIndices gives the same permutation as Arrow's stable SortIndices on one column:
// ties keep their input order, nulls go to the start or the end, NaN sits next to the nulls
// (between the values and the nulls), descending reverses the values only. It packs each
// order-preserving key (minus the minimum) with its row number into one 64-bit word and runs an
// LSD radix sort over the key bits only, split over the CPU pool's threads when large.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <vector>

#include "drc/common/result.h"
#include "drc/data/context.h"

namespace drc::data::internal {

// Whether RadixSortIndices may handle columns of `type` (integers, floats, dates, times,
// timestamps, durations).
bool RadixSortable(const arrow::DataType& type);

// RadixSortable types whose values are integers: all but float and double. The key types of the
// sort-based GroupBy and Join paths (floats stay with Acero for its NaN and -0.0 rules).
bool RadixSortableInteger(const arrow::DataType& type);

// The stable sort permutation of `column` (uint32 indices, or int64 past 2^32 rows); nullptr
// when the fast path does not apply (type, or key range and row count too wide to pack).
Result<std::shared_ptr<arrow::Array>> RadixSortIndices(const arrow::ChunkedArray& column,
                                                       bool ascending, bool nulls_first,
                                                       arrow::MemoryPool* pool);

// RadixSortIndices ascending with nulls last, plus where each run of equal keys starts in the
// sorted order (NaNs form one run, nulls another; -0.0 and 0.0 are one key).
Result<std::shared_ptr<arrow::Array>> RadixSortRuns(const arrow::ChunkedArray& column,
                                                    std::vector<int64_t>* runs,
                                                    arrow::MemoryPool* pool);

// Rows of `table` at `indices` (uint32 or int64, in range; a null index gives a null row).
// Fixed-width columns without nulls are gathered by our own loop over the CPU pool's threads
// when no index is null; the others use Arrow's Take.
Result<TablePtr> GatherRows(const TablePtr& table, const std::shared_ptr<arrow::Array>& indices,
                            arrow::MemoryPool* pool);

// The stable sort permutation of `table` by several key columns (or one that RadixSortIndices
// does not take, such as strings), the same as Arrow's SortIndices: each key's values replaced
// by their dense rank (hashed, then the distinct values sorted by Arrow), the ranks combined
// into one integer, radix-sorted. nullptr when a key is a float or a dictionary column or cannot
// be hashed, or when the
// product of the keys' distinct counts and the row count is too wide to pack into 64 bits.
Result<std::shared_ptr<arrow::Array>> RankSortIndices(const TablePtr& table,
                                                      const std::vector<int>& columns,
                                                      const std::vector<bool>& ascending,
                                                      const std::vector<bool>& nulls_first,
                                                      arrow::MemoryPool* pool);

// `table` sorted by column `column`, or nullptr when the fast path does not apply.
Result<TablePtr> RadixSortTable(const TablePtr& table, int column, bool ascending, bool nulls_first,
                                arrow::MemoryPool* pool);

}  // namespace drc::data::internal
