#include "src/dl/dropout.h"

#include <gtest/gtest.h>
#include <torch/utils.h>

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

}  // namespace
}  // namespace drc::dl
