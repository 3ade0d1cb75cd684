// Tests of DeepAR (models/deepar.cc): output shapes, NF's default sizes and training defaults,
// gradients through the likelihood loss, which horizon values the loss reads (h_train), the
// kept LSTM state of the mean-feedback forecast, quantiles of both forecast modes and their
// calibration on noisy series, a falling NLL on a learnable series, forecasts through the
// trainer, seeds, and parameter validation.
#include <gtest/gtest.h>
#include <torch/utils.h>

#include <cmath>
#include <map>
#include <memory>
#include <numbers>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "src/dl/model.h"
#include "src/dl/torch_status.h"
#include "src/dl/trainer.h"
#include "src/dl/windows.h"

namespace drc::dl {
namespace {

// Small widths keep the tests quick; the architecture is the default one.
std::map<std::string, double> Small(std::map<std::string, double> extra = {}) {
  std::map<std::string, double> p = {{"lstm_hidden_size", 16}};
  for (const auto& [k, v] : extra) p[k] = v;
  return p;
}

ModelConfig Config(int input_size, int horizon, std::map<std::string, double> params,
                   uint64_t seed = 1) {
  ModelConfig c;
  c.input_size = input_size;
  c.horizon = horizon;
  c.params = std::move(params);
  c.seed = seed;
  return c;
}

std::shared_ptr<ForecastModel> Make(const ModelConfig& config) {
  auto model = DefaultModelRegistry().Make("DeepAR", config);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *model : nullptr;
}

WindowBatch Windows(const torch::Tensor& y) { return WindowBatch{y, torch::ones_like(y)}; }

int64_t CountParameters(const ForecastModel& model) {
  int64_t n = 0;
  for (const auto& p : model.parameters()) n += p.numel();
  return n;
}

TEST(DeepAR, ForwardGivesDistributionParametersPerStep) {
  for (auto [distribution, params] : std::vector<std::pair<double, int64_t>>{{0, 3}, {1, 2}}) {
    auto model = Make(Config(10, 4, Small({{"distribution", distribution}})));
    ASSERT_NE(model, nullptr);
    torch::Tensor out = model->Forward(Windows(torch::randn({3, 10})));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 10, params})) << distribution;
    // Scales above NF's floors (0.1 StudentT, 0.2 Normal); StudentT's df above 3.
    EXPECT_GT(out.select(-1, params - 1).min().item<double>(), params == 3 ? 0.1 : 0.2);
    if (params == 3) {
      EXPECT_GT(out.select(-1, 0).min().item<double>(), 3.0);
    }
  }
}

// NF's DeepAR(h, input_size) has LSTM(1, 128, 2 layers) and Linear(128, 3) for StudentT:
// 4 * 128 * (1 + 128 + 2) + 4 * 128 * (128 + 128 + 2) + 128 * 3 + 3 = 199555 parameters.
TEST(DeepAR, DefaultSizesAndTrainingDefaultsAreNeuralForecasts) {
  auto model = Make(Config(24, 12, {}));
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(CountParameters(*model), 199555);
  auto normal = Make(Config(24, 12, {{"distribution", 1}}));
  EXPECT_EQ(CountParameters(*normal), 199555 - 129);
  // One decoder hidden layer of 8: Linear(128, 8) + ReLU + Linear(8, 3).
  auto deep = Make(Config(24, 12, {{"decoder_hidden_layers", 1}, {"decoder_hidden_size", 8}}));
  EXPECT_EQ(CountParameters(*deep), 199555 - 387 + 128 * 8 + 8 + 8 * 3 + 3);
  auto d = DefaultModelRegistry().Defaults("DeepAR");
  ASSERT_TRUE(d.ok());
  EXPECT_DOUBLE_EQ(d->learning_rate, 1e-3);
  EXPECT_EQ(d->batch_size, 32);
  EXPECT_EQ(d->windows_batch_size, 1024);
  EXPECT_EQ(d->num_lr_decays, 3);
  EXPECT_EQ(d->scaler, "identity");
  EXPECT_EQ(d->loss, "DistributionLoss(StudentT)");
  // A RECURRENT model in NF: it reads input_size + 1 values, and its windows are that long.
  EXPECT_TRUE(d->recurrent);
  EXPECT_TRUE(d->gives_quantiles);
  EXPECT_EQ(ModelInputSize(*d, 24), 25);
  auto windows = WindowOptionsFrom(*d, 24, 12);
  ASSERT_TRUE(windows.ok()) << windows.status();
  EXPECT_EQ(windows->input_size, 25);
  auto mlp = DefaultModelRegistry().Defaults("MLP");
  ASSERT_TRUE(mlp.ok());
  EXPECT_EQ(ModelInputSize(*mlp, 24), 24);
}

TEST(DeepAR, GradientsReachEveryParameterThroughTheLoss) {
  for (const auto& extra : std::vector<std::map<std::string, double>>{
           {},
           {{"h_train", 5}, {"distribution", 1}},
           {{"decoder_hidden_layers", 2}, {"decoder_hidden_size", 8}}}) {
    auto model = Make(Config(8, 5, Small(extra)));
    ASSERT_NE(model, nullptr);
    torch::Tensor y = torch::randn({4, 5});
    torch::Tensor loss = model->TrainingLoss(Windows(torch::randn({4, 8})), y, torch::ones_like(y));
    EXPECT_EQ(loss.dim(), 0);
    loss.backward();
    for (const auto& item : model->named_parameters()) {
      const torch::Tensor& grad = item.value().grad();
      ASSERT_TRUE(grad.defined()) << "no gradient for " << item.key();
      EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << item.key();
      EXPECT_GT(grad.abs().sum().item<double>(), 0) << item.key();
    }
  }
}

// The loss reads the first h_train horizon values (NF's h_train, default 1) and their mask only.
TEST(DeepAR, LossCoversTheFirstHTrainHorizonValues) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({4, 8});
  const torch::Tensor y = torch::randn({4, 6});
  const torch::Tensor ones = torch::ones_like(y);
  for (int h_train : {1, 3}) {
    auto model = Make(Config(8, 6, Small({{"h_train", h_train}, {"lstm_dropout", 0}})));
    ASSERT_NE(model, nullptr);
    const double base = model->TrainingLoss(Windows(x), y, ones).item<double>();
    torch::Tensor later = y.clone();
    later.narrow(1, h_train, 6 - h_train).add_(100.0);
    EXPECT_DOUBLE_EQ(model->TrainingLoss(Windows(x), later, ones).item<double>(), base);
    torch::Tensor last_read = y.clone();
    last_read.select(1, h_train - 1).add_(1.0);
    EXPECT_NE(model->TrainingLoss(Windows(x), last_read, ones).item<double>(), base);
    // Masking every value the loss reads gives 0.
    torch::Tensor mask = ones.clone();
    mask.narrow(1, 0, h_train).zero_();
    EXPECT_EQ(model->TrainingLoss(Windows(x), y, mask).item<double>(), 0.0);
  }
  // h_train = 1: the loss is the NLL of y_1 under the distribution after the input's last value.
  auto model = Make(Config(8, 6, Small({{"lstm_dropout", 0}})));
  torch::Tensor params = model->Forward(Windows(x)).select(1, 7);  // [4, 3]
  const torch::Tensor df = params.select(-1, 0), loc = params.select(-1, 1),
                      scale = params.select(-1, 2);
  const torch::Tensor z = (y.select(1, 0) - loc) / scale;
  const torch::Tensor log_p = torch::lgamma(0.5 * (df + 1)) - torch::lgamma(0.5 * df) -
                              0.5 * torch::log(df * std::numbers::pi) - torch::log(scale) -
                              0.5 * (df + 1) * torch::log1p(z * z / df);
  EXPECT_NEAR(model->TrainingLoss(Windows(x), y, ones).item<double>(), -log_p.mean().item<double>(),
              1e-5);
}

// NF 3.x's forecast feeds each step's mean back with the LSTM state kept: step 1 is the mean after
// the input, step 2 the mean after the input followed by step 1 (checked against a model with
// the same weights built for input_size + 1).
TEST(DeepAR, MeanForecastFeedsBackTheMean) {
  const int L = 8, H = 4;
  auto model = Make(Config(L, H, Small()));
  auto longer = Make(Config(L + 1, H, Small()));  // same seed, same weights
  ASSERT_NE(model, nullptr);
  ASSERT_NE(longer, nullptr);
  model->eval();
  longer->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({3, L});
  const torch::Tensor forecast = model->PointForecast(Windows(x));
  ASSERT_EQ(forecast.sizes(), (std::vector<int64_t>{3, H}));
  const torch::Tensor loc_after_input = model->Forward(Windows(x)).select(1, L - 1).select(-1, 1);
  EXPECT_TRUE(torch::allclose(forecast.select(1, 0), loc_after_input, 1e-5, 1e-6));
  const torch::Tensor extended = torch::cat({x, forecast.narrow(1, 0, 1)}, 1);
  const torch::Tensor loc_after_step1 =
      longer->Forward(Windows(extended)).select(1, L).select(-1, 1);
  EXPECT_TRUE(torch::allclose(forecast.select(1, 1), loc_after_step1, 1e-5, 1e-6));
}

// NF's quantile columns: at each step, the quantiles of trajectory_samples draws from that step's
// distribution along the mean path. With a Normal likelihood and many draws they are the
// distribution's own: loc + scale * z_q at step 1 (after the input) and at step 2 (after the
// input and step 1's mean, read from a model with the same weights built for input_size + 1).
// The point forecast is the mean path, with or without quantiles.
TEST(DeepAR, QuantilesAreThoseOfEachStepAlongTheMeanPath) {
  const int L = 8, H = 3;
  const auto params = Small({{"distribution", 1}, {"trajectory_samples", 40000}});
  auto model = Make(Config(L, H, params));
  auto longer = Make(Config(L + 1, H, params));
  ASSERT_NE(model, nullptr);
  ASSERT_NE(longer, nullptr);
  model->eval();
  longer->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, L});
  const torch::Tensor q = torch::tensor({0.1, 0.5, 0.9}, torch::kFloat64);
  const QuantileForecast f = model->Quantiles(Windows(x), q);
  ASSERT_EQ(f.quantiles.sizes(), (std::vector<int64_t>{2, H, 3}));
  EXPECT_TRUE(torch::equal(f.point, model->PointForecast(Windows(x))));
  EXPECT_FALSE(model->Quantiles(Windows(x), torch::Tensor()).quantiles.defined());
  constexpr double kZ90 = 1.2815516;
  auto expect_normal_quantiles = [&](const torch::Tensor& loc_scale, int step) {
    for (int b = 0; b < 2; ++b) {
      const double loc = loc_scale[b][0].item<double>(), scale = loc_scale[b][1].item<double>();
      const double tol = 0.03 * scale;
      EXPECT_NEAR(f.quantiles[b][step][0].item<double>(), loc - kZ90 * scale, tol) << step;
      EXPECT_NEAR(f.quantiles[b][step][1].item<double>(), loc, tol) << step;
      EXPECT_NEAR(f.quantiles[b][step][2].item<double>(), loc + kZ90 * scale, tol) << step;
    }
  };
  expect_normal_quantiles(model->Forward(Windows(x)).select(1, L - 1), 0);
  const torch::Tensor extended = torch::cat({x, f.point.narrow(1, 0, 1)}, 1);
  expect_normal_quantiles(longer->Forward(Windows(extended)).select(1, L), 1);
}

// With sample_trajectories the quantiles are those of the sampled paths, whose mean is the point
// forecast; they ascend with the level.
TEST(DeepAR, SampledPathsGiveTheirQuantiles) {
  auto model = Make(Config(8, 4, Small({{"sample_trajectories", 1}, {"trajectory_samples", 200}})));
  ASSERT_NE(model, nullptr);
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({3, 8});
  const QuantileForecast f =
      model->Quantiles(Windows(x), torch::tensor({0.05, 0.5, 0.95}, torch::kFloat64));
  ASSERT_EQ(f.quantiles.sizes(), (std::vector<int64_t>{3, 4, 3}));
  EXPECT_TRUE(torch::equal(f.point, model->PointForecast(Windows(x))));
  EXPECT_TRUE((f.quantiles.diff(1, -1) > 0).all().item<bool>()) << f.quantiles;
  // The 5-95 % band holds the mean path of the same paths.
  EXPECT_TRUE((f.quantiles.select(-1, 0) < f.point).all().item<bool>());
  EXPECT_TRUE((f.point < f.quantiles.select(-1, 2)).all().item<bool>());
}

// A learnable series: sine (period 12) + trend.
Result<WindowedDataset> SineTrend(int input_size, int horizon, int windows) {
  std::vector<float> v(240);
  for (int t = 0; t < 240; ++t) {
    v[t] = 10.0f + 0.05f * t + 3.0f * std::sin(2.0f * static_cast<float>(M_PI) * t / 12.0f);
  }
  WindowOptions wo;
  wo.input_size = input_size;
  wo.horizon = horizon;
  wo.windows_batch_size = windows;
  wo.scaler = ScalerType::kStandard;
  return WindowedDataset::Make(SeriesData{torch::tensor(v), {0, 240}}, wo);
}

Result<std::unique_ptr<Trainer>> SmallTrainer(std::map<std::string, double> params, int steps,
                                              uint64_t seed) {
  auto defaults = DefaultModelRegistry().Defaults("DeepAR");
  if (!defaults.ok()) return defaults.status();
  TrainOptions options = OptionsFrom(*defaults, steps, seed);
  options.threads = 1;
  options.learning_rate = 1e-2;
  return Trainer::Make("DeepAR", Config(24, 12, Small(std::move(params)), seed), options,
                       DefaultModelRegistry());
}

// Calibration through the trainer: 24 series of a sine (period 12) at their own level plus
// Gaussian noise of standard deviation 1. After training, the 80 % interval of the next 12
// values holds about 80 % of the 288 held-out values (74 % when written), and its width is
// about that of the noise's 80 % interval, 2 * 1.2816 (2.75 when written).
TEST(DeepAR, IntervalsCoverHeldOutNoiseAsTheyShould) {
  constexpr int kSeries = 24, kTrain = 108, kH = 12;
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<float> train, actual;
  std::vector<int64_t> offsets = {0};
  for (int s = 0; s < kSeries; ++s) {
    for (int t = 0; t < kTrain + kH; ++t) {
      const float v = 10.0f + static_cast<float>(s) +
                      3.0f * std::sin(2.0f * std::numbers::pi_v<float> * t / 12.0f) + noise(rng);
      (t < kTrain ? train : actual).push_back(v);
    }
    offsets.push_back(offsets.back() + kTrain);
  }
  WindowOptions wo;
  wo.input_size = 24;
  wo.horizon = kH;
  wo.scaler = ScalerType::kStandard;
  auto data = WindowedDataset::Make(SeriesData{torch::tensor(train), offsets}, wo);
  ASSERT_TRUE(data.ok()) << data.status();
  auto trainer =
      SmallTrainer({{"distribution", 1}, {"lstm_n_layers", 1}, {"lstm_dropout", 0}}, 150, 1);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  ASSERT_TRUE((*trainer)->Fit(*data).ok());
  auto p = (*trainer)->PredictQuantiles(*data, {0.1, 0.9});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->quantiles.sizes(), (std::vector<int64_t>{kSeries, kH, 2}));
  const torch::Tensor y = torch::tensor(actual).view({kSeries, kH});
  const torch::Tensor lo = p->quantiles.select(-1, 0), hi = p->quantiles.select(-1, 1);
  const double coverage = ((lo <= y) & (y <= hi)).to(torch::kFloat64).mean().item<double>();
  const double width = (hi - lo).mean().item<double>();
  EXPECT_GT(coverage, 0.65) << "width " << width;
  EXPECT_LT(coverage, 0.93) << "width " << width;
  EXPECT_GT(width, 0.6 * 2 * 1.2816);
  EXPECT_LT(width, 1.6 * 2 * 1.2816);
}

TEST(DeepAR, NllFallsAndForecastsAreFinite) {
  auto data = SineTrend(24, 12, 32);
  ASSERT_TRUE(data.ok()) << data.status();
  auto trainer = SmallTrainer({}, 60, 1);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  auto loss = (*trainer)->Fit(*data);
  ASSERT_TRUE(loss.ok()) << loss.status();
  const auto& l = (*trainer)->losses();
  ASSERT_EQ(l.size(), 60u);
  const double first = std::accumulate(l.begin(), l.begin() + 5, 0.0) / 5;
  const double last = std::accumulate(l.end() - 5, l.end(), 0.0) / 5;
  EXPECT_LT(last, first - 1.0) << "first " << first << ", last " << last;
  auto forecast = (*trainer)->Predict(*data);
  ASSERT_TRUE(forecast.ok()) << forecast.status();
  EXPECT_EQ(forecast->sizes(), (std::vector<int64_t>{1, 12}));
  EXPECT_TRUE(torch::isfinite(*forecast).all().item<bool>());
  // Roughly on the series' level (22 to 24 plus the sine's +-3) after a short training.
  EXPECT_GT(forecast->mean().item<double>(), 15.0);
  EXPECT_LT(forecast->mean().item<double>(), 32.0);
}

// Same seed, same forecast (both forecast modes); sampled paths depend on the seed.
TEST(DeepAR, ForecastsAreRepeatable) {
  auto data = SineTrend(24, 12, 32);
  ASSERT_TRUE(data.ok()) << data.status();
  auto run = [&](double sample, uint64_t seed) -> torch::Tensor {
    auto trainer =
        SmallTrainer({{"sample_trajectories", sample}, {"trajectory_samples", 20}}, 5, seed);
    EXPECT_TRUE(trainer.ok()) << trainer.status();
    if (!trainer.ok()) return {};
    EXPECT_TRUE((*trainer)->Fit(*data).ok());
    auto first = (*trainer)->Predict(*data);
    auto second = (*trainer)->Predict(*data);  // the sampler restarts from the seed
    EXPECT_TRUE(first.ok() && second.ok());
    if (!first.ok() || !second.ok()) return {};
    EXPECT_TRUE(torch::equal(*first, *second));
    EXPECT_TRUE(torch::isfinite(*first).all().item<bool>());
    EXPECT_EQ(first->sizes(), (std::vector<int64_t>{1, 12}));
    return *first;
  };
  for (double sample : {0.0, 1.0}) {
    torch::Tensor a = run(sample, 5), b = run(sample, 5);
    ASSERT_TRUE(a.defined() && b.defined());
    EXPECT_TRUE(torch::equal(a, b)) << "sample_trajectories " << sample;
  }
  // Sampled paths differ from the mean path of the same weights.
  torch::Tensor mean_path = run(0, 5), sampled = run(1, 5);
  ASSERT_TRUE(mean_path.defined() && sampled.defined());
  EXPECT_FALSE(torch::equal(mean_path, sampled));
}

TEST(DeepAR, InvalidParametersAreErrors) {
  struct Case {
    std::map<std::string, double> params;
    std::string expected;
  };
  for (const Case& c :
       std::vector<Case>{{{{"h_train", 7}}, "h_train must be in [1, 6]"},
                         {{{"h_train", 0}}, "h_train"},
                         {{{"lstm_n_layers", 0}}, "lstm_n_layers"},
                         {{{"lstm_dropout", 1}}, "lstm_dropout must be in [0, 1)"},
                         {{{"decoder_hidden_layers", 1}}, "needs decoder_hidden_size >= 1"},
                         {{{"trajectory_samples", 0}}, "trajectory_samples"},
                         {{{"distribution", 2}}, "distribution must be 0 (StudentT) or 1 (Normal)"},
                         {{{"sample_trajectories", 0.5}}, "sample_trajectories"},
                         {{{"hidden_size", 8}}, "unknown hyper-parameter 'hidden_size'"}}) {
    auto model = DefaultModelRegistry().Make("DeepAR", Config(8, 6, c.params));
    ASSERT_FALSE(model.ok()) << c.expected;
    EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(model.status().message().find("DeepAR"), std::string::npos);
    EXPECT_NE(model.status().message().find(c.expected), std::string::npos)
        << model.status().message();
  }
  // Shape errors come back through Guard naming the model and the shape.
  auto model = Make(Config(8, 6, Small()));
  ASSERT_NE(model, nullptr);
  auto r = Guard("DeepAR forecast", [&] {
    return model->PointForecast(Windows(torch::ones({2, 5})));
  });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("insample_y must be [B, 8], got [2, 5]"), std::string::npos)
      << r.status().message();
  auto l = Guard("DeepAR loss", [&] {
    return model->TrainingLoss(Windows(torch::ones({2, 8})), torch::ones({2, 4}),
                               torch::ones({2, 4}));
  });
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("outsample_y must be [2, 6]"), std::string::npos)
      << l.status().message();
}

}  // namespace
}  // namespace drc::dl
