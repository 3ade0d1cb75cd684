#include "drc/data/io.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

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

// ---- CSV with options, errors, IPC, ReadTable ------------------------------------------

std::string WriteText(const std::string& name, const std::string& text) {
  const auto path = (TempDir() / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string SharedData() {
  const char* shared = std::getenv("DRC_SHARED_DATA");
  return shared ? shared : "../shared/data";
}

TEST(CsvIO, CarrierSeriesDatesAsDate32AndTimestamp) {
  const std::string path = SharedData() + "/us_carrier/us_carrier_passenger.csv";
  CsvOptions options;
  options.column_types = {{"ds", "date32"}, {"y", "float64"}, {"unique_id", "string"}};
  auto t = ReadCsv(path, options);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ((*t)->num_rows(), 298);
  EXPECT_TRUE((*t)->GetColumnByName("ds")->type()->Equals(arrow::date32()));
  EXPECT_TRUE((*t)->GetColumnByName("y")->type()->Equals(arrow::float64()));
  EXPECT_TRUE((*t)->GetColumnByName("unique_id")->type()->Equals(arrow::utf8()));
  auto first = (*t)->GetColumnByName("ds")->GetScalar(0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)->ToString(), "2000-01-31");
  auto last = (*t)->GetColumnByName("y")->GetScalar(297);
  EXPECT_EQ((*last)->ToString(), "83261");

  options.column_types = {{"ds", "timestamp[s]"}};
  auto ts = ReadCsv(path, options);
  ASSERT_TRUE(ts.ok()) << ts.status();
  EXPECT_TRUE(
      (*ts)->GetColumnByName("ds")->type()->Equals(arrow::timestamp(arrow::TimeUnit::SECOND)));
}

TEST(CsvIO, StrptimeFormatsDelimiterAndNulls) {
  const auto path = WriteText("fmt.csv",
                              "when;day;v;name\n"
                              "31/01/2000 10:30;31/01/2000;1.5;a\n"
                              "29/02/2000 00:00;29/02/2000;-;\n"
                              "\n"
                              "01/03/2000 23:59;01/03/2000;2;\"x;y\"\n");
  CsvOptions options;
  options.delimiter = ';';
  options.timestamp_formats = {"%d/%m/%Y %H:%M", "%d/%m/%Y"};
  options.column_types = {{"when", "timestamp[s]"}, {"day", "date32"}};
  options.null_values = {"-", ""};
  auto t = ReadCsv(path, options);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ((*t)->num_rows(), 3);
  EXPECT_EQ((*t)->GetColumnByName("when")->GetScalar(0).ValueOrDie()->ToString(),
            "2000-01-31 10:30:00");
  EXPECT_TRUE((*t)->GetColumnByName("day")->type()->Equals(arrow::date32()));
  EXPECT_EQ((*t)->GetColumnByName("day")->GetScalar(1).ValueOrDie()->ToString(), "2000-02-29");
  EXPECT_TRUE((*t)->GetColumnByName("v")->type()->Equals(arrow::float64()));
  EXPECT_EQ((*t)->GetColumnByName("v")->null_count(), 1);
  EXPECT_EQ((*t)->GetColumnByName("name")->null_count(), 1);
  EXPECT_EQ((*t)->GetColumnByName("name")->GetScalar(2).ValueOrDie()->ToString(), "x;y");
}

TEST(CsvIO, NoHeaderNamesColumnsF0F1) {
  const auto path = WriteText("nohdr.csv", "1,a\n2,b\n");
  CsvOptions options;
  options.header = false;
  options.column_types = {{"f0", "int32"}};
  auto t = ReadCsv(path, options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->num_rows(), 2);
  EXPECT_EQ((*t)->schema()->field(1)->name(), "f1");
  EXPECT_TRUE((*t)->column(0)->type()->Equals(arrow::int32()));
}

TEST(CsvIO, HeaderOnlyGivesEmptyTable) {
  const auto path = WriteText("hdr.csv", "a,b\n");
  CsvOptions options;
  options.column_types = {{"a", "int64"}};
  auto t = ReadCsv(path, options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->num_rows(), 0);
  EXPECT_EQ((*t)->num_columns(), 2);
  EXPECT_TRUE((*t)->column(0)->type()->Equals(arrow::int64()));
}

TEST(CsvErrors, UnparsableNumberNamesFileLineColumn) {
  const auto path = WriteText("badnum.csv", "x,z,y\n1,a,2\n\n3,\"b,c\",abc\n4,d,5\n");
  CsvOptions options;
  options.column_types = {{"y", "int64"}};
  auto t = ReadCsv(path, options);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message(), path + ":4:3: column 'y' expects int64, got 'abc'");
}

TEST(CsvErrors, UnparsableDateNamesFileLineColumn) {
  const auto path = WriteText("baddate.csv", "ds,y\n2000-01-31,1\n2000-02-30x,2\n");
  CsvOptions options;
  options.column_types = {{"ds", "date32"}};
  auto t = ReadCsv(path, options);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), path + ":3:1: column 'ds' expects date32, got '2000-02-30x'");

  // With strptime formats the date is parsed as a timestamp first; the message still says date32.
  options.timestamp_formats = {"%d.%m.%Y"};
  const auto path2 = WriteText("baddate2.csv", "ds,y\n31.01.2000,1\n3x.02.2000,2\n");
  auto t2 = ReadCsv(path2, options);
  ASSERT_FALSE(t2.ok());
  EXPECT_EQ(t2.status().message(), path2 + ":3:1: column 'ds' expects date32, got '3x.02.2000'");
}

TEST(CsvErrors, RaggedRowNamesFileLine) {
  const auto path = WriteText("ragged.csv", "a,b,c\n1,2,3\n4,\"5,6\",7\n8,9\n");
  auto t = ReadCsv(path);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message(), path + ":4: expected 3 columns, got 2");

  const auto path2 = WriteText("ragged2.csv", "a,b\r\n1,2\r\n3,4,5\r\n");
  auto t2 = ReadCsv(path2);
  ASSERT_FALSE(t2.ok());
  EXPECT_EQ(t2.status().message(), path2 + ":3: expected 2 columns, got 3");
}

TEST(CsvErrors, MissingFileAndUnknownColumnAndBadTypeName) {
  auto missing = ReadCsv("/nonexistent/dir/x.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIOError);
  EXPECT_EQ(missing.status().message(), "cannot read /nonexistent/dir/x.csv: No such file");

  const auto path = WriteText("ok.csv", "a,b\n1,2\n");
  CsvOptions options;
  options.column_types = {{"c", "int64"}};
  auto unknown = ReadCsv(path, options);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown column 'c' (file has a, b)"),
            std::string::npos)
      << unknown.status();
  options.column_types = {{"a", "integer"}};
  auto bad_type = ReadCsv(path, options);
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("unknown type name 'integer'"), std::string::npos)
      << bad_type.status();
  auto empty = ReadCsv(WriteText("empty.csv", ""));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("empty CSV file"), std::string::npos);
}

std::shared_ptr<arrow::Table> SampleTable() {
  arrow::Int64Builder keys;
  arrow::StringBuilder names;
  arrow::Date32Builder days;
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(keys.Append(i - 20).ok());
    EXPECT_TRUE((i % 7 == 0 ? names.AppendNull() : names.Append("n,\"" + std::to_string(i))).ok());
    EXPECT_TRUE(days.Append(10957 + i).ok());
  }
  auto schema = arrow::schema({arrow::field("k", arrow::int64()), arrow::field("s", arrow::utf8()),
                               arrow::field("d", arrow::date32())});
  return arrow::Table::Make(schema, {keys.Finish().ValueOrDie(), names.Finish().ValueOrDie(),
                                     days.Finish().ValueOrDie()});
}

TEST(CsvIO, WriteCsvRoundTripsAtomically) {
  auto table = SampleTable();
  const auto path = (TempDir() / "rt.csv").string();
  ASSERT_TRUE(WriteCsv(*table, path).ok());
  for (const auto& entry : std::filesystem::directory_iterator(TempDir())) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
  auto back = ReadTable(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE((*back)->Equals(*table)) << (*back)->ToString();
}

TEST(CsvIO, FailedWriteLeavesNoFile) {
  auto table = SampleTable();
  Status st = WriteCsv(*table, "/nonexistent/dir/out.csv");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/nonexistent/dir/out.csv"), std::string::npos) << st;
}

TEST(IpcIO, WriteAndReadBackRoundTrips) {
  auto table = SampleTable();
  for (const char* name : {"t.arrow", "t.feather", "t.ipc"}) {
    const auto path = (TempDir() / name).string();
    ASSERT_TRUE(WriteIpc(*table, path).ok());
    auto back = ReadTable(path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE((*back)->Equals(*table));
  }
  auto missing = ReadIpc("/nonexistent/x.arrow");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "cannot read /nonexistent/x.arrow: No such file");
  auto garbage = ReadIpc(WriteText("garbage.arrow", "not arrow at all"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("garbage.arrow"), std::string::npos);
}

TEST(ReadTableIO, DispatchesByExtension) {
  auto table = SampleTable();
  const auto path = (TempDir() / "t.PARQUET").string();
  ASSERT_TRUE(WriteParquet(*table, path).ok());
  auto back = ReadTable(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)->num_rows(), 50);
  auto unknown = ReadTable("x.xlsx");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown extension '.xlsx'"), std::string::npos);
}

}  // namespace
}  // namespace drc::data
