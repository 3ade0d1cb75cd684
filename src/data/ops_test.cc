// Local operators against plain C++ references (std::vector / std::map over rows decoded from
// the Arrow tables) on seeded random tables with nulls, strings, lists, several chunks, sliced
// and empty inputs; and the errors of bad input.
#include "drc/data/ops.h"
#include "drc/data/generate.h"
#include "drc/data/io.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <variant>

#include "src/data/fast_join.h"
#include "src/data/fast_sort.h"
#include "src/data/testing/random_table.h"

namespace drc::data {
namespace {

using testing::ColumnKind;
using testing::ColumnSpec;
using testing::RandomTable;
using testing::RandomTableSpec;

// ---- Rows decoded from Arrow into plain C++ values ----------------------------------------

using IntList = std::vector<std::optional<int64_t>>;
// monostate is null; date32 decodes to int64.
using Cell = std::variant<std::monostate, int64_t, double, std::string, bool, IntList>;
using Row = std::vector<Cell>;

bool IsNull(const Cell& c) { return std::holds_alternative<std::monostate>(c); }

Cell Decode(const arrow::Array& array, int64_t i) {
  if (array.IsNull(i)) return std::monostate{};
  switch (array.type_id()) {
    case arrow::Type::INT64: return static_cast<const arrow::Int64Array&>(array).Value(i);
    case arrow::Type::INT32: return int64_t{static_cast<const arrow::Int32Array&>(array).Value(i)};
    case arrow::Type::INT8: return int64_t{static_cast<const arrow::Int8Array&>(array).Value(i)};
    case arrow::Type::UINT16:
      return int64_t{static_cast<const arrow::UInt16Array&>(array).Value(i)};
    case arrow::Type::UINT64:  // test values stay below 2^63
      return static_cast<int64_t>(static_cast<const arrow::UInt64Array&>(array).Value(i));
    case arrow::Type::TIMESTAMP: return static_cast<const arrow::TimestampArray&>(array).Value(i);
    case arrow::Type::DATE32:
      return int64_t{static_cast<const arrow::Date32Array&>(array).Value(i)};
    case arrow::Type::DOUBLE: return static_cast<const arrow::DoubleArray&>(array).Value(i);
    case arrow::Type::STRING: return static_cast<const arrow::StringArray&>(array).GetString(i);
    case arrow::Type::BOOL: return static_cast<const arrow::BooleanArray&>(array).Value(i);
    case arrow::Type::LIST: {
      const auto& list = static_cast<const arrow::ListArray&>(array);
      const auto& values = static_cast<const arrow::Int64Array&>(*list.values());
      IntList out;
      for (int64_t j = list.value_offset(i); j < list.value_offset(i + 1); ++j) {
        out.push_back(values.IsNull(j) ? std::nullopt : std::optional<int64_t>(values.Value(j)));
      }
      return out;
    }
    default: ADD_FAILURE() << "cannot decode " << array.type()->ToString(); return {};
  }
}

std::vector<Row> ToRows(const arrow::Table& table) {
  std::vector<Row> rows(static_cast<size_t>(table.num_rows()));
  for (int c = 0; c < table.num_columns(); ++c) {
    int64_t r = 0;
    for (const auto& chunk : table.column(c)->chunks()) {
      for (int64_t i = 0; i < chunk->length(); ++i)
        rows[static_cast<size_t>(r++)].push_back(Decode(*chunk, i));
    }
  }
  return rows;
}

std::string ToString(const Cell& c) {
  if (IsNull(c)) return "null";
  if (auto* v = std::get_if<int64_t>(&c)) return std::to_string(*v);
  if (auto* v = std::get_if<double>(&c)) return std::to_string(*v);
  if (auto* v = std::get_if<std::string>(&c)) return "'" + *v + "'";
  if (auto* v = std::get_if<bool>(&c)) return *v ? "true" : "false";
  std::string out = "[";
  for (const auto& e : std::get<IntList>(c)) out += (e ? std::to_string(*e) : "null") + ",";
  return out + "]";
}

std::string ToString(const Row& row) {
  std::string out;
  for (const auto& c : row) out += ToString(c) + " | ";
  return out;
}

void ExpectRowsInOrder(const arrow::Table& actual, const std::vector<Row>& expected) {
  std::vector<Row> rows = ToRows(actual);
  ASSERT_EQ(rows.size(), expected.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i], expected[i])
        << "row " << i << ": " << ToString(rows[i]) << " vs " << ToString(expected[i]);
  }
}

void ExpectSameRowSet(const arrow::Table& actual, std::vector<Row> expected) {
  std::vector<Row> rows = ToRows(actual);
  std::sort(rows.begin(), rows.end());
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(rows.size(), expected.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i], expected[i])
        << "sorted row " << i << ": " << ToString(rows[i]) << " vs " << ToString(expected[i]);
  }
}

std::vector<Row> Pick(const std::vector<Row>& rows, const std::vector<int>& columns) {
  std::vector<Row> out;
  for (const auto& row : rows) {
    Row r;
    for (int c : columns) r.push_back(row[static_cast<size_t>(c)]);
    out.push_back(std::move(r));
  }
  return out;
}

// ---- Inputs -------------------------------------------------------------------------------

TablePtr Mixed(int64_t rows, uint64_t seed, int64_t chunk_rows = 0) {
  RandomTableSpec spec;
  spec.rows = rows;
  spec.chunk_rows = chunk_rows;
  spec.columns = {{"k", ColumnKind::kInt64, 0.1, 10},
                  {"s", ColumnKind::kString, 0.1, 4},
                  {"x", ColumnKind::kFloat64, 0.2, 0},
                  {"i", ColumnKind::kInt64, 0.2, 50},
                  {"b", ColumnKind::kBool, 0.1},
                  {"d", ColumnKind::kDate32, 0.1, 30},
                  {"lst", ColumnKind::kListInt64, 0.1, 3, 3}};
  return RandomTable(spec, seed);
}

// The same data as one chunk, as several chunks, and as a slice of a chunked table (non-zero
// offsets), plus an empty table of the same schema.
std::vector<TablePtr> Shapes(int64_t rows, uint64_t seed) {
  TablePtr chunked = Mixed(rows + 40, seed, 97);
  return {Mixed(rows, seed), Mixed(rows, seed + 1, 64), chunked->Slice(17, rows), Mixed(0, seed)};
}

template <typename T>
T Ok(Result<T> result) {
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return std::move(result).ValueOrDie();
}

void ExpectInvalid(const Status& status, const std::vector<std::string>& mentions) {
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  for (const auto& m : mentions) {
    EXPECT_NE(status.message().find(m), std::string::npos)
        << "'" << status.message() << "' should mention '" << m << "'";
  }
}

Aggregation Agg(AggKind kind, std::string column, std::string output = "", double q = 0.5,
                int ddof = 1) {
  Aggregation agg;
  agg.kind = kind;
  agg.column = std::move(column);
  agg.output = std::move(output);
  agg.quantile = q;
  agg.ddof = ddof;
  return agg;
}

// Null sorts after every value (the order of GroupBy output).
bool LessNullsLast(const Cell& a, const Cell& b) {
  if (IsNull(a) || IsNull(b)) return !IsNull(a) && IsNull(b);
  return a < b;
}

// ---- Filter, Project, Select, Cast --------------------------------------------------------

TEST(OpsTest, FilterMatchesReference) {
  for (const auto& table : Shapes(500, 1)) {
    auto pred = cp::and_(cp::greater(cp::field_ref("x"), cp::literal(0.5)),
                         cp::less(cp::field_ref("k"), cp::literal(int64_t{5})));
    TablePtr out = Ok(Filter(table, pred));
    std::vector<Row> expected;
    for (const auto& row : ToRows(*table)) {
      if (!IsNull(row[2]) && std::get<double>(row[2]) > 0.5 && !IsNull(row[0]) &&
          std::get<int64_t>(row[0]) < 5) {
        expected.push_back(row);
      }
    }
    ExpectRowsInOrder(*out, expected);
    EXPECT_TRUE(out->schema()->Equals(*table->schema()));
  }
}

TEST(OpsTest, ProjectMatchesReference) {
  for (const auto& table : Shapes(300, 2)) {
    TablePtr out = Ok(Project(
        table,
        {cp::field_ref("s"), cp::call("add", {cp::field_ref("k"), cp::literal(int64_t{1})}),
         cp::call("multiply", {cp::field_ref("x"), cp::literal(2.0)}), cp::literal(int64_t{7})},
        {"s", "k1", "x2", "seven"}));
    ASSERT_EQ(out->schema()->ToString(), "s: string\nk1: int64\nx2: double\nseven: int64");
    std::vector<Row> expected;
    for (const auto& row : ToRows(*table)) {
      Cell k1;
      Cell x2;
      if (!IsNull(row[0])) k1 = std::get<int64_t>(row[0]) + 1;
      if (!IsNull(row[2])) x2 = std::get<double>(row[2]) * 2;
      expected.push_back({row[1], k1, x2, int64_t{7}});
    }
    ExpectRowsInOrder(*out, expected);
  }
}

TEST(OpsTest, SelectAndCast) {
  TablePtr table = Mixed(100, 3, 30)->Slice(5, 60);
  TablePtr out = Ok(Select(table, {"lst", "k"}));
  ExpectRowsInOrder(*out, Pick(ToRows(*table), {6, 0}));
  EXPECT_EQ(out->schema()->field(0)->name(), "lst");

  TablePtr cast = Ok(Cast(table, "k", arrow::float64()));
  EXPECT_TRUE(cast->schema()->field(0)->type()->Equals(arrow::float64()));
  std::vector<Row> rows = ToRows(*table);
  std::vector<Row> cast_rows = ToRows(*cast);
  for (size_t r = 0; r < rows.size(); ++r) {
    if (IsNull(rows[r][0])) {
      EXPECT_TRUE(IsNull(cast_rows[r][0]));
    } else {
      EXPECT_EQ(std::get<double>(cast_rows[r][0]),
                static_cast<double>(std::get<int64_t>(rows[r][0])));
    }
  }
  ExpectInvalid(Cast(table, "s", arrow::int64()).status(), {"'s'", "int64"});
}

// ---- Sort ---------------------------------------------------------------------------------

// The rows of `table` stably sorted by `keys`, which are its columns `cols` (no NaN in them).
std::vector<Row> StableSorted(const arrow::Table& table, const std::vector<SortKey>& keys,
                              const std::vector<int>& cols) {
  std::vector<Row> rows = ToRows(table);
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    for (size_t k = 0; k < keys.size(); ++k) {
      const Cell& x = a[static_cast<size_t>(cols[k])];
      const Cell& y = b[static_cast<size_t>(cols[k])];
      if (IsNull(x) != IsNull(y)) return keys[k].nulls_first ? IsNull(x) : IsNull(y);
      if (IsNull(x) || x == y) continue;
      return keys[k].ascending ? x < y : y < x;
    }
    return false;
  });
  return rows;
}

TEST(OpsTest, SortMultiKeyStableWithPerKeyNullPlacement) {
  std::vector<SortKey> keys = {{"s", true, true}, {"k", false, false}, {"b", true, true}};
  const std::vector<int> cols = {1, 0, 4};
  for (const auto& table : Shapes(600, 4)) {
    TablePtr out = Ok(Sort(table, keys));
    ExpectRowsInOrder(*out, StableSorted(*table, keys, cols));
    // Sorted again: the same rows (keys with nulls take the full sort).
    ExpectRowsInOrder(*Ok(Sort(out, keys)), ToRows(*out));
  }
}

// Several keys (or a string key) are sorted by their ranks (fast_sort.cc's RankSortIndices):
// the rows must come out as Arrow's own stable sort orders them, for every direction and null
// placement, on one chunk, many chunks, a slice and an empty table; a float key takes Arrow's.
TEST(OpsTest, SortByRanksMatchesArrowsSort) {
  const std::vector<std::vector<SortKey>> key_sets = {
      {{"s", true, false}},
      {{"s", false, true}},
      {{"s", true, true}, {"d", false, false}},
      {{"k", false, true}, {"s", true, false}, {"b", false, true}},
      {{"d", true, true}, {"i", true, false}},
      {{"b", true, false}, {"x", false, true}},  // a float key: Arrow's sort
  };
  ASSERT_TRUE(Initialize().ok());  // Arrow's compute functions, called directly below
  std::vector<TablePtr> tables = Shapes(3000, 70);
  tables.push_back(Mixed(200000, 71, 30000));
  for (const auto& table : tables) {
    for (const auto& keys : key_sets) {
      std::vector<cp::SortKey> order;
      for (const auto& key : keys) {
        order.emplace_back(arrow::FieldRef(key.column),
                           key.ascending ? cp::SortOrder::Ascending : cp::SortOrder::Descending,
                           key.nulls_first ? cp::NullPlacement::AtStart : cp::NullPlacement::AtEnd);
      }
      auto indices = cp::SortIndices(arrow::Datum(table), cp::SortOptions(order));
      ASSERT_TRUE(indices.ok()) << indices.status();
      auto expected = cp::Take(arrow::Datum(table), arrow::Datum(*indices));
      ASSERT_TRUE(expected.ok()) << expected.status();
      const TablePtr out = Ok(Sort(table, keys));
      ASSERT_EQ(out->num_rows(), table->num_rows());
      EXPECT_TRUE(out->Equals(*expected->table()))
          << table->num_rows() << " rows, first key " << keys[0].column;
      // The rank path itself takes every key set but the one with a float.
      std::vector<int> columns;
      std::vector<bool> ascending, nulls_first;
      for (const auto& key : keys) {
        columns.push_back(table->schema()->GetFieldIndex(key.column));
        ascending.push_back(key.ascending);
        nulls_first.push_back(key.nulls_first);
      }
      auto ranked = Ok(internal::RankSortIndices(table, columns, ascending, nulls_first,
                                                 arrow::default_memory_pool()));
      const bool has_float = keys.back().column == "x";
      ASSERT_EQ(ranked == nullptr, has_float) << "first key " << keys[0].column;
      if (!has_float) {
        const TablePtr gathered =
            Ok(internal::GatherRows(table, ranked, arrow::default_memory_pool()));
        EXPECT_TRUE(gathered->Equals(*expected->table()));
      }
    }
  }
}

// A table already in order comes back as it is, without a sort or a copy; a row out of order
// anywhere sends it through the full sort.
TEST(OpsTest, SortKeepsATableAlreadyInOrder) {
  RandomTableSpec spec;
  spec.rows = 5000;
  spec.chunk_rows = 700;
  spec.columns = {{"s", ColumnKind::kString, 0, 6},
                  {"k", ColumnKind::kInt64, 0, 30},
                  {"x", ColumnKind::kFloat64, 0, 0}};
  const TablePtr table = RandomTable(spec, 61);
  const std::vector<SortKey> keys = {{"s"}, {"k", false}};
  const std::vector<int> cols = {0, 1};
  const TablePtr sorted = Ok(Sort(table, keys));
  ASSERT_NE(sorted.get(), table.get());
  ExpectRowsInOrder(*sorted, StableSorted(*table, keys, cols));
  EXPECT_EQ(Ok(Sort(sorted, keys)).get(), sorted.get());
  const TablePtr part = sorted->Slice(1234, 2000);
  EXPECT_EQ(Ok(Sort(part, keys)).get(), part.get());
  // Every row's keys equal: a stable sort keeps the rows as they are.
  RandomTableSpec same = spec;
  same.columns[0].range = 1;
  same.columns[1].range = 1;
  const TablePtr equal_keys = RandomTable(same, 62);
  EXPECT_EQ(Ok(Sort(equal_keys, keys)).get(), equal_keys.get());
  // One row out of order: the last row first, or two neighbours with the same first key swapped.
  const int64_t n = sorted->num_rows();
  const std::vector<Row> rows = ToRows(*sorted);
  int64_t i = n / 2;
  while (i + 2 < n && (rows[i][0] != rows[i + 1][0] || rows[i][1] == rows[i + 1][1])) ++i;
  ASSERT_LT(i + 2, n);
  for (const auto& moved : {Ok(Concat({sorted->Slice(n - 1), sorted->Slice(0, n - 1)})),
                            Ok(Concat({sorted->Slice(0, i), sorted->Slice(i + 1, 1),
                                       sorted->Slice(i, 1), sorted->Slice(i + 2)}))}) {
    const TablePtr out = Ok(Sort(moved, keys));
    EXPECT_NE(out.get(), moved.get());
    ExpectRowsInOrder(*out, StableSorted(*moved, keys, cols));
  }
}

// NaN is not ordered by the comparisons that find a sorted table: the full sort places it
// (after every number, before nulls).
TEST(OpsTest, SortPlacesNaNOfATableThatLooksSorted) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  arrow::DoubleBuilder x;
  ASSERT_TRUE(x.AppendValues({nan, 1.0, 2.0}).ok());
  std::shared_ptr<arrow::Array> xs;
  ASSERT_TRUE(x.Finish(&xs).ok());
  const TablePtr table =
      arrow::Table::Make(arrow::schema({arrow::field("x", arrow::float64())}), {xs});
  const TablePtr out = Ok(Sort(table, {{"x"}}));
  const auto& values = static_cast<const arrow::DoubleArray&>(*out->column(0)->chunk(0));
  ASSERT_EQ(out->num_rows(), 3);
  EXPECT_EQ(values.Value(0), 1.0);
  EXPECT_EQ(values.Value(1), 2.0);
  EXPECT_TRUE(std::isnan(values.Value(2)));
  const TablePtr pair = arrow::Table::Make(
      arrow::schema({arrow::field("x", arrow::float64()), arrow::field("y", arrow::float64())}),
      {xs, xs});
  const TablePtr both = Ok(Sort(pair, {{"x"}, {"y"}}));
  EXPECT_TRUE(
      std::isnan(static_cast<const arrow::DoubleArray&>(*both->column(0)->chunk(0)).Value(2)));
}

// A single numeric key takes the radix-sort fast path (fast_sort.cc): check it for every
// direction and null placement on int64, float64 and date32 keys, on small tables (std::sort
// below 1024 rows), larger ones (radix passes) and one large enough for both threads.
TEST(OpsTest, SortSingleNumericKeyFastPath) {
  const std::vector<std::pair<std::string, int>> keys = {{"k", 0}, {"x", 2}, {"d", 5}};
  const TablePtr large = Mixed(300000, 41, 100000);  // > 2^18 rows: both threads sort
  // Each table's rows are converted once; the reference order is a stable sort of their indices.
  std::vector<std::pair<TablePtr, std::vector<Row>>> tables;
  for (const auto& table : Shapes(3000, 40)) tables.emplace_back(table, ToRows(*table));
  tables.emplace_back(large, ToRows(*large));
  for (const auto& [name, col] : keys) {
    for (bool ascending : {true, false}) {
      for (bool nulls_first : {true, false}) {
        for (const auto& [table, rows] : tables) {
          // The large table once per key (its reference sort dominates the test, ~15x slower
          // under the sanitizers): ascending with nulls last on the even columns, descending
          // with nulls first on the odd one.
          if (table == large && (ascending != (col % 2 == 0) || nulls_first == ascending)) continue;
          TablePtr out = Ok(Sort(table, {{name, ascending, nulls_first}}));
          std::vector<size_t> order(rows.size());
          std::iota(order.begin(), order.end(), size_t{0});
          std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            const Cell& x = rows[a][static_cast<size_t>(col)];
            const Cell& y = rows[b][static_cast<size_t>(col)];
            if (IsNull(x) != IsNull(y)) return nulls_first ? IsNull(x) : IsNull(y);
            if (IsNull(x) || x == y) return false;
            return ascending ? x < y : y < x;
          });
          const std::vector<Row> got = ToRows(*out);
          ASSERT_EQ(got.size(), rows.size());
          for (size_t i = 0; i < got.size(); ++i) {
            ASSERT_EQ(got[i], rows[order[i]]) << name << " row " << i << ": " << ToString(got[i])
                                              << " vs " << ToString(rows[order[i]]);
          }
        }
      }
    }
  }
}

// One integer key with sum/mean/count/min/max takes the sort-based fast path
// (fast_groupby.cc); it must agree with the general (Acero) path, which nunique forces.
TEST(OpsTest, GroupBySingleIntegerKeyFastPathMatchesGeneralPath) {
  const std::vector<Aggregation> fast = {Agg(AggKind::kSum, "x"),   Agg(AggKind::kMean, "x"),
                                         Agg(AggKind::kCount, "x"), Agg(AggKind::kCountAll, ""),
                                         Agg(AggKind::kMin, "i"),   Agg(AggKind::kMax, "i"),
                                         Agg(AggKind::kSum, "i")};
  std::vector<Aggregation> general = fast;
  general.push_back(Agg(AggKind::kNUnique, "i"));
  std::vector<TablePtr> tables = Shapes(3000, 50);
  tables.push_back(Mixed(300000, 51, 100000));
  for (const auto& table : tables) {
    SCOPED_TRACE("rows " + std::to_string(table->num_rows()) + ", chunks " +
                 std::to_string(table->column(0)->num_chunks()));
    auto fast_out = GroupBy(table, {"k"}, fast);
    ASSERT_TRUE(fast_out.ok()) << "fast path: " << fast_out.status();
    auto general_out = GroupBy(table, {"k"}, general);
    ASSERT_TRUE(general_out.ok()) << "general path: " << general_out.status();
    TablePtr a = *fast_out;
    TablePtr b = *general_out;
    ASSERT_EQ(a->num_rows(), b->num_rows());
    std::vector<Row> ra = ToRows(*a), rb = ToRows(*b);
    for (size_t r = 0; r < ra.size(); ++r) {
      for (size_t c = 0; c < ra[r].size(); ++c) {
        if (std::holds_alternative<double>(ra[r][c]) && std::holds_alternative<double>(rb[r][c])) {
          EXPECT_NEAR(std::get<double>(ra[r][c]), std::get<double>(rb[r][c]),
                      1e-9 * (1 + std::abs(std::get<double>(rb[r][c]))))
              << "row " << r << " column " << c;
        } else {
          EXPECT_EQ(ra[r][c], rb[r][c]) << "row " << r << " column " << c;
        }
      }
    }
  }
}

// ---- Join ---------------------------------------------------------------------------------

TablePtr JoinSide(int64_t rows, uint64_t seed, bool with_list, const std::string& payload) {
  RandomTableSpec spec;
  spec.rows = rows;
  spec.chunk_rows = 50;
  spec.columns = {{"k1", ColumnKind::kInt64, 0.1, 6},
                  {"k2", ColumnKind::kString, 0.1, 3},
                  {payload, ColumnKind::kFloat64, 0.1, 0}};
  if (with_list) spec.columns.push_back({"lst", ColumnKind::kListInt64, 0.2, 5, 3});
  return RandomTable(spec, seed);
}

// Nested-loop join on the first `num_keys` columns of both sides.
std::vector<Row> ReferenceJoin(const std::vector<Row>& left, const std::vector<Row>& right,
                               size_t left_width, size_t right_width, JoinType type,
                               size_t num_keys = 2) {
  auto match = [num_keys](const Row& l, const Row& r) {
    for (size_t k = 0; k < num_keys; ++k) {
      if (IsNull(l[k]) || IsNull(r[k]) || l[k] != r[k]) return false;
    }
    return true;
  };
  std::vector<Row> out;
  std::vector<bool> right_matched(right.size(), false);
  for (const auto& l : left) {
    bool matched = false;
    for (size_t j = 0; j < right.size(); ++j) {
      if (!match(l, right[j])) continue;
      matched = true;
      right_matched[j] = true;
      if (type == JoinType::kLeftSemi || type == JoinType::kLeftAnti) continue;
      Row row = l;
      row.insert(row.end(), right[j].begin(), right[j].end());
      out.push_back(std::move(row));
    }
    if ((type == JoinType::kLeftSemi && matched) || (type == JoinType::kLeftAnti && !matched)) {
      out.push_back(l);
    }
    if (!matched && (type == JoinType::kLeft || type == JoinType::kFullOuter)) {
      Row row = l;
      row.resize(left_width + right_width);
      out.push_back(std::move(row));
    }
  }
  if (type == JoinType::kRight || type == JoinType::kFullOuter) {
    for (size_t j = 0; j < right.size(); ++j) {
      if (right_matched[j]) continue;
      Row row(left_width);
      row.insert(row.end(), right[j].begin(), right[j].end());
      out.push_back(std::move(row));
    }
  }
  return out;
}

TEST(OpsTest, JoinAllTypesMatchReference) {
  for (bool with_list : {false, true}) {
    TablePtr left_full = JoinSide(260, 5, with_list, "v");
    TablePtr right_full = JoinSide(200, 6, with_list, "w");
    for (int shape = 0; shape < 3; ++shape) {
      TablePtr left = shape == 1 ? left_full->Slice(13, 200) : left_full;
      TablePtr right = shape == 2 ? right_full->Slice(0, 0) : right_full->Slice(3);
      for (JoinType type : {JoinType::kInner, JoinType::kLeft, JoinType::kRight,
                            JoinType::kFullOuter, JoinType::kLeftSemi, JoinType::kLeftAnti}) {
        SCOPED_TRACE("list " + std::to_string(with_list) + " shape " + std::to_string(shape) +
                     " type " + std::to_string(static_cast<int>(type)));
        JoinOptions options;
        options.type = type;
        options.left_keys = {"k1", "k2"};
        options.right_keys = {"k1", "k2"};
        TablePtr out = Ok(Join(left, right, options));
        const bool left_only = type == JoinType::kLeftSemi || type == JoinType::kLeftAnti;
        std::vector<std::string> names;
        for (const auto& f : out->schema()->fields()) names.push_back(f->name());
        std::vector<std::string> expected_names = {"k1", "k2", "v"};
        if (with_list) expected_names.push_back("lst");
        if (!left_only) {
          for (std::string n : {"k1_right", "k2_right", "w"}) expected_names.push_back(n);
          if (with_list) expected_names.push_back("lst_right");
        }
        EXPECT_EQ(names, expected_names);
        ExpectSameRowSet(*out, ReferenceJoin(ToRows(*left), ToRows(*right),
                                             static_cast<size_t>(left->num_columns()),
                                             static_cast<size_t>(right->num_columns()), type));
      }
    }
  }
}

// One integer-like key takes the sort-merge path (fast_join.cc): every join type, key types of
// every width and sign, nulls, duplicates, many chunks, empty sides, list payloads.
TEST(OpsTest, SingleIntegerKeyJoinMatchesReference) {
  const std::vector<std::shared_ptr<arrow::DataType>> key_types = {
      arrow::int64(),
      arrow::int8(),
      arrow::uint16(),
      arrow::uint64(),
      arrow::int32(),
      arrow::date32(),
      arrow::timestamp(arrow::TimeUnit::MICRO)};
  for (size_t kt = 0; kt < key_types.size(); ++kt) {
    const bool with_list = kt % 2 == 0;
    TablePtr left_full = JoinSide(260, 11 + kt, with_list, "v");
    TablePtr right_full = JoinSide(200, 12 + kt, with_list, "w");
    for (TablePtr* t : {&left_full, &right_full}) {
      if (key_types[kt]->id() == arrow::Type::DATE32) *t = Ok(Cast(*t, "k1", arrow::int32()));
      *t = Ok(Cast(*t, "k1", key_types[kt]));
    }
    for (int shape = 0; shape < 4; ++shape) {
      TablePtr left = shape == 1 ? left_full->Slice(13, 200) : left_full;
      TablePtr right = shape == 2 ? right_full->Slice(0, 0) : right_full->Slice(3);
      if (shape == 3) left = left_full->Slice(0, 0);
      for (JoinType type : {JoinType::kInner, JoinType::kLeft, JoinType::kRight,
                            JoinType::kFullOuter, JoinType::kLeftSemi, JoinType::kLeftAnti}) {
        SCOPED_TRACE("key " + key_types[kt]->ToString() + " shape " + std::to_string(shape) +
                     " type " + std::to_string(static_cast<int>(type)));
        JoinOptions options;
        options.type = type;
        options.left_keys = {"k1"};
        options.right_keys = {"k1"};
        TablePtr out = Ok(Join(left, right, options));
        ExpectSameRowSet(*out, ReferenceJoin(ToRows(*left), ToRows(*right),
                                             static_cast<size_t>(left->num_columns()),
                                             static_cast<size_t>(right->num_columns()), type,
                                             /*num_keys=*/1));
      }
    }
  }
}

// Large enough for the merge to be split over threads: the sort-merge path itself against
// Acero's hash join (the same key plus a constant second key keeps Join on Acero).
TEST(OpsTest, SortMergeJoinSplitOverThreadsMatchesAcero) {
  auto side = [](int64_t rows, uint64_t seed, const std::string& payload) {
    RandomTableSpec spec;
    spec.rows = rows;
    spec.chunk_rows = 100000;
    spec.columns = {{"k", ColumnKind::kInt64, 0.01, 300000},
                    {payload, ColumnKind::kInt64, 0.0, 1000},
                    {"zero", ColumnKind::kInt64, 0.0, 1}};
    return RandomTable(spec, seed);
  };
  TablePtr left = side(300000, 21, "v");
  TablePtr right = side(250000, 22, "w");
  for (JoinType type : {JoinType::kInner, JoinType::kFullOuter, JoinType::kLeftSemi}) {
    SCOPED_TRACE(static_cast<int>(type));
    TablePtr merged =
        Ok(internal::SortMergeJoin(left, right, 0, 0, type, arrow::default_memory_pool()));
    ASSERT_NE(merged, nullptr);
    JoinOptions options;
    options.type = type;
    options.left_keys = options.right_keys = {"k", "zero"};
    TablePtr hashed = Ok(Join(left, right, options));
    merged = *merged->RenameColumns(hashed->ColumnNames());
    std::string diff;
    EXPECT_EQ(merged->num_rows(), hashed->num_rows());
    EXPECT_TRUE(testing::SameRows(merged, hashed, &diff)) << diff;
  }
}

// Keys whose range plus row count do not fit 64 bits fall back to Acero; all-null keys never
// match.
TEST(OpsTest, SingleKeyJoinWideRangeAndAllNulls) {
  auto side = [](std::vector<std::optional<int64_t>> keys, const std::string& payload) {
    arrow::Int64Builder k, v;
    for (size_t i = 0; i < keys.size(); ++i) {
      EXPECT_TRUE((keys[i] ? k.Append(*keys[i]) : k.AppendNull()).ok());
      EXPECT_TRUE(v.Append(static_cast<int64_t>(i)).ok());
    }
    return arrow::Table::Make(
        arrow::schema({arrow::field("k", arrow::int64()), arrow::field(payload, arrow::int64())}),
        {*k.Finish(), *v.Finish()});
  };
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  TablePtr left = side({kMin, kMax, 0, kMax, std::nullopt}, "v");
  TablePtr right = side({kMax, kMin, std::nullopt, 5}, "w");
  for (JoinType type : {JoinType::kInner, JoinType::kFullOuter, JoinType::kLeftAnti}) {
    JoinOptions options;
    options.type = type;
    options.left_keys = options.right_keys = {"k"};
    TablePtr out = Ok(Join(left, right, options));
    ExpectSameRowSet(*out, ReferenceJoin(ToRows(*left), ToRows(*right), 2, 2, type, 1));
    TablePtr nulls = side({std::nullopt, std::nullopt}, "v");
    out = Ok(Join(nulls, nulls, options));
    ExpectSameRowSet(*out, ReferenceJoin(ToRows(*nulls), ToRows(*nulls), 2, 2, type, 1));
  }
}

TEST(OpsTest, JoinSuffixesAndEmptyLeft) {
  TablePtr left = JoinSide(30, 7, true, "v");
  TablePtr right = JoinSide(30, 8, true, "v");
  JoinOptions options;
  options.left_keys = {"k1", "k2"};
  options.right_keys = {"k1", "k2"};
  options.left_suffix = "_l";
  options.right_suffix = "_r";
  TablePtr out = Ok(Join(left, right, options));
  EXPECT_EQ(out->schema()->field(2)->name(), "v_l");
  EXPECT_EQ(out->schema()->field(6)->name(), "v_r");
  options.type = JoinType::kFullOuter;
  out = Ok(Join(left->Slice(0, 0), right, options));
  EXPECT_EQ(out->num_rows(), right->num_rows());
  options.left_suffix = "";
  options.right_suffix = "";
  ExpectInvalid(Join(left, right, options).status(), {"'k1'", "suffixes"});
}

TEST(OpsTest, JoinBadInput) {
  TablePtr left = JoinSide(10, 9, false, "v");
  TablePtr right = JoinSide(10, 10, false, "w");
  JoinOptions options;
  options.left_keys = {"k1"};
  options.right_keys = {"k2"};
  ExpectInvalid(Join(left, right, options).status(), {"'k1'", "int64", "'k2'", "string"});
  options.right_keys = {"nope"};
  ExpectInvalid(Join(left, right, options).status(), {"'nope'", "k1, k2, w"});
  options.left_keys = {"k1", "k2"};
  ExpectInvalid(Join(left, right, options).status(), {"2 left keys", "1 right keys"});
}

// ---- GroupBy ------------------------------------------------------------------------------

struct Acc {
  std::vector<double> x;   // non-null x
  std::vector<int64_t> i;  // non-null i, in row order
  int64_t rows = 0;
};

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

void ExpectNear(const Cell& actual, std::optional<double> expected, const std::string& what) {
  if (!expected) {
    EXPECT_TRUE(IsNull(actual)) << what << ": " << ToString(actual);
    return;
  }
  ASSERT_TRUE(std::holds_alternative<double>(actual)) << what << ": " << ToString(actual);
  EXPECT_NEAR(std::get<double>(actual), *expected, 1e-9 * (1 + std::abs(*expected))) << what;
}

TEST(OpsTest, GroupByMatchesReference) {
  std::vector<Aggregation> aggs = {Agg(AggKind::kSum, "x"),
                                   Agg(AggKind::kCount, "x"),
                                   Agg(AggKind::kCountAll, ""),
                                   Agg(AggKind::kMin, "i"),
                                   Agg(AggKind::kMax, "i"),
                                   Agg(AggKind::kMean, "x"),
                                   Agg(AggKind::kVar, "x"),
                                   Agg(AggKind::kStd, "x", "sd", 0.5, 0),
                                   Agg(AggKind::kNUnique, "i"),
                                   Agg(AggKind::kFirst, "i"),
                                   Agg(AggKind::kLast, "i"),
                                   Agg(AggKind::kMedian, "x"),
                                   Agg(AggKind::kQuantile, "i", "q30", 0.3)};
  for (const auto& table : Shapes(700, 11)) {
    TablePtr out = Ok(GroupBy(table, {"k", "s"}, aggs));
    std::vector<std::string> names;
    for (const auto& f : out->schema()->fields()) names.push_back(f->name());
    EXPECT_EQ(names, (std::vector<std::string>{"k", "s", "sum_x", "count_x", "count_all", "min_i",
                                               "max_i", "mean_x", "var_x", "sd", "nunique_i",
                                               "first_i", "last_i", "median_x", "q30"}));
    auto less = [](const std::pair<Cell, Cell>& a, const std::pair<Cell, Cell>& b) {
      if (LessNullsLast(a.first, b.first)) return true;
      if (LessNullsLast(b.first, a.first)) return false;
      return LessNullsLast(a.second, b.second);
    };
    std::map<std::pair<Cell, Cell>, Acc, decltype(less)> groups(less);
    for (const auto& row : ToRows(*table)) {
      Acc& acc = groups[{row[0], row[1]}];
      ++acc.rows;
      if (!IsNull(row[2])) acc.x.push_back(std::get<double>(row[2]));
      if (!IsNull(row[3])) acc.i.push_back(std::get<int64_t>(row[3]));
    }
    std::vector<Row> rows = ToRows(*out);
    ASSERT_EQ(rows.size(), groups.size());
    size_t g = 0;
    for (const auto& [key, acc] : groups) {
      const Row& row = rows[g++];
      const std::string what = "group " + ToString(key.first) + "," + ToString(key.second);
      EXPECT_EQ(row[0], key.first) << what;
      EXPECT_EQ(row[1], key.second) << what;
      const auto n = static_cast<double>(acc.x.size());
      double sum = 0;
      for (double v : acc.x) sum += v;
      double ss = 0;
      for (double v : acc.x) ss += (v - sum / n) * (v - sum / n);
      using Opt = std::optional<double>;
      ExpectNear(row[2], acc.x.empty() ? Opt() : Opt(sum), what + " sum");
      EXPECT_EQ(row[3], Cell{static_cast<int64_t>(acc.x.size())}) << what;
      EXPECT_EQ(row[4], Cell{acc.rows}) << what;
      if (acc.i.empty()) {
        for (int c : {5, 6, 11, 12}) EXPECT_TRUE(IsNull(row[static_cast<size_t>(c)])) << what;
      } else {
        EXPECT_EQ(row[5], Cell{*std::min_element(acc.i.begin(), acc.i.end())}) << what;
        EXPECT_EQ(row[6], Cell{*std::max_element(acc.i.begin(), acc.i.end())}) << what;
        EXPECT_EQ(row[11], Cell{acc.i.front()}) << what;
        EXPECT_EQ(row[12], Cell{acc.i.back()}) << what;
      }
      ExpectNear(row[7], acc.x.empty() ? Opt() : Opt(sum / n), what + " mean");
      ExpectNear(row[8], acc.x.size() < 2 ? Opt() : Opt(ss / (n - 1)), what + " var");
      ExpectNear(row[9], acc.x.empty() ? Opt() : Opt(std::sqrt(ss / n)), what + " std");
      EXPECT_EQ(row[10],
                Cell{static_cast<int64_t>(std::set<int64_t>(acc.i.begin(), acc.i.end()).size())})
          << what;
      ExpectNear(row[13], acc.x.empty() ? Opt() : Opt(Quantile(acc.x, 0.5)), what + " median");
      std::vector<double> iv(acc.i.begin(), acc.i.end());
      ExpectNear(row[14], iv.empty() ? Opt() : Opt(Quantile(iv, 0.3)), what + " q30");
    }
  }
}

TEST(OpsTest, GroupByWithoutKeysAndBadInput) {
  TablePtr table = Mixed(200, 12, 64);
  TablePtr out = Ok(GroupBy(table, {}, {Agg(AggKind::kCountAll, ""), Agg(AggKind::kMedian, "i")}));
  ASSERT_EQ(out->num_rows(), 1);
  std::vector<double> iv;
  for (const auto& row : ToRows(*table)) {
    if (!IsNull(row[3])) iv.push_back(static_cast<double>(std::get<int64_t>(row[3])));
  }
  Row row = ToRows(*out)[0];
  EXPECT_EQ(row[0], Cell{int64_t{200}});
  ExpectNear(row[1], Quantile(iv, 0.5), "median");

  ExpectInvalid(GroupBy(table, {"nope"}, {}).status(), {"'nope'", "k, s, x"});
  ExpectInvalid(GroupBy(table, {"k"}, {Agg(AggKind::kSum, "zz")}).status(), {"'zz'"});
  ExpectInvalid(GroupBy(table, {"k"}, {Agg(AggKind::kMedian, "s")}).status(), {"'s'", "numeric"});
  ExpectInvalid(GroupBy(table, {"k"}, {Agg(AggKind::kSum, "x"), Agg(AggKind::kSum, "x")}).status(),
                {"sum_x"});
}

// ---- Unique and set operations ------------------------------------------------------------

TablePtr Small(int64_t rows, uint64_t seed, int64_t chunk_rows) {
  RandomTableSpec spec;
  spec.rows = rows;
  spec.chunk_rows = chunk_rows;
  spec.columns = {{"k", ColumnKind::kInt64, 0.2, 3},
                  {"s", ColumnKind::kString, 0.2, 2},
                  {"lst", ColumnKind::kListInt64, 0.2, 2, 1}};
  return RandomTable(spec, seed);
}

std::vector<Row> FirstOccurrences(const std::vector<Row>& rows, const std::vector<int>& cols) {
  std::set<Row> seen;
  std::vector<Row> out;
  for (const auto& row : rows) {
    if (seen.insert(Pick({row}, cols)[0]).second) out.push_back(row);
  }
  return out;
}

TEST(OpsTest, UniqueKeepsFirstOccurrenceInOrder) {
  for (const auto& table :
       {Small(300, 13, 0), Small(340, 14, 70)->Slice(21, 300), Small(0, 1, 0)}) {
    ExpectRowsInOrder(*Ok(Unique(table, {"k", "lst"})), FirstOccurrences(ToRows(*table), {0, 2}));
    ExpectRowsInOrder(*Ok(Unique(table)), FirstOccurrences(ToRows(*table), {0, 1, 2}));
    ExpectRowsInOrder(*Ok(Unique(table, {"s"})), FirstOccurrences(ToRows(*table), {1}));
  }
  ExpectInvalid(Unique(Small(5, 1, 0), {"k", "q"}).status(), {"'q'", "k, s, lst"});
}

TEST(OpsTest, SetOperationsMatchReference) {
  TablePtr a = Small(150, 15, 40)->Slice(5, 120);
  TablePtr b = Small(100, 16, 0);
  std::vector<Row> ra = ToRows(*a);
  std::vector<Row> rb = ToRows(*b);
  const std::vector<int> all = {0, 1, 2};
  std::vector<Row> both = ra;
  both.insert(both.end(), rb.begin(), rb.end());
  ExpectRowsInOrder(*Ok(Union(a, b)), FirstOccurrences(both, all));
  std::set<Row> in_b(rb.begin(), rb.end());
  std::vector<Row> inter;
  std::vector<Row> diff;
  for (const auto& row : FirstOccurrences(ra, all)) (in_b.count(row) ? inter : diff).push_back(row);
  ExpectRowsInOrder(*Ok(Intersect(a, b)), inter);
  ExpectRowsInOrder(*Ok(Difference(a, b)), diff);
  EXPECT_GT(inter.size(), 0u);
  EXPECT_GT(diff.size(), 0u);

  TablePtr empty = b->Slice(0, 0);
  EXPECT_EQ(Ok(Intersect(a, empty))->num_rows(), 0);
  ExpectRowsInOrder(*Ok(Difference(a, empty)), FirstOccurrences(ra, all));
  ExpectRowsInOrder(*Ok(Union(empty, a)), FirstOccurrences(ra, all));
  EXPECT_EQ(Ok(Difference(empty, a))->num_rows(), 0);

  TablePtr other = Ok(Select(a, {"s", "k", "lst"}));
  for (auto* op : {&Union, &Intersect, &Difference}) {
    ExpectInvalid((*op)(a, other).status(),
                  {"k: int64, s: string, lst: list", "s: string, k: int64"});
  }
}

// ---- Concat, Slice, Head, Tail ------------------------------------------------------------

TEST(OpsTest, ConcatSliceHeadTail) {
  TablePtr a = Mixed(50, 17, 20);
  TablePtr b = Mixed(70, 18)->Slice(10, 30);
  TablePtr out = Ok(Concat({a, b, a->Slice(0, 0)}));
  std::vector<Row> expected = ToRows(*a);
  for (const auto& row : ToRows(*b)) expected.push_back(row);
  ExpectRowsInOrder(*out, expected);

  ExpectInvalid(Concat({a, Ok(Select(a, {"k"}))}).status(), {"table 1", "k: int64"});
  ExpectInvalid(Concat({}).status(), {"no tables"});

  auto rows = [&](int64_t from, int64_t n) {
    return std::vector<Row>(expected.begin() + from, expected.begin() + from + n);
  };
  ExpectRowsInOrder(*Ok(Slice(out, 45, 10)), rows(45, 10));
  ExpectRowsInOrder(*Ok(Slice(out, 70, 100)), rows(70, 10));
  EXPECT_EQ(Ok(Slice(out, 500, 3))->num_rows(), 0);
  ExpectRowsInOrder(*Ok(Head(out, 7)), rows(0, 7));
  ExpectRowsInOrder(*Ok(Head(out, 1000)), rows(0, 80));
  ExpectRowsInOrder(*Ok(Tail(out, 7)), rows(73, 7));
  ExpectRowsInOrder(*Ok(Tail(out, 1000)), rows(0, 80));
  EXPECT_EQ(Ok(Tail(out, 0))->num_rows(), 0);
  ExpectInvalid(Slice(out, -1, 3).status(), {"-1"});
  ExpectInvalid(Slice(out, 1, -3).status(), {"-3"});
  ExpectInvalid(Head(out, -2).status(), {"-2"});
  ExpectInvalid(Tail(out, -2).status(), {"-2"});
}

// ---- Nulls --------------------------------------------------------------------------------

TEST(OpsTest, FillNullAndDropNull) {
  for (const auto& table : Shapes(300, 19)) {
    TablePtr filled = Ok(FillNull(table, "k", std::make_shared<arrow::Int32Scalar>(-7)));
    filled = Ok(FillNull(filled, "s", std::make_shared<arrow::StringScalar>("zz")));
    std::vector<Row> expected = ToRows(*table);
    for (auto& row : expected) {
      if (IsNull(row[0])) row[0] = int64_t{-7};
      if (IsNull(row[1])) row[1] = std::string("zz");
    }
    ExpectRowsInOrder(*filled, expected);
    EXPECT_TRUE(filled->schema()->Equals(*table->schema()));

    std::vector<Row> some;
    std::vector<Row> none;
    for (const auto& row : ToRows(*table)) {
      if (!IsNull(row[0]) && !IsNull(row[6])) some.push_back(row);
      if (std::none_of(row.begin(), row.end(), IsNull)) none.push_back(row);
    }
    ExpectRowsInOrder(*Ok(DropNull(table, {"k", "lst"})), some);
    ExpectRowsInOrder(*Ok(DropNull(table)), none);
  }
  TablePtr table = Mixed(10, 20);
  ExpectInvalid(FillNull(table, "k", std::make_shared<arrow::StringScalar>("abc")).status(),
                {"'k'", "abc"});
  ExpectInvalid(FillNull(table, "nope", std::make_shared<arrow::Int64Scalar>(1)).status(),
                {"'nope'"});
  ExpectInvalid(DropNull(table, {"nope"}).status(), {"'nope'", "k, s, x, i, b, d, lst"});
}

// ---- Unknown columns, empty and zero-column tables ----------------------------------------

TEST(OpsTest, UnknownColumnsAreNamed) {
  TablePtr table = Mixed(10, 21);
  const std::string cols = "k, s, x, i, b, d, lst";
  ExpectInvalid(Filter(table, cp::greater(cp::field_ref("zz"), cp::literal(1))).status(),
                {"Filter", "'zz'", cols});
  ExpectInvalid(Project(table, {cp::field_ref("zz")}, {"a"}).status(), {"Project", "'zz'"});
  ExpectInvalid(Select(table, {"k", "zz"}).status(), {"Select", "'zz'", cols});
  ExpectInvalid(Sort(table, {{"zz"}}).status(), {"Sort", "'zz'", cols});
  ExpectInvalid(Cast(table, "zz", arrow::int32()).status(), {"Cast", "'zz'"});
  ExpectInvalid(Filter(table, cp::field_ref("k")).status(), {"boolean"});
}

TEST(OpsTest, EmptyAndZeroColumnTables) {
  TablePtr empty = Mixed(0, 22);
  EXPECT_EQ(Ok(Filter(empty, cp::greater(cp::field_ref("k"), cp::literal(int64_t{1}))))->num_rows(),
            0);
  EXPECT_EQ(Ok(Sort(empty, {{"k"}, {"s", false, true}}))->num_rows(), 0);
  EXPECT_EQ(
      Ok(GroupBy(empty, {"k"}, {Agg(AggKind::kMedian, "x"), Agg(AggKind::kSum, "i")}))->num_rows(),
      0);
  EXPECT_EQ(Ok(Unique(empty))->num_rows(), 0);
  EXPECT_EQ(Ok(Union(empty, empty))->num_rows(), 0);
  EXPECT_EQ(Ok(DropNull(empty))->num_rows(), 0);
  EXPECT_EQ(Ok(Project(empty, {cp::field_ref("lst")}, {"l"}))->num_rows(), 0);
  JoinOptions options;
  options.left_keys = options.right_keys = {"k"};
  for (JoinType type : {JoinType::kInner, JoinType::kFullOuter, JoinType::kLeftAnti}) {
    options.type = type;
    EXPECT_EQ(Ok(Join(empty, empty, options))->num_rows(), 0);
  }

  TablePtr none = arrow::Table::Make(arrow::schema({}), arrow::ChunkedArrayVector{}, 5);
  TablePtr zero = arrow::Table::Make(arrow::schema({}), arrow::ChunkedArrayVector{}, 0);
  EXPECT_EQ(Ok(Filter(none, cp::literal(true)))->num_rows(), 5);
  EXPECT_EQ(Ok(Filter(none, cp::literal(false)))->num_rows(), 0);
  EXPECT_EQ(Ok(Unique(none))->num_rows(), 1);
  EXPECT_EQ(Ok(Union(none, zero))->num_rows(), 1);
  EXPECT_EQ(Ok(Intersect(none, zero))->num_rows(), 0);
  EXPECT_EQ(Ok(Difference(none, zero))->num_rows(), 1);
  EXPECT_EQ(Ok(Concat({none, none}))->num_rows(), 10);
  EXPECT_EQ(Ok(Tail(none, 2))->num_rows(), 2);
  EXPECT_EQ(Ok(DropNull(none))->num_rows(), 5);
  EXPECT_EQ(Ok(Project(none, {cp::literal(1.5)}, {"c"}))->num_rows(), 5);
  EXPECT_EQ(Ok(GroupBy(none, {}, {Agg(AggKind::kCountAll, "")}))->num_rows(), 1);
}

// ---- The shared generators ----------------------------------------------------------------

TEST(RandomTableTest, SeededAndShaped) {
  TablePtr a = Mixed(1000, 23, 300);
  TablePtr b = Mixed(1000, 23, 300);
  EXPECT_TRUE(a->Equals(*b));
  EXPECT_FALSE(a->Equals(*Mixed(1000, 24, 300)));
  EXPECT_EQ(a->column(0)->num_chunks(), 4);
  const double nulls = static_cast<double>(a->column(2)->null_count()) / 1000.0;
  EXPECT_GT(nulls, 0.1);
  EXPECT_LT(nulls, 0.3);

  TablePtr cylon = CylonTable(10000, 0.9, 1);
  EXPECT_EQ(cylon->schema()->ToString(), "key: int64\nvalue: int64");
  int64_t max_key = 0;
  for (const auto& row : ToRows(*cylon)) max_key = std::max(max_key, std::get<int64_t>(row[0]));
  EXPECT_LT(max_key, 9000);
  EXPECT_GT(max_key, 8900);
  EXPECT_EQ(CylonTable(0, 0.9, 1)->num_rows(), 0);
}

TEST(RandomTableTest, SameRowsIgnoresOrderAndReportsDifferences) {
  TablePtr a = Mixed(200, 25, 64);
  TablePtr sorted = Ok(Sort(a, {{"i"}, {"x", false}}));
  std::string diff;
  EXPECT_TRUE(testing::SameRows(a, sorted, &diff)) << diff;
  EXPECT_FALSE(testing::SameRows(a, a->Slice(1), &diff));
  EXPECT_NE(diff.find("only in a"), std::string::npos) << diff;
  EXPECT_FALSE(testing::SameRows(a, Ok(Select(a, {"s", "k"})), &diff));
  EXPECT_NE(diff.find("schemas differ"), std::string::npos);

  arrow::DoubleBuilder builder;
  ASSERT_TRUE(builder.Append(std::nan("")).ok());
  ASSERT_TRUE(builder.Append(1).ok());
  ASSERT_TRUE(builder.AppendNull().ok());
  std::shared_ptr<arrow::Array> values = builder.Finish().ValueOrDie();
  auto schema = arrow::schema({arrow::field("f", arrow::float64())});
  TablePtr forward = arrow::Table::Make(schema, {values});
  TablePtr backward = Ok(Sort(forward, {{"f", false, true}}));
  EXPECT_TRUE(testing::SameRows(forward, backward, &diff)) << diff;
}

}  // namespace
}  // namespace drc::data
