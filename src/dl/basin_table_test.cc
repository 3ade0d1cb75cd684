// Basins read from tables: the CAMELS-US sample written as tables trains as the folder does, and
// bad tables are errors that name the file, the column, the basin or the line.
#include "drc/dl/basin_table.h"

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "drc/data/io.h"
#include "drc/dl/hydrology.h"
#include "src/dl/camels_sample.h"

namespace drc::dl {
namespace {

namespace fs = std::filesystem;

using test_data::CamelsSampleDir;

class BasinTable : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("drc_basin_table_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return Path(name);
  }
  fs::path dir_;
};

HydroConfig Small(const std::string& model) {
  HydroConfig c;
  c.data_dir = CamelsSampleDir();
  c.model = model;
  c.basins = {"01022500", "03015500"};
  c.seq_length = 20;
  c.hidden_size = 8;
  c.epochs = 2;
  c.learning_rate = {{0, 1e-2}};
  c.batch_size = 256;
  c.threads = 1;
  c.seed = 3;
  return c;
}

// The folder's run and the tables' run: the same samples, losses, predictions and scores, for
// the tables written as CSV (text round trip of every number) and as Parquet.
TEST_F(BasinTable, CamelsWrittenAsTablesTrainsAsTheFolder) {
  for (const std::string ext : {".csv", ".parquet"}) {
    for (const std::string model : {"LSTM", "EA-LSTM"}) {
      SCOPED_TRACE(model + ext);
      const HydroConfig folder = Small(model);
      auto series = CamelsSeriesTable(CamelsSampleDir(), folder.basins, folder.dynamic_inputs);
      ASSERT_TRUE(series.ok()) << series.status();
      auto attributes = CamelsAttributeTable(CamelsSampleDir(), {}, folder.static_attributes);
      ASSERT_TRUE(attributes.ok()) << attributes.status();
      ASSERT_EQ((*attributes)->num_rows(), 4);  // every basin of the sample
      ASSERT_TRUE(data::WriteTable(**series, Path("series" + ext)).ok());
      ASSERT_TRUE(data::WriteTable(**attributes, Path("attributes" + ext)).ok());

      HydroConfig table = folder;
      table.data_dir = "/nonexistent";
      table.table = Path("series" + ext);
      table.attributes_table = Path("attributes" + ext);
      table.basins = {};  // every basin of the table
      table.dynamic_inputs = {};
      table.static_attributes = {};
      auto a = TrainAndEvaluateHydro(folder);
      ASSERT_TRUE(a.ok()) << a.status();
      auto b = TrainAndEvaluateHydro(table);
      ASSERT_TRUE(b.ok()) << b.status();
      EXPECT_EQ(b->dynamic_inputs, folder.dynamic_inputs);
      EXPECT_EQ(b->static_attributes, folder.static_attributes);
      EXPECT_EQ(a->train_samples, b->train_samples);
      EXPECT_EQ(a->epoch_losses, b->epoch_losses);
      EXPECT_EQ(a->scaler.dynamic_mean, b->scaler.dynamic_mean);
      EXPECT_EQ(a->scaler.attribute_std, b->scaler.attribute_std);
      ASSERT_EQ(a->basins.size(), 2u);
      ASSERT_EQ(b->basins.size(), 2u);
      for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(a->basins[i].basin, b->basins[i].basin);
        EXPECT_EQ(a->basins[i].days, b->basins[i].days);
        EXPECT_EQ(a->basins[i].nse, b->basins[i].nse);
        EXPECT_EQ(a->basins[i].kge, b->basins[i].kge);
      }
      EXPECT_EQ(a->median_nse, b->median_nse);
    }
  }
}

TEST_F(BasinTable, MissingDaysAreGapsAndInputsDefaultToTheOtherColumns) {
  // Basin "02" lacks 2000-01-03; its y is missing on 01-02.
  const std::string path = Write("t.csv",
                                 "unique_id,ds,rain,y,temp\n"
                                 "02,2000-01-01,1.5,0.5,3\n"
                                 "02,2000-01-02,2.5,,4\n"
                                 "02,2000-01-04,3.5,0.7,5\n"
                                 "01,2000-01-01,0,1,6\n");
  std::vector<std::string> inputs;
  auto basins = ReadBasinTable(path, {}, &inputs);
  ASSERT_TRUE(basins.ok()) << basins.status();
  EXPECT_EQ(inputs, (std::vector<std::string>{"rain", "temp"}));
  ASSERT_EQ(basins->size(), 2u);
  const BasinSeries& first = (*basins)[0];
  EXPECT_EQ(first.gauge_id, "01");  // ids sorted, leading zeros kept
  const BasinSeries& b = (*basins)[1];
  EXPECT_EQ(b.gauge_id, "02");
  ASSERT_EQ(b.days.size(), 4u);
  EXPECT_EQ(FormatDay(b.days.front()), "2000-01-01");
  EXPECT_EQ(b.days.back() - b.days.front(), 3);
  EXPECT_EQ(b.Dynamic(1, 0), 2.5);
  EXPECT_EQ(b.Dynamic(3, 1), 5);
  EXPECT_TRUE(std::isnan(b.Dynamic(2, 0)));  // the day without a row
  EXPECT_TRUE(std::isnan(b.Dynamic(2, 1)));
  EXPECT_TRUE(std::isnan(b.qobs_mm_day[1]));
  EXPECT_TRUE(std::isnan(b.qobs_mm_day[2]));
  EXPECT_EQ(b.qobs_mm_day[3], 0.7);

  // Named inputs and basins, in the order asked.
  std::vector<std::string> temp = {"temp"};
  auto only = ReadBasinTable(path, {"02"}, &temp);
  ASSERT_TRUE(only.ok()) << only.status();
  ASSERT_EQ(only->size(), 1u);
  EXPECT_EQ((*only)[0].dynamic_names, temp);
  EXPECT_EQ((*only)[0].Dynamic(0, 0), 3);
}

TEST_F(BasinTable, ReadsEveryPartOfAPartitionedTable) {
  Write("part-0.csv", "unique_id,ds,rain,y\nA,2000-01-01,1,2\nA,2000-01-02,3,4\n");
  Write("part-1.csv", "unique_id,ds,rain,y\nB,2000-01-01,5,6\n");
  std::vector<std::string> inputs;
  auto basins = ReadBasinTable(Path("part-{rank}.csv"), {}, &inputs);
  ASSERT_TRUE(basins.ok()) << basins.status();
  ASSERT_EQ(basins->size(), 2u);
  EXPECT_EQ((*basins)[0].days.size(), 2u);
  EXPECT_EQ((*basins)[1].gauge_id, "B");
  EXPECT_EQ((*basins)[1].Dynamic(0, 0), 5);
}

TEST_F(BasinTable, BadTablesNameTheFileColumnBasinOrLine) {
  auto error = [&](const std::string& text, std::vector<std::string> inputs = {},
                   std::vector<std::string> gauges = {}) {
    const std::string path = Write("bad.csv", text);
    auto r = ReadBasinTable(path, gauges, &inputs);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.status().message();
  };
  auto has = [](const std::string& message, const std::string& part) {
    return message.find(part) != std::string::npos;
  };
  std::string m = error("basin,ds,rain,y\nA,2000-01-01,1,2\n");
  EXPECT_TRUE(has(m, "bad.csv") && has(m, "no column 'unique_id'")) << m;
  m = error("unique_id,ds,rain,y\nA,2000-01-01,1,2\n", {"snow"});
  EXPECT_TRUE(has(m, "no input column 'snow'")) << m;
  m = error("unique_id,ds,rain,y\nA,2000-01-01,1,2\nA,2000-01-02,x,2\n", {"rain"});
  EXPECT_TRUE(has(m, "bad.csv:3") && has(m, "rain")) << m;
  // A text column is not left out of the default inputs in silence.
  m = error("unique_id,ds,note,rain,y\nA,2000-01-01,a,1,2\n");
  EXPECT_TRUE(has(m, "bad.csv:2") && has(m, "note") && has(m, "name them")) << m;
  m = error("unique_id,ds,rain,y\nA,2000-01-01,1,2\nA,2000-01-01,1,3\n");
  EXPECT_TRUE(has(m, "'A'") && has(m, "2000-01-01")) << m;  // a day twice
  m = error("unique_id,ds,rain,y\nA,2000-01-01T06:00:00,1,2\nA,2000-01-02T06:00:00,1,3\n");
  EXPECT_TRUE(has(m, "midnight")) << m;
  m = error("unique_id,ds,rain,y\nA,2000-01-01,1,2\n", {}, {"B"});
  EXPECT_TRUE(has(m, "basin 'B' has no row")) << m;
  m = error("unique_id,ds,y\nA,2000-01-01,2\n");
  EXPECT_TRUE(has(m, "no column besides")) << m;
}

TEST_F(BasinTable, Attributes) {
  const std::string path = Write("attributes.csv",
                                 "unique_id,area,name,slope\n"
                                 "01022500,10.5,x,0.1\n"
                                 "02,20,y,\n");
  std::vector<std::string> names;
  auto rows = ReadAttributeTable(path, {"02", "01022500"}, &names);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(names, (std::vector<std::string>{"area", "slope"}));
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0][0], 20);
  EXPECT_TRUE(std::isnan((*rows)[0][1]));
  EXPECT_EQ((*rows)[1][0], 10.5);

  auto missing = ReadAttributeTable(path, {"03"}, &names);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no row for basin '03'"), std::string::npos)
      << missing.status();
  std::vector<std::string> text = {"name"};
  auto not_numbers = ReadAttributeTable(path, {"02"}, &text);
  ASSERT_FALSE(not_numbers.ok());
  EXPECT_NE(not_numbers.status().message().find("attributes.csv:2"), std::string::npos)
      << not_numbers.status();
  const std::string twice = Write("twice.csv", "unique_id,area\nA,1\nA,2\n");
  names.clear();
  auto two = ReadAttributeTable(twice, {"A"}, &names);
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("'A' has two rows"), std::string::npos) << two.status();
}

// A table's attribute with no value is refused as a CAMELS "NA" is; EA-LSTM without an
// attribute table is refused.
TEST_F(BasinTable, TrainingNeedsEveryAttributeAndEaLstmNeedsSome) {
  auto series = CamelsSeriesTable(CamelsSampleDir(), {"01022500"}, DefaultCamelsDynamicInputs());
  ASSERT_TRUE(series.ok()) << series.status();
  ASSERT_TRUE(data::WriteTable(**series, Path("s.parquet")).ok());
  HydroConfig c = Small("LSTM");
  c.table = Path("s.parquet");
  c.basins = {};
  c.static_attributes = {};  // every number column of the table
  c.attributes_table = Write("a.csv", "unique_id,area,slope\n01022500,1,\n");
  auto r = TrainAndEvaluateHydro(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no value (NA) for static attribute 'slope'"),
            std::string::npos)
      << r.status();
  c.static_attributes = {"area"};
  c.epochs = 1;
  r = TrainAndEvaluateHydro(c);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->static_attributes, std::vector<std::string>{"area"});
  c.model = "EA-LSTM";
  c.attributes_table.clear();
  r = TrainAndEvaluateHydro(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("static"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace drc::dl
