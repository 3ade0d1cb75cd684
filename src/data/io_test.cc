#include "drc/data/io.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace drc::data {
namespace {

std::filesystem::path TempDir() {
  auto dir = std::filesystem::temp_directory_path() / ("drc_io_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(ParquetIO, WriteAndReadBackRoundTrips) {
  arrow::Int64Builder keys;
  arrow::StringBuilder names;
  arrow::DoubleBuilder values;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(keys.Append(i * 7).ok());
    if (i % 10 == 0) {
      ASSERT_TRUE(names.AppendNull().ok());
    } else {
      ASSERT_TRUE(names.Append("name-" + std::to_string(i)).ok());
    }
    ASSERT_TRUE(values.Append(i * 0.5).ok());
  }
  auto schema =
      arrow::schema({arrow::field("key", arrow::int64()), arrow::field("name", arrow::utf8()),
                     arrow::field("value", arrow::float64())});
  auto table = arrow::Table::Make(schema, {keys.Finish().ValueOrDie(), names.Finish().ValueOrDie(),
                                           values.Finish().ValueOrDie()});
  const auto path = (TempDir() / "t.parquet").string();
  Status st = WriteParquet(*table, path);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto back = ReadParquet(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)->num_rows(), 1000);
  EXPECT_TRUE((*back)->Equals(*table)) << (*back)->ToString();
  std::filesystem::remove_all(TempDir());
}

TEST(ParquetIO, MissingFileNamesThePath) {
  auto r = ReadParquet("/nonexistent/dir/x.parquet");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status();
  EXPECT_NE(r.status().message().find("/nonexistent/dir/x.parquet"), std::string::npos);
}

TEST(ParquetIO, GarbageFileIsAnErrorNotACrash) {
  const auto path = (TempDir() / "garbage.parquet").string();
  std::ofstream(path) << "this is not parquet";
  auto r = ReadParquet(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("garbage.parquet"), std::string::npos) << r.status();
  std::filesystem::remove_all(TempDir());
}

TEST(CsvIO, ReadsTheCarrierSeries) {
  const char* shared = std::getenv("DRC_SHARED_DATA");
  ASSERT_NE(shared, nullptr);
  auto t = ReadCsv(std::string(shared) + "/us_carrier/us_carrier_passenger.csv");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->num_rows(), 298);
  EXPECT_EQ((*t)->schema()->field(0)->name(), "y");
  EXPECT_EQ(ArrowVersion().substr(0, 3), "26.");
}

}  // namespace
}  // namespace drc::data
