#include "drc/data/timeseries.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "drc/data/io.h"

namespace drc::data {
namespace {

using Opt = std::optional<double>;

// (id, ds, y) with string ids, int64 stamps and float64 values (nullopt: null).
TablePtr MakeTable(const std::vector<std::string>& ids, const std::vector<int64_t>& ds,
                   const std::vector<Opt>& y) {
  arrow::StringBuilder id_b;
  arrow::Int64Builder ds_b;
  arrow::DoubleBuilder y_b;
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(id_b.Append(ids[i]).ok());
    EXPECT_TRUE(ds_b.Append(ds[i]).ok());
    EXPECT_TRUE((y[i] ? y_b.Append(*y[i]) : y_b.AppendNull()).ok());
  }
  auto schema =
      arrow::schema({arrow::field("unique_id", arrow::utf8()), arrow::field("ds", arrow::int64()),
                     arrow::field("y", arrow::float64())});
  return arrow::Table::Make(
      schema, {id_b.Finish().ValueOrDie(), ds_b.Finish().ValueOrDie(), y_b.Finish().ValueOrDie()});
}

std::vector<Opt> Column(const TablePtr& t, const std::string& name) {
  auto column = t->GetColumnByName(name);
  EXPECT_NE(column, nullptr) << name;
  std::vector<Opt> out;
  if (column == nullptr) return out;
  for (int64_t i = 0; i < t->num_rows(); ++i) {
    auto s = column->GetScalar(i).ValueOrDie();
    if (!s->is_valid) {
      out.push_back(std::nullopt);
    } else {
      auto d = s->CastTo(arrow::float64()).ValueOrDie();
      out.push_back(std::static_pointer_cast<arrow::DoubleScalar>(d)->value);
    }
  }
  return out;
}

std::vector<std::string> Texts(const TablePtr& t, const std::string& name) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < t->num_rows(); ++i) {
    out.push_back(t->GetColumnByName(name)->GetScalar(i).ValueOrDie()->ToString());
  }
  return out;
}

void ExpectNear(const std::vector<Opt>& got, const std::vector<Opt>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].has_value(), want[i].has_value()) << "row " << i;
    if (want[i]) {
      EXPECT_NEAR(*got[i], *want[i], 1e-4) << "row " << i;
    }
  }
}

// Unsorted: sorted it is a = 1, 2, 3 at ds 1, 2, 3 and b = 10, 20, 40.
TablePtr Sample() {
  return MakeTable({"b", "a", "b", "a", "a", "b"}, {2, 3, 1, 1, 2, 3},
                   {20.0, 3.0, 10.0, 1.0, 2.0, 40.0});
}

TEST(AddLags, LagsWithinEachSeries) {
  auto t = AddLags(Sample(), {}, {1, 2});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(Texts(*t, "unique_id"), (std::vector<std::string>{"a", "a", "a", "b", "b", "b"}));
  ExpectNear(Column(*t, "y_lag1"), {{}, 1.0, 2.0, {}, 10.0, 20.0});
  ExpectNear(Column(*t, "y_lag2"), {{}, {}, 1.0, {}, {}, 10.0});
  EXPECT_FALSE(AddLags(Sample(), {}, {0}).ok());
  auto bad = AddLags(Sample(), {.id = "series"}, {1});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown id column 'series'"), std::string::npos)
      << bad.status();
}

TEST(AddRolling, MeanStdMinMaxSum) {
  auto mean = AddRolling(Sample(), {}, 2, RollingStat::kMean);
  ASSERT_TRUE(mean.ok()) << mean.status();
  ExpectNear(Column(*mean, "y_rollmean2"), {{}, 1.5, 2.5, {}, 15.0, 30.0});
  auto mean1 = AddRolling(Sample(), {}, 2, RollingStat::kMean, 1);
  ExpectNear(Column(*mean1, "y_rollmean2"), {1.0, 1.5, 2.5, 10.0, 15.0, 30.0});
  auto std3 = AddRolling(Sample(), {}, 3, RollingStat::kStd, 2);
  ExpectNear(Column(*std3, "y_rollstd3"), {{}, 0.707107, 1.0, {}, 7.071068, 15.275252});
  auto sum = AddRolling(Sample(), {}, 3, RollingStat::kSum);
  ExpectNear(Column(*sum, "y_rollsum3"), {{}, {}, 6.0, {}, {}, 70.0});
  auto lo = AddRolling(Sample(), {}, 2, RollingStat::kMin, 1);
  ExpectNear(Column(*lo, "y_rollmin2"), {1.0, 1.0, 2.0, 10.0, 10.0, 20.0});
  auto hi = AddRolling(Sample(), {}, 2, RollingStat::kMax, 1);
  ExpectNear(Column(*hi, "y_rollmax2"), {1.0, 2.0, 3.0, 10.0, 20.0, 40.0});
  // Nulls are skipped and do not count towards min_periods.
  auto with_null = MakeTable({"a", "a", "a"}, {1, 2, 3}, {1.0, {}, 5.0});
  auto m = AddRolling(with_null, {}, 2, RollingStat::kMean, 1);
  ExpectNear(Column(*m, "y_rollmean2"), {1.0, 1.0, 5.0});
  EXPECT_FALSE(AddRolling(Sample(), {}, 0, RollingStat::kMean).ok());
}

// The online updates (values entering and leaving the window) against each window recomputed:
// random series of random lengths, with nulls, values of mixed magnitudes and repeated values,
// every statistic, windows 1 to 40 and several min_periods.
TEST(AddRolling, OnlineUpdatesMatchEachWindowRecomputed) {
  uint64_t state = 7;
  const auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  std::vector<std::string> ids;
  std::vector<int64_t> ds;
  std::vector<Opt> y;
  for (int series = 0; series < 6; ++series) {
    const int length = 1 + static_cast<int>(next() % 300);
    for (int t = 0; t < length; ++t) {
      ids.push_back("s" + std::to_string(series));
      ds.push_back(t);
      const uint64_t r = next();
      if (r % 7 == 0) {
        y.push_back(std::nullopt);
      } else if (r % 101 == 2) {  // now and then an infinity, which must leave no NaN behind
        y.push_back(r % 2 == 0 ? std::numeric_limits<double>::infinity()
                               : -std::numeric_limits<double>::infinity());
      } else if (r % 7 == 1) {
        y.push_back(3.0);  // runs of equal values
      } else {
        y.push_back(static_cast<double>(static_cast<int64_t>(next() % 2000001) - 1000000) /
                    (r % 2 == 0 ? 1.0 : 997.0));
      }
    }
  }
  const TablePtr table = MakeTable(ids, ds, y);
  const char* names[] = {"mean", "std", "min", "max", "sum"};
  for (const RollingStat stat : {RollingStat::kMean, RollingStat::kStd, RollingStat::kMin,
                                 RollingStat::kMax, RollingStat::kSum}) {
    for (const int window : {1, 2, 3, 7, 40}) {
      for (const int min_periods : {0, 1, window}) {
        auto rolled = AddRolling(table, {}, window, stat, min_periods);
        ASSERT_TRUE(rolled.ok()) << rolled.status();
        const std::vector<Opt> got =
            Column(*rolled,
                   std::string("y_roll") + names[static_cast<int>(stat)] + std::to_string(window));
        ASSERT_EQ(got.size(), y.size());
        const size_t need = min_periods == 0 ? window : min_periods;
        for (size_t i = 0; i < y.size(); ++i) {
          std::vector<double> in;  // the window's values, recomputed
          for (size_t j = i + 1;
               j-- > 0 && i - j < static_cast<size_t>(window) && ids[j] == ids[i];) {
            if (y[j]) in.push_back(*y[j]);
          }
          Opt want;
          if (in.size() >= need && !in.empty() && !(stat == RollingStat::kStd && in.size() < 2)) {
            double sum = 0;
            for (double v : in) sum += v;
            const double mean = sum / static_cast<double>(in.size());
            double ss = 0;
            for (double v : in) ss += (v - mean) * (v - mean);
            switch (stat) {
              case RollingStat::kMean: want = mean; break;
              case RollingStat::kSum: want = sum; break;
              case RollingStat::kStd:
                want = std::sqrt(ss / static_cast<double>(in.size() - 1));
                break;
              case RollingStat::kMin: want = *std::min_element(in.begin(), in.end()); break;
              case RollingStat::kMax: want = *std::max_element(in.begin(), in.end()); break;
            }
          }
          const std::string where = std::string(names[static_cast<int>(stat)]) + " window " +
                                    std::to_string(window) + " min_periods " +
                                    std::to_string(min_periods) + " row " + std::to_string(i);
          ASSERT_EQ(got[i].has_value(), want.has_value()) << where;
          if (!want) continue;
          if (!std::isfinite(*want)) {  // an infinity in the window: the same infinity, or NaN
            EXPECT_TRUE(std::isnan(*want) ? std::isnan(*got[i]) : *got[i] == *want) << where;
            continue;
          }
          // Within rounding of the window's magnitude (a sum of values up to 1e6 that cancel).
          double scale = 1;
          for (size_t j = i + 1;
               j-- > 0 && i - j < static_cast<size_t>(window) && ids[j] == ids[i];) {
            if (y[j] && std::isfinite(*y[j])) scale = std::max(scale, std::abs(*y[j]));
          }
          EXPECT_NEAR(*got[i], *want, 1e-9 * scale) << where;
        }
      }
    }
  }
}

TEST(Scalers, StandardIsMeanAndPopulationStd) {
  auto scaler = FitScaler(Sample(), {}, ScalerKind::kStandard);
  ASSERT_TRUE(scaler.ok()) << scaler.status();
  EXPECT_EQ(Texts(scaler->params, "unique_id"), (std::vector<std::string>{"a", "b"}));
  ExpectNear(Column(scaler->params, "shift"), {2.0, 23.333333});
  ExpectNear(Column(scaler->params, "scale"), {0.816497, 12.472191});
  auto z = Transform(Sample(), {}, *scaler);
  ASSERT_TRUE(z.ok()) << z.status();
  // Input order kept: b2, a3, b1, a1, a2, b3.
  ExpectNear(Column(*z, "y"),
             {(20 - 23.333333) / 12.472191, 1 / 0.816497, (10 - 23.333333) / 12.472191,
              -1 / 0.816497, 0.0, (40 - 23.333333) / 12.472191});
  auto back = InverseTransform(*z, {}, *scaler);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectNear(Column(*back, "y"), Column(Sample(), "y"));
}

TEST(Scalers, RobustIsMedianAndMad) {
  auto t = MakeTable(
      {"a", "a", "a", "b", "b", "b", "c", "c", "c", "c", "d", "d", "d", "d", "e", "e"},
      {1, 2, 3, 1, 2, 3, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2},
      {1.0, 2.0, 3.0, 10.0, 20.0, 40.0, 10.0, 1.0, 3.0, 2.0, 5.0, 5.0, 9.0, 5.0, 7.0, 7.0});
  auto scaler = FitScaler(t, {}, ScalerKind::kRobust);
  ASSERT_TRUE(scaler.ok()) << scaler.status();
  // c = {1,2,3,10}: lower median 2, |x-2| = {1,0,1,8} -> lower median 1.
  // d = {5,5,5,9}: MAD 0 -> population std sqrt(3) * 0.6744897501960817.
  // e = {7,7}: every scale 0 -> 1.
  ExpectNear(Column(scaler->params, "shift"), {2.0, 20.0, 2.0, 5.0, 7.0});
  ExpectNear(Column(scaler->params, "scale"),
             {1.0, 10.0, 1.0, std::sqrt(3.0) * 0.6744897501960817, 1.0});
}

TEST(Scalers, MinMaxAndIdentityAndUnknownSeries) {
  auto scaler = FitScaler(Sample(), {}, ScalerKind::kMinMax);
  ASSERT_TRUE(scaler.ok()) << scaler.status();
  ExpectNear(Column(scaler->params, "shift"), {1.0, 10.0});
  ExpectNear(Column(scaler->params, "scale"), {2.0, 30.0});
  auto z = Transform(Sample(), {}, *scaler);
  ExpectNear(Column(*z, "y"), {1.0 / 3, 1.0, 0.0, 0.0, 0.5, 1.0});
  auto id = FitScaler(Sample(), {}, ScalerKind::kIdentity);
  ExpectNear(Column(Transform(Sample(), {}, *id).ValueOrDie(), "y"), Column(Sample(), "y"));
  // A forecast column scaled back with the series' parameters.
  auto preds = MakeTable({"b", "a"}, {4, 4}, {0.5, 1.0});
  auto back = InverseTransform(preds, {}, *scaler, "y");
  ExpectNear(Column(*back, "y"), {25.0, 3.0});
  auto unknown = Transform(MakeTable({"zz"}, {1}, {1.0}), {}, *scaler);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("series 'zz'"), std::string::npos);
}

TEST(Splits, LastHAndByTime) {
  auto split = SplitLastH(Sample(), {}, 1);
  ASSERT_TRUE(split.ok()) << split.status();
  ExpectNear(Column(split->train, "y"), {1.0, 2.0, 10.0, 20.0});
  ExpectNear(Column(split->test, "y"), {3.0, 40.0});
  auto by_time = SplitByTime(Sample(), {}, "3");
  ASSERT_TRUE(by_time.ok()) << by_time.status();
  ExpectNear(Column(by_time->train, "y"), {1.0, 2.0, 10.0, 20.0});
  ExpectNear(Column(by_time->test, "y"), {3.0, 40.0});
  EXPECT_FALSE(SplitByTime(Sample(), {}, "soon").ok());
  EXPECT_FALSE(SplitLastH(Sample(), {}, -1).ok());
}

TEST(DropShortSeries, KeepsTheSeriesWithEnoughRows) {
  // a has 3 rows, b 3, c 1; unsorted.
  const TablePtr t = MakeTable({"b", "c", "a", "b", "a", "a", "b"}, {2, 5, 3, 1, 1, 2, 3},
                               {20.0, 7.0, 3.0, 10.0, 1.0, 2.0, 40.0});
  int64_t dropped = -1;
  auto kept = DropShortSeries(t, {}, 2, &dropped);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(Texts(*kept, "unique_id"), (std::vector<std::string>{"a", "a", "a", "b", "b", "b"}));
  ExpectNear(Column(*kept, "y"), {1.0, 2.0, 3.0, 10.0, 20.0, 40.0});
  auto none = DropShortSeries(t, {}, 4, &dropped);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(dropped, 3);
  EXPECT_EQ((*none)->num_rows(), 0);
  auto all = DropShortSeries(t, {}, 1, &dropped);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(dropped, 0);
  EXPECT_EQ((*all)->num_rows(), 7);
  EXPECT_FALSE(DropShortSeries(t, {"id", "ds", "y"}, 2).ok());  // no column 'id'
}

// (unique_id, ds as date32 from ISO text, y).
TablePtr DateTable(const std::vector<std::string>& ids, const std::vector<std::string>& days,
                   const std::vector<double>& y, const std::string& type = "date32") {
  std::string csv = "unique_id,ds,y\n";
  for (size_t i = 0; i < ids.size(); ++i) {
    csv += ids[i] + "," + days[i] + "," + std::to_string(y[i]) + "\n";
  }
  const std::string path = ::testing::TempDir() + "/drc_ts_" + std::to_string(::getpid()) + ".csv";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(csv.c_str(), f);
  std::fclose(f);
  CsvOptions options;
  options.column_types = {{"ds", type}, {"unique_id", "string"}};
  auto t = ReadCsv(path, options);
  EXPECT_TRUE(t.ok()) << t.status();
  std::remove(path.c_str());
  return *t;
}

TEST(Resample, MonthEndWithGapsAndUnsortedSeries) {
  auto t = DateTable({"b", "a", "a", "b", "a"},
                     {"2000-03-31", "2000-04-30", "2000-01-31", "2000-01-31", "2000-03-31"},
                     {3, 4, 1, 1, 3});
  for (const char* freq : {"ME", "M"}) {
    auto r = Resample(t, {}, freq);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(Texts(*r, "ds"),
              (std::vector<std::string>{"2000-01-31", "2000-02-29", "2000-03-31", "2000-04-30",
                                        "2000-01-31", "2000-02-29", "2000-03-31"}));
    EXPECT_EQ(Texts(*r, "unique_id"),
              (std::vector<std::string>{"a", "a", "a", "a", "b", "b", "b"}));
    ExpectNear(Column(*r, "y"), {1.0, {}, 3.0, 4.0, 1.0, {}, 3.0});
    EXPECT_EQ(Texts(*r, "is_gap"), (std::vector<std::string>{"false", "true", "false", "false",
                                                             "false", "true", "false"}));
  }
}

TEST(Resample, CalendarFrequencies) {
  struct Case {
    const char* freq;
    std::vector<std::string> in;
    std::vector<std::string> out;
  };
  const std::vector<Case> cases = {
      {"D", {"2000-02-27", "2000-03-01"}, {"2000-02-27", "2000-02-28", "2000-02-29", "2000-03-01"}},
      {"W", {"2000-01-02", "2000-01-16"}, {"2000-01-02", "2000-01-09", "2000-01-16"}},
      {"MS",
       {"1999-11-01", "2000-02-01"},
       {"1999-11-01", "1999-12-01", "2000-01-01", "2000-02-01"}},
      {"QS",
       {"2000-01-01", "2000-10-01"},
       {"2000-01-01", "2000-04-01", "2000-07-01", "2000-10-01"}},
      {"QE", {"2000-03-31", "2000-09-30"}, {"2000-03-31", "2000-06-30", "2000-09-30"}},
      {"YS", {"2000-01-01", "2002-01-01"}, {"2000-01-01", "2001-01-01", "2002-01-01"}},
      {"YE", {"2000-12-31", "2002-12-31"}, {"2000-12-31", "2001-12-31", "2002-12-31"}},
      {"Y", {"1999-12-31", "2000-12-31"}, {"1999-12-31", "2000-12-31"}},
      // Before the epoch, and 1900 is no leap year.
      {"MS", {"1969-11-01", "1970-01-01"}, {"1969-11-01", "1969-12-01", "1970-01-01"}},
      {"ME", {"1900-01-31", "1900-03-31"}, {"1900-01-31", "1900-02-28", "1900-03-31"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.freq);
    auto t = DateTable(std::vector<std::string>(c.in.size(), "s"), c.in,
                       std::vector<double>(c.in.size(), 1.0));
    auto r = Resample(t, {}, c.freq);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(Texts(*r, "ds"), c.out);
  }
}

TEST(Resample, HourlyTimestamps) {
  auto t = DateTable({"s", "s", "s"},
                     {"2000-01-01 22:00:00", "2000-01-02 01:00:00", "2000-01-01 23:00:00"},
                     {1, 4, 2}, "timestamp[s]");
  auto r = Resample(t, {}, "h");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Texts(*r, "ds"),
            (std::vector<std::string>{"2000-01-01 22:00:00", "2000-01-01 23:00:00",
                                      "2000-01-02 00:00:00", "2000-01-02 01:00:00"}));
  ExpectNear(Column(*r, "y"), {1.0, 2.0, {}, 4.0});
  auto dates = DateTable({"s"}, {"2000-01-01"}, {1});
  EXPECT_FALSE(Resample(dates, {}, "h").ok());
}

TEST(Resample, Errors) {
  auto dup = DateTable({"a", "b", "b"}, {"2000-01-31", "2000-01-31", "2000-01-31"}, {1, 2, 3});
  auto r = Resample(dup, {}, "ME");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Resample: series 'b' has duplicate time stamp 2000-01-31");
  auto off = DateTable({"a", "a"}, {"2000-01-31", "2000-02-15"}, {1, 2});
  auto o = Resample(off, {}, "ME");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("2000-02-15"), std::string::npos) << o.status();
  auto unknown = Resample(off, {}, "fortnight");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown frequency 'fortnight'"), std::string::npos);
  // Integer stamps take an integer step.
  auto ints = Resample(MakeTable({"a", "a"}, {0, 6}, {1.0, 2.0}), {}, "3");
  ASSERT_TRUE(ints.ok()) << ints.status();
  ExpectNear(Column(*ints, "ds"), {0.0, 3.0, 6.0});
  // Calendar grids cover std::chrono's years, -32767 to 32767.
  arrow::Date32Builder far_days;
  ASSERT_TRUE(far_days.AppendValues(std::vector<int32_t>{0, 20'000'000}).ok());
  auto far = MakeTable({"a", "a"}, {0, 0}, {1.0, 2.0})
                 ->SetColumn(1, arrow::field("ds", arrow::date32()),
                             std::make_shared<arrow::ChunkedArray>(far_days.Finish().ValueOrDie()))
                 .ValueOrDie();
  auto months = Resample(far, {}, "MS");
  ASSERT_FALSE(months.ok());
  EXPECT_NE(months.status().message().find("outside the years -32767 to 32767"), std::string::npos)
      << months.status();
}

TEST(Resample, MonthStartTimestampsBeforeTheEpochKeepTheirTimeOfDay) {
  auto t =
      DateTable({"s", "s"}, {"1969-11-01 06:30:00", "1970-01-01 06:30:00"}, {1, 3}, "timestamp[s]");
  auto r = Resample(t, {}, "MS");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Texts(*r, "ds"), (std::vector<std::string>{"1969-11-01 06:30:00", "1969-12-01 06:30:00",
                                                       "1970-01-01 06:30:00"}));
  ExpectNear(Column(*r, "y"), {1.0, {}, 3.0});
}

TEST(CarrierSeries, MonthEndFrequencyAndTheStandardSplit) {
  // $DRC_SHARED_DATA, else ../shared/data beside the project root.
  const char* shared = std::getenv("DRC_SHARED_DATA");
  const std::string base =
      shared ? shared
             : (std::filesystem::path(__FILE__).parent_path() / "../../../shared/data").string();
  CsvOptions options;
  options.column_types = {{"ds", "date32"}};
  auto t = ReadCsv(base + "/us_carrier/us_carrier_passenger.csv", options);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ((*t)->num_rows(), 298);
  auto r = Resample(*t, {}, "ME");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->num_rows(), 298);  // monthly end dates without gaps
  auto gaps = (*r)->GetColumnByName("is_gap");
  int64_t gap_count = 0;
  for (int64_t i = 0; i < gaps->length(); ++i) {
    gap_count +=
        std::static_pointer_cast<arrow::BooleanScalar>(gaps->GetScalar(i).ValueOrDie())->value;
  }
  EXPECT_EQ(gap_count, 0);
  auto split = SplitLastH(*t, {}, 24);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->train->num_rows(), 274);
  EXPECT_EQ(split->test->num_rows(), 24);
  EXPECT_EQ(Texts(split->test, "ds").front(), "2022-11-30");
  auto by_time = SplitByTime(*t, {}, "2022-11-01");
  ASSERT_TRUE(by_time.ok()) << by_time.status();
  EXPECT_EQ(by_time->train->num_rows(), 274);
  EXPECT_EQ(by_time->test->num_rows(), 24);
  auto scaler = FitScaler(split->train, {}, ScalerKind::kStandard);
  ASSERT_TRUE(scaler.ok()) << scaler.status();
  auto z = Transform(split->train, {}, *scaler);
  ASSERT_TRUE(z.ok());
  double mean = 0;
  for (const auto& v : Column(*z, "y")) mean += *v;
  EXPECT_NEAR(mean / 274, 0.0, 1e-9);
}

TEST(CheckTimeStamps, NamesTheSeriesAndTheStamp) {
  EXPECT_TRUE(CheckTimeStamps(MakeTable({"a", "b", "a"}, {2, 2, 1}, {1.0, 2.0, 3.0}), {}).ok());
  const Status dup = CheckTimeStamps(MakeTable({"a", "b", "b"}, {1, 5, 5}, {1.0, 2.0, 3.0}), {});
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(dup.message(), "series 'b' has duplicate time stamp 5");
  // Resample reports the same problem under its own name.
  auto dates = DateTable({"a", "a"}, {"2000-01-31", "2000-01-31"}, {1, 2});
  EXPECT_EQ(CheckTimeStamps(dates, {}).message(), "series 'a' has duplicate time stamp 2000-01-31");
  auto r = Resample(dates, {}, "ME");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Resample: series 'a' has duplicate time stamp 2000-01-31");
  const Status missing = CheckTimeStamps(DateTable({"a", "a"}, {"2000-01-31", ""}, {1, 2}), {});
  EXPECT_EQ(missing.message(), "series 'a' has a null time stamp");
  EXPECT_FALSE(CheckTimeStamps(MakeTable({"a"}, {1}, {1.0}), {"id", "ds", "y"}).ok());
}

TEST(FutureStamps, FollowEachSeriesOnItsGrid) {
  // Month ends (through a leap February), per series, in id order; gaps inside a series do not
  // matter, only its first and last stamps.
  auto t = DateTable({"b", "a", "a", "b"}, {"2023-12-31", "2000-01-31", "2000-04-30", "2024-01-31"},
                     {1, 2, 3, 4});
  auto f = FutureStamps(t, {}, "ME", 2);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Texts(*f, "unique_id"), (std::vector<std::string>{"a", "a", "b", "b"}));
  EXPECT_EQ(Texts(*f, "ds"),
            (std::vector<std::string>{"2000-05-31", "2000-06-30", "2024-02-29", "2024-03-31"}));
  EXPECT_EQ((*f)->schema()->field(1)->type()->id(), arrow::Type::DATE32);
  auto quarters = FutureStamps(DateTable({"q"}, {"2001-01-01"}, {1}), {}, "QS", 3);
  ASSERT_TRUE(quarters.ok()) << quarters.status();
  EXPECT_EQ(Texts(*quarters, "ds"),
            (std::vector<std::string>{"2001-04-01", "2001-07-01", "2001-10-01"}));
  // Integer stamps step from the first one.
  auto steps = FutureStamps(MakeTable({"s", "s"}, {3, 10}, {1.0, 2.0}), {}, "7", 2);
  ASSERT_TRUE(steps.ok()) << steps.status();
  EXPECT_EQ(Texts(*steps, "ds"), (std::vector<std::string>{"17", "24"}));
}

TEST(FutureStamps, Errors) {
  auto off = DateTable({"a", "a"}, {"2000-01-31", "2000-02-15"}, {1, 2});
  auto o = FutureStamps(off, {}, "ME", 1);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(),
            "FutureStamps: series 'a' has stamp 2000-02-15, which is not on the 'ME' grid that "
            "starts at 2000-01-31");
  auto month = DateTable({"a"}, {"2000-01-31"}, {1});
  EXPECT_FALSE(FutureStamps(month, {}, "ME", 0).ok());
  EXPECT_FALSE(FutureStamps(month, {}, "fortnight", 1).ok());
  auto dup = FutureStamps(DateTable({"a", "a"}, {"2000-01-31", "2000-01-31"}, {1, 2}), {}, "ME", 1);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "FutureStamps: series 'a' has duplicate time stamp 2000-01-31");
}

// A CSV file under the test's temporary directory; removed by the destructor.
class CsvFile {
 public:
  CsvFile(const std::string& name, const std::string& text)
      : path_(::testing::TempDir() + "/" + std::to_string(::getpid()) + "_" + name) {
    FILE* f = std::fopen(path_.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  ~CsvFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ReadSeries, ReadsAsReadTableDoes) {
  CsvFile csv("good.csv", "unique_id,ds,y\nA,2020-01-31,1\nA,2020-02-29,NA\nB,2020-01-31,3\n");
  auto t = ReadSeries(csv.path());
  ASSERT_TRUE(t.ok()) << t.status();
  auto plain = ReadTable(csv.path());
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE((*t)->Equals(**plain));
  EXPECT_EQ((*t)->GetColumnByName("ds")->type()->id(), arrow::Type::DATE32);
  EXPECT_EQ((*t)->GetColumnByName("y")->type()->id(), arrow::Type::INT64);
}

TEST(ReadSeries, ReadsSeriesIdsAsText) {
  // A CAMELS gauge id looks like a number; its leading zero is part of it.
  CsvFile csv("ids.csv", "unique_id,ds,y\n01022500,2002-01-01,1.5\n01547700,2002-01-01,2\n");
  auto t = ReadSeries(csv.path());
  ASSERT_TRUE(t.ok()) << t.status();
  const auto ids = (*t)->GetColumnByName("unique_id");
  ASSERT_EQ(ids->type()->id(), arrow::Type::STRING);
  EXPECT_EQ(static_cast<const arrow::StringArray&>(*ids->chunk(0)).GetString(0), "01022500");
  EXPECT_EQ((*t)->GetColumnByName("ds")->type()->id(), arrow::Type::DATE32);
}

TEST(ReadSeries, NamesTheLineOfAValueThatIsNotANumber) {
  CsvFile csv("value.csv", "unique_id,ds,y\nA,2020-01-31,1\nA,2020-02-29,x\nA,2020-03-31,3\n");
  auto plain = ReadTable(csv.path());  // Arrow reads the column as text
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ((*plain)->GetColumnByName("y")->type()->id(), arrow::Type::STRING);
  auto t = ReadSeries(csv.path());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message(), csv.path() + ":3:3: column 'y' expects float64, got 'x'");
}

TEST(ReadSeries, NamesTheLineOfABadTimeStamp) {
  CsvFile dates("dates.csv", "unique_id,ds,y\nA,2020-01-31,1\nA,2020-13-31,2\n");
  auto d = ReadSeries(dates.path());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            dates.path() + ":3:2: column 'ds' expects timestamp[s], got '2020-13-31'");
  // Integer stamps: the first one is an integer, so the column should be integers.
  CsvFile steps("steps.csv", "unique_id,ds,y\nA,1,1\nA,2,2\nA,3b,3\n");
  auto s = ReadSeries(steps.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), steps.path() + ":4:2: column 'ds' expects int64, got '3b'");
  // Other columns are not checked, and named columns that are absent are left to the caller.
  CsvFile other("other.csv", "unique_id,ds,y,note\nA,1,1,x\n");
  EXPECT_TRUE(ReadSeries(other.path()).ok());
  EXPECT_TRUE(ReadSeries(other.path(), {"unique_id", "t", "v"}).ok());
}

}  // namespace
}  // namespace drc::data
