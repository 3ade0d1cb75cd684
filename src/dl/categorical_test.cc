#include "src/dl/categorical.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "src/dl/windows.h"

namespace drc::dl {
namespace {

constexpr int kInput = 8, kHorizon = 3;

TEST(Categorical, EmbeddingWidthsAreNfs) {
  // NF's _resolve_cat_emb_dim by hand: fastai ceil(1.6 c^0.56), c = 12: 1.6 * 4.02 = 6.43 -> 7;
  // c = 2: 1.6 * 1.47 = 2.36 -> 3; c = 1: 2; capped at 50.
  EXPECT_EQ(*CatEmbeddingDim("fastai", 12), 7);
  EXPECT_EQ(*CatEmbeddingDim("fastai", 2), 3);
  EXPECT_EQ(*CatEmbeddingDim("fastai", 1), 2);
  EXPECT_EQ(*CatEmbeddingDim("fastai", 100000), 50);
  EXPECT_EQ(*CatEmbeddingDim("sqrt", 12), 4);
  EXPECT_EQ(*CatEmbeddingDim("sqrt", 16), 4);
  EXPECT_EQ(*CatEmbeddingDim("half", 12), 6);
  EXPECT_EQ(*CatEmbeddingDim("half", 7), 4);
  EXPECT_EQ(*CatEmbeddingDim("half", 1000), 50);
  EXPECT_EQ(*CatEmbeddingDim("8", 12), 8);
  for (const char* bad : {"0", "", "x", "-3", "2.5", "Fastai"}) {
    auto dim = CatEmbeddingDim(bad, 12);
    ASSERT_FALSE(dim.ok()) << bad;
    EXPECT_NE(dim.status().message().find("expected fastai, sqrt, half or a whole number"),
              std::string::npos)
        << dim.status();
  }
}

ModelConfig MlpConfig() {
  ModelConfig c;
  c.input_size = kInput;
  c.horizon = kHorizon;
  c.params = {{"hidden_size", 16}};
  return c;
}

// Future columns: 0 continuous, 1 categorical (3 categories, width 2), 2 continuous.
TEST(Categorical, EmbedsCodesAfterTheContinuousColumns) {
  ModelConfig c = MlpConfig();
  c.futr_exog = 3;
  c.categorical = {{CategoricalExog::kFutr, 1, 3, 2}};
  EXPECT_EQ(EmbeddedConfig(c).futr_exog, 4);
  EXPECT_TRUE(EmbeddedConfig(c).categorical.empty());
  torch::manual_seed(1);
  auto made = DefaultModelRegistry().Make("MLP", c);
  ASSERT_TRUE(made.ok()) << made.status();
  auto* model = dynamic_cast<CategoricalExogModel*>(made->get());
  ASSERT_NE(model, nullptr);
  const int64_t B = 2, T = kInput + kHorizon;
  WindowBatch batch{torch::randn({B, kInput}), torch::ones({B, kInput})};
  auto codes = torch::tensor({0.0f, 1.0f, 2.0f, 3.0f}).repeat({B * T}).slice(0, 0, B * T);
  batch.futr_exog =
      torch::stack({torch::randn({B * T}), codes, torch::randn({B * T})}, 1).view({B, T, 3});
  WindowBatch embedded = model->Embed(batch);
  ASSERT_EQ(embedded.futr_exog.sizes(), (std::vector<int64_t>{B, T, 4}));
  EXPECT_TRUE(torch::equal(embedded.futr_exog.slice(2, 0, 1), batch.futr_exog.slice(2, 0, 1)));
  EXPECT_TRUE(torch::equal(embedded.futr_exog.slice(2, 1, 2), batch.futr_exog.slice(2, 2, 3)));
  torch::Tensor table;
  for (const auto& p : model->named_parameters()) {
    if (p.key() == "futr_exog_embedding_0.weight") table = p.value();
  }
  ASSERT_TRUE(table.defined());
  ASSERT_EQ(table.sizes(), (std::vector<int64_t>{4, 2}));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      const int64_t code = batch.futr_exog[b][t][1].item<int64_t>();
      // Code 0, a category not seen in training, reads the mean of the learned rows.
      auto want = code == 0 ? table.slice(0, 1).mean(0) : table[code];
      EXPECT_TRUE(torch::allclose(embedded.futr_exog[b][t].slice(0, 2), want)) << "code " << code;
    }
  }
  // Training reaches the embeddings.
  auto loss = model->TrainingLoss(batch, torch::randn({B, kHorizon}), torch::ones({B, kHorizon}));
  loss.backward();
  ASSERT_TRUE(table.grad().defined());
  EXPECT_GT(table.grad().slice(0, 1).abs().sum().item<double>(), 0);
  EXPECT_EQ(table.grad()[0].abs().sum().item<double>(), 0);  // row 0 is never read
}

TEST(Categorical, BadEntriesAreErrors) {
  ModelConfig c = MlpConfig();
  c.futr_exog = 2;
  c.categorical = {{CategoricalExog::kFutr, 2, 3, 2}};
  auto made = DefaultModelRegistry().Make("MLP", c);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("categorical futr_exog column 2: expected a distinct "
                                         "column in [0, 2)"),
            std::string::npos)
      << made.status();
  c.categorical = {{CategoricalExog::kFutr, 1, 0, 2}};
  made = DefaultModelRegistry().Make("MLP", c);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("cardinality and embedding width must be >= 1, got 0"),
            std::string::npos)
      << made.status();
  c.categorical = {{CategoricalExog::kFutr, 1, 3, 2}, {CategoricalExog::kFutr, 1, 3, 2}};
  EXPECT_FALSE(DefaultModelRegistry().Make("MLP", c).ok());
}

// DeepAR (NF's recurrent model) reads historic variables past the input window as zeros, which
// NF embeds too: there the categorical ones read the unseen category's embedding.
TEST(Categorical, RecurrentHistoricStepsPastTheInputReadTheUnseenCategory) {
  ModelConfig c;
  c.input_size = kInput + 1;
  c.horizon = kHorizon;
  c.params = {{"lstm_hidden_size", 8}};
  c.hist_exog = 2;
  c.categorical = {{CategoricalExog::kHist, 0, 5, 3}};
  torch::manual_seed(1);
  auto made = DefaultModelRegistry().Make("DeepAR", c);
  ASSERT_TRUE(made.ok()) << made.status();
  auto* model = dynamic_cast<CategoricalExogModel*>(made->get());
  ASSERT_NE(model, nullptr);
  const int64_t B = 2, L = c.input_size;
  WindowBatch batch{torch::randn({B, L}), torch::ones({B, L})};
  batch.hist_exog = torch::stack({torch::randint(1, 6, {B, L}), torch::randn({B, L})}, 2);
  auto hist = model->Embed(batch).hist_exog;
  ASSERT_EQ(hist.sizes(), (std::vector<int64_t>{B, L + kHorizon, 1 + 3}));
  auto tail = hist.slice(1, L);
  EXPECT_EQ(tail.select(2, 0).abs().sum().item<double>(), 0);  // the continuous one: zero
  torch::Tensor table;
  for (const auto& p : model->named_parameters()) {
    if (p.key() == "hist_exog_embedding_0.weight") table = p.value();
  }
  ASSERT_TRUE(table.defined());
  auto unseen = table.slice(0, 1).mean(0);
  for (int64_t t = 0; t < kHorizon; ++t) {
    EXPECT_TRUE(torch::allclose(tail[0][t].slice(0, 1), unseen)) << t;
  }
  auto y = model->PointForecast(batch);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{B, kHorizon}));
}

// Every model that reads exogenous variables reads categorical ones of each kind it reads: the
// point forecast's gradients reach each embedding table.
class CategoricalModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CategoricalModelTest, EveryKindsEmbeddingReachesTheForecast) {
  const std::string& name = GetParam();
  auto defaults = DefaultModelRegistry().Defaults(name);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  ModelConfig c;
  c.input_size = kInput + (defaults->recurrent ? 1 : 0);
  c.horizon = kHorizon;
  c.futr_exog = 2;
  c.categorical = {{CategoricalExog::kFutr, 1, 4, 3}};
  // TiDE without NF's temporal LayerNorm, which keeps the future variables out (tide.cc).
  if (name == "TiDE") c.params = {{"temporal_decoder_layernorm", 0}};
  if (defaults->hist_exog) {
    c.hist_exog = 1;
    c.categorical.push_back({CategoricalExog::kHist, 0, 3, 2});
  }
  if (defaults->stat_exog) {
    c.stat_exog = 2;
    c.categorical.push_back({CategoricalExog::kStat, 0, 6, 4});
  }
  torch::manual_seed(1);
  auto made = DefaultModelRegistry().Make(name, c);
  ASSERT_TRUE(made.ok()) << made.status();
  const int64_t B = 3, L = c.input_size;
  WindowBatch batch{torch::randn({B, L}), torch::ones({B, L})};
  batch.futr_exog =
      torch::stack({torch::randn({B, L + kHorizon}), torch::randint(0, 5, {B, L + kHorizon})}, 2);
  if (c.hist_exog > 0) batch.hist_exog = torch::randint(1, 4, {B, L, 1});
  if (c.stat_exog > 0)
    batch.stat_exog = torch::stack({torch::randint(1, 7, {B}), torch::randn({B})}, 1);
  auto y = (*made)->PointForecast(batch);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{B, kHorizon}));
  y.sum().backward();
  int tables = 0;
  for (const auto& p : (*made)->named_parameters()) {
    if (p.key().find("_embedding_") == std::string::npos) continue;
    ++tables;
    ASSERT_TRUE(p.value().grad().defined()) << name << ": " << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << name << ": " << p.key();
  }
  EXPECT_EQ(tables, static_cast<int>(c.categorical.size())) << name;
}

INSTANTIATE_TEST_SUITE_P(Zoo, CategoricalModelTest,
                         ::testing::Values("MLP", "NHITS", "TCN", "RNN", "LSTM", "GRU",
                                           "DilatedRNN", "DeepAR", "VanillaTransformer",
                                           "Autoformer", "FEDformer", "TimesNet", "TiDE"));

// The codes of categorical columns reach the batch as they are, the other columns scaled.
TEST(Categorical, CodesAreNotScaled) {
  SeriesData s{torch::arange(1, 13, torch::kFloat32), {0, 12}};
  auto codes =
      torch::tensor({1.0f, 2.0f, 3.0f, 1.0f, 2.0f, 3.0f, 1.0f, 2.0f, 3.0f, 1.0f, 2.0f, 3.0f});
  s.exog = torch::stack({s.values * 10, codes, codes + 1}, 1);
  s.futr = 2;  // future: x, codes; historic: codes + 1
  s.categorical = {{CategoricalExog::kFutr, 1, 3, 2}, {CategoricalExog::kHist, 0, 4, 2}};
  WindowOptions o;
  o.input_size = 4;
  o.horizon = 2;
  o.scaler = ScalerType::kStandard;
  o.windows_batch_size = 0;
  auto ds = WindowedDataset::Make(s, o);
  ASSERT_TRUE(ds.ok()) << ds.status();
  std::mt19937_64 rng(1);
  auto batch = ds->Sample(rng);
  ASSERT_TRUE(batch.ok()) << batch.status();
  const auto& in = batch->input;
  // Each window's codes are whole numbers from 1 to 3 (4 for the historic column), as given;
  // the padding after a series' end reads 0 (unseen).
  auto futr_codes = in.futr_exog.select(2, 1);
  EXPECT_TRUE(torch::equal(futr_codes, futr_codes.round()));
  EXPECT_GE(futr_codes.slice(1, 0, o.input_size).min().item<float>(), 1);
  EXPECT_GE(futr_codes.min().item<float>(), 0);
  EXPECT_LE(futr_codes.max().item<float>(), 3);
  auto hist_codes = in.hist_exog.select(2, 0);
  EXPECT_TRUE(torch::equal(hist_codes, hist_codes.round()));
  EXPECT_GE(hist_codes.min().item<float>(), 2);
  EXPECT_LE(hist_codes.max().item<float>(), 4);
  // The continuous column is scaled: its input part has mean 0 in every window.
  auto x = in.futr_exog.select(2, 0).slice(1, 0, o.input_size);
  EXPECT_LT(x.mean(1).abs().max().item<float>(), 1e-5);
  // And DropLast keeps which columns are codes.
  EXPECT_EQ(DropLast(s, 2).categorical.size(), 2u);
}

}  // namespace
}  // namespace drc::dl
