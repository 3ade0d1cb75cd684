#include "src/dl/dropout.h"

#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/utils.h>

#include <string>

#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

TEST(Dropout, KeepsOneMinusPScaledAndIsIdentityOutsideTraining) {
  auto x = torch::full({999, 1001}, 2.0f);  // odd element count: the last pair is half-used
  EXPECT_TRUE(Dropout(x, 0.3, /*training=*/false).is_same(x));
  EXPECT_TRUE(Dropout(x, 0.0, /*training=*/true).is_same(x));
  for (double p : {0.1, 0.3, 0.9}) {
    torch::manual_seed(1);
    auto y = Dropout(x, p, true);
    auto kept = y.ne(0);
    const double fraction = kept.to(torch::kDouble).mean().item<double>();
    EXPECT_NEAR(fraction, 1 - p, 0.005) << "p " << p;  // 1e6 draws: sd < 5e-4
    EXPECT_TRUE(torch::allclose(y.masked_select(kept),
                                torch::full({kept.sum().item<int64_t>()}, 2.0 / (1 - p))));
  }
  EXPECT_EQ(Dropout(x, 1.0, true).abs().sum().item<float>(), 0.0f);
  EXPECT_FALSE(Guard("dropout", [&] { Dropout(x, 1.5, true); }).ok());
}

TEST(Dropout, FollowsTheTorchSeedAndMasksTheGradient) {
  auto x = torch::randn({64, 33}, torch::requires_grad());
  torch::manual_seed(7);
  auto a = Dropout(x, 0.5, true);
  torch::manual_seed(7);
  auto b = Dropout(x, 0.5, true);
  auto c = Dropout(x, 0.5, true);  // the next draw of the generator: another mask
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a.ne(0), c.ne(0)));
  // Neighbouring elements are not correlated (two uniforms come from one 64-bit draw).
  auto big = Dropout(torch::ones({200000}), 0.5, true).ne(0).to(torch::kDouble);
  auto even = big.slice(0, 0, 200000, 2), odd = big.slice(0, 1, 200000, 2);
  const double both = (even * odd).mean().item<double>();
  EXPECT_NEAR(both, 0.25, 0.01);
  a.sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), a.ne(0).to(torch::kFloat) * 2.0f));
  // An element's mask depends on the seed and its index only: an odd-sized tensor's mask is the
  // prefix of the next even size's, its unpaired last element included.
  // 16 seeds: a wrong draw for the last element shows with probability 1 - 2^-16.
  for (int seed = 1; seed <= 16; ++seed) {
    torch::manual_seed(seed);
    auto shorter = Dropout(torch::ones({100001}), 0.5, true);
    torch::manual_seed(seed);
    auto longer = Dropout(torch::ones({100002}), 0.5, true);
    EXPECT_TRUE(torch::equal(shorter, longer.slice(0, 0, 100001))) << "seed " << seed;
  }
}

// AddDropout is the composition src + Dropout(x) or src + Dropout(Dropout(x)) to the bit: the
// values, both gradients, and the generator's state after it; odd sizes (the unpaired last
// element) and sizes that split over threads; float and double. Outside training and for
// p = 0 it is src + x.
TEST(Dropout, AddDropoutEqualsTheComposition) {
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    for (int64_t n : {int64_t{7}, int64_t{100001}}) {
      for (int times : {1, 2}) {
        auto src = torch::randn({n}, torch::dtype(dtype).requires_grad(true));
        auto x = torch::randn({n}, torch::dtype(dtype).requires_grad(true));
        auto w = torch::randn({n}, torch::dtype(dtype));
        torch::manual_seed(11);
        auto fused = AddDropout(src, x, 0.3, times, /*training=*/true);
        auto after_fused = torch::rand({1}, torch::kDouble);
        torch::manual_seed(11);
        auto y = x;
        for (int t = 0; t < times; ++t) y = Dropout(y, 0.3, true);
        auto composed = src + y;
        auto after_composed = torch::rand({1}, torch::kDouble);
        const std::string where = "n " + std::to_string(n) + " times " + std::to_string(times);
        EXPECT_TRUE(torch::equal(fused, composed)) << where;
        EXPECT_TRUE(torch::equal(after_fused, after_composed)) << where;
        auto g = torch::autograd::grad({(fused * w).sum()}, {src, x});
        auto g_ref = torch::autograd::grad({(composed * w).sum()}, {src, x});
        EXPECT_TRUE(torch::equal(g[0], g_ref[0])) << where;
        EXPECT_TRUE(torch::equal(g[1], g_ref[1])) << where;
        EXPECT_GT(g[1].eq(0).sum().item<int64_t>(), 0) << where;  // some elements dropped
      }
    }
  }
  auto src = torch::randn({5, 3}), x = torch::randn({5, 3});
  EXPECT_TRUE(torch::equal(AddDropout(src, x, 0.3, 2, /*training=*/false), src + x));
  EXPECT_TRUE(torch::equal(AddDropout(src, x, 0.0, 1, /*training=*/true), src + x));
  EXPECT_FALSE(Guard("dropout", [&] { AddDropout(src, x, 0.3, 3, true); }).ok());
}

}  // namespace
}  // namespace drc::dl
