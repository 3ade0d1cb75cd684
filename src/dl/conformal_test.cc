// Tests of the conformal interval math (conformal.h) against values worked by hand.
#include "src/dl/conformal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace drc::dl {
namespace {

// One series, two steps: point 10 and 20; window 0 scored 1 and 4, window 1 scored 3 and 2.
torch::Tensor Point() { return torch::tensor({{10.0, 20.0}}); }
torch::Tensor Scores() { return torch::tensor({{{1.0, 4.0}, {3.0, 2.0}}}); }

void ExpectValues(const Result<torch::Tensor>& got, const std::vector<std::vector<double>>& want) {
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->sizes(), (std::vector<int64_t>{1, static_cast<int64_t>(want.size()),
                                                static_cast<int64_t>(want[0].size())}));
  for (size_t t = 0; t < want.size(); ++t) {
    for (size_t k = 0; k < want[t].size(); ++k) {
      EXPECT_NEAR((*got)[0][t][k].item<double>(), want[t][k], 1e-9) << "step " << t << " q " << k;
    }
  }
}

// conformal_distribution: step 0's values 10 -+ {1, 3} = {7, 9, 11, 13}; at q = 0.1 the linear
// quantile sits 0.3 of the way from 7 to 9 (7.6), the median at 10, q = 0.9 at 12.4. Step 1:
// {16, 18, 22, 24} gives 16.6, 20, 23.4.
TEST(ConformalQuantiles, DistributionByHand) {
  ExpectValues(
      ConformalQuantiles("MLP", Point(), Scores(), {0.1, 0.5, 0.9}, "conformal_distribution"),
      {{7.6, 10.0, 12.4}, {16.6, 20.0, 23.4}});
}

// conformal_error: the scores' 90 % quantile is 1 + 0.9 * 2 = 2.8 at step 0 and 3.8 at step 1,
// put below (q = 0.1) and above (q = 0.9) the point.
TEST(ConformalQuantiles, ErrorByHand) {
  ExpectValues(ConformalQuantiles("MLP", Point(), Scores(), {0.1, 0.5, 0.9}, "conformal_error"),
               {{7.2, 10.0, 12.8}, {16.2, 20.0, 23.8}});
}

// A missing value's score is skipped: step 0 then has 10 -+ 1 only, {9, 11}; q = 0.1 is 9.2.
TEST(ConformalQuantiles, MissingScoresAreSkipped) {
  torch::Tensor scores = Scores();
  scores[0][1][0] = std::nan("");
  ExpectValues(ConformalQuantiles("MLP", Point(), scores, {0.1}, "conformal_distribution"),
               {{9.2}, {16.6}});
}

TEST(ConformalQuantiles, BadInputIsAnError) {
  auto shapes =
      ConformalQuantiles("NHITS", torch::zeros({1, 3}), Scores(), {0.1}, "conformal_distribution");
  ASSERT_FALSE(shapes.ok());
  EXPECT_EQ(shapes.status().message(),
            "NHITS conformal intervals: forecast [1, 3] and scores [1, 2, 2] do not fit ([S, H] "
            "and [S, W, H])");
  auto method = ConformalQuantiles("NHITS", Point(), Scores(), {0.1}, "conformal");
  ASSERT_FALSE(method.ok());
  EXPECT_NE(method.status().message().find("'conformal' is not conformal_distribution"),
            std::string::npos)
      << method.status();
}

}  // namespace
}  // namespace drc::dl
