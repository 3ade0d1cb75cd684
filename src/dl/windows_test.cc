#include "src/dl/windows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

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
  torch::manual_seed(7);  // NF's draws come from libtorch's generator
  auto ba = a->Sample(ra);
  torch::manual_seed(7);
  auto bb = b->Sample(rb);
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

// Series k counts 0, 1, ... from 1000 k, so a window's last input point, which is always one of
// the series' own, names the series and the window's start (negative when the window starts in
// the front padding).
SeriesData Counting(const std::vector<int64_t>& lengths) {
  std::vector<float> v;
  std::vector<int64_t> offsets = {0};
  for (size_t k = 0; k < lengths.size(); ++k) {
    for (int64_t i = 0; i < lengths[k]; ++i) v.push_back(static_cast<float>(1000 * k + i));
    offsets.push_back(static_cast<int64_t>(v.size()));
  }
  return Series(v, offsets);
}

using SeriesStart = std::pair<int64_t, int64_t>;

// The series and start of each of `windows` [W, L + H].
std::vector<SeriesStart> SeriesStarts(const torch::Tensor& windows, int input_size) {
  std::vector<SeriesStart> out;
  for (int64_t i = 0; i < windows.size(0); ++i) {
    const auto last = static_cast<int64_t>(windows[i][input_size - 1].item<float>());
    out.emplace_back(last / 1000, last % 1000 - (input_size - 1));
  }
  return out;
}

// The windows NF 3.3 draws at seed 1: the series and start of the first few of each training
// step's w_idxs, as bench/peers/nf_train_draws.py records them from NF's training_step (its
// arguments in the comments below).
TEST(Windows, DrawsAreNfs) {
  auto draws = [](const std::vector<int64_t>& lengths, int input_size, int horizon, int steps,
                  int shown) {
    WindowOptions o;
    o.input_size = input_size;
    o.horizon = horizon;
    auto ds = WindowedDataset::Make(Counting(lengths), o);
    EXPECT_TRUE(ds.ok()) << ds.status();
    std::vector<std::vector<SeriesStart>> out;
    if (!ds.ok()) return out;
    std::mt19937_64 unused(0);
    torch::manual_seed(1);  // as NF's on_fit_start (the trainer does it)
    for (int s = 0; s < steps; ++s) {
      auto batch = ds->Sample(unused);
      EXPECT_TRUE(batch.ok()) << batch.status();
      if (!batch.ok()) return out;
      EXPECT_EQ(batch->input.insample_y.size(0), 1024);
      auto starts = SeriesStarts(batch->input.insample_y.slice(0, 0, shown), input_size);
      out.push_back(starts);
    }
    return out;
  };
  // The carrier series' training part (274 points, h 24, input_size 24: 250 windows), three
  // steps: `nf_train_draws.py 274 3 24 24`.
  EXPECT_EQ(draws({274}, 24, 24, 3, 5), (std::vector<std::vector<SeriesStart>>{
                                            {{0, 13}, {0, 63}, {0, 241}, {0, 91}, {0, 9}},
                                            {{0, 195}, {0, 90}, {0, 66}, {0, 160}, {0, 148}},
                                            {{0, 27}, {0, 157}, {0, 203}, {0, 103}, {0, 19}}}));
  // Three series of 60 points in one batch (h 5, input_size 10), five steps: NF's batch takes
  // its series in the order of its data loader's sampler ([0 1 2], [0 1 2], [2 1 0], [1 2 0],
  // [1 0 2]), which orders the windows it draws from. `nf_train_draws.py 60,60,60 5 10 5`.
  EXPECT_EQ(draws({60, 60, 60}, 10, 5, 5, 5),
            (std::vector<std::vector<SeriesStart>>{{{0, 13}, {0, 13}, {0, 41}, {0, 41}, {1, 9}},
                                                   {{1, 45}, {0, 40}, {0, 16}, {2, 10}, {1, 48}},
                                                   {{2, 27}, {2, 7}, {0, 3}, {2, 3}, {2, 19}},
                                                   {{2, 22}, {0, 30}, {1, 12}, {1, 8}, {0, 33}},
                                                   {{2, 47}, {1, 5}, {0, 43}, {1, 41}, {0, 23}}}));
  // 40 series of 40-79 points: epochs of two batches (32 series, then 8), the first batch's
  // 1830 windows more than the 1024 drawn (randperm), the second's 465 fewer (randint); the
  // shorter series' windows that start in their front padding (negative starts) are drawn too.
  // `nf_train_draws.py 40,47,54,...,73 4 10 5` (lengths 40 + 7 k mod 40).
  std::vector<int64_t> lengths;
  for (int k = 0; k < 40; ++k) lengths.push_back(40 + (7 * k) % 40);
  EXPECT_EQ(draws(lengths, 10, 5, 4, 8),
            (std::vector<std::vector<SeriesStart>>{
                {{21, 20}, {0, -5}, {4, 39}, {26, -4}, {2, 1}, {27, 33}, {31, 11}, {28, 52}},
                {{9, 7}, {39, 57}, {39, 18}, {35, 16}, {3, 32}, {16, 22}, {3, 10}, {3, 4}},
                {{12, 31}, {15, -7}, {27, 2}, {8, 18}, {35, 26}, {15, 34}, {14, 18}, {4, 51}},
                {{34, 42}, {26, 19}, {9, 25}, {23, 19}, {34, 15}, {23, -4}, {39, 48}, {17, 46}}}));
}

// NF pads each series at the front to the longest, and its windows start step_size apart from
// the front of that padding: a shorter series has windows that start before its first point
// (as long as one input point is its own), on a grid that depends on its length. The windows of
// NF 3.3 (`nf_train_draws.py 20,27,34 1 10 5 3`: all of them): 22, where the series alone give 9.
TEST(Windows, FrontPaddingIsNfs) {
  WindowOptions o;
  o.input_size = 10;
  o.horizon = 5;
  o.step_size = 3;
  auto ds = WindowedDataset::Make(Counting({20, 27, 34}), o);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(SeriesStarts(ds->AllWindows(), o.input_size),
            (std::vector<SeriesStart>{{0, -8}, {0, -5}, {0, -2}, {0, 1}, {0, 4}, {0, 7},
                                      {1, -7}, {1, -4}, {1, -1}, {1, 2}, {1, 5}, {1, 8},
                                      {1, 11}, {1, 14}, {2, 0},  {2, 3}, {2, 6}, {2, 9},
                                      {2, 12}, {2, 15}, {2, 18}, {2, 21}}));
  // A rank that holds the 20-point series alone, told the panel's longest is 14 points longer,
  // has the same windows.
  o.longer_elsewhere = 14;
  auto alone = WindowedDataset::Make(Counting({20}), o);
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ(SeriesStarts(alone->AllWindows(), o.input_size),
            (std::vector<SeriesStart>{{0, -8}, {0, -5}, {0, -2}, {0, 1}, {0, 4}, {0, 7}}));
  o.longer_elsewhere = 0;
  // The 40-series panel above: NF has 2295 windows (1830 + 465 in each epoch's two batches).
  std::vector<int64_t> lengths;
  for (int k = 0; k < 40; ++k) lengths.push_back(40 + (7 * k) % 40);
  o.step_size = 1;
  auto panel = WindowedDataset::Make(Counting(lengths), o);
  ASSERT_TRUE(panel.ok()) << panel.status();
  EXPECT_EQ(panel->num_windows(), 2295);
}

// Multivariate windows (WindowOptions::multivariate): A = 1..5 and B = 11..13, input 2, horizon
// 2. The series end together, so B is padded with two zeros at the front: A 1 2 3 4 5 0 0, B 0 0
// 11 12 13 0 0. A position is usable when some series has an input point and some a horizon
// point: 0, 1 and 2 (at 3 both horizons are padding). Rows are window-major, one per series.
TEST(Windows, MultivariateWindowsHoldEverySeries) {
  WindowOptions o;
  o.input_size = 2;
  o.horizon = 2;
  o.multivariate = true;
  o.windows_batch_size = 2;
  o.nf_draws = false;
  auto ds = WindowedDataset::Make(Series({1, 2, 3, 4, 5, 11, 12, 13}, {0, 5, 8}), o);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->num_series(), 2);
  EXPECT_EQ(ds->num_windows(), 6);
  const std::vector<std::vector<float>> windows = {
      {1, 2, 3, 4}, {0, 0, 11, 12}, {2, 3, 4, 5}, {0, 11, 12, 13}, {3, 4, 5, 0}, {11, 12, 13, 0}};
  ExpectRows(ds->AllWindows(), windows);
  ExpectRows(ds->AllMasks(),
             {{1, 1, 1, 1}, {0, 0, 1, 1}, {1, 1, 1, 1}, {0, 1, 1, 1}, {1, 1, 1, 0}, {1, 1, 1, 0}});
  auto last = ds->LastWindows();
  ASSERT_TRUE(last.ok()) << last.status();
  ExpectRows(last->input.insample_y, {{4, 5}, {12, 13}});
  // A step draws 2 of the 3 positions, without replacement, each with both series, in the
  // epoch's series order; every step is an epoch, so the order changes between steps.
  std::mt19937_64 rng(7);
  std::set<std::string> orders;
  for (int step = 0; step < 20; ++step) {
    auto batch = ds->Sample(rng);
    ASSERT_TRUE(batch.ok()) << batch.status();
    const torch::Tensor y = torch::cat({batch->input.insample_y, batch->outsample_y}, 1);
    ASSERT_EQ(y.size(0), 4);
    std::set<int> positions;
    for (int w = 0; w < 2; ++w) {
      std::vector<std::vector<float>> rows;
      for (int r = 0; r < 2; ++r) {
        const torch::Tensor row = y[2 * w + r].contiguous();
        rows.emplace_back(row.data_ptr<float>(), row.data_ptr<float>() + 4);
      }
      int found = -1;
      for (int p = 0; p < 3; ++p) {
        const auto &a = windows[2 * p], &b = windows[2 * p + 1];
        if ((rows[0] == a && rows[1] == b) || (rows[0] == b && rows[1] == a)) found = p;
      }
      if (found >= 0) orders.insert(rows[0] == windows[2 * found] ? "AB" : "BA");
      ASSERT_GE(found, 0) << "step " << step << ": a window mixes positions";
      positions.insert(found);
    }
    EXPECT_EQ(positions.size(), 2u) << "step " << step;
  }
  EXPECT_EQ(orders.size(), 2u);  // both series orders were drawn
  // Validation over the last 2 points: NF's window of the last 4, a row per series (horizons A's
  // 4 5, B's 12 13); over the last 3, the position before it too, first.
  auto val = ds->ValidationWindows(2);
  ASSERT_TRUE(val.ok()) << val.status();
  ExpectRows(torch::cat({val->input.insample_y, val->outsample_y}, 1), {windows[2], windows[3]});
  ExpectRows(val->outsample_mask, {{1, 1}, {1, 1}});
  val = ds->ValidationWindows(3);
  ASSERT_TRUE(val.ok()) << val.status();
  ExpectRows(torch::cat({val->input.insample_y, val->outsample_y}, 1),
             {windows[0], windows[1], windows[2], windows[3]});
  // A shard takes every shard_count-th position, with both series.
  o.shard_count = 2;
  o.shard_rank = 1;
  auto shard = WindowedDataset::Make(Series({1, 2, 3, 4, 5, 11, 12, 13}, {0, 5, 8}), o);
  ASSERT_TRUE(shard.ok()) << shard.status();
  ExpectRows(shard->AllWindows(), {windows[2], windows[3]});
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

// Exogenous variables ride along with y: two series (1..6 and 11..15) with a future variable
// f = 100 * y, a historic one h = -y and a static one (7, 8). Input 2, horizon 2.
TEST(Windows, ExogenousVariablesFollowTheirWindows) {
  SeriesData whole = Series({1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15}, {0, 6, 11});
  whole.exog = torch::stack({whole.values * 100, -whole.values}, 1);
  whole.futr = 1;
  whole.statics = torch::tensor({7.0f, 8.0f}).unsqueeze(1);
  // The last 2 points of each series are the forecast's horizon: their f goes to next_futr.
  SeriesData train = DropLast(whole, 2);
  ASSERT_EQ(train.offsets, (std::vector<int64_t>{0, 4, 7}));
  ASSERT_TRUE(train.next_futr.defined());
  EXPECT_TRUE(torch::equal(train.next_futr,
                           torch::tensor({500.0f, 600.0f, 1400.0f, 1500.0f}).view({2, 2, 1})));
  WindowOptions o;
  o.input_size = 2;
  o.horizon = 2;
  auto ds = WindowedDataset::Make(train, o);
  ASSERT_TRUE(ds.ok()) << ds.status();
  // Training windows: 1 2 | 3 4, 2 3 | 4 0, 0 11 | 12 13 (the shorter series' front padding,
  // as NF's) and 11 12 | 13 0, drawn 1024 times.
  std::mt19937_64 rng(1);
  auto batch = ds->Sample(rng);
  ASSERT_TRUE(batch.ok()) << batch.status();
  const auto& in = batch->input;
  ASSERT_EQ(in.futr_exog.sizes(), (std::vector<int64_t>{in.insample_y.size(0), 4, 1}));
  ASSERT_EQ(in.hist_exog.sizes(), (std::vector<int64_t>{in.insample_y.size(0), 2, 1}));
  ASSERT_EQ(in.stat_exog.sizes(), (std::vector<int64_t>{in.insample_y.size(0), 1}));
  for (int64_t b = 0; b < in.insample_y.size(0); ++b) {
    const float last_input = in.insample_y[b][1].item<float>();
    // f over the input and the horizon: 100 * y where y is there, 0 in the end padding.
    for (int64_t t = 0; t < 2; ++t) {
      EXPECT_FLOAT_EQ(in.futr_exog[b][t][0].item<float>(), 100 * in.insample_y[b][t].item<float>());
      EXPECT_FLOAT_EQ(in.hist_exog[b][t][0].item<float>(), -in.insample_y[b][t].item<float>());
    }
    for (int64_t t = 0; t < 2; ++t) {
      const float y = batch->outsample_y[b][t].item<float>();
      const bool there = batch->outsample_mask[b][t].item<float>() > 0;
      EXPECT_FLOAT_EQ(in.futr_exog[b][2 + t][0].item<float>(), there ? 100 * y : 0.0f);
    }
    EXPECT_FLOAT_EQ(in.stat_exog[b][0].item<float>(), last_input > 10 ? 8.0f : 7.0f);
  }
  // The forecast from each end reads the held-out points' f over its horizon.
  auto last = ds->LastWindows();
  ASSERT_TRUE(last.ok()) << last.status();
  ExpectRows(last->input.insample_y, {{3, 4}, {12, 13}});
  ExpectRows(last->input.futr_exog.squeeze(2), {{300, 400, 500, 600}, {1200, 1300, 1400, 1500}});
  ExpectRows(last->input.hist_exog.squeeze(2), {{-3, -4}, {-12, -13}});
  ExpectRows(last->input.stat_exog, {{7}, {8}});
  // Without those values the forecast cannot be made, and says so.
  SeriesData unknown = train;
  unknown.next_futr = torch::Tensor();
  auto no_future = WindowedDataset::Make(unknown, o);
  ASSERT_TRUE(no_future.ok()) << no_future.status();
  auto refused = no_future->LastWindows();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("future exogenous"), std::string::npos)
      << refused.status();
}

// Each exogenous variable is scaled by its own statistics over the window's available input
// points (NF's TemporalNorm over y and the exogenous columns, with y's mask).
TEST(Windows, ExogenousVariablesAreScaledPerWindowAndVariable) {
  // y 1 NaN 3 | 4; f 10 1000 30 | 40: the missing y's f (1000) is left out of f's statistics.
  SeriesData s = Series({1, NAN, 3, 4}, {0, 4});
  s.exog = torch::tensor({10.0f, 1000.0f, 30.0f, 40.0f}).unsqueeze(1);
  s.futr = 1;
  WindowOptions o;
  o.input_size = 3;
  o.horizon = 1;
  o.scaler = ScalerType::kStandard;
  auto ds = WindowedDataset::Make(s, o);
  ASSERT_TRUE(ds.ok()) << ds.status();
  std::mt19937_64 rng(1);
  auto batch = ds->Sample(rng, /*merge_repeats=*/true);  // its one window, drawn 1024 times
  ASSERT_TRUE(batch.ok()) << batch.status();
  // f's mean over the available inputs is 20 and its population std 10.
  const float scale = 10 + 1e-6f;
  ExpectRows(batch->input.futr_exog.squeeze(2),
             {{-10 / scale, 980 / scale, 10 / scale, 20 / scale}});
  // y's own statistics are 2 and 1.
  EXPECT_NEAR(batch->input.scale.shift.item<float>(), 2, 1e-6);
  // Missing exogenous values are refused.
  s.exog[1][0] = NAN;
  EXPECT_FALSE(WindowedDataset::Make(s, o).ok());
}

}  // namespace
}  // namespace drc::dl
