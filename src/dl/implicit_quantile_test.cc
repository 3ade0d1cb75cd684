#include "src/dl/implicit_quantile.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "src/dl/losses.h"
#include "src/dl/model.h"

namespace drc::dl {
namespace {

constexpr int kInput = 8, kHorizon = 3;

// NF's MLP under `loss` (IQLoss or HuberIQLoss), wrapped as the trainer wraps it.
std::shared_ptr<ImplicitQuantileModel> Wrapped(const std::string& loss_text) {
  auto loss = ParsePointLoss(loss_text);
  EXPECT_TRUE(loss.ok()) << loss.status();
  ModelConfig config;
  config.input_size = kInput;
  config.horizon = kHorizon;
  auto inner = DefaultModelRegistry().Make("MLP", config);
  EXPECT_TRUE(inner.ok()) << inner.status();
  return std::make_shared<ImplicitQuantileModel>(*inner, *loss);
}

// Chosen weights for the head, the same as NF's in the reference computation: embedding W[i][j] =
// 0.1 (i - j) + 0.05, b[i] = 0.01 i, PReLU 0.25, out w[j] = 0.2 (j + 1) - 0.3, b 0.1; output
// Linear(1, 1) 1.5 and -0.2, PReLU 0.25.
void SetReferenceWeights(ImplicitQuantileModel& model, int d) {
  torch::NoGradGuard no_grad;
  auto params = model.named_parameters();
  auto embed = torch::empty({d, d}), bias = torch::empty({d}), out = torch::empty({1, d});
  for (int i = 0; i < d; ++i) {
    bias[i] = 0.01 * i;
    out[0][i] = 0.2 * (i + 1) - 0.3;
    for (int j = 0; j < d; ++j) embed[i][j] = 0.1 * (i - j) + 0.05;
  }
  params["iq_embed.weight"].copy_(embed);
  params["iq_embed.bias"].copy_(bias);
  params["iq_embed_act.weight"].fill_(0.25);
  params["iq_embed_out.weight"].copy_(out);
  params["iq_embed_out.bias"].fill_(0.1);
  params["iq_output.weight"].fill_(1.5);
  params["iq_output.bias"].fill_(-0.2);
  params["iq_output_act.weight"].fill_(0.25);
}

// NF 3.3's IQLoss(cos_embedding_dim=4).domain_map with these weights, after update_quantile(q)
// for q = 0.1, 0.5 and 0.9, of the outputs 1, -2 and 0.5 (computed in bench/peers/.venv-dl).
TEST(ImplicitQuantile, HeadIsNfs) {
  auto model = Wrapped("IQLoss(cos_embedding_dim=4)");
  SetReferenceWeights(*model, 4);
  const auto y = torch::tensor({{1.0f, -2.0f, 0.5f}});
  const std::vector<std::pair<double, std::vector<double>>> nf = {
      {0.1, {2.238862991333008, -1.269431471824646, 1.019431471824646}},
      {0.5, {1.7229998111724854, -1.0114998817443848, 0.7614999413490295}},
      {0.9, {1.7199337482452393, -1.0099668502807617, 0.7599669098854065}}};
  for (const auto& [q, expected] : nf) {
    const auto got = model->Head(y, torch::full_like(y, q));
    ASSERT_EQ(got.sizes(), y.sizes());
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(got[0][i].item<double>(), expected[i], 1e-6) << q;
  }
  // Every named parameter trains: the MLP's and the head's.
  int head = 0;
  for (const auto& p : model->named_parameters()) head += p.key().rfind("iq_", 0) == 0 ? 1 : 0;
  EXPECT_EQ(head, 8);
}

// The point forecast is the head at 0.5; the quantiles asked are NF's: the requested quantiles
// (numpy's linear interpolation) of the head's forecasts at its 11 grid quantiles.
TEST(ImplicitQuantile, QuantilesAreTakenOverNfsGrid) {
  auto model = Wrapped("IQLoss(cos_embedding_dim=4)");
  SetReferenceWeights(*model, 4);
  model->eval();
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  WindowBatch batch{torch::randn({6, kInput}), torch::ones({6, kInput})};
  const auto q = torch::tensor({0.01, 0.15, 0.5, 0.99}, torch::kFloat64);
  const QuantileForecast f = model->Quantiles(batch, q);
  const auto point = model->Forward(batch);
  EXPECT_TRUE(torch::equal(f.point, point));
  EXPECT_TRUE(torch::equal(model->PointForecast(batch), point));
  ASSERT_EQ(f.quantiles.sizes(), (std::vector<int64_t>{6, kHorizon, 4}));
  // The grid's forecasts, sorted per point s_0 <= ... <= s_10: numpy's quantile q lies at
  // position 10 q, so 0.01 is s_0 + 0.1 (s_1 - s_0), 0.15 halfway between s_1 and s_2, 0.5 is
  // s_5 and 0.99 is s_9 + 0.9 (s_10 - s_9).
  const auto y = model->named_children()["model"]->as<ForecastModel>()->Forward(batch);
  std::vector<torch::Tensor> grid;
  for (double g : {0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99}) {
    grid.push_back(model->Head(y, torch::full_like(y, g)));
  }
  const auto sorted = std::get<0>(torch::stack(grid, -1).sort(-1));
  const auto s = [&](int i) { return sorted.select(-1, i); };
  EXPECT_TRUE(torch::allclose(f.quantiles.select(-1, 0), s(0) + 0.1 * (s(1) - s(0))));
  EXPECT_TRUE(torch::allclose(f.quantiles.select(-1, 1), (s(1) + s(2)) / 2));
  EXPECT_TRUE(torch::allclose(f.quantiles.select(-1, 2), s(5)));
  EXPECT_TRUE(torch::allclose(f.quantiles.select(-1, 3), s(9) + 0.9 * (s(10) - s(9))));
  // Monotone in q, whatever the head learned.
  EXPECT_TRUE((f.quantiles.diff(1, -1) >= 0).all().item<bool>());
  // Without levels: the point only.
  EXPECT_FALSE(model->Quantiles(batch, torch::Tensor()).quantiles.defined());
}

// Training draws a quantile per point from the loss's Beta distribution (NF's Beta(c0, c1) is
// torch's Beta(concentration1, concentration0): mean c1 / (c0 + c1)), so two losses of one batch
// differ; the gradient reaches the head and the model.
TEST(ImplicitQuantile, TrainingDrawsAQuantilePerPoint) {
  auto uniform = Wrapped("IQLoss");
  torch::manual_seed(3);
  const auto draws = uniform->DrawQuantiles(torch::zeros({20000}));
  EXPECT_NEAR(draws.mean().item<double>(), 0.5, 0.01);
  EXPECT_GT(draws.min().item<double>(), 0.0);
  EXPECT_LT(draws.max().item<double>(), 1.0);
  auto skewed = Wrapped("IQLoss(concentration0=2, concentration1=8)");
  const auto beta = skewed->DrawQuantiles(torch::zeros({20000}));
  EXPECT_NEAR(beta.mean().item<double>(), 0.8, 0.005);  // its sd 0.12, the mean's 0.001
  EXPECT_NEAR(beta.std().item<double>(), std::sqrt(16.0 / 1100), 0.005);

  auto model = Wrapped("HuberIQLoss(delta=0.5)");
  model->train();
  torch::manual_seed(4);
  WindowBatch batch{torch::randn({16, kInput}), torch::ones({16, kInput})};
  const auto y = torch::randn({16, kHorizon});
  const auto mask = torch::ones({16, kHorizon});
  const auto first = model->TrainingLoss(batch, y, mask);
  const auto second = model->TrainingLoss(batch, y, mask);
  EXPECT_NE(first.item<double>(), second.item<double>());
  first.backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  }
  // A merged window shares its draws, as dropout's: merged only when the trainer allows that.
  EXPECT_EQ(model->Repeats(), RepeatedDraws::kMergeSharingDropout);
  // The quantiles of a step are drawn before it is split (PrepareStep), so a step may run in
  // parts as the wrapped model's may (window_parallel_test checks that parts give the whole's).
  EXPECT_EQ(model->WindowParallel(), WindowParallelism::kAllowed);
  model->PrepareStep(batch, kHorizon);
  ASSERT_EQ(batch.quantiles.sizes(), y.sizes());
  EXPECT_EQ(model->TrainingLoss(batch, y, mask).item<double>(),
            model->TrainingLoss(batch, y, mask).item<double>());
}

}  // namespace
}  // namespace drc::dl
