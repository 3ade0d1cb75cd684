#include "src/dl/losses.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

namespace drc::dl {
namespace {

double Loss(const std::string& name, const torch::Tensor& y, const torch::Tensor& y_hat,
            const torch::Tensor& w) {
  auto loss = ParsePointLoss(name);
  EXPECT_TRUE(loss.ok()) << loss.status();
  return ComputePointLoss(*loss, y, y_hat, w).item<double>();
}

// NF's formulas by hand. Errors y - y_hat: -1, 0, 3 | -1, 2, 0; weights 1, 1, 1 | 1, 0, 2 (sum
// 6), so the point with error 2 does not count and the last counts twice.
TEST(Losses, NfsFormulasByHand) {
  auto y = torch::tensor({{1.0, -2.0, 4.0}, {0.0, 3.0, 5.0}});
  auto y_hat = torch::tensor({{2.0, -2.0, 1.0}, {1.0, 1.0, 5.0}});
  auto w = torch::tensor({{1.0, 1.0, 1.0}, {1.0, 0.0, 2.0}});
  EXPECT_NEAR(Loss("MAE", y, y_hat, w), (1 + 0 + 3 + 1) / 6.0, 1e-6);
  EXPECT_NEAR(Loss("MSE", y, y_hat, w), (1 + 0 + 9 + 1) / 6.0, 1e-6);
  EXPECT_NEAR(Loss("RMSE", y, y_hat, w), std::sqrt(11 / 6.0), 1e-6);
  // |e| / |y|, 0 where y is 0: 1/1, 0/2, 3/4, (1/0 -> 0), 0/5.
  EXPECT_NEAR(Loss("MAPE", y, y_hat, w), (1 + 0 + 0.75 + 0) / 6.0, 1e-6);
  // 2 |e| / (|y| + |y_hat|): 2/3, 0, 6/5, 2/1, 0.
  EXPECT_NEAR(Loss("SMAPE", y, y_hat, w), (2 / 3.0 + 0 + 1.2 + 2 + 0) / 6.0, 1e-6);
  // Huber, delta 1: e^2 / 2 within 1, |e| - 1/2 beyond: 0.5, 0, 2.5, 0.5, 0.
  EXPECT_NEAR(Loss("HuberLoss", y, y_hat, w), 3.5 / 6.0, 1e-6);
  // delta 2: 0.5, 0, 2 * (3 - 1) = 4, 0.5, 0.
  EXPECT_NEAR(Loss("HuberLoss(2)", y, y_hat, w), 5.0 / 6.0, 1e-6);
  // Pinball at q = 0.9: max(q e, (q - 1) e): 0.1, 0, 2.7, 0.1, 0.
  EXPECT_NEAR(Loss("QuantileLoss(0.9)", y, y_hat, w), 2.9 / 6.0, 1e-6);
  // A NaN where the weight is 0 does not spread; no weight at all gives 0.
  auto holed = y_hat.clone();
  holed[1][1] = std::nan("");
  EXPECT_NEAR(Loss("MSE", y, holed, w), 11 / 6.0, 1e-6);
  EXPECT_EQ(Loss("RMSE", y, y_hat, torch::zeros_like(w)), 0.0);
  // Without weights, every point counts once.
  EXPECT_NEAR(Loss("MAE", y, y_hat, torch::Tensor()), (1 + 0 + 3 + 1 + 2 + 0) / 6.0, 1e-6);
}

TEST(Losses, NamesAreNfsClasses) {
  for (const char* name :
       {"MAE", "MSE", "RMSE", "MAPE", "SMAPE", "HuberLoss(0.5)", "QuantileLoss(0.9)"}) {
    auto loss = ParsePointLoss(name);
    ASSERT_TRUE(loss.ok()) << name << ": " << loss.status();
    EXPECT_EQ(loss->Name(), name);
  }
  EXPECT_EQ(ParsePointLoss("HuberLoss")->Name(), "HuberLoss(1)");
  EXPECT_FALSE(ParsePointLoss("RMSE")->IsMean());
  EXPECT_TRUE(ParsePointLoss("MSE")->IsMean());
  for (const char* bad : {"mae", "Huber", "", "QuantileLoss", "QuantileLoss(1)", "QuantileLoss(0)",
                          "HuberLoss(0)", "HuberLoss()", "MSE(2)", "QuantileLoss(0.5",
                          "QuantileLoss(x)", "HuberLoss(nan)", "MQLoss"}) {
    auto loss = ParsePointLoss(bad);
    ASSERT_FALSE(loss.ok()) << bad;
    EXPECT_NE(loss.status().message().find("expected MAE, MSE, RMSE, MAPE, SMAPE, HuberLoss"),
              std::string::npos)
        << loss.status();
  }
}

}  // namespace
}  // namespace drc::dl
