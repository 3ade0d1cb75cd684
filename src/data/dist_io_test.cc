#include "drc/data/dist_io.h"

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "drc/comm/communicator.h"
#include "drc/data/timeseries.h"
#include "src/data/testing/dist_harness.h"
#include "src/data/testing/random_table.h"

namespace drc::data {
namespace {

using testing::ForEachWorld;

// A directory every rank of the world agrees on (rank 0 names it; the name travels by
// broadcast, so it also works across the processes of an mpirun job).
std::string SharedTempDir(const Context& ctx, const std::string& name) {
  char buffer[512] = {};
  if (ctx.rank() == 0) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("drc_dist_io_" + std::to_string(::getpid()) + "_" + name + "_w" +
                      std::to_string(ctx.world_size()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::strncpy(buffer, dir.c_str(), sizeof(buffer) - 1);
  }
  if (ctx.world_size() > 1) {
    Status st = ctx.comm()->Broadcast(buffer, sizeof(buffer), 0);
    EXPECT_TRUE(st.ok()) << st;
  }
  return buffer;
}

// Rank 0 writes `text` to DIR/name; everyone waits for it.
std::string WriteShared(const Context& ctx, const std::string& dir, const std::string& name,
                        const std::string& text) {
  const std::string path = dir + "/" + name;
  if (ctx.rank() == 0) std::ofstream(path, std::ios::binary) << text;
  if (ctx.world_size() > 1) {
    EXPECT_TRUE(ctx.comm()->Barrier().ok());
  }
  return path;
}

void Cleanup(const Context& ctx, const std::string& dir) {
  if (ctx.world_size() > 1) {
    EXPECT_TRUE(ctx.comm()->Barrier().ok());
  }
  if (ctx.rank() == 0) std::filesystem::remove_all(dir);
}

// The shared data folder: $DRC_SHARED_DATA, else ../shared/data beside the project root.
std::string SharedData() {
  const char* shared = std::getenv("DRC_SHARED_DATA");
  if (shared != nullptr) return shared;
  return (std::filesystem::path(__FILE__).parent_path() / "../../../shared/data").string();
}

// Rows of the whole table before this rank's partition (exclusive prefix sum of row counts).
int64_t RowsBefore(const Context& ctx, int64_t rows) {
  if (ctx.world_size() == 1) return 0;
  auto all = comm::AllGatherValue<int64_t>(*ctx.comm(), rows);
  EXPECT_TRUE(all.ok());
  int64_t before = 0;
  for (int r = 0; r < ctx.rank(); ++r) before += (*all)[r];
  return before;
}

int64_t TotalRows(const Context& ctx, int64_t rows) {
  if (ctx.world_size() == 1) return rows;
  Status st = ctx.comm()->AllReduce(&rows, &rows, 1, comm::DataType::kInt64, comm::ReduceOp::kSum);
  EXPECT_TRUE(st.ok());
  return rows;
}

// Checks that the split read, concatenated in rank order, is the whole read.
void ExpectSplitEqualsWhole(const Context& ctx, const std::string& path,
                            const CsvOptions& options) {
  auto whole = ReadCsv(path, options);
  auto split = ReadCsvSplit(ctx, path, options);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_TRUE(split.ok()) << split.status();
  const int64_t rows = (*split)->num_rows();
  const int64_t before = RowsBefore(ctx, rows);
  EXPECT_EQ(TotalRows(ctx, rows), (*whole)->num_rows());
  EXPECT_TRUE((*split)->schema()->Equals(*(*whole)->schema()))
      << "rank " << ctx.rank() << ": " << (*split)->schema()->ToString() << "\nvs\n"
      << (*whole)->schema()->ToString();
  auto expected = (*whole)->Slice(before, rows);
  EXPECT_TRUE((*split)->Equals(*expected))
      << "rank " << ctx.rank() << " rows [" << before << ", " << before + rows << ")";
}

std::string RandomCsv(int rows, uint64_t seed) {
  std::string text = "id,value,name,day\n";
  uint64_t x = seed;
  auto next = [&x]() {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x >> 33;
  };
  for (int i = 0; i < rows; ++i) {
    text += std::to_string(i) + ",";
    // A float column whose first rows look like integers (ranks may guess int64).
    if (i % 13 == 5) {
      text += "NA";
    } else if (i > rows / 2) {
      text += std::to_string(next() % 1000) + ".25";
    } else {
      text += std::to_string(next() % 1000);
    }
    const int w = static_cast<int>(next() % 4);
    const char* words[] = {"alpha", "\"be,ta\"", "\"ga\"\"mma\"", ""};
    text += std::string(",") + words[w] + ",";
    text += "2001-0" + std::to_string(1 + next() % 9) + "-1" + std::to_string(next() % 10);
    text += (i % 17 == 3) ? "\r\n" : "\n";
    if (i % 31 == 7) text += "\n";  // empty lines count for line numbers but are skipped
  }
  return text;
}

TEST(ReadCsvSplit, SplitEqualsWholeRead) {
  ForEachWorld([](const Context& ctx) {
    const std::string dir = SharedTempDir(ctx, "split");
    for (int rows : {0, 1, 3, 200}) {
      SCOPED_TRACE("rows " + std::to_string(rows));
      const std::string path =
          WriteShared(ctx, dir, "t" + std::to_string(rows) + ".csv", RandomCsv(rows, 42 + rows));
      ExpectSplitEqualsWhole(ctx, path, {});
      CsvOptions typed;
      typed.column_types = {{"value", "float64"}, {"day", "timestamp[s]"}};
      ExpectSplitEqualsWhole(ctx, path, typed);
    }
    // No trailing newline; no header.
    const std::string path = WriteShared(ctx, dir, "nonl.csv", "a,b\n1,x\n2,y\n3,z");
    ExpectSplitEqualsWhole(ctx, path, {});
    CsvOptions no_header;
    no_header.header = false;
    ExpectSplitEqualsWhole(ctx, path, no_header);
    Cleanup(ctx, dir);
  });
}

TEST(ReadCsvSplit, CarrierSeries) {
  ForEachWorld([](const Context& ctx) {
    const std::string base = SharedData();
    if (!std::filesystem::exists(base)) GTEST_SKIP() << "no shared data at " << base;
    ExpectSplitEqualsWhole(ctx, base + "/us_carrier/us_carrier_passenger.csv", {});
  });
}

// A series table's share per rank, typed as ReadSeries types the whole: ids that look like
// numbers stay text, integer stamps stay integers, text values are an error naming the line.
TEST(ReadSeriesSplit, SplitEqualsReadSeries) {
  ForEachWorld([](const Context& ctx) {
    const std::string dir = SharedTempDir(ctx, "series");
    std::string gauges = "unique_id,ds,y\n", integers = "unique_id,ds,y\n";
    for (int i = 0; i < 60; ++i) {
      gauges += (i < 30 ? "01022500," : "03015500,") + std::string("2000-01-") +
                (i % 30 < 9 ? "0" : "") + std::to_string(i % 30 + 1) + "," + std::to_string(i) +
                "\n";
      integers += std::to_string(i % 3) + "," + std::to_string(i) + "," + std::to_string(i) + "\n";
    }
    for (const auto& [name, text] : {std::pair{"gauges.csv", gauges}, {"integers.csv", integers}}) {
      SCOPED_TRACE(name);
      const std::string path = WriteShared(ctx, dir, name, text);
      auto whole = ReadSeries(path);
      auto split = ReadSeriesSplit(ctx, path);
      ASSERT_TRUE(whole.ok()) << whole.status();
      ASSERT_TRUE(split.ok()) << split.status();
      EXPECT_EQ((*whole)->GetColumnByName("unique_id")->type()->id(), arrow::Type::STRING);
      EXPECT_TRUE((*split)->schema()->Equals(*(*whole)->schema()))
          << (*split)->schema()->ToString() << "\nvs\n"
          << (*whole)->schema()->ToString();
      const int64_t rows = (*split)->num_rows();
      EXPECT_EQ(TotalRows(ctx, rows), (*whole)->num_rows());
      EXPECT_TRUE((*split)->Equals(*(*whole)->Slice(RowsBefore(ctx, rows), rows)));
    }
    const std::string bad =
        WriteShared(ctx, dir, "bad.csv", "unique_id,ds,y\nA,1,1\nA,2,x\nA,3,3\n");
    auto failed = ReadSeriesSplit(ctx, bad);
    ASSERT_FALSE(failed.ok());
    if (ctx.rank() == 0 || ctx.world_size() == 1) {
      EXPECT_NE(failed.status().message().find("bad.csv:3:3: column 'y' expects float64"),
                std::string::npos)
          << failed.status();
    }
    Cleanup(ctx, dir);
  });
}

TEST(ReadCsvSplit, BadValueNamesTheGlobalLineOnEveryRank) {
  ForEachWorld([](const Context& ctx) {
    const std::string dir = SharedTempDir(ctx, "bad");
    std::string text = "x,y\n";
    for (int line = 2; line <= 101; ++line) {
      text += std::to_string(line) + "," + (line == 80 ? "abc" : std::to_string(line * 2)) + "\n";
    }
    const std::string path = WriteShared(ctx, dir, "bad.csv", text);
    CsvOptions options;
    options.column_types = {{"y", "int64"}};
    auto t = ReadCsvSplit(ctx, path, options);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    const std::string expected = path + ":80:2: column 'y' expects int64, got 'abc'";
    EXPECT_NE(t.status().message().find(expected), std::string::npos)
        << "rank " << ctx.rank() << ": " << t.status();
    // The ranks whose lines are fine say which rank failed.
    if (t.status().message() != expected) {
      EXPECT_EQ(t.status().message().rfind("rank ", 0), 0u) << t.status();
    }

    // Ragged row, global line number too.
    std::string ragged = "a,b,c\n";
    for (int line = 2; line <= 60; ++line) ragged += (line == 57 ? "1,2\n" : "1,2,3\n");
    const std::string path2 = WriteShared(ctx, dir, "ragged.csv", ragged);
    auto r = ReadCsvSplit(ctx, path2);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(path2 + ":57: expected 3 columns, got 2"),
              std::string::npos)
        << r.status();

    auto missing = ReadCsvSplit(ctx, dir + "/missing.csv");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find("No such file"), std::string::npos);
    Cleanup(ctx, dir);
  });
}

TEST(WritePartitioned, RoundTripsThroughReadPerRank) {
  ForEachWorld([](const Context& ctx) {
    const std::string dir = SharedTempDir(ctx, "parts");
    testing::RandomTableSpec spec;
    spec.rows = 100;
    spec.columns = {
        {"k", testing::ColumnKind::kInt64, 0.1},
        {"s", testing::ColumnKind::kString, 0.1, /*range=*/4},  // no "" (CSV reads it as null)
        {"d", testing::ColumnKind::kDate32, 0.0}};
    auto whole = testing::RandomTable(spec, 7);
    auto mine = testing::Partition(whole, ctx, testing::Spread::kSkewed);
    for (const std::string format : {"parquet", "csv", "arrow"}) {
      SCOPED_TRACE(format);
      const std::string out = dir + "/" + format;
      Status st = WritePartitioned(ctx, mine, out, format);
      ASSERT_TRUE(st.ok()) << st;
      const std::string part = out + "/part-" + std::to_string(ctx.rank()) + "." + format;
      EXPECT_TRUE(std::filesystem::exists(part)) << part;
      auto back = ReadPerRank(ctx, out + "/part-{rank}." + format);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ((*back)->num_rows(), mine->num_rows());
      if (format != "csv" || mine->num_rows() > 0) {
        // An empty CSV part has no rows to infer types from.
        EXPECT_TRUE((*back)->Equals(*mine)) << (*back)->ToString() << "\nvs\n" << mine->ToString();
      }
    }
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
    }
    EXPECT_FALSE(WritePartitioned(ctx, mine, dir + "/x", "xlsx").ok());
    // A file missing on one rank is an error on every rank.
    const std::string prefix = ctx.rank() == ctx.world_size() - 1 ? "/nope-" : "/part-";
    auto missing = ReadPerRank(ctx, dir + "/parquet" + prefix + "{rank}.parquet");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find("No such file"), std::string::npos)
        << missing.status();
    Cleanup(ctx, dir);
  });
}

}  // namespace
}  // namespace drc::data
