// Tests of the recurrent and convolutional forecasters (models/recurrent.cc, models/tcn.cc):
// shapes, gradients, a decreasing loss on sine windows, parameter validation, shape errors,
// NeuralForecast's default sizes (parameter counts) and training defaults.
#include <gtest/gtest.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <cmath>
#include <map>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "src/dl/model.h"
#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

const std::vector<std::string> kModels = {"RNN", "LSTM", "GRU", "DilatedRNN", "TCN"};

std::shared_ptr<ForecastModel> Make(const std::string& name, int input_size, int horizon,
                                    std::map<std::string, double> params = {}) {
  ModelConfig config;
  config.input_size = input_size;
  config.horizon = horizon;
  config.params = std::move(params);
  auto model = DefaultModelRegistry().Make(name, config);
  EXPECT_TRUE(model.ok()) << name << ": " << model.status().ToString();
  return model.ok() ? *model : nullptr;
}

WindowBatch Windows(const torch::Tensor& y) { return WindowBatch{y, torch::ones_like(y)}; }

// B windows of sin(2 pi t / 12 + phase), phases spread over the period; [B, L + H].
torch::Tensor SineWindows(int64_t batch, int64_t length) {
  torch::Tensor phase =
      torch::arange(batch, torch::kFloat32).unsqueeze(1) * (2.0 * std::numbers::pi / batch);
  torch::Tensor t = torch::arange(length, torch::kFloat32).unsqueeze(0);
  return torch::sin(t * (2.0 * std::numbers::pi / 12.0) + phase);
}

int64_t CountParameters(const ForecastModel& model) {
  int64_t n = 0;
  for (const auto& p : model.parameters()) n += p.numel();
  return n;
}

class RecurrentModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RecurrentModelTest, OutputShapeIsBatchByHorizon) {
  struct Case {
    int64_t batch, input_size, horizon;
  };
  // H > L (NF's upsample path), L not a multiple of the dilations, B = 1.
  for (const Case& c : std::vector<Case>{{3, 24, 12}, {1, 24, 24}, {2, 10, 30}, {5, 7, 3}}) {
    auto model = Make(GetParam(), c.input_size, c.horizon);
    ASSERT_NE(model, nullptr);
    torch::Tensor out = model->Forward(Windows(torch::randn({c.batch, c.input_size})));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{c.batch, c.horizon}))
        << GetParam() << " B=" << c.batch << " L=" << c.input_size << " H=" << c.horizon;
    EXPECT_EQ(out.scalar_type(), torch::kFloat32);
  }
}

TEST_P(RecurrentModelTest, GradientsReachEveryParameter) {
  for (int horizon : {6, 20}) {  // 20 > L exercises RNN's upsample layer
    auto model = Make(GetParam(), 12, horizon);
    ASSERT_NE(model, nullptr);
    model->Forward(Windows(torch::randn({4, 12}))).sum().backward();
    for (const auto& item : model->named_parameters()) {
      const torch::Tensor& grad = item.value().grad();
      ASSERT_TRUE(grad.defined()) << GetParam() << ": no gradient for " << item.key();
      EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << GetParam() << ": " << item.key();
      EXPECT_GT(grad.abs().sum().item<double>(), 0) << GetParam() << ": " << item.key();
    }
  }
}

TEST_P(RecurrentModelTest, AdamStepsDecreaseTheLossOnSineWindows) {
  constexpr int64_t kL = 24, kH = 12;
  // Narrower than NF's defaults to keep the test fast on a CPU; the layers are the same.
  auto model = Make(GetParam(), kL, kH, {{"encoder_hidden_size", 32}, {"decoder_hidden_size", 32}});
  ASSERT_NE(model, nullptr);
  torch::Tensor series = SineWindows(32, kL + kH);
  WindowBatch batch = Windows(series.narrow(1, 0, kL));
  torch::Tensor target = series.narrow(1, kL, kH);
  auto mae = [&] { return (model->Forward(batch) - target).abs().mean(); };

  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(3e-3));
  const double initial = mae().item<double>();
  for (int step = 0; step < 60; ++step) {
    adam.zero_grad();
    torch::Tensor loss = mae();
    loss.backward();
    adam.step();
  }
  const double final_loss = mae().item<double>();
  EXPECT_LT(final_loss, 0.3 * initial) << GetParam() << ": " << initial << " -> " << final_loss;
}

TEST_P(RecurrentModelTest, UnknownParameterIsInvalidArgumentNamingIt) {
  ModelConfig config;
  config.params["hiden_size"] = 64;
  auto model = DefaultModelRegistry().Make(GetParam(), config);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(model.status().message().find("hiden_size"), std::string::npos)
      << model.status().ToString();
}

TEST_P(RecurrentModelTest, BadSizesAreInvalidArgument) {
  for (const auto& [key, value] : std::map<std::string, double>{
           {"encoder_hidden_size", 0}, {"decoder_hidden_size", -1}, {"decoder_layers", 0}}) {
    ModelConfig config;
    config.params[key] = value;
    auto model = DefaultModelRegistry().Make(GetParam(), config);
    ASSERT_FALSE(model.ok()) << GetParam() << " " << key;
    EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(model.status().message().find(key), std::string::npos) << model.status().ToString();
  }
  ModelConfig config;
  config.horizon = 0;
  auto model = DefaultModelRegistry().Make(GetParam(), config);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("horizon"), std::string::npos);
}

// Forward checks the rank and the window length (TORCH_CHECK); the dl layer's libtorch adapter
// (torch_status.h) turns the c10::Error into a Status naming the model and the shape.
TEST_P(RecurrentModelTest, WrongInputShapeIsAStatusNamingModelAndShape) {
  auto model = Make(GetParam(), 8, 4);
  ASSERT_NE(model, nullptr);
  for (const auto& shape : std::vector<std::vector<int64_t>>{{2, 9}, {2, 8, 1}, {8}}) {
    WindowBatch batch = Windows(torch::zeros(shape));
    Result<torch::Tensor> out = Guard("forward", [&] { return model->Forward(batch); });
    ASSERT_FALSE(out.ok()) << GetParam() << ": no error for " << ShapeOf(batch.insample_y);
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    const std::string& message = out.status().message();
    EXPECT_NE(message.find(GetParam() + ": insample_y must be [B, 8]"), std::string::npos)
        << message;
    EXPECT_NE(message.find(ShapeOf(batch.insample_y)), std::string::npos) << message;
  }
}

TEST_P(RecurrentModelTest, SameSeedSameParameters) {
  auto a = Make(GetParam(), 12, 6);
  torch::manual_seed(12345);  // the factory seeds from ModelConfig::seed, not the global state
  auto b = Make(GetParam(), 12, 6);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto pa = a->parameters(), pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
}

TEST_P(RecurrentModelTest, NeuralForecastTrainDefaults) {
  auto defaults = DefaultModelRegistry().Defaults(GetParam());
  ASSERT_TRUE(defaults.ok());
  EXPECT_DOUBLE_EQ(defaults->learning_rate, 1e-3);
  EXPECT_EQ(defaults->batch_size, 32);
  EXPECT_EQ(defaults->windows_batch_size, 128);
  EXPECT_EQ(defaults->num_lr_decays, GetParam() == "DilatedRNN" ? 3 : -1);
  EXPECT_EQ(defaults->scaler, "robust");
  EXPECT_EQ(defaults->loss, "MAE");
}

INSTANTIATE_TEST_SUITE_P(Zoo, RecurrentModelTest, ::testing::ValuesIn(kModels),
                         [](const auto& test) { return test.param; });

// Parameter counts with NF's default sizes: checks the layers, not just the output shape.
// Per torch layer: gates * hidden * (in + hidden) weights and 2 * gates * hidden biases.
int64_t RecurrentLayer(int64_t gates, int64_t in, int64_t hidden) {
  return gates * hidden * (in + hidden) + 2 * gates * hidden;
}
int64_t Linear(int64_t in, int64_t out) { return in * out + out; }
int64_t Decoder(int64_t in) { return Linear(in, 128) + Linear(128, 1); }

TEST(RecurrentModelSizes, RecurrentEncodersAndDecoder) {
  for (int horizon : {12, 36}) {  // 36 > L adds the Linear(L -> H) upsample layer
    const int64_t upsample = horizon > 24 ? Linear(24, horizon) : 0;
    EXPECT_EQ(CountParameters(*Make("RNN", 24, horizon)),
              RecurrentLayer(1, 1, 128) + RecurrentLayer(1, 128, 128) + upsample + Decoder(128));
    EXPECT_EQ(CountParameters(*Make("LSTM", 24, horizon)),
              RecurrentLayer(4, 1, 128) + RecurrentLayer(4, 128, 128) + upsample + Decoder(128));
    EXPECT_EQ(CountParameters(*Make("GRU", 24, horizon)),
              RecurrentLayer(3, 1, 200) + RecurrentLayer(3, 200, 200) + upsample + Decoder(200));
  }
}

TEST(RecurrentModelSizes, DilatedRnnAndTcn) {
  // Four single-layer LSTMs (dilations 1, 2 | 4, 8), the context adapter, the decoder.
  EXPECT_EQ(
      CountParameters(*Make("DilatedRNN", 24, 12)),
      RecurrentLayer(4, 1, 128) + 3 * RecurrentLayer(4, 128, 128) + Linear(24, 12) + Decoder(128));
  // Five kernel-2 convolutions (1 -> 128, then 128 -> 128).
  EXPECT_EQ(CountParameters(*Make("TCN", 24, 12)),
            (128 * 1 * 2 + 128) + 4 * (128 * 128 * 2 + 128) + Linear(24, 12) + Decoder(128));
  EXPECT_EQ(CountParameters(*Make("TCN", 24, 12,
                                  {{"kernel_size", 3},
                                   {"encoder_hidden_size", 16},
                                   {"decoder_hidden_size", 8},
                                   {"decoder_layers", 3}})),
            (16 * 3 + 16) + 4 * (16 * 16 * 3 + 16) + Linear(24, 12) + Linear(16, 8) + Linear(8, 8) +
                Linear(8, 1));
}

// DilatedRNN and TCN encoders are causal: with a context adapter that reads only step t0, the
// forecast's gradient is zero for inputs after t0 (and, for TCN, before its receptive field of
// 1 + (2 - 1) * (1 + 2 + 4 + 8 + 16) = 32 steps).
TEST(RecurrentModelCausality, EncodersSeeOnlyThePast) {
  constexpr int64_t kL = 40, kT0 = 35;
  for (const std::string name : {"DilatedRNN", "TCN"}) {
    auto model = Make(name, kL, 1);
    ASSERT_NE(model, nullptr);
    {
      torch::NoGradGuard no_grad;
      torch::Tensor weight = model->named_parameters()["context_adapter.weight"];
      weight.zero_();
      weight[0][kT0] = 1;
    }
    torch::Tensor y = torch::randn({1, kL}).requires_grad_(true);
    model->Forward(Windows(y)).sum().backward();
    torch::Tensor grad = y.grad()[0];
    EXPECT_NE(grad[kT0].item<double>(), 0.0) << name;
    EXPECT_EQ(grad.narrow(0, kT0 + 1, kL - kT0 - 1).abs().sum().item<double>(), 0.0) << name;
    if (name == "TCN") {
      EXPECT_NE(grad[kT0 - 31].item<double>(), 0.0);
      EXPECT_EQ(grad.narrow(0, 0, kT0 - 31).abs().sum().item<double>(), 0.0);
    }
  }
}

}  // namespace
}  // namespace drc::dl
