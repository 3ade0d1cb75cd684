#include "src/dl/windows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace drc::dl {
namespace {

SeriesData Series(std::vector<float> values, std::vector<int64_t> offsets) {
  return SeriesData{torch::tensor(values), std::move(offsets)};
}

void ExpectRows(const torch::Tensor& t, const std::vector<std::vector<float>>& rows) {
  ASSERT_EQ(t.dim(), 2);
  ASSERT_EQ(t.size(0), static_cast<int64_t>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(t.size(1), static_cast<int64_t>(rows[i].size()));
    for (size_t j = 0; j < rows[i].size(); ++j) {
      EXPECT_FLOAT_EQ(t[i][j].item<float>(), rows[i][j]) << "row " << i << " col " << j;
    }
  }
}

// y = 1..5, input_size 2, horizon 2: padded 1 2 3 4 5 0 0 (mask 1 1 1 1 1 0 0); windows of 4 start
// at 0..3; the one at 3 (4 5 | 0 0) has no target and is dropped.
TEST(Windows, HandWorkedSingleSeries) {
  WindowOptions o;
  o.input_size = 2;
  o.horizon = 2;
  auto ds = WindowedDataset::Make(Series({1, 2, 3, 4, 5}, {0, 5}), o);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->num_windows(), 3);
  ExpectRows(ds->AllWindows(), {{1, 2, 3, 4}, {2, 3, 4, 5}, {3, 4, 5, 0}});
  ExpectRows(ds->AllMasks(), {{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 0}});
  auto last = ds->LastWindows();
  ASSERT_TRUE(last.ok()) << last.status();
  ExpectRows(last->input.insample_y, {{4, 5}});
}

// A second series 7 8 is shorter than input_size + 1: one zero in front (mask 0) gives it the
// window 0 7 | 8.
TEST(Windows, ShortSeriesArePaddedAtTheStart) {
  WindowOptions o;
  o.input_size = 2;
  o.horizon = 1;
  auto ds = WindowedDataset::Make(Series({1, 2, 3, 4, 5, 7, 8}, {0, 5, 7}), o);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ExpectRows(ds->AllWindows(), {{1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {0, 7, 8}});
  ExpectRows(ds->AllMasks(), {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}});
  auto last = ds->LastWindows();
  ASSERT_TRUE(last.ok());
  ExpectRows(last->input.insample_y, {{4, 5}, {7, 8}});
  // A single point has no target: no window at all.
  EXPECT_FALSE(WindowedDataset::Make(Series({7}, {0, 1}), o).ok());
}

TEST(Windows, StartPaddingAndMissingValues) {
  WindowOptions o;
  o.input_size = 3;
  o.horizon = 1;
  o.start_padding = true;  // 0 0 | 1 NaN 3 4 | 0
  auto ds = WindowedDataset::Make(Series({1, NAN, 3, 4}, {0, 4}), o);
  ASSERT_TRUE(ds.ok()) << ds.status();
  // Windows at 0..3: 0 0 1 | NaN (no target: dropped), 0 1 NaN | 3, 1 NaN 3 | 4, NaN 3 4 | 0
  // (dropped).
  ExpectRows(ds->AllWindows(), {{0, 1, 0, 3}, {1, 0, 3, 4}});
  ExpectRows(ds->AllMasks(), {{0, 1, 0, 1}, {1, 0, 1, 1}});
}

TEST(Windows, SamplingIsSeededAndWithoutReplacementWhenEnough) {
  WindowOptions o;
  o.input_size = 2;
  o.horizon = 1;
  std::vector<float> v(20);
  for (int i = 0; i < 20; ++i) v[i] = static_cast<float>(i);
  o.windows_batch_size = 10;  // 18 windows: 10 distinct
  auto a = WindowedDataset::Make(Series(v, {0, 20}), o);
  auto b = WindowedDataset::Make(Series(v, {0, 20}), o);
  ASSERT_TRUE(a.ok() && b.ok());
  std::mt19937_64 ra(7), rb(7);
  auto ba = a->Sample(ra), bb = b->Sample(rb);
  ASSERT_TRUE(ba.ok() && bb.ok());
  EXPECT_TRUE(torch::equal(ba->input.insample_y, bb->input.insample_y));
  std::set<float> firsts;
  for (int i = 0; i < 10; ++i) firsts.insert(ba->input.insample_y[i][0].item<float>());
  EXPECT_EQ(firsts.size(), 10u);
  EXPECT_EQ(ba->outsample_y.sizes(), (std::vector<int64_t>{10, 1}));
  // Target = last input + 1 on this series.
  EXPECT_TRUE(torch::equal(ba->outsample_y.squeeze(1), ba->input.insample_y.select(1, 1) + 1));
  o.windows_batch_size = 50;  // more than 18: with replacement
  auto c = WindowedDataset::Make(Series(v, {0, 20}), o);
  auto bc = c->Sample(ra);
  ASSERT_TRUE(bc.ok());
  EXPECT_EQ(bc->input.insample_y.size(0), 50);
}

TEST(Windows, ScalersFitTheAvailableInputPoints) {
  auto x = torch::tensor({1.0f, 2.0f, 3.0f, 10.0f}).view({1, 4});
  auto all = torch::ones({1, 4});
  auto s = FitWindowScale(ScalerType::kStandard, x, all);
  EXPECT_FLOAT_EQ(s.shift.item<float>(), 4.0f);
  EXPECT_NEAR(s.scale.item<float>(), std::sqrt(12.5f) + 1e-6f, 1e-5);
  // Robust: lower median 2; |x - 2| = 1 0 1 8 -> lower median 1.
  s = FitWindowScale(ScalerType::kRobust, x, all);
  EXPECT_FLOAT_EQ(s.shift.item<float>(), 2.0f);
  EXPECT_NEAR(s.scale.item<float>(), 1.0f + 1e-6f, 1e-6);
  s = FitWindowScale(ScalerType::kMinMax, x, all);
  EXPECT_FLOAT_EQ(s.shift.item<float>(), 1.0f);
  EXPECT_NEAR(s.scale.item<float>(), 9.0f, 1e-5);
  // The masked 10 is ignored; a constant input scales by 1 (+ eps).
  auto m = torch::tensor({1.0f, 1.0f, 1.0f, 0.0f}).view({1, 4});
  s = FitWindowScale(ScalerType::kMinMax, x, m);
  EXPECT_NEAR(s.scale.item<float>(), 2.0f, 1e-5);
  s = FitWindowScale(ScalerType::kStandard, torch::full({1, 3}, 5.0f), torch::ones({1, 3}));
  EXPECT_FLOAT_EQ(s.shift.item<float>(), 5.0f);
  EXPECT_NEAR(s.scale.item<float>(), 1.0f, 1e-5);
  // Inverse of apply.
  s = FitWindowScale(ScalerType::kStandard, x, all);
  EXPECT_TRUE(torch::allclose(InvertScale(ApplyScale(x, s), s), x));
  s = FitWindowScale(ScalerType::kIdentity, x, all);
  EXPECT_TRUE(torch::equal(ApplyScale(x, s), x));
  // RevIN statistics: mean and sqrt(variance + 1e-5) over the available points.
  s = FitWindowScale(ScalerType::kRevIN, x, m);
  EXPECT_FLOAT_EQ(s.shift.item<float>(), 2.0f);
  EXPECT_NEAR(s.scale.item<float>(), std::sqrt(2.0f / 3 + 1e-5f), 1e-6);
  EXPECT_EQ(*ParseScalerType("revin"), ScalerType::kRevIN);
  EXPECT_FALSE(ParseScalerType("zscore").ok());
}

TEST(Windows, MaskedMaeCountsOnlyAvailablePoints) {
  auto y = torch::tensor({1.0f, 2.0f, 3.0f}).view({1, 3});
  auto y_hat = torch::tensor({2.0f, 2.0f, 100.0f}).view({1, 3});
  auto mask = torch::tensor({1.0f, 1.0f, 0.0f}).view({1, 3});
  EXPECT_FLOAT_EQ(MaskedMae(y, y_hat, mask).item<float>(), 0.5f);
}

}  // namespace
}  // namespace drc::dl
