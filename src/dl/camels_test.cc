// The CAMELS-US reader on the real sample (../shared/data/camels_us_sample) and on broken
// files written to a temporary folder.
#include "drc/dl/camels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include "src/dl/camels_sample.h"

namespace drc::dl {
namespace {

namespace fs = std::filesystem;

using test_data::CamelsSampleDir;

TEST(Camels, Dates) {
  EXPECT_EQ(MakeDay(1970, 1, 1), 0);
  EXPECT_EQ(*ParseDay("2000-03-01") - *ParseDay("2000-02-28"), 2);  // 2000 is a leap year
  EXPECT_EQ(FormatDay(*ParseDay("2002-12-31")), "2002-12-31");
  EXPECT_FALSE(ParseDay("2001-02-29").ok());
  EXPECT_FALSE(ParseDay("2001-02-01x").ok());
  EXPECT_FALSE(ParseDay("2001-00-01").ok());
  EXPECT_FALSE(ParseDay("2001-01-32").ok());
  EXPECT_FALSE(ParseDay("40000-01-01").ok());  // beyond std::chrono's years
  EXPECT_EQ(*ParseDay("1969-12-31"), -1);
  EXPECT_EQ(FormatDay(-1), "1969-12-31");
  EXPECT_EQ(*ParseDay("2001-02-28") - *ParseDay("1900-02-28"), 36890);  // 101 years, 25 leap days
}

TEST(Camels, ReadsTheSampleBasin) {
  auto gauges = ListCamelsBasins(CamelsSampleDir());
  ASSERT_TRUE(gauges.ok()) << gauges.status();
  EXPECT_EQ(*gauges, (std::vector<std::string>{"01022500", "01547700", "02064000", "03015500"}));

  auto basin = ReadCamelsBasin(CamelsSampleDir(), "01022500", DefaultCamelsDynamicInputs());
  ASSERT_TRUE(basin.ok()) << basin.status();
  // Its forcing file runs 2000-01-01 .. 2003-12-31 (1461 days); streamflow ends in 2002.
  ASSERT_EQ(basin->days.size(), 1461u);
  EXPECT_EQ(FormatDay(basin->days.front()), "2000-01-01");
  EXPECT_EQ(FormatDay(basin->days.back()), "2003-12-31");
  EXPECT_DOUBLE_EQ(basin->latitude, 44.82);
  EXPECT_DOUBLE_EQ(basin->area_m2, 587675987);
  // 2000-01-03: dayl 31370.88, prcp 5.50, srad 126.63, tmax 9.25, tmin -1.10, vp 566.46; the
  // columns come in the order asked for (prcp, srad, tmax, tmin, vp, dayl).
  EXPECT_DOUBLE_EQ(basin->Dynamic(2, 0), 5.50);
  EXPECT_DOUBLE_EQ(basin->Dynamic(2, 2), 9.25);
  EXPECT_DOUBLE_EQ(basin->Dynamic(2, 5), 31370.88);
  // 2000-01-01: 255 ft³/s over 587675987 m² = 255 · 0.028316846592 · 86400 · 1000 / 587675987.
  EXPECT_NEAR(basin->qobs_mm_day[0], 1.0615998916, 1e-9);
  EXPECT_FALSE(std::isnan(basin->qobs_mm_day[1095]));  // 2002-12-31
  EXPECT_TRUE(std::isnan(basin->qobs_mm_day[1096]));   // 2003-01-01: no streamflow row

  auto other = ReadCamelsBasin(CamelsSampleDir(), "01547700", {"tmax(C)"});
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->days.size(), 1096u);
  EXPECT_DOUBLE_EQ(other->Dynamic(0, 0), 6.30);
}

TEST(Camels, ReadsStaticAttributesByName) {
  auto a = ReadCamelsAttributes(CamelsSampleDir(), {"03015500", "01022500"},
                                {"elev_mean", "p_mean", "geol_permeability"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_DOUBLE_EQ((*a)[1][0], 92.68);
  EXPECT_DOUBLE_EQ((*a)[1][1], 3.60812594113621);
  EXPECT_DOUBLE_EQ((*a)[0][0], 492.56);
  // Every default attribute is in the sample.
  auto all = ReadCamelsAttributes(CamelsSampleDir(), {"01022500"}, DefaultCamelsStaticAttributes());
  ASSERT_TRUE(all.ok()) << all.status();
  for (double v : all->front()) EXPECT_FALSE(std::isnan(v));

  auto gauge = ReadCamelsAttributes(CamelsSampleDir(), {"99999999"}, {"elev_mean"});
  ASSERT_FALSE(gauge.ok());
  EXPECT_EQ(gauge.status().code(), StatusCode::kNotFound);
  EXPECT_NE(gauge.status().message().find("99999999"), std::string::npos) << gauge.status();
  auto name = ReadCamelsAttributes(CamelsSampleDir(), {"01022500"}, {"elev_maen"});
  ASSERT_FALSE(name.ok());
  EXPECT_NE(name.status().message().find("elev_maen"), std::string::npos) << name.status();
  // A text column asked for as a number names file:line and the field.
  auto text = ReadCamelsAttributes(CamelsSampleDir(), {"01022500"}, {"high_prec_timing"});
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("camels_clim.txt:3"), std::string::npos) << text.status();
  EXPECT_NE(text.status().message().find("high_prec_timing"), std::string::npos);
}

// A copy of the layout in a temporary folder, with files the test writes.
class BrokenFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("drc_camels_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(dir_ / "forcing_daymet");
    fs::create_directories(dir_ / "streamflow");
    fs::create_directories(dir_ / "attributes");
    Write("forcing_daymet/00000001_lump_cida_forcing_leap.txt", kForcing);
    Write("streamflow/00000001_streamflow_qc.txt",
          "00000001 2000 01 01   100.00 A\n00000001 2000 01 02  -999.00 M\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  // The good forcing file plus one more row.
  static std::string ForcingWith(const char* row) {
    std::string text = kForcing;
    text.append(row);
    return text;
  }
  Result<BasinSeries> Read() {
    return ReadCamelsBasin(dir_.string(), "00000001", DefaultCamelsDynamicInputs());
  }
  static constexpr const char* kForcing =
      "  40.0\n 100.0\n 86400000\n"
      "Year Mnth Day Hr dayl(s) prcp(mm/day) srad(W/m2) swe(mm) tmax(C) tmin(C) vp(Pa)\n"
      "2000 01 01 12\t30000.0\t1.0\t200.0\t0.0\t5.0\t-5.0\t400.0\n"
      "2000 01 02 12\t30010.0\t2.0\t210.0\t0.0\t6.0\t-4.0\t410.0\n";
  fs::path dir_;
};

TEST_F(BrokenFiles, GoodFilesAndMissingDischarge) {
  auto basin = Read();
  ASSERT_TRUE(basin.ok()) << basin.status();
  ASSERT_EQ(basin->days.size(), 2u);
  // 100 ft³/s over 86.4 km²: 100 · 0.028316846592 · 86400 · 1000 / 86400000 = 2.8316846592.
  EXPECT_NEAR(basin->qobs_mm_day[0], 2.8316846592, 1e-12);
  EXPECT_TRUE(std::isnan(basin->qobs_mm_day[1]));  // -999
}

TEST_F(BrokenFiles, RaggedForcingRowNamesFileAndLine) {
  Write("forcing_daymet/00000001_lump_cida_forcing_leap.txt",
        ForcingWith("2000 01 03 12\t30020.0\t2.0\n"));
  auto basin = Read();
  ASSERT_FALSE(basin.ok());
  EXPECT_NE(basin.status().message().find("00000001_lump_cida_forcing_leap.txt:7"),
            std::string::npos)
      << basin.status();
  EXPECT_NE(basin.status().message().find("ragged"), std::string::npos) << basin.status();
}

TEST_F(BrokenFiles, BadNumberNamesFileLineAndField) {
  Write("forcing_daymet/00000001_lump_cida_forcing_leap.txt",
        ForcingWith("2000 01 03 12\t30020.0\t2.0\t210.0\t0.0\t6.x\t-4.0\t410.0\n"));
  auto basin = Read();
  ASSERT_FALSE(basin.ok());
  EXPECT_NE(basin.status().message().find("forcing_leap.txt:7"), std::string::npos)
      << basin.status();
  EXPECT_NE(basin.status().message().find("tmax(C)"), std::string::npos) << basin.status();
  EXPECT_NE(basin.status().message().find("6.x"), std::string::npos) << basin.status();

  Write("forcing_daymet/00000001_lump_cida_forcing_leap.txt", kForcing);
  Write("streamflow/00000001_streamflow_qc.txt", "00000001 2000 01 01   1O0.00 A\n");
  basin = Read();
  ASSERT_FALSE(basin.ok());
  EXPECT_NE(basin.status().message().find("00000001_streamflow_qc.txt:1"), std::string::npos)
      << basin.status();
  EXPECT_NE(basin.status().message().find("flow"), std::string::npos) << basin.status();

  Write("streamflow/00000001_streamflow_qc.txt", "00000001 2000 01 01 100.00\n");
  basin = Read();
  ASSERT_FALSE(basin.ok());
  EXPECT_NE(basin.status().message().find("streamflow_qc.txt:1: ragged"), std::string::npos)
      << basin.status();

  Write("forcing_daymet/00000001_lump_cida_forcing_leap.txt",
        "  40.0\n 100.0\n lots\nYear Mnth Day Hr prcp(mm/day)\n");
  basin = Read();
  ASSERT_FALSE(basin.ok());
  EXPECT_NE(basin.status().message().find("forcing_leap.txt:3"), std::string::npos)
      << basin.status();
  EXPECT_NE(basin.status().message().find("area"), std::string::npos) << basin.status();
}

TEST_F(BrokenFiles, ImpossibleDateNamesFileAndLine) {
  Write("forcing_daymet/00000001_lump_cida_forcing_leap.txt",
        ForcingWith("2001 02 29 12\t30020.0\t2.0\t210.0\t0.0\t6.0\t-4.0\t410.0\n"));
  auto basin = Read();
  ASSERT_FALSE(basin.ok());
  EXPECT_NE(basin.status().message().find("forcing_leap.txt:7: no such date 2001-02-29"),
            std::string::npos)
      << basin.status();
  Write("forcing_daymet/00000001_lump_cida_forcing_leap.txt", kForcing);
  Write("streamflow/00000001_streamflow_qc.txt", "00000001 2000 13 01   100.00 A\n");
  basin = Read();
  ASSERT_FALSE(basin.ok());
  EXPECT_NE(basin.status().message().find("streamflow_qc.txt:1: no such date 2000-13-01"),
            std::string::npos)
      << basin.status();
}

TEST_F(BrokenFiles, MissingFilesAndColumns) {
  auto missing = ReadCamelsBasin(dir_.string(), "00000002", DefaultCamelsDynamicInputs());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("00000002_lump_cida_forcing_leap.txt"),
            std::string::npos)
      << missing.status();

  fs::remove(dir_ / "streamflow/00000001_streamflow_qc.txt");
  auto no_flow = Read();
  ASSERT_FALSE(no_flow.ok());
  EXPECT_NE(no_flow.status().message().find("00000001_streamflow_qc.txt"), std::string::npos)
      << no_flow.status();

  auto column = ReadCamelsBasin(dir_.string(), "00000001", {"PRCP"});
  ASSERT_FALSE(column.ok());
  EXPECT_NE(column.status().message().find("'PRCP'"), std::string::npos) << column.status();

  Write("attributes/camels_topo.txt", "gauge_id;elev_mean;slope_mean\n00000001;12.5\n");
  auto ragged = ReadCamelsAttributes(dir_.string(), {"00000001"}, {"elev_mean"});
  ASSERT_FALSE(ragged.ok());
  EXPECT_NE(ragged.status().message().find("camels_topo.txt:2: ragged"), std::string::npos)
      << ragged.status();
}

}  // namespace
}  // namespace drc::dl
