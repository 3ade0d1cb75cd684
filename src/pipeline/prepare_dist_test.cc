// A prepare stage on several ranks (PrepareTable with a communicator): the data harness runs each
// test on worlds of 1, 2 and 4 thread ranks (src/data/testing/dist_harness.h).
#include <arrow/api.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>

#include "drc/data/dist_io.h"
#include "drc/data/io.h"
#include "drc/data/ops.h"
#include "drc/data/timeseries.h"
#include "drc/pipeline/pipeline.h"
#include "src/data/testing/dist_harness.h"

namespace drc::pipeline {
namespace {

namespace fs = std::filesystem;
using data::testing::ForEachWorld;

class PrepareOnRanksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("drc_prepare_dist_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // Six monthly series, their rows interleaved and out of order, with a null value, a missing
  // month and rows before `start`, and a short one at the end: each rank's share of the file
  // holds pieces of several series.
  std::string SeriesCsv() {
    std::string csv = "id,ds,Y\n";
    const char* months[] = {"2000-12-31", "2001-01-31", "2001-02-28", "2001-03-31",
                            "2001-04-30", "2001-05-31", "2001-06-30", "2001-07-31"};
    for (int m = 7; m >= 0; --m) {
      for (const char* id : {"A", "B", "C", "D", "E", "F"}) {
        if (std::string(id) == "C" && m == 4) continue;  // a missing month: a gap
        const bool null = std::string(id) == "E" && m == 2;
        csv +=
            std::string(id) + "," + months[m] + "," + (null ? "" : std::to_string(m * 10)) + "\n";
      }
    }
    // G: two months only, left out by min_length.
    return csv + "G,2001-01-31,1\nG,2001-02-28,2\n";
  }

  PrepareSpec Spec(const std::string& input, const std::string& output) const {
    PrepareSpec spec;
    spec.input = input;
    spec.output = (dir_ / output).string();
    spec.rename = {{"Y", "y"}, {"id", "unique_id"}};
    spec.start = "2001-01-01";
    spec.drop_nulls = {"y"};
    spec.resample = "ME";
    spec.min_length = 3;
    return spec;
  }

  // Runs the stage that `make(R)` gives on worlds of 1, 2 and 4 ranks; rank 0 checks that the
  // file it writes holds `expected`.
  void ExpectOnEveryWorld(const std::function<PrepareSpec(int)>& make,
                          const data::TablePtr& expected) {
    ForEachWorld([&](const data::Context& ctx) {
      const PrepareSpec spec = make(ctx.world_size());
      auto result = PrepareTable(spec, ctx.comm());
      ASSERT_TRUE(result.ok()) << result.status();
      if (ctx.rank() != 0) return;
      auto written = data::ReadTable(spec.output);
      ASSERT_TRUE(written.ok()) << written.status();
      EXPECT_TRUE((*written)->Equals(*expected)) << (*written)->ToString();
    });
  }

  fs::path dir_;
};

TEST_F(PrepareOnRanksTest, WritesTheTableOneRankWrites) {
  const std::string input = Write("series.csv", SeriesCsv());
  const PrepareSpec one = Spec(input, "one.parquet");
  auto reference = PrepareTable(one);
  ASSERT_TRUE(reference.ok()) << reference.status();
  EXPECT_EQ(reference->rows_in, 49);
  EXPECT_EQ(reference->rows_out, 42);       // 6 series x 7 months; C's and E's holes as nulls
  EXPECT_EQ(reference->series_dropped, 1);  // G
  auto expected = data::ReadTable(one.output);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ForEachWorld([&](const data::Context& ctx) {
    const PrepareSpec spec = Spec(input, "ranks-" + std::to_string(ctx.world_size()) + ".parquet");
    auto result = PrepareTable(spec, ctx.comm());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->rows_in, reference->rows_in);
    EXPECT_EQ(result->rows_out, reference->rows_out);
    EXPECT_EQ(result->series_dropped, reference->series_dropped);
    EXPECT_EQ(result->columns, reference->columns);
    if (ctx.rank() != 0) return;
    auto written = data::ReadTable(spec.output);
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_TRUE((*written)->Equals(**expected)) << (*written)->ToString() << "\nexpected\n"
                                                << (*expected)->ToString();
  });
}

// Series ids that look like numbers (USGS gauge ids) are read as text, as drc forecast reads
// them: "01022500" keeps its leading zero, also under another name renamed to unique_id.
TEST_F(PrepareOnRanksTest, IdsThatLookLikeNumbersKeepTheirZeros) {
  const std::string input = Write("gauges.csv",
                                  "gauge,ds,y\n"
                                  "01022500,2001-01-31,1\n03015500,2001-01-31,2\n"
                                  "01022500,2001-02-28,3\n03015500,2001-02-28,4\n");
  ForEachWorld([&](const data::Context& ctx) {
    PrepareSpec spec;
    spec.input = input;
    spec.output = (dir_ / ("gauges-" + std::to_string(ctx.world_size()) + ".parquet")).string();
    spec.rename = {{"gauge", "unique_id"}};
    auto result = PrepareTable(spec, ctx.comm());
    ASSERT_TRUE(result.ok()) << result.status();
    if (ctx.rank() != 0) return;
    auto written = data::ReadTable(spec.output);
    ASSERT_TRUE(written.ok()) << written.status();
    const auto ids = (*written)->GetColumnByName("unique_id");
    ASSERT_NE(ids, nullptr);
    ASSERT_EQ(ids->type()->id(), arrow::Type::STRING) << ids->type()->ToString();
    auto first = ids->GetScalar(0);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ((*first)->ToString(), "01022500");
    EXPECT_EQ((*ids->GetScalar(3))->ToString(), "03015500");
  });
}

// Partitioned: rank r writes the r-th range of the series, whole and sorted, as its part; the
// parts together are the table one rank writes.
TEST_F(PrepareOnRanksTest, WritesEachRanksSeriesAsItsPart) {
  const std::string input = Write("series.csv", SeriesCsv());
  const PrepareSpec one = Spec(input, "whole.parquet");
  ASSERT_TRUE(PrepareTable(one).ok());
  auto expected = data::ReadTable(one.output);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ForEachWorld([&](const data::Context& ctx) {
    const int ranks = ctx.world_size();
    PrepareSpec spec = Spec(input, "parts-" + std::to_string(ranks) + ".parquet");
    spec.partitioned = true;
    auto result = PrepareTable(spec, ctx.comm());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->rows_out, 42);
    EXPECT_EQ(result->series_dropped, 1);
    const std::string pattern = (dir_ / PartsPattern(spec)).string();
    EXPECT_EQ(pattern,
              (dir_ / ("parts-" + std::to_string(ranks)) / "part-{rank}.parquet").string());
    if (ctx.rank() != 0) return;
    // One part per rank, each sorted, no series in two.
    std::set<std::string> seen;
    for (int r = 0; r < ranks; ++r) {
      auto part = data::ReadTable(data::RankPath(pattern, r));
      ASSERT_TRUE(part.ok()) << part.status();
      auto sorted = data::Sort(*part, {{"unique_id"}, {"ds"}});
      ASSERT_TRUE(sorted.ok());
      EXPECT_TRUE((*sorted)->Equals(**part)) << "part " << r << " is not sorted";
      auto ids = std::static_pointer_cast<arrow::StringArray>(
          (*part)->GetColumnByName("unique_id")->chunk(0));
      std::set<std::string> mine;
      for (int64_t i = 0; i < ids->length(); ++i) mine.insert(ids->GetString(i));
      // Part r holds the r-th range of the ids: all after those of the parts before.
      ASSERT_FALSE(mine.empty()) << "part " << r;
      if (!seen.empty()) {
        EXPECT_LT(*seen.rbegin(), *mine.begin()) << "part " << r;
      }
      for (const auto& id : mine) EXPECT_TRUE(seen.insert(id).second) << id << " in two parts";
    }
    EXPECT_FALSE(fs::exists(data::RankPath(pattern, ranks)));
    auto all = data::ReadSeriesParts(pattern);
    ASSERT_TRUE(all.ok()) << all.status();
    auto sorted = data::Sort(*all, {{"unique_id"}, {"ds"}});
    ASSERT_TRUE(sorted.ok());
    EXPECT_TRUE((*sorted)->Equals(**expected)) << (*sorted)->ToString();
  });
}

// Joins and an aggregate on R ranks give the table one rank writes, as one table and as parts:
// a region per series from a Parquet table (F has none: a left join, of a small table, so
// data::BroadcastJoin), a flag per month from a CSV under other names (a right join, so
// data::DistJoin; every month of the calendar has rows), 100 added to y in the flagged month
// (compute, then drop the helper column), B left out (filter), D's March twice, summed
// (data::DistGroupBy), and y's lags and rolling statistics of a lag per series.
TEST_F(PrepareOnRanksTest, JoinsAndAggregatesAsOneRankDoes) {
  const std::string input = Write("twice.csv", SeriesCsv() + "D,2001-03-31,5\n");
  const std::string regions_csv = Write("regions.csv",
                                        "unique_id,region\nA,north\nB,north\nC,south\n"
                                        "D,south\nE,west\nG,west\n");
  data::CsvOptions as_text;
  as_text.column_types["unique_id"] = "string";
  auto regions = data::ReadCsv(regions_csv, as_text);
  ASSERT_TRUE(regions.ok()) << regions.status();
  const std::string regions_parquet = (dir_ / "regions.parquet").string();
  ASSERT_TRUE(data::WriteTable(**regions, regions_parquet).ok());
  std::string calendar = "month,holiday\n";
  for (const char* m : {"2000-12-31", "2001-01-31", "2001-02-28", "2001-03-31", "2001-04-30",
                        "2001-05-31", "2001-06-30", "2001-07-31"}) {
    calendar += std::string(m) + "," + (std::string(m) == "2001-03-31" ? "1" : "0") + "\n";
  }
  const std::string calendar_csv = Write("calendar.csv", calendar);
  const auto with_steps = [&](PrepareSpec spec) {
    JoinSpec region;
    region.table = regions_parquet;
    region.on = {"unique_id"};
    region.how = "left";
    JoinSpec holiday;
    holiday.table = calendar_csv;
    holiday.on = {"ds"};
    holiday.how = "right";
    holiday.rename = {{"month", "ds"}};
    spec.join = {region, holiday};
    spec.compute = {{"bump", "holiday * 100"}, {"y", "y + bump"}};
    spec.filter = "unique_id != 'B'";
    spec.drop = {"bump"};
    spec.aggregate.by = {"unique_id", "ds"};
    spec.aggregate.columns = {{"y", "sum"}, {"region", "first"}, {"holiday", "max"}};
    spec.lags = {{"y", {1, 2}}};
    spec.rolling = {{"y_lag1", 3, {"mean", "max"}, 1}};
    return spec;
  };
  const PrepareSpec one = with_steps(Spec(input, "joined.parquet"));
  auto reference = PrepareTable(one);
  ASSERT_TRUE(reference.ok()) << reference.status();
  EXPECT_EQ(reference->rows_out, 35);  // B's 7 months left out
  EXPECT_EQ(reference->columns,
            (std::vector<std::string>{"unique_id", "ds", "y", "region", "holiday", "is_gap",
                                      "y_lag1", "y_lag2", "y_lag1_rollmean3", "y_lag1_rollmax3"}));
  auto expected = data::ReadTable(one.output);
  ASSERT_TRUE(expected.ok()) << expected.status();
  // D's March: 30 and 5, each with 100 added; F's region: none.
  auto d_march = data::Filter(
      *expected, arrow::compute::and_(arrow::compute::equal(arrow::compute::field_ref("unique_id"),
                                                            arrow::compute::literal("D")),
                                      arrow::compute::equal(arrow::compute::field_ref("holiday"),
                                                            arrow::compute::literal(int64_t{1}))));
  ASSERT_TRUE(d_march.ok()) << d_march.status();
  ASSERT_EQ((*d_march)->num_rows(), 1);
  EXPECT_EQ((*(*d_march)->GetColumnByName("y")->GetScalar(0))->ToString(), "235");
  // F's 7 months, and C's and E's gap months (resampled: only the id and ds are set).
  EXPECT_EQ((*expected)->GetColumnByName("region")->null_count(), 9);
  ForEachWorld([&](const data::Context& ctx) {
    const std::string name = "joined-" + std::to_string(ctx.world_size());
    const PrepareSpec spec = with_steps(Spec(input, name + ".parquet"));
    auto result = PrepareTable(spec, ctx.comm());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->rows_in, reference->rows_in);
    EXPECT_EQ(result->rows_out, reference->rows_out);
    EXPECT_EQ(result->columns, reference->columns);
    PrepareSpec parts = with_steps(Spec(input, name + "-parts.parquet"));
    parts.partitioned = true;
    auto parted = PrepareTable(parts, ctx.comm());
    ASSERT_TRUE(parted.ok()) << parted.status();
    if (ctx.rank() != 0) return;
    auto written = data::ReadTable(spec.output);
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_TRUE((*written)->Equals(**expected)) << (*written)->ToString();
    auto all = data::ReadSeriesParts((dir_ / PartsPattern(parts)).string());
    ASSERT_TRUE(all.ok()) << all.status();
    auto sorted = data::Sort(*all, {{"unique_id"}, {"ds"}});
    ASSERT_TRUE(sorted.ok());
    EXPECT_TRUE((*sorted)->Equals(**expected)) << (*sorted)->ToString();
  });
}

// Every row of the file twice, kept once (unique over whole rows, data::DistUnique): the table
// one rank writes from the file without the copies, on 1, 2 and 4 ranks.
TEST_F(PrepareOnRanksTest, KeepsUniqueRowsAsOneRankDoes) {
  const std::string csv = SeriesCsv();
  const std::string input = Write("series.csv", csv);
  const std::string twice = Write("twice.csv", csv + csv.substr(csv.find('\n') + 1));
  // Without resample, which would hide a copy that got through (a month twice in a series).
  const auto spec_of = [&](const std::string& in, const std::string& output) {
    PrepareSpec spec = Spec(in, output);
    spec.resample = "";
    spec.min_length = 0;
    return spec;
  };
  const PrepareSpec once = spec_of(input, "once.parquet");
  ASSERT_TRUE(PrepareTable(once).ok());
  auto expected = data::ReadTable(once.output);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ExpectOnEveryWorld(
      [&](int ranks) {
        PrepareSpec spec = spec_of(twice, "unique-" + std::to_string(ranks) + ".parquet");
        spec.unique = {"*"};
        return spec;
      },
      *expected);
}

// A table without series (a total per month, unique_id aggregated away) in the order of `sort`:
// the same file on 1, 2 and 4 ranks (data::DistSort, then the gather), where without `sort` the
// rows would come in an order that depends on the ranks.
TEST_F(PrepareOnRanksTest, SortsATableWithoutSeriesAsOneRankDoes) {
  const std::string input = Write("series.csv", SeriesCsv());
  const auto with_sort = [&](const std::string& output) {
    PrepareSpec spec = Spec(input, output);
    spec.resample = "";
    spec.min_length = 0;
    spec.compute = {{"month", "month(ds)"}};
    spec.aggregate.by = {"month"};
    spec.aggregate.columns = {{"y", "sum"}, {"unique_id", "nunique"}};
    spec.sort = {"unique_id desc", "month"};
    return spec;
  };
  const PrepareSpec one = with_sort("months.csv");
  ASSERT_TRUE(PrepareTable(one).ok());
  auto expected = data::ReadTable(one.output);
  ASSERT_TRUE(expected.ok()) << expected.status();
  // Months 1..7 of 2001 with 6 series each, but 7 in January (G's), 6 in February (G's, and E's
  // null dropped) and 5 in April (C has none): by series, most first, then by month.
  EXPECT_EQ((*expected)->num_rows(), 7);
  EXPECT_EQ((*expected)->GetColumnByName("month")->ToString(),
            "[\n  [\n    1,\n    2,\n    3,\n    5,\n    6,\n    7,\n    4\n  ]\n]");
  ExpectOnEveryWorld(
      [&](int ranks) { return with_sort("months-" + std::to_string(ranks) + ".csv"); }, *expected);
}

// A table in parts (a partitioned stage's, read `from` it): rank r reads the parts whose number is
// r modulo the ranks, so 3 parts on 1, 2 and 4 ranks (one rank without a part) give the table
// that one rank writes from the one file.
TEST_F(PrepareOnRanksTest, ReadsPartsOnAnyNumberOfRanks) {
  const std::string input = Write("series.csv", SeriesCsv());
  const PrepareSpec one = Spec(input, "from-file.parquet");
  ASSERT_TRUE(PrepareTable(one).ok());
  auto expected = data::ReadTable(one.output);
  ASSERT_TRUE(expected.ok()) << expected.status();
  auto whole = data::ReadTable(input);
  ASSERT_TRUE(whole.ok()) << whole.status();
  fs::create_directories(dir_ / "in3");
  const std::string pattern = (dir_ / "in3" / "part-{rank}.parquet").string();
  const int64_t rows = (*whole)->num_rows();
  for (int part = 0; part < 3; ++part) {
    auto slice = (*whole)->Slice(rows * part / 3, rows * (part + 1) / 3 - rows * part / 3);
    ASSERT_TRUE(data::WriteTable(*slice, data::RankPath(pattern, part)).ok());
  }
  ForEachWorld([&](const data::Context& ctx) {
    PrepareSpec spec = Spec(pattern, "from-parts-" + std::to_string(ctx.world_size()) + ".parquet");
    spec.input_parts = 3;
    auto result = PrepareTable(spec, ctx.comm());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->rows_in, rows);
    if (ctx.rank() == 0) {
      auto written = data::ReadTable(spec.output);
      ASSERT_TRUE(written.ok()) << written.status();
      EXPECT_TRUE((*written)->Equals(**expected)) << (*written)->ToString();
    }
    // A missing part is an error on every rank.
    spec.input_parts = 4;
    auto missing = PrepareTable(spec, ctx.comm());
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find("part-3.parquet"), std::string::npos)
        << missing.status();
  });
}

// Many short series after the long ones: the last rank's range holds only series that
// min_length leaves out, so the ranges are cut again over the series kept.
TEST_F(PrepareOnRanksTest, PartsAreRecutWhenMinLengthEmptiesARank) {
  std::string csv = SeriesCsv();
  for (int k = 0; k < 12; ++k) {
    csv += "S" + std::to_string(k) + ",2001-01-31,1\nS" + std::to_string(k) + ",2001-02-28,2\n";
  }
  const std::string input = Write("short_tail.csv", csv);
  ForEachWorld([&](const data::Context& ctx) {
    PrepareSpec spec = Spec(input, "tail-" + std::to_string(ctx.world_size()) + ".parquet");
    spec.partitioned = true;
    auto result = PrepareTable(spec, ctx.comm());
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->rows_out, 42);
    EXPECT_EQ(result->series_dropped, 13);  // G and the twelve S
    if (ctx.rank() != 0) return;
    auto all = data::ReadSeriesParts((dir_ / PartsPattern(spec)).string());
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_EQ((*all)->num_rows(), 42);
    for (int r = 0; r < ctx.world_size(); ++r) {
      auto part = data::ReadTable((dir_ / data::RankPath(PartsPattern(spec), r)).string());
      ASSERT_TRUE(part.ok()) << part.status();
      EXPECT_GT((*part)->num_rows(), 0) << "part " << r;
    }
  });
}

// More ranks than series: a rank left without a series is an error on every rank.
TEST_F(PrepareOnRanksTest, APartWithoutSeriesIsAnError) {
  const std::string input = Write("one_series.csv", "unique_id,ds,y\nA,2001-01-31,1\n");
  ForEachWorld([&](const data::Context& ctx) {
    if (ctx.world_size() == 1) return;
    PrepareSpec spec;
    spec.input = input;
    spec.output = (dir_ / ("lonely-" + std::to_string(ctx.world_size()) + ".csv")).string();
    spec.partitioned = true;
    auto result = PrepareTable(spec, ctx.comm());
    ASSERT_FALSE(result.ok());
    if (result.status().code() != StatusCode::kAborted) {
      EXPECT_NE(result.status().message().find("holds no series"), std::string::npos)
          << result.status();
    }
  });
}

// An error in one rank's share is an error on every rank, and no rank waits for the others.
TEST_F(PrepareOnRanksTest, AnErrorOnOneRankIsAnErrorOnEvery) {
  // The last line's date does not parse: only the rank that reads the end of the file sees it.
  const std::string input = Write("bad.csv", SeriesCsv() + "A,the end,1\n");
  ForEachWorld([&](const data::Context& ctx) {
    const PrepareSpec spec = Spec(input, "bad-" + std::to_string(ctx.world_size()) + ".parquet");
    auto result = PrepareTable(spec, ctx.comm());
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.status().message().find("does not read as dates"), std::string::npos)
        << result.status();
    if (ctx.rank() == 0) {
      EXPECT_FALSE(fs::exists(spec.output));
    }
  });
  // A series with a repeated month fails to resample on the rank that holds the series.
  const std::string twice = Write("twice.csv", SeriesCsv() + "D,2001-03-31,5\n");
  ForEachWorld([&](const data::Context& ctx) {
    const PrepareSpec spec = Spec(twice, "twice-" + std::to_string(ctx.world_size()) + ".parquet");
    auto result = PrepareTable(spec, ctx.comm());
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.status().message().find("resample"), std::string::npos) << result.status();
    EXPECT_NE(result.status().message().find("'D'"), std::string::npos) << result.status();
  });
}

}  // namespace
}  // namespace drc::pipeline
