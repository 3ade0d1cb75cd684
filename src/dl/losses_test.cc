#include "src/dl/losses.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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
  // NF's keywords too, as NF code writes them.
  EXPECT_EQ(ParsePointLoss("HuberLoss(delta=0.5)")->Name(), "HuberLoss(0.5)");
  EXPECT_EQ(ParsePointLoss("QuantileLoss(q=0.9)")->Name(), "QuantileLoss(0.9)");
  EXPECT_FALSE(ParsePointLoss("RMSE")->IsMean());
  EXPECT_TRUE(ParsePointLoss("MSE")->IsMean());
  for (const char* bad : {"mae", "Huber", "", "QuantileLoss", "QuantileLoss(1)", "QuantileLoss(0)",
                          "HuberLoss(0)", "HuberLoss()", "MSE(2)", "QuantileLoss(0.5",
                          "QuantileLoss(x)", "HuberLoss(nan)", "MQLoss()", "HuberLoss(inf)",
                          "HuberLoss(q=0.5)", "QuantileLoss(delta=0.5)", "QuantileLoss(q=)"}) {
    auto loss = ParsePointLoss(bad);
    ASSERT_FALSE(loss.ok()) << bad;
    EXPECT_NE(loss.status().message().find("expected MAE, MSE, RMSE, MAPE, SMAPE, MASE(M)"),
              std::string::npos)
        << loss.status();
  }
}

// NF's MASE(seasonality): |y - y_hat| over each window's mean absolute difference at that lag of
// its input, 0 where that is 0, averaged over the points with weight; NF 3.3's values (0.25 at
// lag 2, 0.2222 at lag 1, the second window's flat input giving 0). It needs the input, longer
// than the lag.
TEST(Losses, MaseIsNfs) {
  auto y = torch::tensor({{1.0, 2.0, 3.0}, {0.0, 5.0, -1.0}});
  auto y_hat = torch::tensor({{1.5, 0.0, 3.0}, {1.0, 4.0, 1.0}});
  auto insample = torch::tensor({{1.0, 3.0, 2.0, 6.0, 4.0}, {2.0, 2.0, 2.0, 2.0, 2.0}});
  auto w = torch::tensor({{1.0, 1.0, 0.0}, {1.0, 1.0, 1.0}});
  auto mase = [&](const std::string& text) {
    auto loss = ParsePointLoss(text);
    EXPECT_TRUE(loss.ok()) << loss.status();
    return ComputePointLoss(*loss, y, y_hat, w, insample).item<double>();
  };
  EXPECT_NEAR(mase("MASE(2)"), 0.25, 1e-6);
  EXPECT_NEAR(mase("MASE(seasonality=1)"), 0.222222238779068, 1e-6);
  EXPECT_EQ(ParsePointLoss("MASE(seasonality=12)")->Name(), "MASE(12)");
  EXPECT_EQ(ParsePointLoss("MASE(12)")->seasonality, 12);
  EXPECT_THROW(ComputePointLoss(*ParsePointLoss("MASE(5)"), y, y_hat, w, insample),
               std::invalid_argument);
  EXPECT_THROW(ComputePointLoss(*ParsePointLoss("MASE(1)"), y, y_hat, w), std::invalid_argument);
  for (const char* bad : {"MASE", "MASE()", "MASE(0)", "MASE(1.5)", "MASE(m=2)"}) {
    auto loss = ParsePointLoss(bad);
    ASSERT_FALSE(loss.ok()) << bad;
    EXPECT_NE(loss.status().message().find("MASE(M) with M a whole number >= 1"), std::string::npos)
        << loss.status();
  }
}

// NF's HuberQLoss: q * huber(max(y - y_hat, 0)) + (1 - q) * huber(max(y_hat - y, 0)), its
// value from NF 3.3 (HuberQLoss(q=0.3, delta=0.5) on these four points). QuantileTerms with a
// quantile per point is NF's QuantileLoss and HuberIQLoss with a tensor q, as their training
// uses them (values from NF 3.3 too).
TEST(Losses, HuberQuantileAndPerPointQuantilesAreNfs) {
  auto y = torch::tensor({{1.0, 2.0, 3.0, -1.0}});
  auto y_hat = torch::tensor({{1.5, 0.0, 3.2, 1.0}});
  EXPECT_NEAR(Loss("HuberQLoss(0.3, delta=0.5)", y, y_hat, torch::Tensor()), 0.244125, 1e-6);
  EXPECT_NEAR(Loss("HuberQLoss(q=0.3, delta=0.5)", y, y_hat, torch::Tensor()), 0.244125, 1e-6);
  // delta 1 (NF's default) within every error of 1 or less: q e^2 / 2 or (1 - q) e^2 / 2.
  auto near = torch::tensor({{0.5, 0.0}});
  EXPECT_NEAR(Loss("HuberQLoss(0.9)", near, torch::zeros_like(near), torch::Tensor()),
              0.9 * 0.125 / 2, 1e-7);
  const auto q = torch::tensor({{0.1, 0.3, 0.7, 0.9}});
  const auto mean = [](const torch::Tensor& t) { return t.mean().item<double>(); };
  EXPECT_NEAR(mean(QuantileTerms(y, y_hat, q, 0)), 0.3275, 1e-6);
  EXPECT_NEAR(mean(QuantileTerms(y, y_hat, q, 0.5)), 0.117125, 1e-6);
  // The implicit losses' own terms (validation) are those of the median.
  EXPECT_NEAR(Loss("IQLoss", y, y_hat, torch::Tensor()), Loss("QuantileLoss(0.5)", y, y_hat, {}),
              1e-7);
  EXPECT_NEAR(Loss("HuberIQLoss(delta=0.5)", y, y_hat, torch::Tensor()),
              Loss("HuberQLoss(0.5, delta=0.5)", y, y_hat, {}), 1e-7);
}

// The implicit quantile losses' arguments are NF's keywords, with NF's defaults left out of the
// name; HuberQLoss needs its q. Each bad form says what was expected.
TEST(Losses, ImplicitQuantileArgumentsAreNfs) {
  auto iq = ParsePointLoss("IQLoss");
  ASSERT_TRUE(iq.ok()) << iq.status();
  EXPECT_TRUE(iq->implicit_quantile());
  EXPECT_TRUE(iq->gives_quantiles());
  EXPECT_EQ(iq->Outputs(), 1);
  EXPECT_TRUE(iq->quantiles.empty());
  EXPECT_EQ(iq->cos_embedding_dim, 64);
  EXPECT_EQ(iq->concentration0, 1);
  EXPECT_EQ(iq->concentration1, 1);
  EXPECT_EQ(iq->Name(), "IQLoss");
  auto given = ParsePointLoss("IQLoss(concentration1=2.5, cos_embedding_dim=16)");
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ(given->cos_embedding_dim, 16);
  EXPECT_EQ(given->concentration1, 2.5);
  EXPECT_EQ(given->Name(), "IQLoss(cos_embedding_dim=16, concentration1=2.5)");
  auto huber = ParsePointLoss("HuberIQLoss(delta=0.25, concentration0=3)");
  ASSERT_TRUE(huber.ok()) << huber.status();
  EXPECT_EQ(huber->kind, PointLoss::kHuberImplicitQuantile);
  EXPECT_EQ(huber->delta, 0.25);
  EXPECT_EQ(huber->Name(), "HuberIQLoss(concentration0=3, delta=0.25)");
  EXPECT_EQ(ParsePointLoss("HuberIQLoss")->Name(), "HuberIQLoss");
  EXPECT_EQ(ParsePointLoss("HuberQLoss(0.9)")->Name(), "HuberQLoss(0.9, delta=1)");
  for (const char* name : {"IQLoss(cos_embedding_dim=16, concentration1=2.5)",
                           "HuberIQLoss(concentration0=3, delta=0.25)", "HuberQLoss(0.25, delta=2)",
                           "IQLoss(concentration0=0.123456789012)"}) {
    auto loss = ParsePointLoss(name);
    ASSERT_TRUE(loss.ok()) << name << ": " << loss.status();
    EXPECT_EQ(ParsePointLoss(loss->Name())->Name(), loss->Name()) << name;
    EXPECT_EQ(ParsePointLoss(loss->Name())->concentration0, loss->concentration0) << name;
  }
  const std::vector<std::pair<const char*, const char*>> bad = {
      {"IQLoss(cos_embedding_dim=0)", "cos_embedding_dim must be a whole number in [1, 4096]"},
      {"IQLoss(cos_embedding_dim=2.5)", "cos_embedding_dim must be a whole number"},
      {"IQLoss(concentration0=0)", "concentration0 must be a number in (0, 1e6]"},
      {"IQLoss(concentration1=-1)", "concentration1 must be a number in (0, 1e6]"},
      {"IQLoss(delta=0.5)", "unknown argument 'delta'"},
      {"IQLoss(64)", "the argument '64' has no name"},
      {"IQLoss(cos_embedding_dim=8, cos_embedding_dim=8)", "give cos_embedding_dim once"},
      {"HuberIQLoss(delta=0)", "delta must be a number > 0"},
      {"IQLoss(horizon_weight=[1])", "unknown argument 'horizon_weight'"},
      {"HuberQLoss(1)", "q must be a number in (0, 1)"},
      {"HuberQLoss(delta=0.5)", "no q"},
      {"HuberQLoss(0.5, 1, 2)", "too many arguments"},
      {"HuberQLoss(0.5, delta=-1)", "delta must be a number > 0"},
      {"HuberQLoss(0.5, p=1)", "unknown argument 'p'"},
  };
  for (const auto& [text, why] : bad) {
    auto loss = ParsePointLoss(text);
    ASSERT_FALSE(loss.ok()) << text;
    EXPECT_NE(loss.status().message().find(why), std::string::npos) << loss.status();
    EXPECT_NE(loss.status().message().find("(expected "), std::string::npos) << loss.status();
  }
  // NF's losses that are not built say so.
  for (const char* text : {"TukeyLoss", "relMSE"}) {
    auto loss = ParsePointLoss(text);
    ASSERT_FALSE(loss.ok()) << text;
    EXPECT_EQ(loss.status().code(), StatusCode::kNotImplemented) << loss.status();
    EXPECT_NE(loss.status().message().find("is not built"), std::string::npos) << loss.status();
  }
  for (const char* text : {"HuberQLoss", "HuberQLoss()", "IQLoss(cos_embedding_dim=8"}) {
    auto loss = ParsePointLoss(text);
    ASSERT_FALSE(loss.ok()) << text;
    EXPECT_NE(loss.status().message().find("HuberQLoss(Q[, delta=D]), IQLoss, HuberIQLoss"),
              std::string::npos)
        << loss.status();
  }
}

// NF 3.3's FreDF: (1 - alpha) MSE + alpha mean |rfft(y) - rfft(y_hat)| over the windows' bins, the
// values NF's FreDF(alpha)(y, y_hat, mask) gives on these tensors (its y is 0 at the masked
// point, as in its padding).
TEST(Losses, FreDFIsNfs) {
  const auto y =
      torch::tensor({1.0f, 2.0f, 0.5f, -1.0f, 3.0f, 0.0f, 1.0f, 4.0f, 2.0f, -2.0f}).reshape({2, 5});
  const auto y_hat =
      torch::tensor({0.5f, 2.5f, 1.0f, -0.5f, 2.0f, 1.0f, 0.0f, 3.0f, 2.5f, -1.0f}).reshape({2, 5});
  const auto mask =
      torch::tensor({1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f}).reshape({2, 5});
  const std::pair<const char*, double> cases[] = {{"FreDF(alpha=0.3)", 0.7808807492256165},
                                                  {"FreDF(0.5)", 0.9125790596008301},
                                                  {"FreDF", 0.9125790596008301},
                                                  {"FreDF(alpha=1)", 1.241824746131897}};
  for (const auto& [text, nf] : cases) {
    auto loss = ParsePointLoss(text);
    ASSERT_TRUE(loss.ok()) << loss.status();
    EXPECT_NEAR(ComputePointLoss(*loss, y, y_hat, mask).item<double>(), nf, 1e-6) << text;
    EXPECT_FALSE(loss->IsMean());
  }
  EXPECT_EQ(ParsePointLoss("FreDF(0.25)")->Name(), "FreDF(alpha=0.25)");
  // NF's, without a mask: 0.810047447681427 (the masked point's error counts in the MSE).
  EXPECT_NEAR(ComputePointLoss(*ParsePointLoss("FreDF(alpha=0.3)"), y, y_hat, {}).item<double>(),
              0.810047447681427, 1e-6);
  for (const char* bad : {"FreDF(alpha=1.5)", "FreDF(-0.1)", "FreDF()", "FreDF(x=1)"}) {
    EXPECT_FALSE(ParsePointLoss(bad).ok()) << bad;
  }
  // A window drawn twice (weight 2) counts twice in the frequency term, as two draws would.
  const auto fredf = *ParsePointLoss("FreDF(alpha=0.5)");
  const auto twice = FreDFLoss(fredf, torch::cat({y, y.narrow(0, 1, 1)}),
                               torch::cat({y_hat, y_hat.narrow(0, 1, 1)}),
                               torch::cat({mask, mask.narrow(0, 1, 1)}));
  const auto weights = torch::tensor({1.0f, 2.0f});
  const auto merged = FreDFLoss(fredf, y, y_hat, mask * weights.unsqueeze(1), weights);
  EXPECT_NEAR(merged.item<double>(), twice.item<double>(), 1e-6);
  // Differentiable in y_hat.
  auto x = y_hat.clone().requires_grad_();
  ComputePointLoss(fredf, y, x, mask).backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
}

// MQLoss: the mean over the quantiles of the pinball terms (NF 3.3's is the sum: its
// 1 / len(quantiles) takes the first dimension, 1, of a [1, 1, 1, Q] tensor),
// averaged over the points with weight (the weights are not repeated per quantile). Targets 1
// and 4; three quantiles.
TEST(Losses, MultiQuantileIsNfsMeanOverQuantiles) {
  auto loss = ParsePointLoss("MQLoss(quantiles=[0.1, 0.5, 0.9])");
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_EQ(loss->Outputs(), 3);
  EXPECT_EQ(loss->PointOutput(), 1);
  auto y = torch::tensor({{1.0, 4.0}});
  // y_hat per point: (0, 1, 2) and (4, 4, 10).
  auto y_hat = torch::tensor({{{0.0, 1.0, 2.0}, {4.0, 4.0, 10.0}}});
  // Point 1: errors y - y_hat 1, 0, -1: (0.1 * 1 + 0 + (1 - 0.9) * 1) / 3 = 0.2 / 3.
  // Point 2: errors 0, 0, -6: (1 - 0.9) * 6 / 3 = 0.6 / 3.
  auto terms = PointLossTerms(*loss, y, y_hat);
  EXPECT_EQ(terms.sizes(), y.sizes());
  EXPECT_NEAR(terms[0][0].item<double>(), 0.2 / 3, 1e-6);
  EXPECT_NEAR(terms[0][1].item<double>(), 0.6 / 3, 1e-6);
  EXPECT_NEAR(ComputePointLoss(*loss, y, y_hat, torch::tensor({{1.0, 3.0}})).item<double>(),
              (0.2 + 3 * 0.6) / 3 / 4, 1e-6);
  // HuberMQLoss with delta 0.5: each side q * max(e, 0) and (1 - q) * max(-e, 0) through the
  // Huber function (x^2 / 2 within delta, delta * (|x| - delta / 2) beyond), then the mean over
  // the quantiles. Point 1: 0.1 -> 0.005; 0; 0.1 -> 0.005. Point 2: 0; 0; 0.6 -> 0.175.
  auto huber = ParsePointLoss("HuberMQLoss(quantiles=[0.1, 0.5, 0.9], delta=0.5)");
  ASSERT_TRUE(huber.ok()) << huber.status();
  EXPECT_EQ(huber->Outputs(), 3);
  EXPECT_EQ(huber->PointOutput(), 1);
  auto huber_terms = PointLossTerms(*huber, y, y_hat);
  EXPECT_NEAR(huber_terms[0][0].item<double>(), 0.01 / 3, 1e-6);
  EXPECT_NEAR(huber_terms[0][1].item<double>(), 0.175 / 3, 1e-6);
  // A single quantile's MQLoss is its QuantileLoss.
  auto one = ParsePointLoss("MQLoss(quantiles=[0.5])");
  ASSERT_TRUE(one.ok()) << one.status();
  auto y2 = torch::tensor({{1.0, -2.0, 4.0}});
  auto y_hat2 = torch::tensor({{2.0, -2.0, 1.0}});
  EXPECT_NEAR(ComputePointLoss(*one, y2, y_hat2.unsqueeze(-1), torch::Tensor()).item<double>(),
              Loss("QuantileLoss(0.5)", y2, y_hat2, torch::Tensor()), 1e-6);
  // ... also as a one-output forecast [..., H], which is how a model built for it gives it.
  EXPECT_NEAR(ComputePointLoss(*one, y2, y_hat2, torch::Tensor()).item<double>(),
              Loss("QuantileLoss(0.5)", y2, y_hat2, torch::Tensor()), 1e-6);
}

// NF's level_to_outputs: the median first, then each level's quantiles ascending; repeats once.
TEST(Losses, MultiQuantileOutputsAreNfs) {
  auto nf_default = ParsePointLoss("MQLoss");
  ASSERT_TRUE(nf_default.ok()) << nf_default.status();
  EXPECT_EQ(nf_default->quantiles, (std::vector<double>{0.5, 0.05, 0.1, 0.9, 0.95}));
  EXPECT_EQ(nf_default->PointOutput(), 0);
  EXPECT_EQ(nf_default->Name(), "MQLoss(level=[80, 90])");
  auto levels = ParsePointLoss("MQLoss(level=[90,50, 90])");
  ASSERT_TRUE(levels.ok()) << levels.status();
  EXPECT_EQ(levels->quantiles, (std::vector<double>{0.5, 0.05, 0.25, 0.75, 0.95}));
  EXPECT_EQ(levels->Name(), "MQLoss(level=[50, 90])");
  auto given = ParsePointLoss("MQLoss(quantiles=[0.9, 0.5, 0.2])");
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ(given->quantiles, (std::vector<double>{0.9, 0.5, 0.2}));  // as given
  EXPECT_EQ(given->Name(), "MQLoss(quantiles=[0.9, 0.5, 0.2])");
  EXPECT_TRUE(given->IsMean());
  EXPECT_EQ(ParsePointLoss("MAE")->Outputs(), 1);
  for (const char* bad :
       {"MQLoss(level=[100])", "MQLoss(level=[])", "MQLoss(level=[80,])",
        "MQLoss(quantiles=[0.1, 0.9])", "MQLoss(quantiles=[0, 0.5])", "MQLoss(levels=[80])",
        "MQLoss(level=80)", "MQLoss(level=[x])", "MQLoss(80)", "MQLoss(delta=0.5)",
        "MQLoss(level=[80], quantiles=[0.5])"}) {
    auto loss = ParsePointLoss(bad);
    ASSERT_FALSE(loss.ok()) << bad;
    EXPECT_NE(loss.status().message().find("expected MQLoss"), std::string::npos) << loss.status();
  }
  // HuberMQLoss: MQLoss's arguments and delta, in any order.
  auto huber = ParsePointLoss("HuberMQLoss(delta=0.5, level=[90])");
  ASSERT_TRUE(huber.ok()) << huber.status();
  EXPECT_EQ(huber->quantiles, (std::vector<double>{0.5, 0.05, 0.95}));
  EXPECT_EQ(huber->delta, 0.5);
  EXPECT_EQ(huber->Name(), "HuberMQLoss(level=[90], delta=0.5)");
  EXPECT_EQ(ParsePointLoss("HuberMQLoss")->Name(), "HuberMQLoss(level=[80, 90], delta=1)");
  for (const char* bad : {"HuberMQLoss(delta=0)", "HuberMQLoss(delta=x)", "HuberMQLoss()",
                          "HuberMQLoss(delta=1, delta=2)", "HuberMQLoss(quantiles=[0.2])"}) {
    auto loss = ParsePointLoss(bad);
    ASSERT_FALSE(loss.ok()) << bad;
    EXPECT_NE(loss.status().message().find("HuberMQLoss"), std::string::npos) << loss.status();
  }
  EXPECT_NE(ParsePointLoss("MQLoss(quantiles=[0.1, 0.9])").status().message().find("lack 0.5"),
            std::string::npos);
}

// NF's DistributionLoss: -log p(y) under the distribution that the raw outputs map to (Normal:
// loc, softplus(s) + 0.2; StudentT: 3 + softplus(d), loc, softplus(s) + 0.1), by hand.
TEST(Losses, DistributionLossIsNfsNegativeLogLikelihood) {
  auto softplus = [](double x) { return std::log1p(std::exp(x)); };
  auto normal = ParsePointLoss("DistributionLoss(Normal)");
  ASSERT_TRUE(normal.ok()) << normal.status();
  EXPECT_EQ(normal->Outputs(), 2);
  auto y = torch::tensor({{1.0, 4.0}});
  auto raw = torch::tensor({{{0.5, -1.0}, {2.0, 0.3}}});  // per point: (mu, s)
  auto terms = PointLossTerms(*normal, y, raw);
  ASSERT_EQ(terms.sizes(), y.sizes());
  const double mu[2] = {0.5, 2.0}, s[2] = {-1.0, 0.3}, ys[2] = {1.0, 4.0};
  double nll[2];
  for (int i = 0; i < 2; ++i) {
    const double sd = softplus(s[i]) + 0.2, z = (ys[i] - mu[i]) / sd;
    nll[i] = 0.5 * z * z + std::log(sd) + 0.5 * std::log(2 * M_PI);
    EXPECT_NEAR(terms[0][i].item<double>(), nll[i], 1e-5) << i;
  }
  // Weighted as every point loss: the second point twice.
  EXPECT_NEAR(ComputePointLoss(*normal, y, raw, torch::tensor({{1.0, 2.0}})).item<double>(),
              (nll[0] + 2 * nll[1]) / 3, 1e-5);
  auto student = ParsePointLoss("DistributionLoss('StudentT')");
  ASSERT_TRUE(student.ok()) << student.status();
  EXPECT_EQ(student->Outputs(), 3);
  auto t_terms = PointLossTerms(*student, torch::tensor({2.5}), torch::tensor({{0.4, 1.0, -0.2}}));
  const double df = 3 + softplus(0.4), scale = softplus(-0.2) + 0.1, z = (2.5 - 1.0) / scale;
  const double t_nll =
      -(std::lgamma((df + 1) / 2) - std::lgamma(df / 2) - 0.5 * std::log(df * M_PI) -
        std::log(scale) - (df + 1) / 2 * std::log1p(z * z / df));
  EXPECT_NEAR(t_terms[0].item<double>(), t_nll, 1e-5);
}

// DistributionLoss's arguments, as NF's: the distribution, then level (default [80, 90]) or
// quantiles (sorted) and num_samples (default 1000).
TEST(Losses, DistributionLossArgumentsAreNfs) {
  auto nf_default = ParsePointLoss("DistributionLoss(StudentT)");
  ASSERT_TRUE(nf_default.ok()) << nf_default.status();
  EXPECT_EQ(nf_default->distribution, "StudentT");
  EXPECT_EQ(nf_default->quantiles, (std::vector<double>{0.5, 0.05, 0.1, 0.9, 0.95}));
  EXPECT_EQ(nf_default->num_samples, 1000);
  EXPECT_EQ(nf_default->Name(), "DistributionLoss(StudentT, level=[80, 90])");
  EXPECT_TRUE(nf_default->gives_quantiles());
  EXPECT_FALSE(nf_default->multi_quantile());
  EXPECT_TRUE(nf_default->IsMean());
  auto given = ParsePointLoss(
      "DistributionLoss(distribution=\"Normal\", quantiles=[0.9, 0.1, 0.9], num_samples=50)");
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ(given->distribution, "Normal");
  EXPECT_EQ(given->quantiles, (std::vector<double>{0.1, 0.9}));
  EXPECT_EQ(given->num_samples, 50);
  EXPECT_EQ(given->Name(), "DistributionLoss(Normal, quantiles=[0.1, 0.9], num_samples=50)");
  auto levels = ParsePointLoss("DistributionLoss(Normal, level=[50])");
  ASSERT_TRUE(levels.ok()) << levels.status();
  EXPECT_EQ(levels->quantiles, (std::vector<double>{0.5, 0.25, 0.75}));
  for (const char* bad :
       {"DistributionLoss", "DistributionLoss()", "DistributionLoss(Gamma)",
        "DistributionLoss(level=[80])", "DistributionLoss(Normal, StudentT)",
        "DistributionLoss(Normal, num_samples=0)", "DistributionLoss(Normal, num_samples=2.5)",
        "DistributionLoss(Normal, level=[80], quantiles=[0.1])",
        "DistributionLoss(Normal, level=[100])", "DistributionLoss(Normal, return_params=True)",
        "DistributionLoss(Normal"}) {
    auto loss = ParsePointLoss(bad);
    ASSERT_FALSE(loss.ok()) << bad;
    // The message says what is expected: the general list, or DistributionLoss's own form.
    const std::string& message = loss.status().message();
    EXPECT_TRUE(message.find("or DistributionLoss(Normal|StudentT|Poisson") != std::string::npos ||
                message.find("expected DistributionLoss(D) with D Normal, StudentT, Poisson") !=
                    std::string::npos)
        << message;
  }
  EXPECT_NE(ParsePointLoss("DistributionLoss(Gamma)")
                .status()
                .message()
                .find("unknown distribution 'Gamma'"),
            std::string::npos);
}

// ISQF's arguments, as NF's: knots at the loss's quantiles, sorted (from level [80, 90] by
// default), num_pieces (default 5); 47 outputs by default, read series by series.
TEST(Losses, IsqfArgumentsAreNfs) {
  auto nf_default = ParsePointLoss("DistributionLoss(ISQF)");
  ASSERT_TRUE(nf_default.ok()) << nf_default.status();
  EXPECT_EQ(nf_default->distribution_options.knots,
            (std::vector<double>{0.05, 0.1, 0.5, 0.9, 0.95}));
  EXPECT_EQ(nf_default->distribution_options.pieces, 5);
  EXPECT_EQ(nf_default->Outputs(), 47);
  EXPECT_TRUE(nf_default->series_major_outputs());
  EXPECT_EQ(nf_default->Name(), "DistributionLoss(ISQF, level=[80, 90])");
  auto given = ParsePointLoss("DistributionLoss('ISQF', quantiles=[0.9, 0.1, 0.5], num_pieces=3)");
  ASSERT_TRUE(given.ok()) << given.status();
  EXPECT_EQ(given->distribution_options.knots, (std::vector<double>{0.1, 0.5, 0.9}));
  EXPECT_EQ(given->Outputs(), 2 * 2 * 3 + 2 + 3);
  EXPECT_EQ(given->Name(), "DistributionLoss(ISQF, num_pieces=3, quantiles=[0.1, 0.5, 0.9])");
  EXPECT_EQ(ParsePointLoss(given->Name())->Outputs(), given->Outputs());
  const std::pair<const char*, const char*> bad[] = {
      {"DistributionLoss(ISQF, quantiles=[0.5])", "needs at least 2"},
      {"DistributionLoss(ISQF, num_pieces=0)", "num_pieces must be a whole number"},
      {"DistributionLoss(Normal, num_pieces=3)", "num_pieces is ISQF's argument"}};
  for (const auto& [text, why] : bad) {
    auto loss = ParsePointLoss(text);
    ASSERT_FALSE(loss.ok()) << text;
    EXPECT_NE(loss.status().message().find(why), std::string::npos) << loss.status();
  }
}

// Tweedie's rho and the mixtures' arguments, as NF's: DistributionLoss(Tweedie) needs rho (NF's
// pops it without a default); GMM and NBMM have 1 component by default, PMM 10; a weighted
// mixture has K more outputs.
TEST(Losses, TweedieAndMixtureArgumentsAreNfs) {
  auto tweedie = ParsePointLoss("DistributionLoss(Tweedie, rho=1.5)");
  ASSERT_TRUE(tweedie.ok()) << tweedie.status();
  EXPECT_EQ(tweedie->Name(), "DistributionLoss(Tweedie, rho=1.5, level=[80, 90])");
  EXPECT_EQ(tweedie->Outputs(), 1);
  EXPECT_EQ(tweedie->likelihood().options().rho, 1.5);
  // rho's digits survive the name (it parses back to the same loss).
  auto precise = ParsePointLoss("DistributionLoss(Tweedie, rho=1.2345678)");
  ASSERT_TRUE(precise.ok()) << precise.status();
  EXPECT_EQ(precise->Name(), "DistributionLoss(Tweedie, rho=1.2345678, level=[80, 90])");
  const std::pair<const char*, const char*> named[] = {
      {"GMM", "GMM(n_components=1, level=[80, 90])"},
      {"GMM()", "GMM(n_components=1, level=[80, 90])"},
      {"PMM", "PMM(n_components=10, level=[80, 90])"},
      {"NBMM(n_components=3, weighted=True, quantiles=[0.9, 0.1])",
       "NBMM(n_components=3, weighted=True, quantiles=[0.1, 0.9])"},
      {"GMM(horizon_correlation=False, batch_correlation=False, num_samples=20)",
       "GMM(n_components=1, level=[80, 90], num_samples=20)"},
  };
  for (const auto& [text, name] : named) {
    auto loss = ParsePointLoss(text);
    ASSERT_TRUE(loss.ok()) << text << ": " << loss.status();
    EXPECT_EQ(loss->Name(), name);
    EXPECT_TRUE(loss->is_distribution());
    EXPECT_TRUE(loss->likelihood().mixture());
    // The name parses back to the same loss.
    auto again = ParsePointLoss(loss->Name());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->Name(), name);
  }
  EXPECT_EQ(ParsePointLoss("GMM")->Outputs(), 2);
  EXPECT_EQ(ParsePointLoss("GMM(n_components=4, weighted=True)")->Outputs(), 12);
  EXPECT_EQ(ParsePointLoss("PMM")->Outputs(), 10);
  EXPECT_EQ(ParsePointLoss("NBMM(n_components=3, weighted=True)")->Outputs(), 9);
  const std::pair<const char*, const char*> refused[] = {
      {"DistributionLoss(Tweedie)", "Tweedie needs rho=R with 1 < R < 2"},
      {"DistributionLoss(Tweedie, rho=2)", "rho must be a number in (1, 2)"},
      {"DistributionLoss(Tweedie, rho=1.5, rho=1.2)", "rho must be a number in (1, 2), once"},
      {"DistributionLoss(Normal, rho=1.5)", "rho is Tweedie's argument"},
      {"DistributionLoss(GMM)", "unknown distribution 'GMM'"},
      {"GMM(n_components=0)", "n_components must be a whole number in [1, 1000]"},
      {"PMM(n_components=2.5)", "n_components must be a whole number"},
      {"GMM(weighted=yes)", "weighted must be True or False"},
      {"NBMM(horizon_correlation=True)",
       "horizon_correlation=True (a likelihood joint over the horizon) is not built"},
      {"GMM(batch_correlation=True)", "batch_correlation=True"},
      {"GMM(Normal)", "unknown argument 'Normal'"},
      {"GMM(rho=1.5)", "unknown argument 'rho'"},
      {"PMM(n_components=2",
       "(NF's point, quantile, multi-quantile, distribution and mixture losses)"},
  };
  for (const auto& [text, why] : refused) {
    auto loss = ParsePointLoss(text);
    ASSERT_FALSE(loss.ok()) << text;
    EXPECT_NE(loss.status().message().find(why), std::string::npos) << loss.status().message();
  }
}

// The mixtures' and Tweedie's loss terms are their likelihoods' -log p of the mapped outputs (NF
// 3.3's values in float64, as in distributions_test: GMM of 2 unweighted components without
// statistics, i.e. scale 1 and shift 0).
TEST(Losses, MixtureLossTermsAreTheNegativeLogLikelihood) {
  auto gmm = ParsePointLoss("GMM(n_components=2)");
  ASSERT_TRUE(gmm.ok()) << gmm.status();
  const auto raw = torch::tensor({{{0.5, -1.0, 0.2, -0.4}}}, torch::kFloat64);
  const auto y = torch::tensor({{-0.5}}, torch::kFloat64);  // (9 - 10) / 2
  const auto terms = PointLossTerms(*gmm, y, raw);
  ASSERT_EQ(terms.sizes(), y.sizes());
  EXPECT_NEAR(terms.item<double>(), 1.7726603370534368 - std::log(2.0), 1e-9);
  auto tweedie = ParsePointLoss("DistributionLoss(Tweedie, rho=1.5)");
  ASSERT_TRUE(tweedie.ok()) << tweedie.status();
  // Without statistics log_mu = softplus(raw): raw log(e - 1) gives log_mu 1.
  const auto t_terms =
      PointLossTerms(*tweedie, torch::tensor({{3.0}}, torch::kFloat64),
                     torch::tensor({{std::log(std::exp(1.0) - 1)}}, torch::kFloat64));
  EXPECT_NEAR(t_terms.item<double>(), 6.936626499676057, 1e-9);
}

}  // namespace
}  // namespace drc::dl
