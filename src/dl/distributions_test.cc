// Tests of the likelihoods (distributions.h): log-densities against values worked by hand (and
// torch.distributions' for Poisson and NegativeBinomial), NF's parameter maps, the masked NLL, and
// the moments and quantiles of many samples.
#include "src/dl/distributions.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

Likelihood Get(const std::string& name) {
  auto l = Likelihood::Make(name);
  EXPECT_TRUE(l.ok()) << l.status();
  return *l;
}

TEST(Likelihood, NamesAndParameters) {
  EXPECT_EQ(Get("StudentT").num_params(), 3);
  EXPECT_EQ(Get("StudentT").param_names(), (std::vector<std::string>{"df", "loc", "scale"}));
  EXPECT_EQ(Get("Normal").num_params(), 2);
  EXPECT_EQ(Get("Normal").name(), "Normal");
  EXPECT_EQ(Get("Poisson").param_names(), (std::vector<std::string>{"rate"}));
  EXPECT_EQ(Get("NegativeBinomial").param_names(),
            (std::vector<std::string>{"total_count", "logits"}));
  EXPECT_EQ(Get("NegativeBinomial").name(), "NegativeBinomial");
  EXPECT_FALSE(Get("Normal").in_series_units());
  EXPECT_FALSE(Get("StudentT").in_series_units());
  EXPECT_TRUE(Get("Poisson").in_series_units());
  EXPECT_TRUE(Get("NegativeBinomial").in_series_units());
  auto bad = Likelihood::Make("Gamma");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'Gamma' (available: StudentT, Normal, Poisson, "
                                        "NegativeBinomial)"),
            std::string::npos)
      << bad.status().message();
}

// torch.distributions' values (NF's support widened to y >= 0): log Poisson(3 | 2) = 3 log 2 - 2
// - log 6; log Poisson(0 | 0.5) = -0.5; log Poisson(2.5 | 2) = 2.5 log 2 - 2 - lgamma(3.5).
TEST(Likelihood, PoissonLogProbByHand) {
  const Likelihood poisson = Get("Poisson");
  auto lp = poisson.LogProb(torch::tensor({{2.0}, {0.5}, {2.0}}, torch::kFloat64),
                            torch::tensor({3.0, 0.0, 2.5}, torch::kFloat64));
  EXPECT_NEAR(lp[0].item<double>(), 3 * std::log(2.0) - 2 - std::log(6.0), 1e-12);
  EXPECT_NEAR(lp[0].item<double>(), -1.71231793, 1e-8);
  EXPECT_NEAR(lp[1].item<double>(), -0.5, 1e-12);
  EXPECT_NEAR(lp[2].item<double>(), -1.46810565, 1e-8);
  EXPECT_NEAR(poisson.Mean(torch::tensor({{2.0}, {0.5}})).sum().item<double>(), 2.5, 1e-12);
}

// NegativeBinomial(total_count n, logits log(p / (1 - p))) of k: C(k + n - 1, k) p^k (1 - p)^n,
// torch's. n = 2, p = 1/4, k = 3: 4 / 4^3 * (3/4)^2; n = 2.5, p = 0.4, k = 1: 2.5 * 0.4 *
// 0.6^2.5. Mean n p / (1 - p).
TEST(Likelihood, NegativeBinomialLogProbByHand) {
  const Likelihood nb = Get("NegativeBinomial");
  const auto params =
      torch::tensor({{2.0, std::log(1.0 / 3)}, {2.5, std::log(2.0 / 3)}}, torch::kFloat64);
  auto lp = nb.LogProb(params, torch::tensor({3.0, 1.0}, torch::kFloat64));
  EXPECT_NEAR(lp[0].item<double>(), std::log(4.0 / 64 * 9.0 / 16), 1e-9);
  EXPECT_NEAR(lp[0].item<double>(), -3.34795287, 1e-8);
  EXPECT_NEAR(lp[1].item<double>(), std::log(2.5 * 0.4 * std::pow(0.6, 2.5)), 1e-9);
  auto mean = nb.Mean(params);
  EXPECT_NEAR(mean[0].item<double>(), 2.0 / 3, 1e-9);
  EXPECT_NEAR(mean[1].item<double>(), 2.5 * 0.4 / 0.6, 1e-9);
}

// log N(2 | 1, 2) = -1/8 - log 2 - log(2 pi) / 2.
TEST(Likelihood, NormalLogProbByHand) {
  const Likelihood normal = Get("Normal");
  auto lp = normal.LogProb(torch::tensor({{1.0f, 2.0f}}), torch::tensor({2.0f}));
  const double expected = -0.125 - std::log(2.0) - 0.5 * std::log(2.0 * M_PI);
  EXPECT_NEAR(lp.item<double>(), expected, 1e-5);
  EXPECT_NEAR(expected, -1.7370857, 1e-6);
}

// log t_4(1 | 0, 1) = lgamma(5/2) - lgamma(2) - log(4 pi) / 2 - (5/2) log(5/4) = -1.5386881;
// log t_5(-1 | 1, 2) = lgamma(3) - lgamma(5/2) - log(5 pi) / 2 - log 2 - 3 log(6/5) = -2.2087314.
TEST(Likelihood, StudentTLogProbByHand) {
  const Likelihood t = Get("StudentT");
  auto lp = t.LogProb(torch::tensor({{4.0f, 0.0f, 1.0f}, {5.0f, 1.0f, 2.0f}}),
                      torch::tensor({1.0f, -1.0f}));
  ASSERT_EQ(lp.sizes(), (std::vector<int64_t>{2}));
  EXPECT_NEAR(lp[0].item<double>(), -1.5386881, 1e-5);
  EXPECT_NEAR(lp[1].item<double>(), -2.2087314, 1e-5);
  // The t density at large df approaches the normal one.
  auto big_df = t.LogProb(torch::tensor({{1e5, 1.0, 2.0}}, torch::kFloat64),
                          torch::tensor({2.0}, torch::kFloat64));
  EXPECT_NEAR(big_df.item<double>(), -1.7370857, 1e-4);
}

// NF's maps: Normal scale = softplus + 0.2; StudentT df = 3 + softplus, scale = softplus + 0.1.
TEST(Likelihood, MapParamsAsNeuralForecast) {
  const double sp0 = std::log(2.0);  // softplus(0)
  auto normal = Get("Normal").MapParams(torch::tensor({{1.5f, 0.0f}}));
  EXPECT_NEAR(normal[0][0].item<double>(), 1.5, 1e-6);
  EXPECT_NEAR(normal[0][1].item<double>(), sp0 + 0.2, 1e-6);
  auto t = Get("StudentT").MapParams(torch::tensor({{0.0f, -2.0f, 0.0f}, {-50.0f, 0.0f, -50.0f}}));
  EXPECT_NEAR(t[0][0].item<double>(), 3.0 + sp0, 1e-6);
  EXPECT_NEAR(t[0][1].item<double>(), -2.0, 1e-6);
  EXPECT_NEAR(t[0][2].item<double>(), 0.1 + sp0, 1e-6);
  // The floors hold for very negative raw outputs.
  EXPECT_NEAR(t[1][0].item<double>(), 3.0, 1e-6);
  EXPECT_NEAR(t[1][2].item<double>(), 0.1, 1e-6);
  EXPECT_NEAR(Get("StudentT").Mean(t)[0].item<double>(), -2.0, 1e-6);
}

// With the window's statistics (shift 10, scale 2), NF's scale_decouple: Normal loc = 1.5 * 2 + 10,
// scale = (softplus(0) + 0.2) * 2; Poisson rate = softplus(0.5 * 2 + 10) + 1e-10; NegativeBinomial
// mu = softplus(0) * 2 + 10, alpha = softplus(0) / 3, total_count = 1 / alpha = 4.32808506 (NF's
// own) and logits = log(mu alpha), whose sigmoid is NF's probs 0.72457806 (less its 1e-8);
// the mean is mu.
TEST(Likelihood, MapParamsWithTheWindowsStatistics) {
  const double sp0 = std::log(2.0);
  const auto shift = torch::tensor({{10.0}}, torch::kFloat64);
  const auto scale = torch::tensor({{2.0}}, torch::kFloat64);
  auto normal =
      Get("Normal").MapParams(torch::tensor({{{1.5, 0.0}}}, torch::kFloat64), shift, scale);
  EXPECT_NEAR(normal[0][0][0].item<double>(), 13.0, 1e-12);
  EXPECT_NEAR(normal[0][0][1].item<double>(), (sp0 + 0.2) * 2, 1e-12);
  auto poisson = Get("Poisson").MapParams(torch::tensor({{{0.5}}}, torch::kFloat64), shift, scale);
  ASSERT_EQ(poisson.sizes(), (std::vector<int64_t>{1, 1, 1}));
  EXPECT_NEAR(poisson.item<double>(), 11.0 + std::log1p(std::exp(-11.0)), 1e-9);
  const Likelihood nb = Get("NegativeBinomial");
  auto params = nb.MapParams(torch::zeros({1, 1, 2}, torch::kFloat64), shift, scale);
  EXPECT_NEAR(params[0][0][0].item<double>(), 4.32808506, 1e-8);
  EXPECT_NEAR(torch::sigmoid(params[0][0][1]).item<double>(), 0.72457806 - 1e-8, 1e-8);
  // The mean is mu (NF's is 11.38629495: its 1e-8 on probs adds 6e-7).
  EXPECT_NEAR(nb.Mean(params).item<double>(), (sp0 + 1e-8) * 2 + 10, 1e-9);
  EXPECT_NEAR(nb.Mean(params).item<double>(), 11.38629495, 1e-6);
  // Without statistics: shift 0, scale 1.
  auto plain = nb.MapParams(torch::zeros({1, 2}, torch::kFloat64));
  const double alpha = sp0 + 1e-8, mu = sp0 + 1e-8;
  EXPECT_NEAR(plain[0][0].item<double>(), 1 / alpha, 1e-9);
  EXPECT_NEAR(plain[0][1].item<double>(), std::log(mu * alpha), 1e-9);
  // Counts near 80 000 with the identity scaler: NF's probs round to 1 in float32 (and its torch
  // refuses them); the logits keep the mean.
  auto large = nb.MapParams(torch::tensor({{80000.0f, 2000.0f}}));
  EXPECT_NEAR(nb.Mean(large).item<double>(), 80000.0, 1.0);
  EXPECT_EQ((80000.0f * 2000.0f / (1 + 80000.0f * 2000.0f) + 1e-8f), 1.0f);
  EXPECT_TRUE(std::isfinite(nb.LogProb(large, torch::tensor({79000.0f})).item<double>()));
  auto half = Guard("map", [&] { return nb.MapParams(torch::zeros({1, 2}), shift, {}); });
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("both the shift and the scale"), std::string::npos);
}

TEST(Likelihood, MaskExcludesPoints) {
  const Likelihood normal = Get("Normal");
  torch::Tensor params = torch::tensor({{0.0f, 1.0f}, {0.0f, 1.0f}, {0.0f, 1.0f}}).unsqueeze(0);
  params.requires_grad_(true);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  torch::Tensor y = torch::tensor({{1.0f, nan, 1e30f}});
  torch::Tensor mask = torch::tensor({{1.0f, 0.0f, 0.0f}});
  torch::Tensor loss = normal.MaskedNll(params, y, mask);
  // Only the first point: -log N(1 | 0, 1) = 1/2 + log(2 pi) / 2.
  EXPECT_NEAR(loss.item<double>(), 0.5 + 0.5 * std::log(2.0 * M_PI), 1e-5);
  loss.backward();
  EXPECT_TRUE(torch::isfinite(params.grad()).all().item<bool>());
  EXPECT_EQ(params.grad()[0][1].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(params.grad()[0][2].abs().sum().item<double>(), 0.0);
  // Changing a masked value changes nothing; an empty mask gives 0 (NF clamps the weight sum at 1).
  torch::Tensor y2 = torch::tensor({{1.0f, -7.0f, 3.0f}});
  EXPECT_EQ(normal.MaskedNll(params, y2, mask).item<double>(), loss.item<double>());
  EXPECT_EQ(normal.MaskedNll(params, y2, torch::zeros_like(mask)).item<double>(), 0.0);
  // Two kept points average.
  torch::Tensor both = normal.MaskedNll(params, torch::tensor({{1.0f, 0.0f, 5.0f}}),
                                        torch::tensor({{1.0f, 1.0f, 0.0f}}));
  EXPECT_NEAR(both.item<double>(), 0.25 + 0.5 * std::log(2.0 * M_PI), 1e-5);
}

TEST(Likelihood, ShapeErrorsNameTheLikelihood) {
  const Likelihood t = Get("StudentT");
  auto r = Guard("test", [&] { return t.LogProb(torch::ones({4, 2}), torch::ones({4})); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("StudentT likelihood: parameters must be [..., 3]"),
            std::string::npos)
      << r.status().message();
  r = Guard("test", [&] { return t.LogProb(torch::ones({4, 3}), torch::ones({5})); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("do not match"), std::string::npos) << r.status().message();
}

// Sample moments against theory: Normal(2, 3) has variance 9; StudentT(df 6, loc 1, scale 2) has
// mean 1 and variance 4 * 6 / 4 = 6.
TEST(Likelihood, SampleMomentsMatchTheory) {
  constexpr int64_t kDraws = 200000;
  at::Generator gen = at::detail::createCPUGenerator(7);
  auto normal = Get("Normal").Sample(torch::tensor({2.0f, 3.0f}).expand({kDraws, 2}), gen);
  ASSERT_EQ(normal.sizes(), (std::vector<int64_t>{kDraws}));
  EXPECT_NEAR(normal.mean().item<double>(), 2.0, 0.03);
  EXPECT_NEAR(normal.var().item<double>(), 9.0, 0.15);
  auto t = Get("StudentT").Sample(torch::tensor({6.0f, 1.0f, 2.0f}).expand({kDraws, 3}), gen);
  EXPECT_NEAR(t.mean().item<double>(), 1.0, 0.03);
  EXPECT_NEAR(t.var().item<double>(), 6.0, 0.3);
  // Heavier tails than the normal of the same variance: P(|x - 1| > 3 sd) is 0.27 % for a normal,
  // 1.04 % for t_6.
  const double sd = std::sqrt(6.0);
  const double tail = ((t - 1.0).abs() > 3.0 * sd).to(torch::kFloat64).mean().item<double>();
  EXPECT_GT(tail, 0.009);
  EXPECT_LT(tail, 0.012);
  // The same seed gives the same draws.
  at::Generator again = at::detail::createCPUGenerator(7);
  auto normal2 = Get("Normal").Sample(torch::tensor({2.0f, 3.0f}).expand({kDraws, 2}), again);
  EXPECT_TRUE(torch::equal(normal, normal2));
}

// Empirical quantiles against the distributions' own: Normal(2, 3) at 5 %, 50 %, 90 % is
// 2 + 3 * (-1.6449, 0, 1.2816); t_6 at 90 % and 95 % is 1.4398 and 1.9432 (loc 1, scale 2).
// Each parameter set gets its own draws: [2, P] -> [2, Q].
TEST(Likelihood, SampleQuantilesMatchTheory) {
  constexpr int64_t kDraws = 200000;
  at::Generator gen = at::detail::createCPUGenerator(11);
  const auto q = torch::tensor({0.05, 0.5, 0.9}, torch::kFloat64);
  auto normal =
      Get("Normal").SampleQuantiles(torch::tensor({{2.0f, 3.0f}, {-5.0f, 0.5f}}), q, kDraws, gen);
  ASSERT_EQ(normal.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_NEAR(normal[0][0].item<double>(), 2.0 - 3.0 * 1.6449, 0.05);
  EXPECT_NEAR(normal[0][1].item<double>(), 2.0, 0.05);
  EXPECT_NEAR(normal[0][2].item<double>(), 2.0 + 3.0 * 1.2816, 0.05);
  EXPECT_NEAR(normal[1][1].item<double>(), -5.0, 0.01);
  EXPECT_NEAR(normal[1][2].item<double>(), -5.0 + 0.5 * 1.2816, 0.01);
  auto t = Get("StudentT")
               .SampleQuantiles(torch::tensor({6.0f, 1.0f, 2.0f}), torch::tensor({0.9, 0.95}),
                                kDraws, gen);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{2}));
  EXPECT_NEAR(t[0].item<double>(), 1.0 + 2.0 * 1.4398, 0.06);
  EXPECT_NEAR(t[1].item<double>(), 1.0 + 2.0 * 1.9432, 0.08);
  // Few draws: torch.quantile's linear interpolation between the sorted draws, as NF's.
  at::Generator a = at::detail::createCPUGenerator(3), b = at::detail::createCPUGenerator(3);
  const auto params = torch::tensor({0.0f, 1.0f});
  auto few = Get("Normal").SampleQuantiles(params, torch::tensor({0.1, 0.5}), 5, a);
  auto sorted = std::get<0>(Get("Normal").Sample(params.expand({5, 2}), b).sort());
  EXPECT_NEAR(few[0].item<double>(), (0.6 * sorted[0] + 0.4 * sorted[1]).item<double>(), 1e-6);
  EXPECT_NEAR(few[1].item<double>(), sorted[2].item<double>(), 1e-6);
}

// Poisson(4): mean and variance 4, median 4, 90 % quantile 7 (P(X <= 6) = 0.889, P(X <= 7) =
// 0.949); NegativeBinomial(3, p 0.4): mean 2, variance 2 / 0.6. Draws are whole numbers >= 0, and
// a rate near the carrier series' (80 000) draws around it.
TEST(Likelihood, CountSamplesMatchTheory) {
  constexpr int64_t kDraws = 200000;
  at::Generator gen = at::detail::createCPUGenerator(5);
  auto poisson = Get("Poisson").Sample(torch::tensor({4.0f}).expand({kDraws, 1}), gen);
  ASSERT_EQ(poisson.sizes(), (std::vector<int64_t>{kDraws}));
  EXPECT_TRUE(torch::equal(poisson, poisson.round()));
  EXPECT_NEAR(poisson.mean().item<double>(), 4.0, 0.03);
  EXPECT_NEAR(poisson.var().item<double>(), 4.0, 0.1);
  auto q =
      Get("Poisson").SampleQuantiles(torch::tensor({4.0f}), torch::tensor({0.5, 0.9}), kDraws, gen);
  EXPECT_EQ(q[0].item<double>(), 4.0);
  EXPECT_EQ(q[1].item<double>(), 7.0);
  const float logits = std::log(0.4f / 0.6f);
  auto nb = Get("NegativeBinomial").Sample(torch::tensor({3.0f, logits}).expand({kDraws, 2}), gen);
  EXPECT_TRUE(torch::equal(nb, nb.round()));
  EXPECT_GE(nb.min().item<double>(), 0.0);
  EXPECT_NEAR(nb.mean().item<double>(), 2.0, 0.03);
  EXPECT_NEAR(nb.var().item<double>(), 2.0 / 0.6, 0.1);
  auto big = Get("Poisson").Sample(torch::tensor({80000.0f}).expand({10000, 1}), gen);
  EXPECT_NEAR(big.mean().item<double>(), 80000.0, 10.0);
  EXPECT_NEAR(big.std().item<double>(), std::sqrt(80000.0), 10.0);
  // The same seed gives the same draws.
  at::Generator a = at::detail::createCPUGenerator(9), b = at::detail::createCPUGenerator(9);
  const auto params = torch::tensor({3.0f, logits}).expand({100, 2});
  EXPECT_TRUE(torch::equal(Get("NegativeBinomial").Sample(params, a),
                           Get("NegativeBinomial").Sample(params, b)));
}

TEST(Likelihood, SampleQuantilesRejectsBadArguments) {
  auto r = Guard("quantiles", [] {
    return Get("Normal").SampleQuantiles(torch::tensor({0.0f, 1.0f}), torch::tensor({0.5}), 0);
  });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("samples must be >= 1"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace drc::dl
