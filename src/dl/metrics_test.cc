#include "drc/dl/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace drc::dl {
namespace {

const std::vector<double> kY = {1, 2, 4};
const std::vector<double> kHat = {2, 2, 2};  // errors 1, 0, 2

TEST(Metrics, HandComputedValues) {
  EXPECT_DOUBLE_EQ(*Mae(kY, kHat), 1.0);
  EXPECT_DOUBLE_EQ(*Mse(kY, kHat), 5.0 / 3);
  EXPECT_DOUBLE_EQ(*Rmse(kY, kHat), std::sqrt(5.0 / 3));
  EXPECT_DOUBLE_EQ(*Mape(kY, kHat), 100.0 * (1.0 + 0.0 + 0.5) / 3);           // 50 %
  EXPECT_DOUBLE_EQ(*Smape(kY, kHat), 100.0 * (2.0 / 3 + 0.0 + 4.0 / 6) / 3);  // 44.4 %
  // Seasonal naive errors of {1, 3, 2, 4} with season 1: 2, 1, 2 (mean 5/3).
  EXPECT_DOUBLE_EQ(*Mase(kY, kHat, std::vector<double>{1, 3, 2, 4}, 1), 1.0 / (5.0 / 3));
  // NSE: sum of squared errors 1, spread of y around its mean 2 -> 0.5.
  EXPECT_DOUBLE_EQ(*Nse(std::vector<double>{1, 2, 3}, std::vector<double>{1, 2, 4}), 0.5);
  // KGE: y_hat = 2 y: r = 1, alpha = 2, beta = 2 -> 1 - sqrt(2).
  EXPECT_NEAR(*Kge(std::vector<double>{1, 2, 3}, std::vector<double>{2, 4, 6}),
              1.0 - std::sqrt(2.0), 1e-12);
}

// NSE and KGE as NeuralHydrology's evaluation uses them.
TEST(Metrics, NseAndKgeHydrologyCases) {
  const std::vector<double> y = {1, 2, 4, 7};
  // A perfect simulation: NSE 1, KGE 1 (r = alpha = beta = 1).
  EXPECT_DOUBLE_EQ(*Nse(y, y), 1.0);
  EXPECT_DOUBLE_EQ(*Kge(y, y), 1.0);
  // The mean of y (3.5) as the simulation: NSE 0; KGE undefined (no variance).
  const std::vector<double> mean(4, 3.5);
  EXPECT_DOUBLE_EQ(*Nse(y, mean), 0.0);
  EXPECT_FALSE(Kge(y, mean).ok());
  // y = {1, 2, 3}, sim = {1, 3, 2}: deviations (-1, 0, 1) and (-1, 1, 0): cov 1, variances 2,
  // so r = 0.5, alpha = 1, beta = 1 -> KGE 0.5; squared errors 0 + 1 + 1 = 2 over 2 -> NSE 0.
  EXPECT_NEAR(*Kge(std::vector<double>{1, 2, 3}, std::vector<double>{1, 3, 2}), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(*Nse(std::vector<double>{1, 2, 3}, std::vector<double>{1, 3, 2}), 0.0);
  // sim = y + 1: r = 1, alpha = 1, beta = 3 / 2 -> KGE 0.5; NSE 1 - 3 / 2 = -0.5. A missing
  // observation (NaN) is skipped.
  const double nan = std::nan("");
  EXPECT_NEAR(*Kge(std::vector<double>{1, nan, 2, 3}, std::vector<double>{2, 9, 3, 4}), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(*Nse(std::vector<double>{1, nan, 2, 3}, std::vector<double>{2, 9, 3, 4}), -0.5);
}

TEST(Metrics, SkipsNaNPairsAndZeroDenominators) {
  const double nan = std::nan("");
  EXPECT_DOUBLE_EQ(*Mae(std::vector<double>{1, nan, 3}, std::vector<double>{2, 5, nan}), 1.0);
  // y = 0 has no percentage error: only the second point counts.
  EXPECT_DOUBLE_EQ(*Mape(std::vector<double>{0, 4}, std::vector<double>{1, 3}), 25.0);
  // sMAPE skips 0 / 0.
  EXPECT_DOUBLE_EQ(*Smape(std::vector<double>{0, 1}, std::vector<double>{0, 3}), 100.0);
}

TEST(Metrics, RejectsBadInput) {
  auto r = Mae(std::vector<double>{1, 2}, std::vector<double>{1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("y has 2 values, y_hat 1"), std::string::npos);
  EXPECT_FALSE(Mape(std::vector<double>{0}, std::vector<double>{1}).ok());
  EXPECT_FALSE(Nse(std::vector<double>{2, 2}, std::vector<double>{1, 3}).ok());
  EXPECT_FALSE(Mase(kY, kHat, std::vector<double>{1, 1, 1}, 1).ok());
  EXPECT_FALSE(Mase(kY, kHat, std::vector<double>{1, 2}, 0).ok());
}

// Bounds count as inside; NaN points are skipped; crossed bounds cover nothing (MQLoss's
// quantiles are forecast one by one and may cross, as NF's); unequal lengths are errors.
TEST(Metrics, CoverageCountsPointsInsideTheInterval) {
  const double nan = std::nan("");
  const std::vector<double> y = {1, 5, 3, 10, nan};
  const std::vector<double> lo = {0, 5, 4, 2, 0};
  const std::vector<double> hi = {2, 6, 8, 9, 1};
  EXPECT_DOUBLE_EQ(*Coverage(y, lo, hi), 0.5);  // 1 in [0, 2], 5 in [5, 6]; 3 and 10 outside
  // 2 in [0, 2]; [3, 1] is crossed, and 2 is not inside it (nor is 2 inside [2.5, 1.5]).
  EXPECT_DOUBLE_EQ(*Coverage(std::vector<double>{2, 2, 2}, std::vector<double>{0, 3, 2.5},
                             std::vector<double>{2, 1, 1.5}),
                   1.0 / 3);
  EXPECT_FALSE(Coverage(y, lo, std::vector<double>{1}).ok());
  EXPECT_FALSE(
      Coverage(std::vector<double>{nan}, std::vector<double>{0}, std::vector<double>{1}).ok());
}

}  // namespace
}  // namespace drc::dl
