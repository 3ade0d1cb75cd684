#include "src/dl/fast_ops.h"

#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/utils.h>

#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

// Values and gradients equal at::bmm's, for small products (our loop), a large one (at::bmm),
// non-contiguous inputs, float and double.
TEST(FastOps, BatchedMatmulMatchesBmm) {
  torch::manual_seed(2);
  struct Shape {
    int64_t batch, m, k, n;
  };
  for (const Shape& s : {Shape{37, 3, 8, 3}, Shape{5, 24, 32, 36}, Shape{2, 70, 80, 90}}) {
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      auto a = torch::randn({s.batch, s.m, s.k}, torch::dtype(dtype)).requires_grad_();
      // b as the transpose of a contiguous tensor: not contiguous.
      auto bt = torch::randn({s.batch, s.n, s.k}, torch::dtype(dtype)).requires_grad_();
      auto b = bt.transpose(1, 2);
      auto weight = torch::randn({s.batch, s.m, s.n}, torch::dtype(dtype));
      auto ours = BatchedMatmul(a, b);
      auto ref = torch::bmm(a, b);
      const double tol = dtype == torch::kFloat ? 1e-4 : 1e-10;
      ASSERT_EQ(ours.sizes(), ref.sizes());
      EXPECT_TRUE(torch::allclose(ours, ref, tol, tol));
      auto ga = torch::autograd::grad({(ours * weight).sum()}, {a, bt});
      auto gr = torch::autograd::grad({(ref * weight).sum()}, {a, bt});
      EXPECT_TRUE(torch::allclose(ga[0], gr[0], tol, tol)) << s.m << "x" << s.k << "x" << s.n;
      EXPECT_TRUE(torch::allclose(ga[1], gr[1], tol, tol)) << s.m << "x" << s.k << "x" << s.n;
    }
  }
  auto bad = Guard("bmm", [] { BatchedMatmul(torch::ones({2, 3, 4}), torch::ones({2, 5, 6})); });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("[2, 3, 4]"), std::string::npos) << bad.message();
}

// Dense equals Linear on contiguous and permuted inputs of 2 to 4 dimensions.
TEST(FastOps, DenseFoldsLeadingDimensions) {
  torch::manual_seed(3);
  torch::nn::Linear linear(8, 5);
  for (auto x :
       {torch::randn({6, 8}), torch::randn({4, 6, 8}), torch::randn({4, 8, 6}).transpose(1, 2),
        torch::randn({2, 3, 8, 4}).permute({0, 1, 3, 2})}) {
    auto y = Dense(linear, x);
    auto ref = linear->forward(x.contiguous());
    ASSERT_EQ(y.sizes(), ref.sizes());
    EXPECT_TRUE(torch::allclose(y, ref, 1e-5, 1e-6));
  }
}

}  // namespace
}  // namespace drc::dl
