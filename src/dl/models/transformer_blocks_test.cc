// Tests of the Transformer family's blocks (models/transformer_blocks.h) and of what the
// generic zoo test does not see in VanillaTransformer, Autoformer and FEDformer: decomposition,
// moving average, positions, causal masking, auto-correlation, Fourier mode selection,
// FEDformer's shared Fourier weights, NF's default sizes and parameter validation.
#include "src/dl/models/transformer_blocks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>
#include <set>
#include <string>
#include <vector>

#include "src/dl/model.h"

namespace drc::dl {
namespace {

ModelConfig Config(int input_size, int horizon, std::map<std::string, double> params = {}) {
  ModelConfig c;
  c.input_size = input_size;
  c.horizon = horizon;
  c.params = std::move(params);
  return c;
}

int64_t CountParameters(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

TEST(TransformerBlocks, SeriesDecompositionAddsUpAndKeepsLength) {
  torch::manual_seed(3);
  auto x = torch::randn({2, 24, 3});
  for (int64_t kernel : {1, 3, 25}) {  // 25 > T: the padding still keeps T steps
    auto d = SeriesDecompose(x, kernel);
    EXPECT_EQ(d.trend.sizes(), x.sizes()) << kernel;
    EXPECT_TRUE(torch::allclose(d.seasonal + d.trend, x, 1e-5, 1e-6)) << kernel;
  }
  // A line is its own moving average away from the edges; a constant everywhere.
  auto line = torch::arange(24, torch::kFloat32).view({1, 24, 1});
  auto trend = MovingAverage(line, 5);
  EXPECT_TRUE(torch::allclose(trend.slice(1, 2, 22), line.slice(1, 2, 22)));
  auto flat = torch::full({1, 10, 1}, 4.0f);
  EXPECT_TRUE(torch::allclose(MovingAverage(flat, 25), flat));
}

TEST(TransformerBlocks, MovingAverageRepeatsTheEndValues) {
  // [1, 2, 3, 4, 10] padded to [1, 1, 2, 3, 4, 10, 10], windows of 3.
  auto x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 10.0f}).view({1, 5, 1});
  auto expected = torch::tensor({4.0f / 3, 2.0f, 3.0f, 17.0f / 3, 8.0f}).view({1, 5, 1});
  EXPECT_TRUE(torch::allclose(MovingAverage(x, 3), expected));
}

TEST(TransformerBlocks, SinusoidalPositions) {
  auto pe = SinusoidalPositions(5, 6, torch::kCPU);
  ASSERT_EQ(pe.sizes(), (std::vector<int64_t>{1, 5, 6}));
  EXPECT_TRUE(torch::allclose(pe[0][0], torch::tensor({0.0f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f})));
  // Row 1, columns 2 and 3: sin / cos of 1 / 10000^(2 / 6).
  const double w = std::pow(10000.0, -2.0 / 6);
  EXPECT_NEAR(pe[0][1][2].item<double>(), std::sin(w), 1e-6);
  EXPECT_NEAR(pe[0][1][3].item<double>(), std::cos(w), 1e-6);
}

TEST(TransformerBlocks, CausalAttentionIgnoresLaterSteps) {
  auto mask = CausalMask(3, 3, torch::kCPU);
  EXPECT_TRUE(torch::equal(
      mask,
      torch::tensor({false, true, true, false, false, true, false, false, false}).view({3, 3})));
  torch::manual_seed(5);
  FullAttention causal(true, 0.0), full(false, 0.0);
  auto q = torch::randn({2, 6, 2, 4});
  auto k = torch::randn({2, 6, 2, 4});
  auto v = torch::randn({2, 6, 2, 4});
  auto out = causal.Attend(q, k, v);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 6, 8}));
  // Changing steps 3.. of keys and values leaves outputs 0..2 of the causal attention alone,
  // but not of the full one.
  auto k2 = k.clone(), v2 = v.clone();
  k2.slice(1, 3).normal_();
  v2.slice(1, 3).normal_();
  auto out2 = causal.Attend(q, k2, v2);
  EXPECT_TRUE(torch::allclose(out.slice(1, 0, 3), out2.slice(1, 0, 3)));
  EXPECT_FALSE(torch::allclose(out.slice(1, 3), out2.slice(1, 3)));
  EXPECT_FALSE(
      torch::allclose(full.Attend(q, k, v).slice(1, 0, 3), full.Attend(q, k2, v2).slice(1, 0, 3)));
}

TEST(TransformerBlocks, AutoCorrelationShapesAndPeriodicity) {
  torch::manual_seed(7);
  AutoCorrelation correlation(3);
  EXPECT_EQ(correlation.TopK(24), 9);  // int(3 ln 24)
  EXPECT_EQ(correlation.TopK(36), 10);
  for (bool training : {true, false}) {
    correlation.train(training);
    // Keys shorter (zero-padded), equal and longer (cut) than the queries.
    for (int64_t s : {12, 24, 30}) {
      auto out = correlation.Attend(torch::randn({3, 24, 2, 4}), torch::randn({3, s, 2, 4}),
                                    torch::randn({3, s, 2, 4}));
      EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 24, 8})) << training << " S=" << s;
      EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
    }
  }
  // A series of period 6 over 24 steps correlates most at delays 0, 6, 12, 18; with one delay
  // (int(0.4 ln 24) = 1) the aggregation returns the values rolled by a whole period: unchanged.
  AutoCorrelation one(0.4);
  ASSERT_EQ(one.TopK(24), 1);
  auto t = torch::arange(24, torch::kFloat32);
  auto wave = torch::sin(t * (2 * std::numbers::pi / 6)).view({1, 24, 1, 1}).repeat({2, 1, 1, 3});
  for (bool training : {true, false}) {
    one.train(training);
    auto out = one.Attend(wave, wave, wave);
    EXPECT_TRUE(torch::allclose(out, wave.reshape({2, 24, 3}), 1e-4, 1e-5)) << training;
  }
}

TEST(TransformerBlocks, RandomFrequencyModes) {
  std::mt19937_64 rng(1);
  auto all = RandomFrequencyModes(24, 64, rng);  // min(64, 12): every mode below 12
  std::vector<int64_t> expected(12);
  for (int i = 0; i < 12; ++i) expected[i] = i;
  EXPECT_EQ(all, expected);
  auto some = RandomFrequencyModes(400, 64, rng);
  ASSERT_EQ(some.size(), 64u);
  EXPECT_TRUE(std::is_sorted(some.begin(), some.end()));
  EXPECT_EQ(std::set<int64_t>(some.begin(), some.end()).size(), 64u);
  EXPECT_GE(some.front(), 0);
  EXPECT_LT(some.back(), 200);
  std::mt19937_64 again(1);
  RandomFrequencyModes(24, 64, again);
  EXPECT_EQ(RandomFrequencyModes(400, 64, again), some);  // seeded: repeatable
}

TEST(TransformerBlocks, FourierMechanismsShapesAndGradients) {
  torch::manual_seed(11);
  std::mt19937_64 rng(2);
  FourierBlock block(16, 8, 40, RandomFrequencyModes(40, 8, rng));
  auto q = torch::randn({3, 40, 8, 2}, torch::requires_grad());
  auto out = block.Attend(q, {}, {});
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{3, 40, 16}));
  FourierCrossAttention cross(16, 8, 40, 24, RandomFrequencyModes(40, 8, rng),
                              RandomFrequencyModes(24, 8, rng));
  auto k = torch::randn({3, 24, 8, 2}, torch::requires_grad());
  auto out2 = cross.Attend(q, k, {});
  ASSERT_EQ(out2.sizes(), (std::vector<int64_t>{3, 40, 16}));
  (out.sum() + out2.sum() * 1e4).backward();
  for (const torch::nn::Module* m : std::vector<const torch::nn::Module*>{&block, &cross}) {
    for (const auto& p : m->parameters()) {
      ASSERT_TRUE(p.grad().defined());
      EXPECT_GT(p.grad().abs().sum().item<double>(), 0);
    }
  }
  EXPECT_GT(k.grad().abs().sum().item<double>(), 0);
  EXPECT_FALSE(block.ReadsKeys());
  EXPECT_FALSE(cross.ReadsValues());
}

// FEDformer's encoder layers share one Fourier block: its weights appear once among the
// parameters (Adam must not step them twice), and no projection is left without a gradient.
TEST(TransformerBlocks, FedFormerSharesItsFourierBlockOnce) {
  torch::manual_seed(1);
  auto model = DefaultModelRegistry().Make(
      "FEDformer", Config(24, 12, {{"hidden_size", 16}, {"encoder_layers", 3}}));
  ASSERT_TRUE(model.ok()) << model.status();
  std::set<const void*> seen;
  int weights = 0;
  for (const auto& item : (*model)->named_parameters()) {
    EXPECT_TRUE(seen.insert(item.value().data_ptr()).second) << item.key() << " twice";
    if (item.key().find("weights1") != std::string::npos) ++weights;
  }
  EXPECT_EQ(weights, 3);  // encoder block, decoder block, cross-attention
  (*model)->Forward(WindowBatch{torch::randn({4, 24}), torch::ones({4, 24})}).sum().backward();
  for (const auto& item : (*model)->named_parameters()) {
    EXPECT_TRUE(item.value().grad().defined()) << item.key();
  }
}

// NF's default sizes (h = input_size = 24), counted from NF's modules.
TEST(TransformerBlocks, DefaultParameterCountsMatchNeuralForecast) {
  auto vanilla = DefaultModelRegistry().Make("VanillaTransformer", Config(24, 24));
  ASSERT_TRUE(vanilla.ok()) << vanilla.status();
  EXPECT_EQ(CountParameters(**vanilla), 292449);
  auto autoformer = DefaultModelRegistry().Make("Autoformer", Config(24, 24));
  ASSERT_TRUE(autoformer.ok()) << autoformer.status();
  EXPECT_EQ(CountParameters(**autoformer), 290561);
  // FEDformer: NF's 388865 (its complex Fourier weights, 8 x 16 x 16 x (12 + 18 + 18), counted
  // once each) less the key/value projections NF builds but never uses (2 per encoder layer, 3
  // in the decoder layer: 7 x 16512), with the complex weights stored as real pairs here.
  auto fedformer = DefaultModelRegistry().Make("FEDformer", Config(24, 24));
  ASSERT_TRUE(fedformer.ok()) << fedformer.status();
  const int64_t complex_weights = 8 * 16 * 16 * (12 + 18 + 18);
  EXPECT_EQ(CountParameters(**fedformer), 388865 - 7 * 16512 + complex_weights);
}

TEST(TransformerBlocks, ParametersAreChecked) {
  auto& registry = DefaultModelRegistry();
  struct Case {
    std::string model;
    std::map<std::string, double> params;
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{
           {"VanillaTransformer", {{"decoder_input_size_multiplier", 1.0}}, "multiplier"},
           {"VanillaTransformer", {{"hidden_size", 2}}, "hidden_size"},
           {"Autoformer", {{"MovingAvg_window", 24}}, "MovingAvg_window"},
           {"Autoformer", {{"MovingAvg_window", 5}, {"moving_avg_window", 7}}, "same parameter"},
           {"Autoformer", {{"factor", 0}}, "factor"},
           {"FEDformer", {{"n_head", 4}}, "n_head must be 8"},
           {"FEDformer", {{"version", 1}}, "version"},
       }) {
    auto m = registry.Make(c.model, Config(24, 12, c.params));
    ASSERT_FALSE(m.ok()) << c.model << " " << c.expect;
    EXPECT_NE(m.status().message().find(c.expect), std::string::npos) << m.status().message();
    EXPECT_NE(m.status().message().find(c.model), std::string::npos) << m.status().message();
  }
  // The earlier NF name of the window works alone.
  EXPECT_TRUE(registry.Make("Autoformer", Config(24, 12, {{"moving_avg_window", 5}})).ok());
  // A window of the wrong length is a libtorch error naming the model and the shape.
  auto m = registry.Make("Autoformer", Config(24, 12));
  ASSERT_TRUE(m.ok());
  try {
    (*m)->Forward(WindowBatch{torch::randn({2, 20}), torch::ones({2, 20})});
    ADD_FAILURE() << "no error for a [2, 20] window";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Autoformer: insample_y must be [B, 24], got [2, 20]"),
              std::string::npos)
        << e.what();
  }
}

// Decoder inputs of the decomposition models: the seasonal prefix then zeros, the trend prefix
// then the window mean.
TEST(TransformerBlocks, DecompDecoderInputs) {
  auto y = torch::arange(8, torch::kFloat32).view({1, 8, 1});
  auto init = DecompDecoderInputs(y, 4, 3, 3);
  ASSERT_EQ(init.seasonal.sizes(), (std::vector<int64_t>{1, 7, 1}));
  auto parts = SeriesDecompose(y, 3);
  EXPECT_TRUE(torch::allclose(init.seasonal.slice(1, 0, 4), parts.seasonal.slice(1, 4)));
  EXPECT_TRUE(torch::equal(init.seasonal.slice(1, 4), torch::zeros({1, 3, 1})));
  EXPECT_TRUE(torch::allclose(init.trend.slice(1, 0, 4), parts.trend.slice(1, 4)));
  EXPECT_TRUE(torch::allclose(init.trend.slice(1, 4), torch::full({1, 3, 1}, 3.5f)));
}

}  // namespace
}  // namespace drc::dl
