#include "src/dl/hierarchy.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "drc/common/status.h"

namespace drc::dl {
namespace {

// tests/data/hierarchy_S.csv's matrix: total, coast (east + west), then east, north, south, west.
torch::Tensor FourSeriesS() {
  return torch::tensor({1., 1., 1., 1., 1., 0., 0., 1., 1., 0., 0., 0.,
                        0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1.},
                       torch::kFloat64)
      .reshape({6, 4});
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Hierarchy, ReconciliationMatricesAreNfs) {
  const torch::Tensor s = FourSeriesS();
  // NF 3.3's get_bottomup_P, get_mintrace_ols_P and get_mintrace_wls_P on this S (numpy,
  // rational to 15 digits: elevenths and fourteenths).
  const auto ols = torch::tensor({1., 3.,  7.,  -1., -1., -4., 3., -2., -1., 8.,  -3., -1.,
                                  3., -2., -1., -3., 8.,  -1., 1., 3.,  -4., -1., -1., 7.},
                                 torch::kFloat64)
                       .reshape({4, 6}) /
                   11.0;
  const auto wls = torch::tensor({1., 3.,  10., -1., -1., -4., 2., -1., -1., 12., -2., -1.,
                                  2., -1., -1., -2., 12., -1., 1., 3.,  -4., -1., -1., 10.},
                                 torch::kFloat64)
                       .reshape({4, 6}) /
                   14.0;
  EXPECT_TRUE(
      torch::allclose(ReconciliationMatrix(s, Reconciliation::kMinTraceOls), ols, 0, 1e-12));
  EXPECT_TRUE(
      torch::allclose(ReconciliationMatrix(s, Reconciliation::kMinTraceWls), wls, 0, 1e-12));
  const auto bu = ReconciliationMatrix(s, Reconciliation::kBottomUp);
  EXPECT_TRUE(torch::equal(
      bu, torch::cat({torch::zeros({4, 2}, torch::kFloat64), torch::eye(4, torch::kFloat64)}, 1)));
  EXPECT_FALSE(ReconciliationMatrix(s, Reconciliation::kIdentity).defined());
  // Every P reproduces bottom-level forecasts that are coherent already: P S = I.
  for (auto r :
       {Reconciliation::kBottomUp, Reconciliation::kMinTraceOls, Reconciliation::kMinTraceWls}) {
    EXPECT_TRUE(
        torch::allclose(ReconciliationMatrix(s, r).mm(s), torch::eye(4, torch::kFloat64), 0, 1e-12))
        << ReconciliationName(r);
  }
}

TEST(Hierarchy, ReadsHierarchicalForecastsSummingMatrix) {
  // Rows in any order; the bottom series' rows come out in the order of the columns.
  const std::string path = WriteFile("hier_ok.csv",
                                     "unique_id,a,b,c\n"
                                     "a,1,0,0\n"
                                     "ab,1.0,1.0,0.0\n"
                                     "c,0,0,1\n"
                                     "total,1,1,1\n"
                                     "b,0,1,0\n");
  auto h = ReadHierarchy(path);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->series, (std::vector<std::string>{"ab", "total", "a", "b", "c"}));
  EXPECT_EQ(h->bottom(), 3);
  EXPECT_TRUE(torch::equal(
      h->s,
      torch::tensor({1., 1., 0., 1., 1., 1., 1., 0., 0., 0., 1., 0., 0., 0., 1.}, torch::kFloat64)
          .reshape({5, 3})));
  // Numeric-looking ids stay text (leading zeros kept).
  auto gauges = ReadHierarchy(WriteFile("hier_gauges.csv",
                                        "unique_id,01022500,01547700\n"
                                        "00-total,1,1\n"
                                        "01022500,1,0\n"
                                        "01547700,0,1\n"));
  ASSERT_TRUE(gauges.ok()) << gauges.status().ToString();
  EXPECT_EQ(gauges->series, (std::vector<std::string>{"00-total", "01022500", "01547700"}));
}

TEST(Hierarchy, BadMatricesNameTheFileLineAndColumn) {
  auto error = [](const std::string& name, const std::string& text) {
    auto h = ReadHierarchy(WriteFile(name, text));
    EXPECT_FALSE(h.ok()) << name;
    return h.ok() ? std::string() : h.status().ToString();
  };
  EXPECT_NE(error("h1.csv", "unique_id,a,b\nab,1,2\na,1,0\nb,0,1\n").find("h1.csv:2:3"),
            std::string::npos);
  EXPECT_NE(error("h2.csv", "unique_id,a,b\nab,1,1\na,1,0\n").find("bottom series 'b'"),
            std::string::npos);
  EXPECT_NE(error("h3.csv", "unique_id,a,b\nab,1,1\na,1,1\nb,0,1\n").find("h3.csv:3"),
            std::string::npos);
  EXPECT_NE(error("h4.csv", "unique_id,a,b\nnone,0,0\na,1,0\nb,0,1\n").find("sums no bottom"),
            std::string::npos);
  EXPECT_NE(error("h5.csv", "unique_id,a,b\na,1,0\na,1,0\nb,0,1\n").find("has a row already"),
            std::string::npos);
  EXPECT_NE(error("h6.csv", "unique_id,a\na,x\n").find("column 2 ('a')"), std::string::npos);
  EXPECT_NE(error("h7.csv", "unique_id\na\n").find("one column per bottom series"),
            std::string::npos);
  EXPECT_NE(error("h8.csv", "unique_id,a,a\na,1,0\n").find("'a' heads columns 2 and 3"),
            std::string::npos);
  EXPECT_FALSE(ReadHierarchy(::testing::TempDir() + "no_such_matrix.csv").ok());
  EXPECT_FALSE(ParseReconciliation("MinTrace").ok());
  EXPECT_EQ(*ParseReconciliation("MinTraceWLS"), Reconciliation::kMinTraceWls);
}

TEST(Hierarchy, ReconcilerFollowsTheDatasOrder) {
  Hierarchy h{{"total", "coast", "east", "north", "south", "west"}, FourSeriesS()};
  const std::vector<std::string> ids = {"coast", "east", "north", "south", "total", "west"};
  auto sp = ReconcilerFor(h, Reconciliation::kBottomUp, ids);
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  // Base forecasts in the data's order; BottomUp keeps the bottom ones and sums them up.
  const auto base = torch::tensor({100., 1., 2., 3., 1000., 4.}, torch::kFloat64).unsqueeze(1);
  const auto y = sp->mm(base).squeeze(1);
  EXPECT_TRUE(torch::equal(y, torch::tensor({5., 1., 2., 3., 10., 4.}, torch::kFloat64)));
  // MinTrace's forecasts are coherent too: the aggregates are the sums of the bottom series.
  auto ols = ReconcilerFor(h, Reconciliation::kMinTraceOls, ids);
  ASSERT_TRUE(ols.ok());
  const auto z = ols->mm(base).squeeze(1);
  EXPECT_NEAR(z[0].item<double>(), z[1].item<double>() + z[5].item<double>(), 1e-9);
  EXPECT_NEAR(z[4].item<double>(), (z[1] + z[2] + z[3] + z[5]).item<double>(), 1e-9);
  EXPECT_FALSE(ReconcilerFor(h, Reconciliation::kIdentity, ids)->defined());
  auto missing = ReconcilerFor(h, Reconciliation::kBottomUp, {"coast", "east"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("'total' of the summing matrix is not in the data"),
            std::string::npos);
  std::vector<std::string> extra = ids;
  extra.push_back("island");
  auto unknown = ReconcilerFor(h, Reconciliation::kBottomUp, extra);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().ToString().find("'island' of the data has no row"), std::string::npos);
}

TEST(Hierarchy, ReconciledSamplesAreCoherentResampledAndSeeded) {
  Hierarchy h{{"total", "coast", "east", "north", "south", "west"}, FourSeriesS()};
  const std::vector<std::string> ids = {"total", "coast", "east", "north", "south", "west"};
  auto sp = ReconcilerFor(h, Reconciliation::kBottomUp, ids);
  ASSERT_TRUE(sp.ok());
  // Series k's samples at step t: 10 k + t + the K levels' values 0 .. K - 1 (sorted, as sample
  // quantiles are).
  const int64_t n = 6, steps = 3, k = 200;
  auto samples = torch::arange(k, torch::kFloat32).expand({n, steps, k}).clone();
  samples += (torch::arange(n, torch::kFloat32) * 10).view({n, 1, 1});
  samples += torch::arange(steps, torch::kFloat32).view({1, steps, 1});
  const std::vector<double> q = {0.05, 0.5, 0.95};
  const ReconciledForecast a = ReconcileSamples(*sp, samples, q, 7);
  ASSERT_EQ(a.mean.sizes(), (std::vector<int64_t>{n, steps}));
  ASSERT_EQ(a.quantiles.sizes(), (std::vector<int64_t>{n, steps, 3}));
  // Coherent means: total = east + north + south + west, coast = east + west.
  const auto m = a.mean.to(torch::kFloat64);
  EXPECT_TRUE(torch::allclose(m[0], m[2] + m[3] + m[4] + m[5], 1e-6, 1e-3));
  EXPECT_TRUE(torch::allclose(m[1], m[2] + m[5], 1e-6, 1e-3));
  // A bottom series' samples are its own, resampled: their mean near the base mean (99.5 +
  // 10 k + t; the standard error of 200 draws of a uniform over 200 values is ~4), its
  // quantiles ordered and within the base range.
  for (int64_t s = 2; s < n; ++s) {
    for (int64_t t = 0; t < steps; ++t) {
      const double base_mean = 99.5 + 10.0 * s + t;
      EXPECT_NEAR(m[s][t].item<double>(), base_mean, 16.0);
      const auto qs = a.quantiles[s][t];
      EXPECT_LE(qs[0].item<float>(), qs[1].item<float>());
      EXPECT_LE(qs[1].item<float>(), qs[2].item<float>());
      EXPECT_GE(qs[0].item<float>(), 10.0f * s + t);
      EXPECT_LE(qs[2].item<float>(), 10.0f * s + t + k - 1);
    }
  }
  // The aggregate sums independent draws: its spread is wider than a bottom series'.
  const auto width = a.quantiles.select(2, 2) - a.quantiles.select(2, 0);
  EXPECT_GT(width[0].mean().item<float>(), 1.5f * width[2].mean().item<float>());
  // The same seed gives the same forecast; another seed another.
  const ReconciledForecast b = ReconcileSamples(*sp, samples, q, 7);
  const ReconciledForecast c = ReconcileSamples(*sp, samples, q, 8);
  EXPECT_TRUE(torch::equal(a.mean, b.mean));
  EXPECT_FALSE(torch::equal(a.mean, c.mean));
  EXPECT_FALSE(ReconcileSamples(*sp, samples, {}, 7).quantiles.defined());
  EXPECT_EQ(SampleLevels(4), (std::vector<double>{0.0, 0.25, 0.5, 0.75}));
  // Samples that are all 3 give 3 at every level, the ends included.
  Hierarchy one{{"x"}, torch::ones({1, 1}, torch::kFloat64)};
  auto identity = ReconcilerFor(one, Reconciliation::kBottomUp, {"x"});
  ASSERT_TRUE(identity.ok());
  const ReconciledForecast r =
      ReconcileSamples(*identity, torch::full({1, 1, 5}, 3.0f), {0.0, 0.3, 1.0}, 1);
  EXPECT_TRUE(torch::equal(r.quantiles, torch::full({1, 1, 3}, 3.0f)));
  EXPECT_FLOAT_EQ(r.mean.item<float>(), 3.0f);
}

}  // namespace
}  // namespace drc::dl
