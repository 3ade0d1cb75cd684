// Window-parallel steps: the parts' loss and gradients equal a whole step's (up to the order of
// float sums) for every model that allows window parallelism, runs repeat, a model that
// draws random numbers in parts is stopped, and the choice of parts follows the options.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "src/dl/implicit_quantile.h"
#include "src/dl/model.h"
#include "src/dl/trainer.h"
#include "src/dl/window_parallel.h"
#include "src/dl/windows.h"

namespace drc::dl {
namespace {

constexpr int kInput = 24;
constexpr int kHorizon = 12;

ModelConfig Config() {
  ModelConfig c;
  c.input_size = kInput;
  c.horizon = kHorizon;
  c.seed = 3;
  return c;
}

// TFT and BiTCN allow window-parallel steps when they draw no dropout masks; TFT 16 wide here.
ModelConfig ConfigFor(const std::string& name) {
  ModelConfig c = Config();
  if (name == "TFT") c.params = {{"dropout", 0}, {"hidden_size", 16}, {"n_head", 2}};
  if (name == "BiTCN") c.params = {{"dropout", 0}};
  return c;
}

// A batch of `rows` windows with some horizon points missing and, with `weighted`, repeat
// counts of 1-3 (as the sampler gives when it merges repeated draws).
TrainBatch RandomBatch(int64_t rows, bool weighted) {
  torch::manual_seed(11);
  TrainBatch b;
  b.input.insample_y = torch::randn({rows, kInput});
  b.input.insample_mask = torch::ones({rows, kInput});
  b.outsample_y = torch::randn({rows, kHorizon});
  b.outsample_mask = (torch::rand({rows, kHorizon}) > 0.2).to(torch::kFloat32);
  if (weighted) b.input.weight = torch::randint(1, 4, {rows}).to(torch::kFloat32);
  // Statistics that put the values near 20 (>= 0), which the count distributions read.
  b.input.scale = WindowScale{20 + 5 * torch::rand({rows, 1}), 1 + torch::rand({rows, 1})};
  return b;
}

std::vector<torch::Tensor> Gradients(ForecastModel& model) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : model.parameters()) {
    grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  }
  return grads;
}

void ZeroGradients(ForecastModel& model) {
  for (auto& p : model.parameters()) {
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
  }
}

// The zoo's models that allow window parallelism, and whether it is their default.
const std::map<std::string, WindowParallelism>& ParallelModels() {
  static const std::map<std::string, WindowParallelism> models = {
      {"MLP", WindowParallelism::kAllowed},        {"NBEATS", WindowParallelism::kAllowed},
      {"NBEATSx", WindowParallelism::kAllowed},    {"NHITS", WindowParallelism::kAllowed},
      {"RNN", WindowParallelism::kDefault},        {"LSTM", WindowParallelism::kDefault},
      {"GRU", WindowParallelism::kDefault},        {"TCN", WindowParallelism::kDefault},
      {"DilatedRNN", WindowParallelism::kDefault}, {"KAN", WindowParallelism::kAllowed}};
  return models;
}

TEST(WindowParallel, TheZooAllowsItWhereWindowsAreIndependent) {
  for (const auto& name : DefaultModelRegistry().Names()) {
    auto made = DefaultModelRegistry().Make(name, Config());
    ASSERT_TRUE(made.ok()) << made.status();
    auto it = ParallelModels().find(name);
    const auto want = it == ParallelModels().end() ? WindowParallelism::kNone : it->second;
    EXPECT_EQ((*made)->WindowParallel(), want) << name;
  }
  // Dropout between the recurrent encoder's layers draws random numbers.
  ModelConfig c = Config();
  c.params = {{"encoder_dropout", 0.1}};
  auto lstm = DefaultModelRegistry().Make("LSTM", c);
  ASSERT_TRUE(lstm.ok()) << lstm.status();
  EXPECT_EQ((*lstm)->WindowParallel(), WindowParallelism::kNone);
  for (const std::string name : {"TFT", "BiTCN"}) {
    auto made = DefaultModelRegistry().Make(name, ConfigFor(name));
    ASSERT_TRUE(made.ok()) << made.status();
    EXPECT_EQ((*made)->WindowParallel(), WindowParallelism::kAllowed) << name;
  }
}

// Loss and every gradient of a step in 2 and 3 parts (one of them uneven) against the whole
// step, with and without repeat weights.
TEST(WindowParallel, PartsGiveTheWholeStepsLossAndGradients) {
  std::vector<std::string> names = {"TFT", "BiTCN"};
  for (const auto& entry : ParallelModels()) names.push_back(entry.first);
  for (const auto& name : names) {
    for (bool weighted : {false, true}) {
      auto made = DefaultModelRegistry().Make(name, ConfigFor(name));
      ASSERT_TRUE(made.ok()) << made.status();
      ForecastModel& model = **made;
      model.train();
      const TrainBatch batch = RandomBatch(67, weighted);
      auto whole = model.TrainingLoss(batch.input, batch.outsample_y, batch.outsample_mask);
      whole.backward();
      const double whole_loss = whole.item<double>();
      const auto whole_grads = Gradients(model);
      for (int parts : {2, 3}) {
        ZeroGradients(model);
        double loss = 0;
        {
          WindowParallelStep step(name, parts, 1);
          loss = step.ForwardBackward(model, batch);
        }
        EXPECT_NEAR(loss, whole_loss, 1e-5 * std::abs(whole_loss)) << name << " " << parts;
        const auto grads = Gradients(model);
        ASSERT_EQ(grads.size(), whole_grads.size());
        for (size_t i = 0; i < grads.size(); ++i) {
          const double scale = whole_grads[i].abs().max().item<double>() + 1e-6;
          EXPECT_LT((grads[i] - whole_grads[i]).abs().max().item<double>(), 1e-4 * scale)
              << name << " parts " << parts << " weighted " << weighted << " parameter " << i;
        }
      }
    }
  }
}

// The same for NF's other point losses that are means over the points (all but RMSE).
TEST(WindowParallel, PartsGiveTheWholeStepsPointLosses) {
  for (const char* name :
       {"MSE", "MAPE", "SMAPE", "HuberLoss(0.5)", "QuantileLoss(0.8)", "MQLoss(level=[80, 90])",
        "HuberMQLoss(delta=0.5)", "DistributionLoss(StudentT)", "DistributionLoss(Poisson)",
        "DistributionLoss(NegativeBinomial)", "IQLoss", "HuberIQLoss(delta=0.5)", "MASE(3)"}) {
    const PointLoss point_loss = *ParsePointLoss(name);
    ModelConfig config = Config();
    config.outputs = point_loss.Outputs();
    auto made = DefaultModelRegistry().Make("MLP", config);
    ASSERT_TRUE(made.ok()) << made.status();
    std::shared_ptr<ForecastModel> wrapped = *made;
    if (point_loss.implicit_quantile()) {
      // As the trainer wraps it; the quantiles are drawn once, for the whole batch.
      wrapped = std::make_shared<ImplicitQuantileModel>(wrapped, point_loss);
    }
    ForecastModel& model = *wrapped;
    model.SetPointLoss(point_loss);
    model.train();
    TrainBatch batch = RandomBatch(67, /*weighted=*/true);
    model.PrepareStep(batch.input, kHorizon);
    EXPECT_EQ(batch.input.quantiles.defined(), point_loss.implicit_quantile()) << name;
    auto whole = model.TrainingLoss(batch.input, batch.outsample_y, batch.outsample_mask);
    whole.backward();
    const auto whole_grads = Gradients(model);
    ZeroGradients(model);
    double loss = 0;
    {
      WindowParallelStep step("MLP", 3, 1);
      loss = step.ForwardBackward(model, batch);
    }
    EXPECT_NEAR(loss, whole.item<double>(), 1e-5 * std::abs(whole.item<double>())) << name;
    const auto grads = Gradients(model);
    ASSERT_EQ(grads.size(), whole_grads.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      const double scale = whole_grads[i].abs().max().item<double>() + 1e-6;
      EXPECT_LT((grads[i] - whole_grads[i]).abs().max().item<double>(), 1e-4 * scale)
          << name << " parameter " << i;
    }
  }
}

TrainOptions Options(int window_parts, int steps) {
  auto defaults = DefaultModelRegistry().Defaults("RNN");
  EXPECT_TRUE(defaults.ok());
  TrainOptions o = OptionsFrom(*defaults, steps, /*seed=*/5);
  o.threads = 2;
  o.window_parts = window_parts;
  return o;
}

WindowedDataset Dataset() {
  std::vector<float> v(200);
  for (size_t t = 0; t < v.size(); ++t) v[t] = std::sin(0.3f * t) + 0.01f * t;
  WindowOptions wo;
  wo.input_size = kInput;
  wo.horizon = kHorizon;
  wo.windows_batch_size = 64;
  auto ds = WindowedDataset::Make(SeriesData{torch::tensor(v), {0, 200}}, wo);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return std::move(*ds);
}

std::unique_ptr<Trainer> Trained(const std::string& name, const TrainOptions& options) {
  auto trainer = Trainer::Make(name, Config(), options, DefaultModelRegistry());
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  WindowedDataset data = Dataset();
  auto fitted = (*trainer)->Fit(data);
  EXPECT_TRUE(fitted.ok()) << fitted.status();
  return std::move(*trainer);
}

// Same seed, same parts: the same parameters to the bit. Whole steps reach nearly the same
// ones. The caller's intra-op threads are restored after Fit().
TEST(WindowParallel, TrainingInPartsRepeatsAndTracksWholeSteps) {
  for (const std::string name : {"RNN", "TCN"}) {
    auto a = Trained(name, Options(0, 8));
    EXPECT_EQ(a->window_parts(), 2) << name;
    EXPECT_EQ(at::get_num_threads(), 2) << name;
    auto b = Trained(name, Options(2, 8));
    auto whole = Trained(name, Options(1, 8));
    EXPECT_EQ(whole->window_parts(), 1);
    auto pa = a->model().named_parameters(), pb = b->model().named_parameters();
    auto pw = whole->model().named_parameters();
    for (const auto& item : pa) {
      EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << name << " " << item.key();
      EXPECT_TRUE(torch::allclose(item.value(), pw[item.key()], 1e-3, 1e-4))
          << name << " " << item.key();
    }
    ASSERT_EQ(a->losses().size(), whole->losses().size());
    for (size_t s = 0; s < a->losses().size(); ++s) {
      EXPECT_NEAR(a->losses()[s], whole->losses()[s], 1e-3 * std::abs(whole->losses()[s]))
          << name << " step " << s;
    }
  }
}

// A run in parts paused at a checkpoint and resumed in a fresh trainer ends where the
// uninterrupted run ends, to the bit.
TEST(WindowParallel, ResumedRunInPartsMatchesUninterruptedRun) {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("drc_window_parallel_" + std::to_string(::getpid()) + ".ckpt"))
                        .string();
  auto whole_run = Trained("RNN", Options(2, 8));
  TrainOptions with_ckpt = Options(2, 8);
  with_ckpt.checkpoint_path = path;
  auto first = Trainer::Make("RNN", Config(), with_ckpt, DefaultModelRegistry());
  ASSERT_TRUE(first.ok()) << first.status();
  WindowedDataset data_a = Dataset();
  ASSERT_TRUE((*first)->Fit(data_a, nullptr, /*until_step=*/4).ok());
  auto second = Trainer::Make("RNN", Config(), Options(2, 8), DefaultModelRegistry());
  ASSERT_TRUE(second.ok());
  WindowedDataset data_b = Dataset();
  Status st = (*second)->Resume(path, data_b);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_TRUE((*second)->Fit(data_b).ok());
  EXPECT_EQ((*second)->window_parts(), 2);
  auto pa = whole_run->model().named_parameters();
  for (const auto& item : (*second)->model().named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), pa[item.key()])) << item.key();
  }
  std::filesystem::remove(path);
}

TEST(WindowParallel, ChoosesPartsFromTheOptions) {
  constexpr auto kNone = WindowParallelism::kNone;
  constexpr auto kAllowed = WindowParallelism::kAllowed;
  constexpr auto kDefault = WindowParallelism::kDefault;
  EXPECT_EQ(*ChooseWindowParts("M", kDefault, 0, 2, 128), 2);
  EXPECT_EQ(*ChooseWindowParts("M", kDefault, 0, 8, 128), 4);  // at least 32 windows a part
  EXPECT_EQ(*ChooseWindowParts("M", kDefault, 0, 2, 40), 1);   // too few windows to split
  EXPECT_EQ(*ChooseWindowParts("M", kDefault, 0, 1, 128), 1);  // one thread
  EXPECT_EQ(*ChooseWindowParts("M", kAllowed, 0, 2, 128), 1);  // not its default
  EXPECT_EQ(*ChooseWindowParts("M", kNone, 0, 2, 128), 1);     // coupled windows
  EXPECT_EQ(*ChooseWindowParts("M", kNone, 1, 2, 128), 1);
  EXPECT_EQ(*ChooseWindowParts("M", kDefault, 3, 2, 128), 3);  // as asked
  EXPECT_EQ(*ChooseWindowParts("M", kAllowed, 2, 2, 128), 2);
  auto coupled = ChooseWindowParts("PatchTST", kNone, 2, 2, 128);
  ASSERT_FALSE(coupled.ok());
  EXPECT_NE(coupled.status().message().find("PatchTST"), std::string::npos);
  EXPECT_NE(coupled.status().message().find("must be 0 or 1"), std::string::npos);
  EXPECT_FALSE(ChooseWindowParts("M", kDefault, 200, 2, 128).ok());
  EXPECT_FALSE(ChooseWindowParts("M", kDefault, -1, 2, 128).ok());

  // Through the trainer: PatchTST (batch norm) refuses two parts, naming itself.
  auto trainer = Trainer::Make("PatchTST", Config(), Options(2, 1), DefaultModelRegistry());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  WindowedDataset data = Dataset();
  auto fitted = (*trainer)->Fit(data);
  ASSERT_FALSE(fitted.ok());
  EXPECT_NE(fitted.status().message().find("PatchTST"), std::string::npos);
}

// A linear model that wrongly allows window parallelism while drawing dropout masks.
class DrawingModel final : public ForecastModel {
 public:
  explicit DrawingModel(const ModelConfig& config)
      : linear_(register_module("linear", torch::nn::Linear(config.input_size, config.horizon))) {}
  torch::Tensor Forward(const WindowBatch& batch) override {
    return torch::dropout(linear_(batch.insample_y), 0.1, is_training());
  }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kDefault; }

 private:
  torch::nn::Linear linear_;
};

// A linear model that allows parts and records the intra-op threads it sees when training and
// when forecasting (validation).
class ThreadProbe final : public ForecastModel {
 public:
  explicit ThreadProbe(const ModelConfig& config)
      : linear_(register_module("linear", torch::nn::Linear(config.input_size, config.horizon))) {}
  torch::Tensor Forward(const WindowBatch& batch) override {
    const int threads = at::get_num_threads();
    {
      std::lock_guard lock(mu_);  // the parts run at once
      (is_training() ? training_threads : forecast_threads).push_back(threads);
    }
    return linear_(batch.insample_y);
  }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kDefault; }

  std::vector<int> training_threads, forecast_threads;

 private:
  std::mutex mu_;
  torch::nn::Linear linear_;
};

// A registry holding one test model, M, under `name`.
template <typename M>
ModelRegistry RegistryOf(const std::string& name) {
  ModelRegistry registry;
  Status st = registry.Register(
      name,
      [](const ModelConfig& c) -> Result<std::shared_ptr<ForecastModel>> {
        return std::make_shared<M>(c);
      },
      TrainDefaults{});
  EXPECT_TRUE(st.ok()) << st;
  return registry;
}

// Parts train on one thread each; validation between steps gets the caller's two.
TEST(WindowParallel, ValidationBetweenStepsRunsOnAllThreads) {
  const ModelRegistry registry = RegistryOf<ThreadProbe>("Probe");
  TrainOptions options = Options(0, 4);
  options.val_check_steps = 2;
  auto trainer = Trainer::Make("Probe", Config(), options, registry);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  WindowedDataset data = Dataset();
  auto validation = data.ValidationWindows(kHorizon);
  ASSERT_TRUE(validation.ok()) << validation.status();
  ASSERT_TRUE((*trainer)->Fit(data, &*validation).ok());
  EXPECT_EQ((*trainer)->window_parts(), 2);
  auto& probe = dynamic_cast<ThreadProbe&>((*trainer)->model());
  EXPECT_EQ(probe.training_threads, std::vector<int>(8, 1));  // 4 steps x 2 parts
  EXPECT_EQ(probe.forecast_threads, std::vector<int>(2, 2));  // checks after steps 2 and 4
  EXPECT_EQ(at::get_num_threads(), 2);
}

TEST(WindowParallel, AModelThatDrawsRandomNumbersInPartsIsStopped) {
  const ModelRegistry registry = RegistryOf<DrawingModel>("Drawing");
  TrainOptions options = Options(2, 3);
  auto trainer = Trainer::Make("Drawing", Config(), options, registry);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  WindowedDataset data = Dataset();
  auto fitted = (*trainer)->Fit(data);
  ASSERT_FALSE(fitted.ok());
  EXPECT_NE(fitted.status().message().find("Drawing: drew random numbers"), std::string::npos)
      << fitted.status();
  EXPECT_NE(fitted.status().message().find("--window-parts 1"), std::string::npos);
  EXPECT_EQ(at::get_num_threads(), 2);  // restored on the error path too
  // With one part the same model trains.
  options.window_parts = 1;
  auto whole = Trainer::Make("Drawing", Config(), options, registry);
  ASSERT_TRUE(whole.ok());
  WindowedDataset data2 = Dataset();
  EXPECT_TRUE((*whole)->Fit(data2).ok());
}

}  // namespace
}  // namespace drc::dl
