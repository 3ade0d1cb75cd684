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
                                        "NegativeBinomial, Tweedie, ISQF, GMM, PMM, NBMM)"),
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

// NF 3.3's Tweedie in float64 (bench/peers/.venv-dl): tweedie_scale_decouple of raw 0 with shift
// 10 is softplus(0) + log(10); with shift 0 (the identity scaler's) and with a log(shift) below
// -softplus(raw) it is the floor 1e-9. Tweedie(log_mu, rho).log_prob(y) at three points.
TEST(Likelihood, TweedieIsNfs) {
  auto tweedie = Likelihood::Make("Tweedie", {.rho = 1.5});
  ASSERT_TRUE(tweedie.ok()) << tweedie.status();
  EXPECT_EQ(tweedie->num_params(), 1);
  EXPECT_EQ(tweedie->param_names(), (std::vector<std::string>{"log_mu"}));
  EXPECT_TRUE(tweedie->in_series_units());
  const auto raw = torch::tensor({{0.0}, {0.0}, {-3.0}}, torch::kFloat64);
  const auto shift = torch::tensor({10.0, 0.0, 0.5}, torch::kFloat64);
  const auto scale = torch::tensor({2.0, 1.0, 1.0}, torch::kFloat64);
  const auto log_mu = tweedie->MapParams(raw, shift, scale);
  EXPECT_NEAR(log_mu[0][0].item<double>(), 2.9957322735539913, 1e-12);
  EXPECT_NEAR(log_mu[1][0].item<double>(), 1e-9, 1e-15);
  EXPECT_NEAR(log_mu[2][0].item<double>(), 1e-9, 1e-15);
  EXPECT_NEAR(tweedie->Mean(log_mu)[0].item<double>(), 20.0, 1e-9);  // 2 * 10
  const double expected[3][4] = {{1.0, 1.5, 3.0, -6.936626499676057},
                                 {2.5, 1.2, 0.0, -9.236320123663312},
                                 {0.3, 1.8, 7.5, -12.683818930225737}};
  for (const auto& e : expected) {
    auto t = Likelihood::Make("Tweedie", {.rho = e[1]});
    ASSERT_TRUE(t.ok());
    EXPECT_NEAR(
        t->LogProb(torch::tensor({{e[0]}}, torch::kFloat64), torch::tensor({e[2]}, torch::kFloat64))
            .item<double>(),
        e[3], 1e-12)
        << "rho " << e[1];
  }
  for (double rho : {1.0, 2.0, 0.5}) {
    auto bad = Likelihood::Make("Tweedie", {.rho = rho});
    ASSERT_FALSE(bad.ok()) << rho;
    EXPECT_NE(bad.status().message().find("rho must be in (1, 2)"), std::string::npos);
  }
}

// NF's ISQF (DistributionLoss("ISQF"), level [80, 90]: knots at 0.05, 0.1, 0.5, 0.9, 0.95, five
// pieces each): its log_prob, its gradient and its quantile function, for raw outputs
// 1.5 sin(0.7 i), i = 0 .. 281, as [2, 3, 47]; the values NF 3.3 gives in float64 (ours
// evaluates the CRPS in float64; NF's float32 log_prob here is up to 3e-5 off them) and, for the
// quantile function, in float32.
TEST(Likelihood, IsqfIsNfs) {
  auto isqf = Likelihood::Make("ISQF", {.knots = {0.05, 0.1, 0.5, 0.9, 0.95}});
  ASSERT_TRUE(isqf.ok()) << isqf.status();
  EXPECT_EQ(isqf->num_params(), 47);
  const auto names = isqf->param_names();
  EXPECT_EQ(names.front(), "spline_knot_1");
  EXPECT_EQ(names[20], "spline_height_1");
  EXPECT_EQ(names[40], "beta_l");
  EXPECT_EQ(names.back(), "quantile_knot_5");
  EXPECT_FALSE(isqf->in_series_units());
  EXPECT_TRUE(isqf->LocationParams().empty());
  const auto raw = (torch::sin(torch::arange(2 * 3 * 47, torch::kFloat32) * 0.7) * 1.5)
                       .reshape({2, 3, 47})
                       .requires_grad_(true);
  const auto params = isqf->MapParams(raw);
  const auto y = torch::tensor({{-3.0f, -0.5f, 0.2f}, {0.7f, 1.9f, 6.0f}});
  const auto log_prob = isqf->LogProb(params, y);
  const double nf_log_prob[] = {-2.1560553182, -1.7151987555, -3.3628336988,
                                -1.3467870732, -2.1154855992, -4.4578983149};
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(log_prob.flatten()[i].item<double>(), nf_log_prob[i], 1e-6) << i;
  }
  log_prob.sum().backward();
  const std::pair<int, double> nf_grad[] = {
      {0, 0.0007640192428}, {7, 0.003730612496},  {20, -0.001248590557}, {41, 0.002084337122},
      {45, -0.07440381714}, {46, -0.00456220667}, {87, 0.004183627421},  {279, 0.5927974288}};
  for (const auto& [i, g] : nf_grad) {
    EXPECT_NEAR(raw.grad().flatten()[i].item<double>(), g, 1e-6) << i;
  }
  const auto detached = params.detach();
  const auto alpha = torch::tensor({{0.01f, 0.07f, 0.3f}, {0.5f, 0.92f, 0.99f}});
  const auto quantile = isqf->Quantile(detached, alpha);
  const double nf_quantile[] = {-3.109083652496338, -0.3914715349674225, 4.091521739959717,
                                1.9938422441482544, 0.44964224100112915, 11.790757179260254};
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(quantile.flatten()[i].item<double>(), nf_quantile[i], 2e-5) << i;
  }
  // The mean in closed form: NF's estimate from 400 000 draws, and the midpoint rule over the
  // quantile function at 200 000 levels (in float64).
  const auto mean = isqf->Mean(detached);
  const double nf_mean[] = {-0.4625706970691681, 1.5830737352371216,   4.05178165435791,
                            1.9348015785217285,  -0.38393694162368774, 0.8572700023651123};
  const auto params64 = detached.to(torch::kFloat64);
  constexpr int64_t kLevels = 200000;
  const auto levels = (torch::arange(kLevels, torch::kFloat64) + 0.5) / kLevels;
  for (int i = 0; i < 6; ++i) {
    const auto p = params64.reshape({6, 47})[i].expand({kLevels, 47});
    const double integral = isqf->Quantile(p, levels).mean().item<double>();
    EXPECT_NEAR(mean.flatten()[i].item<double>(), integral, 1e-3) << i;
    EXPECT_NEAR(mean.flatten()[i].item<double>(), nf_mean[i], 0.02) << i;
  }
  // Draws are the quantile function at uniform levels: their quantiles are the function's.
  at::Generator generator = at::detail::createCPUGenerator(7);
  const auto q = isqf->SampleQuantiles(detached, torch::tensor({0.3, 0.92}), 20000, generator);
  for (int i = 0; i < 6; ++i) {
    const auto at = detached.reshape({6, 47})[i];
    EXPECT_NEAR(q.reshape({6, 2})[i][0].item<double>(),
                isqf->Quantile(at, torch::tensor(0.3f)).item<double>(), 0.05)
        << i;
  }
}

// NF's closed-form CRPS in float32 cancels to negative values for extreme parameters (here NF's
// gives -0.4835 where the float64 value is 0.1115); a fit can learn to go there, so ours
// evaluates it in float64.
TEST(Likelihood, IsqfCrpsStaysAboveZero) {
  auto isqf = Likelihood::Make("ISQF", {.knots = {0.05, 0.1, 0.5, 0.9, 0.95}});
  ASSERT_TRUE(isqf.ok()) << isqf.status();
  const auto raw = torch::tensor(
      {7.0751f,  37.1414f,  -6.0565f, -18.3160f, -5.4558f,  -9.9779f,  -19.9264f, 11.2113f,
       4.6731f,  -6.7610f,  30.9902f, -11.7437f, -17.7084f, 4.2379f,   5.6760f,   28.7000f,
       -0.7738f, -33.5968f, 32.4811f, -19.9924f, 9.6346f,   -20.0744f, 12.8865f,  -15.7928f,
       26.2808f, 1.6559f,   41.4926f, 11.7723f,  -9.3231f,  10.2468f,  -11.2425f, -10.6793f,
       4.1068f,  -25.5027f, 28.4714f, -0.6132f,  -5.7995f,  12.9771f,  7.6121f,   24.1943f,
       5.1398f,  23.2968f,  -1.1652f, 1.3774f,   -20.7742f, -20.8165f, 24.9502f});
  const auto params = isqf->MapParams(raw.unsqueeze(0));
  const double loss = -isqf->LogProb(params, torch::tensor({0.4747f})).item<double>();
  EXPECT_NEAR(loss, std::log1p(std::exp(0.11150239498795647)), 1e-5);
  EXPECT_GT(loss, std::log(2.0));
}

// ISQF's options as NF's: at least two knots, rising in (0, 1), and one piece or more; with one
// piece the CRPS takes NF's linear (IQF) branch and stays finite.
TEST(Likelihood, IsqfOptions) {
  for (const LikelihoodOptions& bad :
       {LikelihoodOptions{.knots = {0.5}}, LikelihoodOptions{.knots = {0.5, 0.1}},
        LikelihoodOptions{.knots = {0.0, 0.5}},
        LikelihoodOptions{.knots = {0.1, 0.9}, .pieces = 0}}) {
    EXPECT_FALSE(Likelihood::Make("ISQF", bad).ok());
  }
  auto one = Likelihood::Make("ISQF", {.knots = {0.1, 0.5, 0.9}, .pieces = 1});
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->num_params(), 2 * 2 + 2 + 3);
  const auto raw = torch::linspace(-1, 1, 4 * 9, torch::kFloat64).reshape({4, 9});
  const auto params = one->MapParams(raw);
  const auto lp = one->LogProb(params, torch::tensor({-2.0, 0.0, 0.3, 5.0}, torch::kFloat64));
  EXPECT_TRUE(torch::isfinite(lp).all().item<bool>()) << lp;
  // The quantile function rises through its knots.
  const auto at = params[0].expand({3, 9});
  const auto values = one->Quantile(at, torch::tensor({0.1, 0.5, 0.9}, torch::kFloat64));
  EXPECT_LT(values[0].item<double>(), values[1].item<double>());
  EXPECT_LT(values[1].item<double>(), values[2].item<double>());
  EXPECT_NEAR(values[0].item<double>(), params[0][6].item<double>(), 1e-12);  // the lowest knot
}

// Tweedie's draws are NF's compound Poisson-Gamma: their mean is mu, and a small mu gives
// many draws near 0 (N = 0 has probability exp(-lambda)).
TEST(Likelihood, TweedieSamplesHaveItsMean) {
  const auto tweedie = Likelihood::Make("Tweedie", {.rho = 1.5}).ValueOrDie();
  at::Generator generator = at::detail::createCPUGenerator(7);
  for (double mu : {0.2, 3.0, 40.0}) {
    const auto params = torch::full({100000, 1}, std::log(mu), torch::kFloat64);
    const auto draws = tweedie.Sample(params, generator);
    ASSERT_EQ(draws.sizes(), (std::vector<int64_t>{100000}));
    EXPECT_TRUE((draws >= 0).all().item<bool>());
    // Var = mu^rho (sigma2 = 1): the mean of 100 000 draws is within 4 standard errors.
    EXPECT_NEAR(draws.mean().item<double>(), mu, 4 * std::sqrt(std::pow(mu, 1.5) / 100000)) << mu;
    const double lambda = std::pow(mu, 0.5) / 0.5;
    EXPECT_NEAR((draws < 1e-6).to(torch::kFloat64).mean().item<double>(), std::exp(-lambda), 0.01)
        << mu;
  }
}

// NF 3.3's GMM, PMM and NBMM in float64 on one point (bench/peers/.venv-dl): the raw outputs
// stacked parameter by parameter, shift 10 and scale 2, y = 9 (12 for the 3-component PMM); the
// mapped parameters, the loss (-log p) and the mixture's mean. NBMM's probs are sigmoid(logits).
TEST(Likelihood, MixturesAreNfs) {
  struct Case {
    std::string name;
    LikelihoodOptions options;
    std::vector<double> raw;
    double y;
    std::vector<double> params;  // NF's, NBMM's probs in place of the logits
    double nll, mean;
  };
  const std::vector<Case> cases = {
      {"GMM",
       {.components = 2, .weighted = true},
       {0.5, -1.0, 0.2, -0.4, 0.3, -0.7},
       9.0,
       {11.0, 8.0, 1.9962777387631836, 1.4260305047999053, 0.7310585786300049, 0.26894142136999516},
       1.9153858232188279,
       10.193175735890016},
      {"GMM",
       {.components = 2},
       {0.5, -1.0, 0.2, -0.4},
       9.0,
       {11.0, 8.0, 1.9962777387631836, 1.4260305047999053},
       1.7726603370534368,
       9.5},
      {"PMM",
       {.components = 2, .weighted = true},
       {0.5, -1.0, 0.3, -0.7},
       9.0,
       {11.001016701561317, 8.001335406372895, 0.7310585786300049, 0.26894142136999516},
       2.1830362771020506,
       10.194278150376356},
      {"PMM",
       {.components = 3},
       {0.5, -1.0, 2.0},
       12.0,
       {11.001016701561317, 8.001335406372895, 14.001000831528373},
       2.461176997771493,
       11.001117646487527},
      {"NBMM",
       {.components = 2, .weighted = true},
       {0.5, -1.0, 0.2, -0.4, 0.3, -0.7},
       9.0,
       {13.782062601088848, 21.44185720428776, 0.4140985214798746, 0.12747443538564182,
        0.7310585786300049, 0.26894142136999516},
       2.590557638371175,
       7.963564259581102},
  };
  const auto shift = torch::tensor({{10.0}}, torch::kFloat64);
  const auto scale = torch::tensor({{2.0}}, torch::kFloat64);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name + " of " + std::to_string(c.options.components));
    auto l = Likelihood::Make(c.name, c.options);
    ASSERT_TRUE(l.ok()) << l.status();
    EXPECT_TRUE(l->mixture());
    ASSERT_EQ(l->num_params(), static_cast<int>(c.raw.size()));
    // Fitted as NF fits them: GMM in the scaled units (its -log p there plus log(scale)).
    const bool scaled_fit = !l->in_series_units();
    EXPECT_EQ(scaled_fit, c.name == "GMM");
    const auto raw = torch::tensor(c.raw, torch::kFloat64).view({1, 1, -1});
    auto params = l->MapParams(raw, shift, scale);
    ASSERT_EQ(params.sizes(), raw.sizes());
    if (c.name == "NBMM") {
      auto logits = params.narrow(-1, 2, 2);
      params = torch::cat(
          {params.narrow(-1, 0, 2), torch::sigmoid(logits), params.narrow(-1, 4, 2)}, -1);
    }
    for (size_t i = 0; i < c.params.size(); ++i) {
      EXPECT_NEAR(params[0][0][i].item<double>(), c.params[i], 1e-9 * (1 + c.params[i])) << i;
    }
    const auto mapped = l->MapParams(raw, shift, scale);
    const auto y = torch::tensor({{c.y}}, torch::kFloat64);
    EXPECT_NEAR(-l->LogProb(mapped, y).item<double>(), c.nll, 1e-9);
    EXPECT_NEAR(l->Mean(mapped).item<double>(), c.mean, 1e-6);
    if (scaled_fit) {  // the scaled fit: the same loss less log(scale)
      const auto z = l->MapParams(raw);
      EXPECT_NEAR(-l->LogProb(z, (y - 10.0) / 2.0).item<double>() + std::log(2.0), c.nll, 1e-9);
    }
  }
  // NBMM anchors mu at the shift: with shift 0 (the identity scaler) NF's probs is its 1e-8, and
  // the loss of y = 3 is finite (NF's 54.83655276440776).
  const auto nbmm = Likelihood::Make("NBMM").ValueOrDie();
  const auto zero =
      nbmm.MapParams(torch::tensor({{0.5, 0.2}}, torch::kFloat64),
                     torch::zeros({1}, torch::kFloat64), torch::ones({1}, torch::kFloat64));
  EXPECT_NEAR(-nbmm.LogProb(zero, torch::tensor({3.0}, torch::kFloat64)).item<double>(),
              54.83655276440776, 1e-6);
  EXPECT_NEAR(nbmm.Mean(zero).item<double>(), 1.2529147944463148e-08, 1e-14);
  auto bad = Likelihood::Make("GMM", {.components = 0});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("n_components must be >= 1"), std::string::npos);
}

// A mixture of one component is its family: GMM's log p and mean are Normal's, PMM's Poisson's,
// NBMM's NegativeBinomial's (on parameters already in the domain).
TEST(Likelihood, OneComponentMixtureIsItsFamily) {
  torch::manual_seed(5);
  const std::pair<const char*, const char*> pairs[] = {
      {"GMM", "Normal"}, {"PMM", "Poisson"}, {"NBMM", "NegativeBinomial"}};
  for (const auto& [mixture, family] : pairs) {
    SCOPED_TRACE(mixture);
    const auto m = Likelihood::Make(mixture).ValueOrDie();
    const auto f = Get(family);
    ASSERT_EQ(m.num_params(), f.num_params());
    const auto params = torch::rand({4, 3, f.num_params()}, torch::kFloat64) + 0.5;
    const auto y = torch::randint(0, 5, {4, 3}, torch::kFloat64);
    EXPECT_TRUE(torch::allclose(m.LogProb(params, y), f.LogProb(params, y), 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(m.Mean(params), f.Mean(params), 1e-12, 1e-12));
  }
}

// A mixture's draws come from its components in proportion to the weights: two Normals far
// apart, weights 0.3 and 0.7 (raw weights log 0.3 and log 0.7).
TEST(Likelihood, MixtureSamplesFollowTheWeights) {
  const auto gmm = Likelihood::Make("GMM", {.components = 2, .weighted = true}).ValueOrDie();
  const double s = std::log(std::exp(1.0 - 0.2) - 1);  // softplus(s) + 0.2 = 1
  const auto raw = torch::tensor({-10.0, 10.0, s, s, std::log(0.3), std::log(0.7)}, torch::kFloat64)
                       .expand({50000, 6});
  const auto params = gmm.MapParams(raw);
  at::Generator generator = at::detail::createCPUGenerator(3);
  const auto draws = gmm.Sample(params, generator);
  ASSERT_EQ(draws.sizes(), (std::vector<int64_t>{50000}));
  EXPECT_NEAR((draws < 0).to(torch::kFloat64).mean().item<double>(), 0.3, 0.01);
  EXPECT_NEAR(draws.mean().item<double>(), 4.0, 0.1);  // 0.3 * -10 + 0.7 * 10
  EXPECT_NEAR(gmm.Mean(params)[0].item<double>(), 4.0, 1e-9);
  // Within a component, a Normal of scale 1.
  const auto low = draws.masked_select(draws < 0);
  EXPECT_NEAR(low.mean().item<double>(), -10.0, 0.05);
  EXPECT_NEAR(low.std().item<double>(), 1.0, 0.05);
  // Unweighted: 1/2 each.
  const auto even = Likelihood::Make("GMM", {.components = 2}).ValueOrDie();
  const auto half = even.Sample(even.MapParams(raw.narrow(-1, 0, 4)), generator);
  EXPECT_NEAR((half < 0).to(torch::kFloat64).mean().item<double>(), 0.5, 0.01);
}

// A weight whose softmax underflows to 0 in float32 still gives a finite loss and gradient: the
// weights are clamped to [eps, 1 - eps] before their log, as torch's Categorical does (without
// that, NHITS under GMM(n_components=2, weighted=True) reached a NaN loss at step 8).
TEST(Likelihood, MixtureWithAnUnderflowedWeightHasAFiniteGradient) {
  for (const char* name : {"GMM", "PMM", "NBMM"}) {
    SCOPED_TRACE(name);
    const auto l = Likelihood::Make(name, {.components = 2, .weighted = true}).ValueOrDie();
    const int per = l.num_params() / 2 - 1;  // raw outputs per component besides the weight
    std::vector<float> values(static_cast<size_t>(l.num_params()), 0.5f);
    values[values.size() - 1] = -200.0f;  // softmax(0, -200) = (1, 0) in float32
    auto raw = torch::tensor(values).view({1, -1}).requires_grad_();
    const auto shift = torch::full({1}, 5.0f), scale = torch::full({1}, 2.0f);
    const auto params = l.in_series_units() ? l.MapParams(raw, shift, scale) : l.MapParams(raw);
    EXPECT_EQ(params[0][2 * per + 1].item<float>(), 0.0f);
    const auto nll = -l.LogProb(params, torch::full({1}, 4.0f)).sum();
    nll.backward();
    EXPECT_TRUE(std::isfinite(nll.item<double>()));
    EXPECT_TRUE(torch::isfinite(raw.grad()).all().item<bool>()) << raw.grad();
  }
}

// NBMM's probs are clamped as torch's NegativeBinomial clamps them: raw outputs of 15 000 (NHITS
// reached them on the carrier series) make mu alpha ~2e8 and NF's probs 1 in float32; the logits
// and the loss stay finite, the logits at logit(1 - eps).
TEST(Likelihood, NbmmStaysFiniteForLargeOutputs) {
  const auto nbmm = Likelihood::Make("NBMM").ValueOrDie();
  auto raw = torch::tensor({{15000.0f, 15000.0f}}).requires_grad_();
  const auto params = nbmm.MapParams(raw, torch::full({1}, 80000.0f), torch::full({1}, 2.0f));
  const float eps = std::numeric_limits<float>::epsilon();
  EXPECT_NEAR(params[0][1].item<double>(), std::log((1 - eps) / eps), 1e-3);
  const auto nll = -nbmm.LogProb(params, torch::full({1}, 80000.0f)).sum();
  nll.backward();
  EXPECT_TRUE(std::isfinite(nll.item<double>()));
  EXPECT_TRUE(torch::isfinite(raw.grad()).all().item<bool>()) << raw.grad();
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
