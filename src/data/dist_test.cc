// Distributed operators checked against the local operators on the whole table, at 1, 2 and 4
// local thread ranks (or on the mpirun world with --backend=mpi|gloo). Every rank builds the
// same whole table from a seed and keeps its share (even, skewed with empty ranks, all on one
// rank, or no rows anywhere), so the reference needs no communication.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "drc/comm/local.h"
#include "drc/data/dist.h"
#include "drc/data/ipc.h"
#include "drc/data/ops.h"
#include "src/data/testing/dist_harness.h"
#include "src/data/testing/random_table.h"

namespace drc::data {
namespace {

using testing::ColumnKind;
using testing::ColumnSpec;
using testing::ForEachWorld;
using testing::Partition;
using testing::RandomTable;
using testing::RandomTableSpec;
using testing::SameRows;
using testing::Spread;

constexpr Spread kSpreads[] = {Spread::kEven, Spread::kSkewed, Spread::kOneRank, Spread::kNoRows};

const char* SpreadName(Spread s) {
  switch (s) {
    case Spread::kEven: return "even";
    case Spread::kSkewed: return "skewed";
    case Spread::kOneRank: return "one-rank";
    case Spread::kNoRows: return "no-rows";
  }
  return "?";
}

// Keys with nulls and heavy skew ("hot" has two values), strings, floats, a list column.
TablePtr Whole(uint64_t seed, int64_t rows = 400, const std::string& key = "k") {
  RandomTableSpec spec;
  spec.rows = rows;
  spec.chunk_rows = 97;
  spec.columns = {{key, ColumnKind::kInt64, 0.1, 30},   {"s", ColumnKind::kString, 0.1, 5},
                  {"hot", ColumnKind::kInt64, 0.0, 2},  {"f", ColumnKind::kFloat64, 0.15, 40},
                  {"d", ColumnKind::kDate32, 0.05, 50}, {"l", ColumnKind::kListInt64, 0.1, 4}};
  return RandomTable(spec, seed);
}

#define ASSERT_OK_AND_ASSIGN(lhs, rexpr)                                                        \
  auto DRC_CONCAT(_r_, __LINE__) = (rexpr);                                                     \
  ASSERT_TRUE(DRC_CONCAT(_r_, __LINE__).ok()) << DRC_CONCAT(_r_, __LINE__).status().ToString(); \
  lhs = std::move(DRC_CONCAT(_r_, __LINE__)).ValueOrDie()

std::string Where(const Context& ctx, Spread spread) {
  return "rank " + std::to_string(ctx.rank()) + " of " + std::to_string(ctx.world_size()) + ", " +
         SpreadName(spread);
}

// Expects equal rows; double columns (aggregates computed in another order) within 1e-9.
void ExpectSameRowsNear(const TablePtr& got, const TablePtr& want,
                        const std::vector<std::string>& keys) {
  std::string diff;
  if (SameRows(got, want, &diff)) return;
  ASSERT_TRUE(got->schema()->Equals(*want->schema(), false)) << diff;
  std::vector<SortKey> order;
  for (const auto& k : keys) order.push_back(SortKey{k});
  auto a = *Sort(got, order);
  auto b = *Sort(want, order);
  ASSERT_EQ(a->num_rows(), b->num_rows()) << diff;
  std::vector<std::string> exact;
  for (int c = 0; c < a->num_columns(); ++c) {
    if (a->field(c)->type()->id() != arrow::Type::DOUBLE) {
      exact.push_back(a->field(c)->name());
      continue;
    }
    auto x = *arrow::Concatenate(a->column(c)->chunks());
    auto y = *arrow::Concatenate(b->column(c)->chunks());
    const auto& dx = static_cast<const arrow::DoubleArray&>(*x);
    const auto& dy = static_cast<const arrow::DoubleArray&>(*y);
    for (int64_t i = 0; i < dx.length(); ++i) {
      ASSERT_EQ(dx.IsNull(i), dy.IsNull(i)) << a->field(c)->name() << " row " << i;
      if (dx.IsNull(i) || (std::isnan(dx.Value(i)) && std::isnan(dy.Value(i)))) continue;
      EXPECT_NEAR(dx.Value(i), dy.Value(i), 1e-9 * (1 + std::fabs(dy.Value(i))))
          << a->field(c)->name() << " row " << i;
    }
  }
  auto ea = *Select(a, exact);
  auto eb = *Select(b, exact);
  EXPECT_TRUE(ea->Equals(*eb)) << diff;
}

// ---- IPC ----------------------------------------------------------------------------------

TEST(Ipc, RoundTripsSlicedNestedDictionaryAndEmptyTables) {
  auto whole = Whole(1);
  auto dict_type = arrow::dictionary(arrow::int32(), arrow::utf8());
  auto dict = *arrow::DictionaryArray::FromArrays(
      dict_type, *arrow::MakeArrayFromScalar(arrow::Int32Scalar(1), whole->num_rows()),
      *arrow::MakeArrayFromScalar(arrow::StringScalar("x"), 3));
  auto s = whole->GetColumnByName("s");
  auto f = whole->GetColumnByName("f");
  auto structs = *arrow::StructArray::Make(
      {*arrow::Concatenate(s->chunks()), *arrow::Concatenate(f->chunks())},
      std::vector<std::string>{"s", "f"});
  auto table = *whole->AddColumn(whole->num_columns(), arrow::field("dict", dict_type),
                                 std::make_shared<arrow::ChunkedArray>(dict));
  table = *table->AddColumn(table->num_columns(), arrow::field("st", structs->type()),
                            std::make_shared<arrow::ChunkedArray>(structs));
  for (auto [offset, length] : std::vector<std::pair<int64_t, int64_t>>{
           {0, table->num_rows()}, {13, 150}, {150, 0}, {table->num_rows(), 0}}) {
    auto slice = table->Slice(offset, length);
    auto bytes = SerializeTable(*slice);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ((*bytes)->size() % 8, 0);
    auto back = DeserializeTable(*bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE((*back)->schema()->Equals(*slice->schema()));
    EXPECT_TRUE((*back)->Equals(*slice)) << "slice " << offset << "+" << length;
  }
  EXPECT_FALSE(DeserializeTable(std::make_shared<arrow::Buffer>("garbage!")).ok());
}

TEST(Ipc, SendRecvAndAllToAllTables) {
  auto whole = Whole(2);
  ForEachWorld([&](const Context& ctx) {
    const int n = ctx.world_size(), me = ctx.rank();
    if (n > 1) {
      if (me == 0) {
        EXPECT_TRUE(SendTable(ctx, *whole->Slice(10, 50), n - 1, 7).ok());
      } else if (me == n - 1) {
        auto t = RecvTable(ctx, 0, 7);
        ASSERT_TRUE(t.ok()) << t.status();
        EXPECT_TRUE((*t)->Equals(*whole->Slice(10, 50)));
      }
    }
    // parts[r]: rows [8 * me + r, +r) — part 0 of every rank is empty.
    std::vector<TablePtr> parts;
    for (int r = 0; r < n; ++r) parts.push_back(whole->Slice(8 * me + r, r));
    auto got = AllToAllTables(ctx, parts);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(static_cast<int>(got->size()), n);
    for (int src = 0; src < n; ++src) {
      EXPECT_TRUE((*got)[src]->Equals(*whole->Slice(8 * src + me, me))) << "from " << src;
    }
  });
}

// ---- Shuffle --------------------------------------------------------------------------------

TEST(Shuffle, KeepsEveryRowOnceAndPutsEqualKeysOnOneRank) {
  auto whole = Whole(3);
  ForEachWorld([&](const Context& ctx) {
    for (Spread spread : kSpreads) {
      SCOPED_TRACE(Where(ctx, spread));
      for (auto keys : std::vector<std::vector<std::string>>{{"k"}, {"s", "hot"}, {"l"}}) {
        auto part = Partition(whole, ctx, spread);
        ASSERT_OK_AND_ASSIGN(TablePtr out, Shuffle(ctx, part, keys));
        ASSERT_OK_AND_ASSIGN(TablePtr all, AllGather(ctx, out));
        std::string diff;
        const TablePtr want = spread == Spread::kNoRows ? whole->Slice(0, 0) : whole;
        EXPECT_TRUE(SameRows(all, want, &diff)) << diff;
        // Each rank's distinct keys, gathered: no key on two ranks.
        ASSERT_OK_AND_ASSIGN(TablePtr mine, Unique(*Select(out, keys)));
        ASSERT_OK_AND_ASSIGN(TablePtr every, AllGather(ctx, mine));
        ASSERT_OK_AND_ASSIGN(TablePtr distinct, Unique(every));
        EXPECT_EQ(every->num_rows(), distinct->num_rows());
      }
    }
  });
}

TEST(Shuffle, UnknownKeyAndNullTableFailOnEveryRank) {
  auto whole = Whole(4);
  ForEachWorld([&](const Context& ctx) {
    auto part = Partition(whole, ctx, Spread::kEven);
    auto bad = Shuffle(ctx, part, {"nope"});
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument) << bad.status();
    EXPECT_NE(bad.status().message().find("nope"), std::string::npos) << bad.status();
    // The last rank passes no table.
    auto null = Shuffle(ctx, ctx.rank() == ctx.world_size() - 1 ? nullptr : part, {"k"});
    EXPECT_EQ(null.status().code(), StatusCode::kInvalidArgument) << null.status();
  });
}

TEST(Shuffle, SchemaMismatchIsInvalidArgumentOnEveryRank) {
  auto whole = Whole(5);
  ForEachWorld([&](const Context& ctx) {
    if (ctx.world_size() == 1) return;
    auto part = Partition(whole, ctx, Spread::kSkewed);
    if (ctx.rank() == 1) part = *Cast(part, "hot", arrow::int32());
    auto out = Shuffle(ctx, part, {"k"});
    ASSERT_EQ(out.status().code(), StatusCode::kInvalidArgument) << out.status();
    EXPECT_NE(out.status().message().find("rank 1"), std::string::npos) << out.status();
    EXPECT_NE(out.status().message().find("hot"), std::string::npos) << out.status();
    // Mismatch on the right side of a join: every rank fails too.
    auto right = Partition(Whole(6, 100, "rk"), ctx, Spread::kEven);
    if (ctx.rank() == ctx.world_size() - 1) right = *Select(right, {"rk", "s"});
    JoinOptions options;
    options.left_keys = {"k"};
    options.right_keys = {"rk"};
    auto joined = DistJoin(ctx, Partition(whole, ctx, Spread::kEven), right, options);
    EXPECT_EQ(joined.status().code(), StatusCode::kInvalidArgument) << joined.status();
    EXPECT_NE(joined.status().message().find("right"), std::string::npos) << joined.status();
  });
}

// ---- Join -----------------------------------------------------------------------------------

// DistJoin for every join type, and BroadcastJoin for those that keep the left rows, give the
// local join's rows.
TEST(DistJoin, AllJoinTypesMatchTheLocalJoin) {
  auto left = Whole(7, 300);
  auto right = Whole(8, 200, "rk");
  ForEachWorld([&](const Context& ctx) {
    for (JoinType type : {JoinType::kInner, JoinType::kLeft, JoinType::kRight, JoinType::kFullOuter,
                          JoinType::kLeftSemi, JoinType::kLeftAnti}) {
      for (Spread spread : kSpreads) {
        SCOPED_TRACE(Where(ctx, spread) + ", join type " + std::to_string(static_cast<int>(type)));
        JoinOptions options;
        options.type = type;
        options.left_keys = {"k", "s"};
        options.right_keys = {"rk", "s"};
        ASSERT_OK_AND_ASSIGN(TablePtr want,
                             Join(spread == Spread::kNoRows ? left->Slice(0, 0) : left,
                                  spread == Spread::kNoRows ? right->Slice(0, 0) : right, options));
        // The right side is spread the other way round (all on rank 0 when the left is on the
        // last rank).
        auto rspread = spread == Spread::kOneRank ? Spread::kSkewed : spread;
        const TablePtr mine = Partition(left, ctx, spread);
        const TablePtr mine_right = Partition(right, ctx, rspread);
        ASSERT_OK_AND_ASSIGN(TablePtr out, DistJoin(ctx, mine, mine_right, options));
        ASSERT_OK_AND_ASSIGN(TablePtr all, AllGather(ctx, out));
        std::string diff;
        EXPECT_TRUE(SameRows(all, want, &diff)) << diff;
        if (type == JoinType::kRight || type == JoinType::kFullOuter) continue;
        ASSERT_OK_AND_ASSIGN(TablePtr broadcast, BroadcastJoin(ctx, mine, mine_right, options));
        ASSERT_OK_AND_ASSIGN(all, AllGather(ctx, broadcast));
        EXPECT_TRUE(SameRows(all, want, &diff)) << "BroadcastJoin: " << diff;
        // The left rows stay on their rank: here, the join of this rank's rows with all of right.
        if (type == JoinType::kLeft || type == JoinType::kLeftAnti) {
          ASSERT_OK_AND_ASSIGN(TablePtr own, Join(mine, right, options));
          EXPECT_EQ(broadcast->num_rows(), own->num_rows());
        }
      }
    }
  });
}

TEST(BroadcastJoin, RefusesRightAndOuterJoinsOnEveryRank) {
  auto left = Whole(7, 300);
  auto right = Whole(8, 40, "rk");
  ForEachWorld([&](const Context& ctx) {
    for (JoinType type : {JoinType::kRight, JoinType::kFullOuter}) {
      JoinOptions options;
      options.type = type;
      options.left_keys = {"k"};
      options.right_keys = {"rk"};
      auto out = BroadcastJoin(ctx, Partition(left, ctx, Spread::kEven),
                               Partition(right, ctx, Spread::kEven), options);
      ASSERT_EQ(out.status().code(), StatusCode::kInvalidArgument) << out.status();
      EXPECT_NE(out.status().message().find("use DistJoin"), std::string::npos) << out.status();
    }
  });
}

// ---- Group-by -------------------------------------------------------------------------------

std::vector<Aggregation> Aggs(std::vector<std::pair<AggKind, std::string>> list) {
  std::vector<Aggregation> out;
  for (auto& [kind, column] : list) {
    Aggregation a;
    a.kind = kind;
    a.column = column;
    if (kind == AggKind::kQuantile) a.quantile = 0.25;
    if (kind == AggKind::kVar) a.ddof = 0;
    out.push_back(a);
  }
  return out;
}

void CheckGroupBy(const TablePtr& whole, const std::vector<std::string>& keys,
                  const std::vector<Aggregation>& aggs) {
  ForEachWorld([&](const Context& ctx) {
    for (Spread spread : kSpreads) {
      SCOPED_TRACE(Where(ctx, spread));
      ASSERT_OK_AND_ASSIGN(
          TablePtr want,
          GroupBy(spread == Spread::kNoRows ? whole->Slice(0, 0) : whole, keys, aggs));
      ASSERT_OK_AND_ASSIGN(TablePtr out,
                           DistGroupBy(ctx, Partition(whole, ctx, spread), keys, aggs));
      // Sorted by key within the rank.
      std::vector<SortKey> order;
      for (const auto& k : keys) order.push_back(SortKey{k});
      ASSERT_OK_AND_ASSIGN(TablePtr sorted, Sort(out, order));
      EXPECT_TRUE(sorted->Equals(*out));
      ASSERT_OK_AND_ASSIGN(TablePtr all, AllGather(ctx, out));
      ExpectSameRowsNear(all, want, keys);
    }
  });
}

TEST(DistGroupBy, DecomposableAggregatesArePreAggregated) {
  CheckGroupBy(Whole(9), {"k"},
               Aggs({{AggKind::kSum, "f"},
                     {AggKind::kSum, "hot"},
                     {AggKind::kCount, "f"},
                     {AggKind::kCountAll, ""},
                     {AggKind::kMin, "f"},
                     {AggKind::kMax, "f"},
                     {AggKind::kMin, "s"},
                     {AggKind::kMax, "s"},
                     {AggKind::kMin, "d"},
                     {AggKind::kMean, "f"},
                     {AggKind::kMean, "hot"},
                     {AggKind::kVar, "f"},
                     {AggKind::kStd, "f"},
                     {AggKind::kFirst, "f"},
                     {AggKind::kLast, "s"}}));
}

// Mostly distinct keys: pre-aggregation would not shrink the rows, so the rows are shuffled
// raw (the choice is made from a distinct-count estimate summed over the ranks).
TEST(DistGroupBy, MostlyDistinctKeysShuffleRows) {
  RandomTableSpec spec;
  spec.rows = 600;
  spec.chunk_rows = 97;
  spec.columns = {{"k", ColumnKind::kInt64, 0.05, 1000000},
                  {"s", ColumnKind::kString, 0.1, 5},
                  {"f", ColumnKind::kFloat64, 0.15, 40}};
  CheckGroupBy(RandomTable(spec, 12), {"k"},
               Aggs({{AggKind::kSum, "f"},
                     {AggKind::kCountAll, ""},
                     {AggKind::kMean, "f"},
                     {AggKind::kStd, "f"},
                     {AggKind::kMax, "s"},
                     {AggKind::kFirst, "f"},
                     {AggKind::kLast, "s"}}));
}

TEST(DistGroupBy, MultiKeyAndSkewedKeys) {
  CheckGroupBy(Whole(10), {"hot", "s"},
               Aggs({{AggKind::kSum, "k"}, {AggKind::kStd, "k"}, {AggKind::kLast, "f"}}));
}

TEST(DistGroupBy, HolisticAggregatesShuffleRows) {
  CheckGroupBy(Whole(11), {"s"},
               Aggs({{AggKind::kNUnique, "k"},
                     {AggKind::kMedian, "f"},
                     {AggKind::kQuantile, "k"},
                     {AggKind::kSum, "f"},
                     {AggKind::kFirst, "k"}}));
}

// ---- Unique and set operations --------------------------------------------------------------

TEST(DistUnique, MatchesLocalUnique) {
  auto whole = Whole(12);
  // Duplicate rows: the table twice.
  auto doubled = *arrow::ConcatenateTables({whole, whole->Slice(50, 200)});
  ForEachWorld([&](const Context& ctx) {
    for (Spread spread : kSpreads) {
      SCOPED_TRACE(Where(ctx, spread));
      auto src = spread == Spread::kNoRows ? doubled->Slice(0, 0) : doubled;
      for (auto columns : std::vector<std::vector<std::string>>{{}, {"k"}, {"s", "hot"}}) {
        ASSERT_OK_AND_ASSIGN(TablePtr want, Unique(src, columns));
        ASSERT_OK_AND_ASSIGN(TablePtr out,
                             DistUnique(ctx, Partition(doubled, ctx, spread), columns));
        ASSERT_OK_AND_ASSIGN(TablePtr all, AllGather(ctx, out));
        std::string diff;
        EXPECT_TRUE(SameRows(all, want, &diff)) << diff;
      }
    }
  });
}

TEST(DistSetOps, MatchLocalSetOps) {
  auto a = Whole(13, 300);
  // b shares rows 100..250 with a, plus rows of its own.
  auto b = *arrow::ConcatenateTables({Whole(14, 120), a->Slice(100, 150)});
  ForEachWorld([&](const Context& ctx) {
    for (Spread spread : kSpreads) {
      SCOPED_TRACE(Where(ctx, spread));
      auto wa = spread == Spread::kNoRows ? a->Slice(0, 0) : a;
      auto wb = spread == Spread::kNoRows ? b->Slice(0, 0) : b;
      auto pa = Partition(a, ctx, spread);
      auto pb = Partition(b, ctx, spread == Spread::kSkewed ? Spread::kEven : spread);
      struct Case {
        const char* name;
        Result<TablePtr> got, want;
      };
      Case cases[] = {{"union", DistUnion(ctx, pa, pb), Union(wa, wb)},
                      {"intersect", DistIntersect(ctx, pa, pb), Intersect(wa, wb)},
                      {"difference", DistDifference(ctx, pa, pb), Difference(wa, wb)}};
      for (auto& c : cases) {
        SCOPED_TRACE(c.name);
        ASSERT_TRUE(c.got.ok()) << c.got.status();
        ASSERT_TRUE(c.want.ok()) << c.want.status();
        ASSERT_OK_AND_ASSIGN(TablePtr all, AllGather(ctx, *c.got));
        std::string diff;
        EXPECT_TRUE(SameRows(all, *c.want, &diff)) << diff;
      }
    }
  });
}

// ---- Gather, broadcast, rebalance -----------------------------------------------------------

TEST(DistMove, GatherAllGatherBroadcast) {
  auto whole = Whole(15);
  ForEachWorld([&](const Context& ctx) {
    const int last = ctx.world_size() - 1;
    for (Spread spread : kSpreads) {
      SCOPED_TRACE(Where(ctx, spread));
      auto want = spread == Spread::kNoRows ? whole->Slice(0, 0) : whole;
      auto part = Partition(whole, ctx, spread);
      ASSERT_OK_AND_ASSIGN(TablePtr gathered, Gather(ctx, part, last));
      if (ctx.rank() == last) {
        EXPECT_TRUE(gathered->Equals(*want));  // in rank order
      } else {
        EXPECT_EQ(gathered->num_rows(), 0);
        EXPECT_TRUE(gathered->schema()->Equals(*whole->schema()));
      }
      ASSERT_OK_AND_ASSIGN(TablePtr all, AllGather(ctx, part));
      EXPECT_TRUE(all->Equals(*want));
      ASSERT_OK_AND_ASSIGN(TablePtr b, Broadcast(ctx, ctx.rank() == 0 ? want : nullptr, 0));
      EXPECT_TRUE(b->Equals(*want));
    }
    // A root without a table is an error on every rank.
    auto none = Broadcast(ctx, nullptr, last);
    EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  });
}

TEST(DistMove, RebalanceEvensRowCountsAndKeepsOrder) {
  auto whole = Whole(16, 403);
  ForEachWorld([&](const Context& ctx) {
    for (Spread spread : kSpreads) {
      SCOPED_TRACE(Where(ctx, spread));
      auto want = spread == Spread::kNoRows ? whole->Slice(0, 0) : whole;
      ASSERT_OK_AND_ASSIGN(TablePtr out, Rebalance(ctx, Partition(whole, ctx, spread)));
      auto [begin, end] =
          testing::PartitionRange(want->num_rows(), ctx.rank(), ctx.world_size(), Spread::kEven);
      EXPECT_EQ(out->num_rows(), end - begin);
      EXPECT_TRUE(out->Equals(*want->Slice(begin, end - begin)));
    }
  });
}

// Groups of very different sizes (the key "g" has 1 to 60 rows a value), rows in random order
// and each group spread over the ranks: every group lands whole on one rank, the ranks hold
// ascending ranges of the keys, balanced by rows, and no row is lost.
TEST(DistMove, RangePartitionKeepsGroupsWholeInKeyRanges) {
  arrow::StringBuilder keys;
  arrow::Int64Builder values;
  int64_t largest = 0, total = 0;
  for (int g = 0; g < 37; ++g) {
    const int rows = 1 + (g * 17) % 60;
    largest = std::max<int64_t>(largest, rows);
    for (int i = 0; i < rows; ++i, ++total) {
      char name[8];
      std::snprintf(name, sizeof(name), "g%02d", (g * 11) % 37);
      ASSERT_TRUE(keys.Append(name).ok());
      ASSERT_TRUE(values.Append(total).ok());
    }
  }
  std::shared_ptr<arrow::Array> k, v;
  ASSERT_TRUE(keys.Finish(&k).ok());
  ASSERT_TRUE(values.Finish(&v).ok());
  auto whole = arrow::Table::Make(
      arrow::schema({arrow::field("g", arrow::utf8()), arrow::field("v", arrow::int64())}), {k, v});
  ForEachWorld([&](const Context& ctx) {
    for (Spread spread : {Spread::kEven, Spread::kSkewed, Spread::kOneRank}) {
      SCOPED_TRACE(Where(ctx, spread));
      ASSERT_OK_AND_ASSIGN(TablePtr out, RangePartition(ctx, Partition(whole, ctx, spread), "g"));
      ASSERT_OK_AND_ASSIGN(TablePtr all, AllGather(ctx, out));
      std::string diff;
      EXPECT_TRUE(SameRows(all, whole, &diff)) << diff;
      // Sorted here, and in rank order the gathered keys are sorted too: ascending ranges, so
      // no key is on two ranks.
      ASSERT_OK_AND_ASSIGN(TablePtr sorted, Sort(out, {{"g"}}));
      EXPECT_TRUE(sorted->Equals(*out));
      ASSERT_OK_AND_ASSIGN(TablePtr all_sorted, Sort(all, {{"g"}}));
      EXPECT_TRUE(all_sorted->GetColumnByName("g")->Equals(*all->GetColumnByName("g")));
      // Each rank holds a group, and about its share of the rows.
      EXPECT_GT(out->num_rows(), 0);
      EXPECT_LE(out->num_rows(), total / ctx.world_size() + 2 * largest);
    }
  });
}

TEST(DistMove, RangePartitionRefusesMissingAndNullKeys) {
  auto whole = Whole(21);  // "k" has nulls
  ForEachWorld([&](const Context& ctx) {
    auto part = Partition(whole, ctx, Spread::kEven);
    auto missing = RangePartition(ctx, part, "nope");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find("no column 'nope'"), std::string::npos)
        << missing.status();
    auto nulls = RangePartition(ctx, whole->Slice(0, 100), "k");
    ASSERT_FALSE(nulls.ok());
    EXPECT_NE(nulls.status().message().find("null"), std::string::npos) << nulls.status();
  });
}

// ---- Large (opt-in: DRC_LARGE_TESTS=1) -----------------------------------------------------

bool LargeTests() {
  const char* v = std::getenv("DRC_LARGE_TESTS");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

// Rank 0 holds > 2 GiB of large_binary values whose keys all hash to rank 1: one shuffle moves
// them through a single IPC stream and one AllToAllV block.
TEST(DistLarge, ShuffleMovesMoreThanTwoGiBThroughOneRank) {
  if (!LargeTests()) GTEST_SKIP() << "set DRC_LARGE_TESTS=1";
  ForEachWorld([&](const Context& ctx) {
    if (ctx.world_size() != 2) return;
    constexpr int64_t kValue = 1 << 20;    // 1 MiB per value
    constexpr int64_t kRows = 2048 + 128;  // 2.125 GiB
    // Keys that hash to rank 1: found by shuffling candidates at world size 2.
    arrow::Int64Builder kb;
    for (int64_t i = 0; i < 64; ++i) ASSERT_TRUE(kb.Append(i).ok());
    auto candidates =
        arrow::Table::Make(arrow::schema({arrow::field("key", arrow::int64())}), {*kb.Finish()});
    ASSERT_OK_AND_ASSIGN(
        TablePtr on_me,
        Shuffle(ctx, ctx.rank() == 0 ? candidates : candidates->Slice(0, 0), {"key"}));
    ASSERT_OK_AND_ASSIGN(TablePtr keys1, Broadcast(ctx, on_me, 1));
    ASSERT_GT(keys1->num_rows(), 0);
    const int64_t key =
        std::static_pointer_cast<arrow::Int64Array>(keys1->column(0)->chunk(0))->Value(0);
    TablePtr table;
    auto schema = arrow::schema(
        {arrow::field("key", arrow::int64()), arrow::field("blob", arrow::large_binary())});
    if (ctx.rank() == 0) {
      auto data = *arrow::AllocateBuffer(kRows * kValue);
      for (int64_t i = 0; i < kRows; ++i) std::memset(data->mutable_data() + i * kValue, i, kValue);
      auto offsets = *arrow::AllocateBuffer((kRows + 1) * 8);
      auto* o = reinterpret_cast<int64_t*>(offsets->mutable_data());
      for (int64_t i = 0; i <= kRows; ++i) o[i] = i * kValue;
      auto blobs =
          std::make_shared<arrow::LargeBinaryArray>(kRows, std::move(offsets), std::move(data));
      auto keys = *arrow::MakeArrayFromScalar(arrow::Int64Scalar(key), kRows);
      table = arrow::Table::Make(schema, {keys, blobs});
    } else {
      table = *arrow::Table::MakeEmpty(schema);
    }
    const auto start = std::chrono::steady_clock::now();
    ASSERT_OK_AND_ASSIGN(TablePtr out, Shuffle(ctx, table, {"key"}));
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    table.reset();
    if (ctx.rank() == 1) {
      ASSERT_EQ(out->num_rows(), kRows);
      auto blobs = std::static_pointer_cast<arrow::LargeBinaryArray>(
          *arrow::Concatenate(out->column(1)->chunks()));
      for (int64_t i = 0; i < kRows; i += 97) {
        auto v = blobs->GetView(i);
        ASSERT_EQ(static_cast<int64_t>(v.size()), kValue);
        EXPECT_EQ(static_cast<uint8_t>(v[0]), static_cast<uint8_t>(i));
        EXPECT_EQ(static_cast<uint8_t>(v[kValue - 1]), static_cast<uint8_t>(i));
      }
      std::printf("moved %.2f GiB in %.2f s\n", kRows * kValue / double(1 << 30), s);
    } else {
      EXPECT_EQ(out->num_rows(), 0);
    }
  });
}

}  // namespace
}  // namespace drc::data
