// Local (single-rank) table operators over Arrow compute and Acero.
//
// All operators take immutable tables and return new ones (sharing buffers where Arrow can);
// errors name the column or option at fault ("Sort: unknown column 'x' (table has a, b)").
// Thread-safe: operators share no state.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drc/common/result.h"
#include "drc/data/context.h"

namespace drc::data {

namespace cp = arrow::compute;

// Rows where `predicate` is true (null counts as false).
Result<TablePtr> Filter(const TablePtr& table, const cp::Expression& predicate);
// New columns computed from expressions, e.g. {cp::field_ref("a"), cp::call("add", {...})}.
Result<TablePtr> Project(const TablePtr& table, const std::vector<cp::Expression>& exprs,
                         const std::vector<std::string>& names);
// Keeps (and reorders to) the named columns.
Result<TablePtr> Select(const TablePtr& table, const std::vector<std::string>& columns);
Result<TablePtr> Cast(const TablePtr& table, const std::string& column,
                      const std::shared_ptr<arrow::DataType>& type);

struct SortKey {
  std::string column;
  bool ascending = true;
  bool nulls_first = false;
};
// Stable multi-key sort.
Result<TablePtr> Sort(const TablePtr& table, const std::vector<SortKey>& keys);

enum class JoinType { kInner, kLeft, kRight, kFullOuter, kLeftSemi, kLeftAnti };
struct JoinOptions {
  JoinType type = JoinType::kInner;
  std::vector<std::string> left_keys;
  std::vector<std::string> right_keys;  // same length and comparable types as left_keys
  std::string left_suffix;              // added to names present on both sides (keys too)
  std::string right_suffix = "_right";  // ... on the right side: "k" and "k_right"
};
// Output: left columns then right columns (semi/anti: left columns only), in no particular row
// order. Keys of both sides are kept; key types must be equal (InvalidArgument names both
// columns otherwise); null keys never match (SQL semantics).
Result<TablePtr> Join(const TablePtr& left, const TablePtr& right, const JoinOptions& options);

enum class AggKind {
  kSum,
  kCount,
  kCountAll,
  kMin,
  kMax,
  kMean,
  kVar,
  kStd,
  kNUnique,
  kFirst,
  kLast,
  kMedian,
  kQuantile
};
struct Aggregation {
  AggKind kind = AggKind::kSum;
  std::string column;     // ignored by kCountAll
  std::string output;     // default "<kind>_<column>", e.g. "sum_value"
  double quantile = 0.5;  // kQuantile: exact, linear interpolation (as numpy/pandas)
  int ddof = 1;           // kVar, kStd
};
std::string AggKindName(AggKind kind);
// One row per distinct key combination (null keys form their own group), sorted by the keys.
Result<TablePtr> GroupBy(const TablePtr& table, const std::vector<std::string>& keys,
                         const std::vector<Aggregation>& aggs);

// Distinct rows over `columns` (empty: all columns), first occurrence kept, input order.
Result<TablePtr> Unique(const TablePtr& table, const std::vector<std::string>& columns = {});
// Set operations on whole rows (distinct results); schemas must be equal.
Result<TablePtr> Union(const TablePtr& a, const TablePtr& b);
Result<TablePtr> Intersect(const TablePtr& a, const TablePtr& b);
Result<TablePtr> Difference(const TablePtr& a, const TablePtr& b);  // rows of a not in b

// Concatenates tables with equal schemas (one combined chunk list; no copy).
Result<TablePtr> Concat(const std::vector<TablePtr>& tables);
Result<TablePtr> Slice(const TablePtr& table, int64_t offset, int64_t length);
Result<TablePtr> Head(const TablePtr& table, int64_t n);
Result<TablePtr> Tail(const TablePtr& table, int64_t n);
// Replaces nulls in `column` with `value` (cast to the column type).
Result<TablePtr> FillNull(const TablePtr& table, const std::string& column,
                          const std::shared_ptr<arrow::Scalar>& value);
// Drops rows with a null in any of `columns` (empty: any column).
Result<TablePtr> DropNull(const TablePtr& table, const std::vector<std::string>& columns = {});

}  // namespace drc::data
