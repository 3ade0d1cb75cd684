#include "src/dl/revin.h"

#include <gtest/gtest.h>

#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

// Three windows of 2 features on very different scales: [3, 16, 2].
torch::Tensor Windows() {
  torch::manual_seed(3);
  auto x = torch::randn({3, 16, 2});
  auto scale = torch::tensor({1.0f, 100.0f, 0.01f}).view({3, 1, 1});
  auto shift = torch::tensor({0.0f, -50.0f, 7.0f}).view({3, 1, 1});
  return x * scale + shift;
}

TEST(RevIN, DenormalizeInvertsNormalize) {
  for (bool affine : {false, true}) {
    for (bool subtract_last : {false, true}) {
      RevINOptions o;
      o.num_features = 2;
      o.affine = affine;
      o.subtract_last = subtract_last;
      RevIN revin(o);
      if (affine) {  // non-trivial affine parameters
        torch::NoGradGuard no_grad;
        revin.affine_weight().copy_(torch::tensor({0.5f, 2.0f}));
        revin.affine_bias().copy_(torch::tensor({-1.0f, 3.0f}));
      }
      auto x = Windows();
      auto z = revin.Normalize(x);
      EXPECT_EQ(z.sizes(), x.sizes());
      auto back = revin.Denormalize(z);
      // The affine inverse divides by weight + eps^2, so the round trip is exact to ~1e-10
      // relative; float32 rounding dominates.
      EXPECT_TRUE(torch::allclose(back, x, /*rtol=*/1e-4, /*atol=*/1e-4))
          << "affine " << affine << " subtract_last " << subtract_last << ": max error "
          << (back - x).abs().max().item<double>();
    }
  }
}

TEST(RevIN, StatisticsArePerWindowAndFeature) {
  RevINOptions o;
  o.num_features = 2;
  RevIN revin(o);
  auto x = Windows();
  auto z = revin.Normalize(x);
  ASSERT_EQ(revin.center().sizes(), (std::vector<int64_t>{3, 1, 2}));
  ASSERT_EQ(revin.stdev().sizes(), (std::vector<int64_t>{3, 1, 2}));
  EXPECT_TRUE(torch::allclose(revin.center(), x.mean(1, true)));
  EXPECT_TRUE(torch::allclose(revin.stdev(), torch::sqrt(x.var(1, false, true) + 1e-5)));
  // Every window and feature comes out centred with unit (population) std, whatever its scale;
  // the 0.01-scale window's std is pulled below 1 by eps (var 1e-4 vs eps 1e-5).
  EXPECT_LT(z.mean(1).abs().max().item<double>(), 1e-4);
  auto std = z.var(1, /*unbiased=*/false).sqrt();
  EXPECT_NEAR(std[0][0].item<double>(), 1.0, 1e-4);
  EXPECT_NEAR(std[1][1].item<double>(), 1.0, 1e-4);
  EXPECT_GT(std[2][0].item<double>(), 0.9);
  EXPECT_LT(std[2][0].item<double>(), 1.0);

  // subtract_last centres on each window's last value.
  o.subtract_last = true;
  RevIN last(o);
  auto zl = last.Normalize(x);
  EXPECT_TRUE(torch::allclose(last.center(), x.narrow(1, 15, 1)));
  EXPECT_LT(zl.narrow(1, 15, 1).abs().max().item<double>(), 1e-6);

  // The zoo's [B, T] windows, with num_features 1; the horizon may differ in length.
  RevIN flat(RevINOptions{});
  auto y = torch::tensor({{1.0f, 2.0f, 3.0f, 4.0f}, {10.0f, 10.0f, 10.0f, 14.0f}});
  auto zy = flat.Normalize(y);
  EXPECT_EQ(zy.sizes(), y.sizes());
  EXPECT_NEAR(flat.center()[1][0][0].item<double>(), 11.0, 1e-5);
  auto h = flat.Denormalize(torch::zeros({2, 3}));
  EXPECT_TRUE(torch::allclose(h, torch::tensor({{2.5f, 2.5f, 2.5f}, {11.0f, 11.0f, 11.0f}})));
}

TEST(RevIN, AffineParametersGetGradients) {
  RevINOptions o;
  o.num_features = 2;
  o.affine = true;
  RevIN revin(o);
  ASSERT_EQ(revin.parameters().size(), 2u);
  auto x = Windows();
  // A stand-in model between the two: an affine map of the normalized last step (a pure scaling
  // would cancel the affine weight exactly).
  auto z = revin.Normalize(x);
  auto y = revin.Denormalize(2 * z.narrow(1, 15, 1) + 1);
  (y - x.narrow(1, 15, 1)).pow(2).mean().backward();
  for (const auto& p : revin.parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_GT(p.grad().abs().sum().item<double>(), 0);
  }
  // The statistics are detached: no gradient flows into the input through the mean and std.
  auto xg = Windows().requires_grad_(true);
  RevIN plain(RevINOptions{2, 1e-5, false, false});
  plain.Normalize(xg);
  EXPECT_FALSE(plain.stdev().requires_grad());
  EXPECT_FALSE(plain.center().requires_grad());
}

TEST(RevIN, ShapeErrorsNameTheShapes) {
  RevINOptions o;
  o.num_features = 2;
  RevIN revin(o);
  auto st = Guard("revin", [&] { return revin.Denormalize(torch::zeros({3, 4, 2})); });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("before Normalize"), std::string::npos);
  st = Guard("revin", [&] { return revin.Normalize(torch::zeros({3, 4, 5})); });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("[B, T, 2], got [3, 4, 5]"), std::string::npos)
      << st.status().message();
  st = Guard("revin", [&] { return revin.Normalize(torch::zeros({3, 4})); });
  ASSERT_FALSE(st.ok());
  revin.Normalize(torch::randn({3, 4, 2}));
  st = Guard("revin", [&] { return revin.Denormalize(torch::zeros({5, 4, 2})); });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("5 windows"), std::string::npos) << st.status().message();
}

}  // namespace
}  // namespace drc::dl
