#include <arrow/api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "drc/comm/communicator.h"
#include "drc/data/dist.h"
#include "drc/data/ops.h"
#include "src/data/testing/dist_harness.h"
#include "src/data/testing/random_table.h"

namespace drc::data {
namespace {

using testing::ColumnKind;
using testing::ForEachWorld;
using testing::Spread;

std::vector<int64_t> AllRowCounts(const Context& ctx, int64_t rows) {
  if (ctx.world_size() == 1) return {rows};
  auto all = comm::AllGatherValue<int64_t>(*ctx.comm(), rows);
  EXPECT_TRUE(all.ok()) << all.status();
  return all.ok() ? *all : std::vector<int64_t>(ctx.world_size(), 0);
}

// Same columns and values in the same order (NaN equals NaN; chunking ignored).
bool SameOrdered(const TablePtr& a, const TablePtr& b, std::string* why) {
  if (!a->schema()->Equals(*b->schema())) {
    *why = "schemas differ: " + a->schema()->ToString() + " vs " + b->schema()->ToString();
    return false;
  }
  if (a->num_rows() != b->num_rows()) {
    *why = "rows " + std::to_string(a->num_rows()) + " vs " + std::to_string(b->num_rows());
    return false;
  }
  for (int c = 0; c < a->num_columns(); ++c) {
    if (!a->column(c)->Equals(*b->column(c), arrow::EqualOptions::Defaults().nans_equal(true))) {
      *why = "column " + a->schema()->field(c)->name() + " differs:\n" + a->column(c)->ToString() +
             "\nvs\n" + b->column(c)->ToString();
      return false;
    }
  }
  return true;
}

// Checks DistSort of each rank's partition of `whole` against Sort of `whole`: rank r holds
// the r-th contiguous range of the global order. Returns this rank's row count.
int64_t CheckDistSort(const Context& ctx, TablePtr whole, const std::vector<SortKey>& keys,
                      Spread spread) {
  if (spread == Spread::kNoRows) whole = whole->Slice(0, 0);
  auto mine = testing::Partition(whole, ctx, spread);
  auto result = DistSort(ctx, mine, keys);
  EXPECT_TRUE(result.ok()) << result.status();
  const int64_t rows = result.ok() ? (*result)->num_rows() : 0;
  const auto counts = AllRowCounts(ctx, rows);
  if (!result.ok()) return 0;
  int64_t before = 0;
  int64_t total = 0;
  for (int r = 0; r < ctx.world_size(); ++r) {
    if (r < ctx.rank()) before += counts[r];
    total += counts[r];
  }
  EXPECT_EQ(total, whole->num_rows());
  auto expected = Sort(whole, keys);
  EXPECT_TRUE(expected.ok()) << expected.status();
  if (!expected.ok()) return rows;
  std::string why;
  EXPECT_TRUE(SameOrdered(*result, (*expected)->Slice(before, rows), &why))
      << "rank " << ctx.rank() << " of " << ctx.world_size() << ": " << why;
  return rows;
}

const Spread kSpreads[] = {Spread::kEven, Spread::kSkewed, Spread::kOneRank, Spread::kNoRows};

TEST(DistSort, Int64KeysWithNullsEveryStreadAndDirection) {
  testing::RandomTableSpec spec;
  spec.rows = 997;
  spec.chunk_rows = 100;
  spec.columns = {{"key", ColumnKind::kInt64, 0.1, 50},
                  {"s", ColumnKind::kString, 0.2},
                  {"v", ColumnKind::kFloat64, 0.0}};
  auto whole = testing::RandomTable(spec, 11);
  ForEachWorld([&](const Context& ctx) {
    for (Spread spread : kSpreads) {
      for (bool ascending : {true, false}) {
        for (bool nulls_first : {true, false}) {
          SCOPED_TRACE(std::to_string(static_cast<int>(spread)) + (ascending ? " asc" : " desc") +
                       (nulls_first ? " nulls first" : " nulls last"));
          CheckDistSort(ctx, whole, {{"key", ascending, nulls_first}}, spread);
        }
      }
    }
  });
}

TEST(DistSort, MultiKeyStringsAndDates) {
  testing::RandomTableSpec spec;
  spec.rows = 600;
  spec.columns = {{"word", ColumnKind::kString, 0.1},
                  {"day", ColumnKind::kDate32, 0.05, 20},
                  {"n", ColumnKind::kInt64, 0.0, 1000},
                  {"flag", ColumnKind::kBool, 0.1},
                  {"list", ColumnKind::kListInt64, 0.1}};
  auto whole = testing::RandomTable(spec, 5);
  ForEachWorld([&](const Context& ctx) {
    for (Spread spread : {Spread::kEven, Spread::kSkewed}) {
      CheckDistSort(ctx, whole, {{"word", true, true}, {"day", false, false}}, spread);
      CheckDistSort(ctx, whole, {{"flag", false, true}, {"word", false, false}, {"n"}}, spread);
    }
  });
}

TEST(DistSort, AllEqualKeysSplitEvenly) {
  testing::RandomTableSpec spec;
  spec.rows = 4000;
  spec.columns = {{"key", ColumnKind::kInt64, 0.0, 1}, {"v", ColumnKind::kInt64, 0.0, 1 << 30}};
  auto whole = testing::RandomTable(spec, 3);
  ForEachWorld([&](const Context& ctx) {
    for (Spread spread : {Spread::kEven, Spread::kSkewed, Spread::kOneRank}) {
      const int64_t rows = CheckDistSort(ctx, whole, {{"key"}}, spread);
      // One key value spans every rank; shares stay within 10% of even.
      const double even = 4000.0 / ctx.world_size();
      EXPECT_GE(rows, even * 0.9) << "rank " << ctx.rank();
      EXPECT_LE(rows, even * 1.1) << "rank " << ctx.rank();
    }
  });
}

TEST(DistSort, HeavySkewStaysBalanced) {
  // 90% of the rows share one key; the rest are spread.
  arrow::Int64Builder keys;
  for (int i = 0; i < 5000; ++i) EXPECT_TRUE(keys.Append(i % 10 == 0 ? i : 7).ok());
  auto whole = arrow::Table::Make(arrow::schema({arrow::field("key", arrow::int64())}),
                                  {keys.Finish().ValueOrDie()});
  ForEachWorld([&](const Context& ctx) {
    const int64_t rows = CheckDistSort(ctx, whole, {{"key", false}}, Spread::kEven);
    const double even = 5000.0 / ctx.world_size();
    EXPECT_LE(rows, even * 1.15) << "rank " << ctx.rank();
  });
}

TEST(DistSort, FloatsWithNaNAndNulls) {
  arrow::DoubleBuilder values;
  arrow::Int64Builder ids;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int i = 0; i < 300; ++i) {
    if (i % 11 == 0) {
      EXPECT_TRUE(values.AppendNull().ok());
    } else if (i % 7 == 0) {
      EXPECT_TRUE(values.Append(nan).ok());
    } else {
      EXPECT_TRUE(values.Append(std::fmod(i * 37.0, 101.0) - 50.0).ok());
    }
    EXPECT_TRUE(ids.Append(i).ok());
  }
  auto whole = arrow::Table::Make(
      arrow::schema({arrow::field("x", arrow::float64()), arrow::field("id", arrow::int64())}),
      {values.Finish().ValueOrDie(), ids.Finish().ValueOrDie()});
  ForEachWorld([&](const Context& ctx) {
    for (bool ascending : {true, false}) {
      for (bool nulls_first : {true, false}) {
        CheckDistSort(ctx, whole, {{"x", ascending, nulls_first}}, Spread::kSkewed);
      }
    }
  });
}

TEST(DistSort, EmptyEverywhereAndNoKeys) {
  testing::RandomTableSpec spec;
  spec.rows = 0;
  spec.columns = {{"key", ColumnKind::kInt64}, {"s", ColumnKind::kString}};
  auto empty = testing::RandomTable(spec, 1);
  spec.rows = 50;
  auto whole = testing::RandomTable(spec, 1);
  ForEachWorld([&](const Context& ctx) {
    EXPECT_EQ(CheckDistSort(ctx, empty, {{"key"}}, Spread::kEven), 0);
    // No keys: the concatenation in rank order, rebalanced.
    CheckDistSort(ctx, whole, {}, Spread::kSkewed);
  });
}

TEST(DistSort, ErrorsOnEveryRank) {
  testing::RandomTableSpec spec;
  spec.rows = 40;
  spec.columns = {{"key", ColumnKind::kInt64}, {"list", ColumnKind::kListInt64}};
  auto whole = testing::RandomTable(spec, 2);
  ForEachWorld([&](const Context& ctx) {
    auto mine = testing::Partition(whole, ctx, Spread::kEven);
    auto unknown = DistSort(ctx, mine, {{"nope"}});
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.status().message().find("nope"), std::string::npos) << unknown.status();
    auto list = DistSort(ctx, mine, {{"list"}});
    ASSERT_FALSE(list.ok());
    // A null table on one rank only.
    auto null_one = DistSort(ctx, ctx.rank() == ctx.world_size() - 1 ? nullptr : mine, {{"key"}});
    ASSERT_FALSE(null_one.ok());
    EXPECT_NE(null_one.status().message().find("null"), std::string::npos) << null_one.status();
  });
}

}  // namespace
}  // namespace drc::data
