// The trainer's control features: checkpoint/resume reproduces an uninterrupted run exactly,
// early stopping on NF-style validation windows, and the validation windows themselves.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "src/dl/data_parallel.h"
#include "src/dl/model.h"
#include "src/dl/trainer.h"
#include "src/dl/windows.h"

namespace drc::dl {
namespace {

constexpr int kInput = 12;
constexpr int kHorizon = 6;

SeriesData SineSeries(int n, float sign = 1.0f) {
  std::vector<float> v(n);
  for (int t = 0; t < n; ++t) {
    v[t] = sign * (5.0f + 0.02f * t + 2.0f * std::sin(2.0f * static_cast<float>(M_PI) * t / 12));
  }
  return SeriesData{torch::tensor(v), {0, n / 2, n}};  // two series
}

WindowedDataset Dataset(const SeriesData& series, int windows = 64) {
  WindowOptions wo;
  wo.input_size = kInput;
  wo.horizon = kHorizon;
  wo.windows_batch_size = windows;
  wo.batch_size = 1;  // one series per step: the sampler's epoch order matters for resume
  auto ds = WindowedDataset::Make(series, wo);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return std::move(*ds);
}

ModelConfig Config(std::map<std::string, double> params) {
  ModelConfig c;
  c.input_size = kInput;
  c.horizon = kHorizon;
  c.params = std::move(params);
  return c;
}

std::filesystem::path TempDir() {
  auto dir =
      std::filesystem::temp_directory_path() / ("drc_trainer_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

void ExpectSameParameters(ForecastModel& a, ForecastModel& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  }
}

struct ResumeCase {
  std::string model;
  std::map<std::string, double> params;
};

class ResumeTest : public ::testing::TestWithParam<ResumeCase> {};

// 30 steps in one go == 12 steps, a checkpoint, a fresh trainer resumed from it, 18 more.
TEST_P(ResumeTest, ResumedRunMatchesUninterruptedRun) {
  const auto& c = GetParam();
  const auto path = (TempDir() / (c.model + ".ckpt")).string();
  auto defaults = DefaultModelRegistry().Defaults(c.model);
  ASSERT_TRUE(defaults.ok());
  TrainOptions options = OptionsFrom(*defaults, /*max_steps=*/30, /*seed=*/7);
  options.num_lr_decays = 3;  // the LR schedule must resume too
  options.threads = 1;

  auto data_a = Dataset(SineSeries(200));
  auto a = Trainer::Make(c.model, Config(c.params), options, DefaultModelRegistry());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE((*a)->Fit(data_a).ok());

  auto data_b = Dataset(SineSeries(200));
  TrainOptions with_ckpt = options;
  with_ckpt.checkpoint_path = path;
  auto b = Trainer::Make(c.model, Config(c.params), with_ckpt, DefaultModelRegistry());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->Fit(data_b, nullptr, /*until_step=*/12).ok());
  EXPECT_EQ((*b)->step(), 12);
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  // A different seed and a fresh dataset: everything must come from the checkpoint.
  auto data_c = Dataset(SineSeries(200));
  TrainOptions other = options;
  other.seed = 99;
  auto c2 = Trainer::Make(c.model, Config(c.params), other, DefaultModelRegistry());
  ASSERT_TRUE(c2.ok());
  Status st = (*c2)->Resume(path, data_c);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ((*c2)->step(), 12);
  ASSERT_TRUE((*c2)->Fit(data_c).ok());
  EXPECT_EQ((*c2)->step(), 30);
  ExpectSameParameters((*a)->model(), (*c2)->model());
  ASSERT_EQ((*a)->losses().size(), (*c2)->losses().size());
  for (size_t i = 0; i < (*a)->losses().size(); ++i) {
    EXPECT_DOUBLE_EQ((*a)->losses()[i], (*c2)->losses()[i]) << "step " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ResumeTest,
                         ::testing::Values(ResumeCase{"MLP", {{"hidden_size", 32}}},
                                           ResumeCase{"NHITS", {{"mlp_units", 32}}},
                                           ResumeCase{"LSTM",
                                                      {{"encoder_hidden_size", 16},
                                                       {"decoder_hidden_size", 16}}}),
                         [](const auto& p) { return p.param.model; });

// A series with fewer windows than windows_batch_size: windows are drawn with replacement. The
// merged batch (each window once, weighted by its draws) gives the repeated batch's loss,
// gradients and BatchNorm running statistics: for MLP, NBEATS, NHITS (and the revin wrapper),
// and, with their dropout off, for the models whose copies otherwise share a dropout mask
// (PatchTST's and Informer's BatchNorm and Autoformer's batch-mean delays weight by the draw
// counts; DeepAR's likelihood loss).
TEST(Trainer, MergedRepeatedWindowsGiveTheSameLossAndGradients) {
  const SeriesData series = SineSeries(40);  // two series of 20 points: a few windows each
  const std::map<std::string, double> small_transformer = {
      {"dropout", 0}, {"hidden_size", 16}, {"conv_hidden_size", 8}, {"n_head", 8}};
  const std::vector<std::pair<std::string, std::map<std::string, double>>> cases = {
      {"MLP", {}},
      {"NBEATS", {}},
      {"NHITS", {}},
      {"PatchTST",
       {{"dropout", 0},
        {"hidden_size", 16},
        {"n_heads", 4},
        {"linear_hidden_size", 16},
        {"patch_len", 4},
        {"stride", 2}}},
      {"VanillaTransformer", small_transformer},
      {"Autoformer", small_transformer},
      {"FEDformer", small_transformer},
      // Every query attends at factor 10, so the two batches' random keys do not matter; its
      // distilling layer's batch norm weighs the merged windows.
      {"Informer",
       {{"dropout", 0},
        {"hidden_size", 16},
        {"conv_hidden_size", 8},
        {"n_head", 8},
        {"factor", 10}}},
      {"DeepAR", {{"lstm_dropout", 0}, {"lstm_hidden_size", 16}}},
  };
  for (const auto& [name, params] : cases) {
    SCOPED_TRACE(name);
    auto made = DefaultModelRegistry().Make(name, Config(params));
    ASSERT_TRUE(made.ok()) << made.status();
    std::shared_ptr<ForecastModel> model = *made;
    std::vector<std::shared_ptr<ForecastModel>> variants{model};
    if (name != "DeepAR") variants.push_back(std::make_shared<RevinScaledModel>(model));
    for (const auto& m : variants) {  // the revin wrapper takes point models only
      EXPECT_EQ(m->Repeats(), RepeatedDraws::kMerge);
      m->train();
      WindowedDataset a = Dataset(series, 50), b = Dataset(series, 50);
      std::mt19937_64 ra(9), rb(9);
      torch::manual_seed(9);  // the same draws (NF's, from libtorch's generator) for both
      auto repeated = a.Sample(ra, /*merge_repeats=*/false);
      torch::manual_seed(9);
      auto merged = b.Sample(rb, /*merge_repeats=*/true);
      ASSERT_TRUE(repeated.ok() && merged.ok());
      EXPECT_EQ(repeated->input.insample_y.size(0), 50);
      EXPECT_FALSE(repeated->input.weight.defined());
      EXPECT_LE(merged->input.insample_y.size(0), b.num_windows());
      EXPECT_EQ(merged->input.weight.sum().item<float>(), 50.0f);
      auto loss_grads_buffers = [&](const TrainBatch& batch) {
        std::vector<torch::Tensor> before;
        for (const auto& buffer : m->buffers()) before.push_back(buffer.clone());
        m->zero_grad();
        auto loss = m->TrainingLoss(batch.input, batch.outsample_y, batch.outsample_mask);
        loss.backward();
        std::vector<torch::Tensor> out{loss.detach()};
        for (const auto& p : m->parameters()) out.push_back(p.grad().clone());
        size_t i = 0;  // the step's buffers, then restored for the other batch
        for (auto& buffer : m->buffers()) {
          out.push_back(buffer.clone());
          torch::NoGradGuard no_grad;
          buffer.copy_(before[i++]);
        }
        return out;
      };
      auto g1 = loss_grads_buffers(*repeated), g2 = loss_grads_buffers(*merged);
      ASSERT_EQ(g1.size(), g2.size());
      for (size_t i = 0; i < g1.size(); ++i) {
        // Elementwise to 1e-4, and to 1e-5 plus 1e-4 of the tensor's largest entry. Informer's
        // weighted batch norm sums in another order: 1.9e-6 off in a gradient whose largest entry
        // is 0.08, and its Conv1d bias before the norm has a zero gradient up to such rounding
        // (2e-6 on one side, 0 on the other, in a CI run).
        const double scale = g1[i].abs().max().item<double>();
        EXPECT_TRUE(torch::allclose(g1[i], g2[i], 1e-4, 1e-5 + 1e-4 * scale))
            << "tensor " << i << ": " << (g1[i] - g2[i]).abs().max().item<double>() << " off, "
            << scale << " at most";
      }
    }
  }
  // With NF's default dropout the copies of a window would share one mask: merged only when
  // TrainOptions::repeats_share_dropout allows it. Models that couple windows otherwise never.
  for (const std::string name :
       {"VanillaTransformer", "Autoformer", "FEDformer", "Informer", "DeepAR"}) {
    auto made = DefaultModelRegistry().Make(name, Config({}));
    ASSERT_TRUE(made.ok()) << made.status();
    EXPECT_EQ((*made)->Repeats(), RepeatedDraws::kMergeSharingDropout) << name;
  }
  for (const std::string name : {"PatchTST", "TimesNet", "LSTM"}) {
    auto made = DefaultModelRegistry().Make(name, Config({}));
    ASSERT_TRUE(made.ok()) << made.status();
    EXPECT_EQ((*made)->Repeats(), RepeatedDraws::kCompute) << name;
  }
}

// A linear model with dropout that reports merging with shared masks as allowed, and records
// the number of rows and the total weight of every batch it trains on.
class RowCountingModel final : public ForecastModel {
 public:
  explicit RowCountingModel(const ModelConfig& config)
      : linear_(register_module("linear", torch::nn::Linear(config.input_size, config.horizon))) {}
  torch::Tensor Forward(const WindowBatch& batch) override {
    if (is_training()) {
      rows.push_back(batch.insample_y.size(0));
      weights.push_back(batch.weight.defined() ? batch.weight.sum().item<double>()
                                               : static_cast<double>(rows.back()));
    }
    return torch::dropout(linear_(batch.insample_y), 0.1, is_training());
  }
  RepeatedDraws Repeats() const override { return RepeatedDraws::kMergeSharingDropout; }

  std::vector<int64_t> rows;
  std::vector<double> weights;

 private:
  torch::nn::Linear linear_;
};

TEST(Trainer, RepeatsShareDropoutDecidesWhetherRepeatedDrawsAreComputedOnce) {
  ModelRegistry registry;
  ASSERT_TRUE(registry
                  .Register(
                      "Probe",
                      [](const ModelConfig& c) -> Result<std::shared_ptr<ForecastModel>> {
                        return std::make_shared<RowCountingModel>(c);
                      },
                      TrainDefaults{})
                  .ok());
  // Two series of 20 points; a step trains on one series (Dataset's batch_size 1), which has 8
  // windows of 12 + 6 (the padded horizon needs one available point), so each step's 64 draws
  // repeat windows.
  auto rows_seen = [&](bool share) {
    auto data = Dataset(SineSeries(40), 64);
    EXPECT_EQ(data.num_windows(), 16);
    TrainOptions options;
    options.max_steps = 3;
    options.threads = 1;
    options.repeats_share_dropout = share;
    auto trainer = Trainer::Make("Probe", Config({}), options, registry);
    if (!trainer.ok()) {
      ADD_FAILURE() << trainer.status();
      return std::vector<int64_t>{};
    }
    EXPECT_TRUE((*trainer)->Fit(data).ok());
    auto& model = dynamic_cast<RowCountingModel&>((*trainer)->model());
    EXPECT_EQ(model.rows.size(), 3u);
    for (double w : model.weights) EXPECT_EQ(w, 64.0);  // always 64 draws' worth of loss
    return model.rows;
  };
  for (int64_t r : rows_seen(/*share=*/false)) EXPECT_EQ(r, 64);  // NF: a row (and mask) per draw
  for (int64_t r : rows_seen(/*share=*/true)) EXPECT_LE(r, 8);    // each distinct window once
}

// Device choice: the CPU always; CUDA only where libtorch has it and sees a GPU (Debian's
// libtorch is CPU-only, so here "cuda" is an error that says so and "auto" is the CPU).
TEST(Trainer, ResolvesTheDeviceAndSaysWhyCudaIsNotThere) {
  auto cpu = ResolveDevice("cpu");
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  EXPECT_TRUE(cpu->is_cpu());
  const bool gpu = torch::cuda::is_available();
  auto automatic = ResolveDevice("auto", /*rank=*/3);
  ASSERT_TRUE(automatic.ok()) << automatic.status();
  if (gpu) {
    EXPECT_EQ(automatic->index(), 3 % static_cast<int>(torch::cuda::device_count()));
  } else {
    EXPECT_TRUE(automatic->is_cpu());
  }
  for (const std::string spec : {"cuda", "cuda:0"}) {
    auto cuda = ResolveDevice(spec);
    EXPECT_EQ(cuda.ok(), gpu) << spec;
    if (!gpu) {
      EXPECT_EQ(cuda.status().code(), StatusCode::kFailedPrecondition) << spec;
      EXPECT_NE(cuda.status().message().find("CUDA"), std::string::npos) << cuda.status();
      EXPECT_NE(cuda.status().message().find("--device cpu"), std::string::npos);
    }
  }
  for (const std::string bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "CPU", ""}) {
    auto r = ResolveDevice(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("'" + bad + "'"), std::string::npos) << r.status();
  }
  auto far = ResolveDevice("cuda:4096");
  EXPECT_FALSE(far.ok());  // no machine here has 4097 GPUs

  // Through the trainer: the error names the model; without CUDA, "auto" trains on the CPU.
  TrainOptions o = OptionsFrom(TrainDefaults{}, 3, 1);
  o.device = "cuda";
  auto trainer = Trainer::Make("MLP", Config({}), o, DefaultModelRegistry());
  if (!gpu) {
    ASSERT_FALSE(trainer.ok());
    EXPECT_NE(trainer.status().message().find("MLP: device cuda"), std::string::npos)
        << trainer.status();
  }
  o.device = "auto";
  auto on_auto = Trainer::Make("MLP", Config({}), o, DefaultModelRegistry());
  ASSERT_TRUE(on_auto.ok()) << on_auto.status();
  EXPECT_EQ((*on_auto)->device().is_cuda(), gpu);
  WindowedDataset data = Dataset(SineSeries(120));
  ASSERT_TRUE((*on_auto)->Fit(data).ok());
  auto forecast = (*on_auto)->Predict(data);
  ASSERT_TRUE(forecast.ok()) << forecast.status();
  EXPECT_TRUE(forecast->is_cpu());  // forecasts come back to the host
}

// Rank 0 of 2 on a backend of device buffers (as nccl) on GPU `gpu` (-1: it names none),
// counting the collectives it is asked for.
class DeviceMemoryComm final : public comm::Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string_view backend() const override { return "nccl"; }
  comm::MemoryKind memory() const override { return comm::MemoryKind::kCuda; }
  int device() const override { return gpu; }
  Status Barrier() override { return Called(); }
  Status Broadcast(void*, int64_t, int) override { return Called(); }
  Status AllReduce(const void*, void*, int64_t, comm::DataType, comm::ReduceOp) override {
    return Called();
  }
  Status AllGather(const void*, int64_t, void*) override { return Called(); }
  Status AllGatherV(const void*, int64_t, void*, std::span<const int64_t>) override {
    return Called();
  }
  Status Gather(const void*, int64_t, void*, int) override { return Called(); }
  Status GatherV(const void*, int64_t, void*, std::span<const int64_t>, int) override {
    return Called();
  }
  Status AllToAll(const void*, int64_t, void*) override { return Called(); }
  Status AllToAllV(const void*, std::span<const int64_t>, std::span<const int64_t>, void*,
                   std::span<const int64_t>, std::span<const int64_t>) override {
    return Called();
  }
  Status Send(const void*, int64_t, int, int) override { return Called(); }
  Status Recv(void*, int64_t, int, int) override { return Called(); }
  Result<std::unique_ptr<comm::Communicator>> CreateSubCommunicator(std::span<const int>,
                                                                    int) override {
    return Called();
  }

  int gpu = -1;
  int calls = 0;

 private:
  Status Called() {
    ++calls;
    return Status::Internal("a collective was called");
  }
};

// The DL layer stages its collectives on the communicator's GPU for a backend of device buffers.
// Here that GPU cannot be reached (the double names none; or, without a GPU, it names GPU 0), and
// every entry point says so, naming the backend, before any collective.
TEST(Trainer, DataParallelOverAnUnreachableGpuSaysSoBeforeAnyCollective) {
  DeviceMemoryComm world;
  const Status agreed = AgreeOnStatus(&world, Status::OK());
  EXPECT_EQ(agreed.code(), StatusCode::kFailedPrecondition) << agreed;
  EXPECT_NE(agreed.message().find("data-parallel over the nccl backend"), std::string::npos)
      << agreed;
  TrainOptions o = OptionsFrom(TrainDefaults{}, 3, 1);
  o.comm = &world;
  auto trainer = Trainer::Make("MLP", Config({}), o, DefaultModelRegistry());
  ASSERT_FALSE(trainer.ok());
  EXPECT_EQ(trainer.status().code(), StatusCode::kFailedPrecondition) << trainer.status();
  EXPECT_NE(trainer.status().message().find("MLP: data-parallel over the nccl backend"),
            std::string::npos)
      << trainer.status();
  GradientAllReducer reducer(&world);
  torch::Tensor w = torch::ones({3}, torch::requires_grad());
  const auto reduced = reducer.AllReduceGradients({w});
  EXPECT_EQ(reduced.status().code(), StatusCode::kFailedPrecondition) << reduced.status();
  if (!torch::cuda::is_available()) {  // GPU 0 exists only where libtorch sees a GPU
    world.gpu = 0;
    const Status on_gpu0 = AgreeOnStatus(&world, Status::OK());
    EXPECT_EQ(on_gpu0.code(), StatusCode::kFailedPrecondition) << on_gpu0;
    EXPECT_NE(on_gpu0.message().find("nccl backend: its collectives read GPU memory"),
              std::string::npos)
        << on_gpu0;
    EXPECT_NE(on_gpu0.message().find("device cuda:0"), std::string::npos) << on_gpu0;
  }
  EXPECT_EQ(world.calls, 0);
}

TEST(Trainer, ResumeRejectsWrongModelMissingAndCorruptFiles) {
  const auto dir = TempDir();
  auto data = Dataset(SineSeries(200));
  TrainOptions options;
  options.max_steps = 2;
  options.threads = 1;
  options.checkpoint_path = (dir / "mlp.ckpt").string();
  auto mlp = Trainer::Make("MLP", Config({{"hidden_size", 8}}), options, DefaultModelRegistry());
  ASSERT_TRUE(mlp.ok());
  ASSERT_TRUE((*mlp)->Fit(data).ok());

  auto other = Trainer::Make("MLP", Config({{"hidden_size", 16}}), options, DefaultModelRegistry());
  ASSERT_TRUE(other.ok());
  Status st = (*other)->Resume(options.checkpoint_path, data);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("mlp.ckpt"), std::string::npos) << st;

  auto nhits = Trainer::Make("NHITS", Config({{"mlp_units", 8}}), options, DefaultModelRegistry());
  ASSERT_TRUE(nhits.ok());
  st = (*nhits)->Resume(options.checkpoint_path, data);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'MLP'"), std::string::npos) << st;

  st = (*other)->Resume((dir / "absent.ckpt").string(), data);
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st;

  const auto junk = (dir / "junk.ckpt").string();
  std::ofstream(junk) << "not a checkpoint";
  st = (*other)->Resume(junk, data);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("junk.ckpt"), std::string::npos) << st;
}

// A warm start takes a fitted model's weights (its forecast with them), and then trains with a
// fresh optimizer: from there, the same steps as a trainer that started from the same weights.
// Another architecture, or a trainer past its first step, is refused with the reason.
TEST(Trainer, StartFromTakesTheFittedWeights) {
  auto data = Dataset(SineSeries(200));
  TrainOptions options;
  options.max_steps = 5;
  options.threads = 1;
  const ModelConfig config = Config({{"hidden_size", 8}});
  auto fitted = Trainer::Make("MLP", config, options, DefaultModelRegistry());
  ASSERT_TRUE(fitted.ok());
  ASSERT_TRUE((*fitted)->Fit(data).ok());
  auto fitted_forecast = (*fitted)->Predict(data);
  ASSERT_TRUE(fitted_forecast.ok()) << fitted_forecast.status();

  auto warm = Trainer::Make("MLP", config, options, DefaultModelRegistry());
  ASSERT_TRUE(warm.ok());
  auto initial_forecast = (*warm)->Predict(data);
  ASSERT_TRUE(initial_forecast.ok()) << initial_forecast.status();
  ASSERT_FALSE(torch::equal(*initial_forecast, *fitted_forecast));
  ASSERT_TRUE((*warm)->StartFrom((*fitted)->model()).ok());
  EXPECT_EQ((*warm)->step(), 0);
  auto warm_forecast = (*warm)->Predict(data);
  ASSERT_TRUE(warm_forecast.ok()) << warm_forecast.status();
  EXPECT_TRUE(torch::equal(*warm_forecast, *fitted_forecast));

  auto twin = Trainer::Make("MLP", config, options, DefaultModelRegistry());
  ASSERT_TRUE(twin.ok());
  ASSERT_TRUE((*twin)->StartFrom((*fitted)->model()).ok());
  auto warm_data = Dataset(SineSeries(200)), twin_data = Dataset(SineSeries(200));
  ASSERT_TRUE((*warm)->Fit(warm_data).ok());
  ASSERT_TRUE((*twin)->Fit(twin_data).ok());
  EXPECT_EQ((*warm)->step(), 5);
  auto trained = (*warm)->Predict(data), twin_trained = (*twin)->Predict(data);
  ASSERT_TRUE(trained.ok() && twin_trained.ok());
  EXPECT_TRUE(torch::equal(*trained, *twin_trained));
  EXPECT_FALSE(torch::equal(*trained, *fitted_forecast));  // it went on training

  Status st = (*warm)->StartFrom((*fitted)->model());
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st;
  EXPECT_NE(st.message().find("before the first step"), std::string::npos) << st;
  auto wider = Trainer::Make("MLP", Config({{"hidden_size", 16}}), options, DefaultModelRegistry());
  ASSERT_TRUE(wider.ok());
  st = (*wider)->StartFrom((*fitted)->model());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("[8, 12]"), std::string::npos) << st;  // the first layer's shape
  auto nhits = Trainer::Make("NHITS", Config({{"mlp_units", 8}}), options, DefaultModelRegistry());
  ASSERT_TRUE(nhits.ok());
  st = (*nhits)->StartFrom((*fitted)->model());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("another architecture"), std::string::npos) << st;

  // A checkpoint says how its run started: a warm run resumes from a warm one, and neither
  // kind resumes the other's.
  const auto dir = TempDir();
  TrainOptions saving = options;
  saving.checkpoint_path = (dir / "warm.ckpt").string();
  auto writer = Trainer::Make("MLP", config, saving, DefaultModelRegistry());
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->StartFrom((*fitted)->model()).ok());
  auto writer_data = Dataset(SineSeries(200));
  ASSERT_TRUE((*writer)->Fit(writer_data).ok());
  auto resumed = Trainer::Make("MLP", config, options, DefaultModelRegistry());
  ASSERT_TRUE(resumed.ok());
  ASSERT_TRUE((*resumed)->StartFrom((*fitted)->model()).ok());
  st = (*resumed)->Resume(saving.checkpoint_path, writer_data);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ((*resumed)->step(), 5);
  auto cold = Trainer::Make("MLP", config, options, DefaultModelRegistry());
  ASSERT_TRUE(cold.ok());
  st = (*cold)->Resume(saving.checkpoint_path, writer_data);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("warm.ckpt: checkpoint of a run that started from weights it was "
                              "given"),
            std::string::npos)
      << st;
  saving.checkpoint_path = (dir / "cold.ckpt").string();
  auto cold_writer = Trainer::Make("MLP", config, saving, DefaultModelRegistry());
  ASSERT_TRUE(cold_writer.ok());
  ASSERT_TRUE((*cold_writer)->Fit(writer_data).ok());
  auto warm_reader = Trainer::Make("MLP", config, options, DefaultModelRegistry());
  ASSERT_TRUE(warm_reader.ok());
  ASSERT_TRUE((*warm_reader)->StartFrom((*fitted)->model()).ok());
  st = (*warm_reader)->Resume(saving.checkpoint_path, writer_data);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("started from the initial weights; this one starts from weights "
                              "it was given"),
            std::string::npos)
      << st;
}

// A checkpoint's weights as a start (NF's load, then fit(use_init_models=False)): the same as
// starting from the model that wrote it, its optimizer and sampler not taken; refused for a
// missing file, another model, other shapes, and after the first step.
TEST(Trainer, StartFromCheckpointTakesItsWeights) {
  const auto dir = TempDir();
  TrainOptions options;
  options.max_steps = 5;
  options.threads = 1;
  TrainOptions saving = options;
  saving.checkpoint_path = (dir / "MLP.ckpt").string();
  const ModelConfig config = Config({{"hidden_size", 8}});
  auto fitted = Trainer::Make("MLP", config, saving, DefaultModelRegistry());
  ASSERT_TRUE(fitted.ok());
  auto data = Dataset(SineSeries(200));
  ASSERT_TRUE((*fitted)->Fit(data).ok());
  auto fitted_forecast = (*fitted)->Predict(data);
  ASSERT_TRUE(fitted_forecast.ok()) << fitted_forecast.status();

  auto loaded = Trainer::Make("MLP", config, options, DefaultModelRegistry());
  ASSERT_TRUE(loaded.ok());
  Status st = (*loaded)->StartFromCheckpoint(saving.checkpoint_path);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ((*loaded)->step(), 0);
  auto loaded_forecast = (*loaded)->Predict(data);
  ASSERT_TRUE(loaded_forecast.ok()) << loaded_forecast.status();
  EXPECT_TRUE(torch::equal(*loaded_forecast, *fitted_forecast));
  auto twin = Trainer::Make("MLP", config, options, DefaultModelRegistry());
  ASSERT_TRUE(twin.ok());
  ASSERT_TRUE((*twin)->StartFrom((*fitted)->model()).ok());
  auto loaded_data = Dataset(SineSeries(200)), twin_data = Dataset(SineSeries(200));
  ASSERT_TRUE((*loaded)->Fit(loaded_data).ok());
  ASSERT_TRUE((*twin)->Fit(twin_data).ok());
  auto trained = (*loaded)->Predict(data), twin_trained = (*twin)->Predict(data);
  ASSERT_TRUE(trained.ok() && twin_trained.ok());
  EXPECT_TRUE(torch::equal(*trained, *twin_trained));
  EXPECT_FALSE(torch::equal(*trained, *fitted_forecast));  // it trained on

  st = (*loaded)->StartFromCheckpoint(saving.checkpoint_path);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st;
  auto fresh = Trainer::Make("MLP", config, options, DefaultModelRegistry());
  ASSERT_TRUE(fresh.ok());
  st = (*fresh)->StartFromCheckpoint((dir / "none.ckpt").string());
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st;
  EXPECT_NE(st.message().find("none.ckpt"), std::string::npos) << st;
  auto wider = Trainer::Make("MLP", Config({{"hidden_size", 16}}), options, DefaultModelRegistry());
  ASSERT_TRUE(wider.ok());
  st = (*wider)->StartFromCheckpoint(saving.checkpoint_path);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("MLP.ckpt: param '"), std::string::npos) << st;
  EXPECT_NE(st.message().find("is [8, 12] in the checkpoint and [16, 12] in this model"),
            std::string::npos)
      << st;
  auto nhits = Trainer::Make("NHITS", Config({{"mlp_units", 8}}), options, DefaultModelRegistry());
  ASSERT_TRUE(nhits.ok());
  st = (*nhits)->StartFromCheckpoint(saving.checkpoint_path);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("checkpoint of model 'MLP', not of 'NHITS'"), std::string::npos)
      << st;
}

// Quantiles: a point model has none to give, and levels must be in [0, 1]; both are errors
// naming the model. No levels: the point forecast alone, as Predict().
TEST(Trainer, PredictQuantilesNamesWhatItCannotGive) {
  auto data = Dataset(SineSeries(200));
  TrainOptions options;
  options.max_steps = 1;
  options.threads = 1;
  auto mlp = Trainer::Make("MLP", Config({{"hidden_size", 8}}), options, DefaultModelRegistry());
  ASSERT_TRUE(mlp.ok());
  ASSERT_TRUE((*mlp)->Fit(data).ok());
  auto point = (*mlp)->PredictQuantiles(data, {});
  ASSERT_TRUE(point.ok()) << point.status();
  EXPECT_FALSE(point->quantiles.defined());
  auto predicted = (*mlp)->Predict(data);
  ASSERT_TRUE(predicted.ok());
  EXPECT_TRUE(torch::equal(point->point, *predicted));
  auto none = (*mlp)->PredictQuantiles(data, {0.1, 0.9});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("MLP gives point forecasts only, no quantiles"),
            std::string::npos)
      << none.status();
  auto bad = (*mlp)->PredictQuantiles(data, {1.5});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("MLP: quantile level 1.5 is not in [0, 1]"),
            std::string::npos)
      << bad.status();
}

// Validation windows: NF's, those of the last input_size + val_size points, each horizon inside
// the last val_size points.
TEST(Windows, ValidationWindowsCoverTheLastValSizePointsOfEachSeries) {
  std::vector<float> v(100);
  for (int t = 0; t < 100; ++t) v[t] = static_cast<float>(t);
  WindowOptions wo;
  wo.input_size = 4;
  wo.horizon = 3;
  auto ds = WindowedDataset::Make(SeriesData{torch::tensor(v), {0, 60, 100}}, wo);
  ASSERT_TRUE(ds.ok());
  auto val = ds->ValidationWindows(5);
  ASSERT_TRUE(val.ok()) << val.status();
  // Per series: inputs starting at the last 9 points' first, horizons ending at the last point
  // at the latest: 3 windows, in time order, every horizon point counted.
  ASSERT_EQ(val->outsample_y.size(0), 6);
  EXPECT_FLOAT_EQ(val->outsample_mask.sum().item<float>(), 6 * 3);
  auto first_inputs = [](const torch::Tensor& x) { return x.select(1, 0).contiguous(); };
  EXPECT_TRUE(torch::equal(first_inputs(val->input.insample_y),
                           torch::tensor({51.0f, 52.0f, 53.0f, 91.0f, 92.0f, 93.0f})))
      << val->input.insample_y;
  // The targets are the last 5 values of each series (unscaled: identity).
  auto y = val->outsample_y;
  auto in_first = y.lt(60).logical_and(y.ge(55));
  auto in_second = y.ge(95);
  EXPECT_TRUE(in_first.logical_or(in_second).all().item<bool>());
  // NF refuses a val_size shorter than the horizon, and so do we.
  EXPECT_FALSE(ds->ValidationWindows(2).ok());
  // step_size 2 keeps NF's grid: the first and the third window.
  wo.step_size = 2;
  auto stepped = WindowedDataset::Make(SeriesData{torch::tensor(v), {0, 60, 100}}, wo);
  ASSERT_TRUE(stepped.ok()) << stepped.status();
  auto every_other = stepped->ValidationWindows(5);
  ASSERT_TRUE(every_other.ok()) << every_other.status();
  EXPECT_TRUE(torch::equal(first_inputs(every_other->input.insample_y),
                           torch::tensor({51.0f, 53.0f, 91.0f, 93.0f})))
      << every_other->input.insample_y;
  // Training on the rest never sees them.
  auto train = DropLast(SeriesData{torch::tensor(v), {0, 60, 100}}, 5);
  EXPECT_EQ(train.offsets, (std::vector<int64_t>{0, 55, 90}));
  EXPECT_FLOAT_EQ(train.values[89].item<float>(), 94.0f);
  EXPECT_FALSE(ds->ValidationWindows(0).ok());
}

// Validation targets that move against the training targets: the validation loss rises as
// training fits, so training stops after `patience` checks without improvement.
TEST(Trainer, EarlyStoppingStopsAfterPatienceChecksWithoutImprovement) {
  auto data = Dataset(SineSeries(200));
  auto adversarial = Dataset(SineSeries(200, -1.0f));
  auto validation = adversarial.ValidationWindows(kHorizon);
  ASSERT_TRUE(validation.ok());
  TrainOptions options;
  options.max_steps = 400;
  options.threads = 1;
  options.val_check_steps = 5;
  options.early_stop_patience_steps = 3;
  auto t = Trainer::Make("MLP", Config({{"hidden_size", 32}}), options, DefaultModelRegistry());
  ASSERT_TRUE(t.ok());
  auto loss = (*t)->Fit(data, &*validation);
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_TRUE((*t)->stopped_early());
  EXPECT_LT((*t)->step(), 400);
  const auto& v = (*t)->validation_losses();
  ASSERT_GE(v.size(), 4u);
  EXPECT_EQ((*t)->step(), static_cast<int>(v.size()) * 5);
  // The last `patience` checks are no better than the best before them.
  const double best = *std::min_element(v.begin(), v.end() - 3);
  for (size_t i = v.size() - 3; i < v.size(); ++i) EXPECT_GE(v[i], best);
  // Without patience it runs every step.
  options.early_stop_patience_steps = -1;
  options.max_steps = 30;
  auto u = Trainer::Make("MLP", Config({{"hidden_size", 32}}), options, DefaultModelRegistry());
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE((*u)->Fit(data, &*validation).ok());
  EXPECT_FALSE((*u)->stopped_early());
  EXPECT_EQ((*u)->step(), 30);
  EXPECT_EQ((*u)->validation_losses().size(), 6u);
}

// The validation MAE is in the series' units, as NF's valid_loss (which inverts the windows'
// scaling first): with the standard scaler a series ten times as large gives the same scaled
// windows and forecasts, and ten times the validation loss.
TEST(Trainer, ValidationLossIsInTheSeriesUnits) {
  WindowOptions wo;
  wo.input_size = kInput;
  wo.horizon = kHorizon;
  wo.scaler = ScalerType::kStandard;
  SeriesData small = SineSeries(200);
  SeriesData large = small;
  large.values = small.values * 10;
  auto a = WindowedDataset::Make(small, wo);
  auto b = WindowedDataset::Make(large, wo);
  ASSERT_TRUE(a.ok() && b.ok());
  auto va = a->ValidationWindows(kHorizon);
  auto vb = b->ValidationWindows(kHorizon);
  ASSERT_TRUE(va.ok() && vb.ok());
  TrainOptions options;
  options.threads = 1;
  auto t = Trainer::Make("MLP", Config({{"hidden_size", 16}}), options, DefaultModelRegistry());
  ASSERT_TRUE(t.ok()) << t.status();
  auto la = (*t)->ValidationLoss(*va);
  auto lb = (*t)->ValidationLoss(*vb);
  ASSERT_TRUE(la.ok() && lb.ok());
  EXPECT_GT(*la, 0);
  EXPECT_NEAR(*lb / *la, 10.0, 1e-3);
  // MQLoss compares every quantile's forecast (NF's valid_loss): by hand, the model's
  // [B, H, 5] outputs in the series' units against the targets, averaged over the quantiles.
  options.loss = "MQLoss";
  auto mq = Trainer::Make("MLP", Config({{"hidden_size", 16}}), options, DefaultModelRegistry());
  ASSERT_TRUE(mq.ok()) << mq.status();
  auto lm = (*mq)->ValidationLoss(*vb);
  ASSERT_TRUE(lm.ok()) << lm.status();
  torch::NoGradGuard no_grad;
  ForecastModel& model = (*mq)->model();
  model.eval();
  const auto out = InvertScale(model.Forward(vb->input), vb->input.scale);  // [B, H, 5]
  model.train();
  ASSERT_EQ(out.size(2), 5);
  const auto y = InvertScale(vb->outsample_y, vb->input.scale);
  const auto q = torch::tensor({0.5, 0.05, 0.1, 0.9, 0.95}, out.options());
  const auto error = y.unsqueeze(-1) - out;
  const auto terms = (q * error.clamp_min(0) + (1 - q) * (-error).clamp_min(0)).mean(-1);
  const auto& mask = vb->outsample_mask;
  EXPECT_NEAR(*lm, ((terms * mask).sum() / mask.sum()).item<double>(), 1e-4 * *lm);
  // A DistributionLoss compares the likelihood of the points in the series' units (NF's
  // scale_decouple): by hand, a Normal of mean loc * scale + shift and deviation sd * scale.
  options.loss = "DistributionLoss(Normal)";
  auto dist = Trainer::Make("MLP", Config({{"hidden_size", 16}}), options, DefaultModelRegistry());
  ASSERT_TRUE(dist.ok()) << dist.status();
  auto ld = (*dist)->ValidationLoss(*vb);
  ASSERT_TRUE(ld.ok()) << ld.status();
  ForecastModel& dm = (*dist)->model();
  dm.eval();
  const auto raw = dm.Forward(vb->input);  // [B, H, 2]
  dm.train();
  const auto loc = raw.select(-1, 0) * vb->input.scale.scale + vb->input.scale.shift;
  const auto sd = (torch::softplus(raw.select(-1, 1)) + 0.2) * vb->input.scale.scale;
  const auto z = (y - loc) / sd;
  const auto nll = 0.5 * z * z + sd.log() + 0.5 * std::log(2 * M_PI);
  EXPECT_NEAR(*ld, ((nll * mask).sum() / mask.sum()).item<double>(), 1e-4 * std::abs(*ld));
  // A Poisson lives in the series' units: by hand, rate = softplus(raw * scale + shift), and
  // -log p = rate - y log(rate) + lgamma(y + 1), on the series' values made counts (>= 0).
  options.loss = "DistributionLoss(Poisson)";
  auto poisson =
      Trainer::Make("MLP", Config({{"hidden_size", 16}}), options, DefaultModelRegistry());
  ASSERT_TRUE(poisson.ok()) << poisson.status();
  TrainBatch counts = *vb;
  counts.outsample_y = ApplyScale(y.round().abs(), vb->input.scale);
  auto lp = (*poisson)->ValidationLoss(counts);
  ASSERT_TRUE(lp.ok()) << lp.status();
  ForecastModel& pm = (*poisson)->model();
  pm.eval();
  const auto rate =
      torch::softplus(pm.Forward(vb->input) * vb->input.scale.scale + vb->input.scale.shift);
  pm.train();
  const auto k = y.round().abs();
  const auto poisson_nll = rate - k * rate.log() + torch::lgamma(k + 1);
  EXPECT_NEAR(*lp, ((poisson_nll * mask).sum() / mask.sum()).item<double>(), 1e-4 * std::abs(*lp));
}

// The revin scaler: the model is wrapped with RevIN's learnable affine map, which trains (its
// weight and bias move) and is the identity at the start; likelihood models are refused.
TEST(Trainer, RevinScalerTrainsItsAffineMap) {
  WindowOptions wo;
  wo.input_size = kInput;
  wo.horizon = kHorizon;
  wo.windows_batch_size = 64;
  wo.scaler = ScalerType::kRevIN;
  auto data = WindowedDataset::Make(SineSeries(200), wo);
  ASSERT_TRUE(data.ok());
  TrainOptions options;
  options.max_steps = 30;
  options.threads = 1;
  options.revin = true;
  auto t = Trainer::Make("MLP", Config({{"hidden_size", 32}}), options, DefaultModelRegistry());
  ASSERT_TRUE(t.ok()) << t.status();
  auto named = (*t)->model().named_parameters();
  ASSERT_TRUE(named.contains("revin_weight"));
  EXPECT_FLOAT_EQ(named["revin_weight"].item<float>(), 1.0f);
  ASSERT_TRUE((*t)->Fit(*data).ok());
  EXPECT_NE(named["revin_weight"].item<float>(), 1.0f);
  EXPECT_NE(named["revin_bias"].item<float>(), 0.0f);
  auto forecast = (*t)->Predict(*data);
  ASSERT_TRUE(forecast.ok()) << forecast.status();
  EXPECT_EQ(forecast->sizes(), (std::vector<int64_t>{2, kHorizon}));
  EXPECT_TRUE(torch::isfinite(*forecast).all().item<bool>());
  // Under a DistributionLoss the map trains through the distribution's location and scale.
  options.loss = "DistributionLoss(StudentT)";
  auto dist = Trainer::Make("MLP", Config({{"hidden_size", 32}}), options, DefaultModelRegistry());
  ASSERT_TRUE(dist.ok()) << dist.status();
  auto dist_named = (*dist)->model().named_parameters();
  ASSERT_TRUE((*dist)->Fit(*data).ok());
  EXPECT_NE(dist_named["revin_weight"].item<float>(), 1.0f);
  EXPECT_NE(dist_named["revin_bias"].item<float>(), 0.0f);
}

// An MLP trained on `loss_text` wrapped in RevIN at w = -2, b = 0.5: the wrapped model's
// distribution parameters on the affine windows (p), RevIN's on the plain ones (q), and RevIN's
// point forecast.
struct RevinDistribution {
  torch::Tensor p, q, point;
};

RevinDistribution RevinAtMinusTwo(const std::string& loss_text) {
  auto loss = ParsePointLoss(loss_text);
  EXPECT_TRUE(loss.ok()) << loss.status();
  ModelConfig config = Config({{"hidden_size", 8}});
  config.outputs = loss->Outputs();
  auto inner = DefaultModelRegistry().Make("MLP", config);
  EXPECT_TRUE(inner.ok()) << inner.status();
  RevinScaledModel revin(*inner);
  revin.SetPointLoss(*loss);
  torch::NoGradGuard no_grad;
  auto named = revin.named_parameters();
  named["revin_weight"].fill_(-2.0);
  named["revin_bias"].fill_(0.5);
  WindowBatch batch{torch::randn({3, kInput}), torch::ones({3, kInput})};
  WindowBatch affine = batch;
  affine.insample_y = batch.insample_y * -2.0 + 0.5;
  return {(*inner)->DistributionParams(affine), revin.DistributionParams(batch),
          revin.PointForecast(batch)};
}

// RevIN's inverse (y - b) / w maps a distribution of the wrapped model's output to location
// (loc - b) / w and scale scale / |w|, the degrees of freedom unchanged: by hand at w = -2,
// b = 0.5.
TEST(Trainer, RevinMapsTheDistribution) {
  const auto [p, q, point] = RevinAtMinusTwo("DistributionLoss(StudentT)");
  ASSERT_EQ(q.sizes(), p.sizes());
  EXPECT_TRUE(torch::allclose(q.select(-1, 0), p.select(-1, 0)));
  EXPECT_TRUE(torch::allclose(q.select(-1, 1), (p.select(-1, 1) - 0.5) / -2.0));
  EXPECT_TRUE(torch::allclose(q.select(-1, 2), p.select(-1, 2) / 2.0));
  EXPECT_TRUE(torch::allclose(point, q.select(-1, 1)));
}

// A Gaussian mixture's K locations and K scales map so, its weights unchanged: GMM of 2 weighted
// components, [mu1, mu2, std1, std2, w1, w2].
TEST(Trainer, RevinMapsAGaussianMixture) {
  const auto [p, q, point] = RevinAtMinusTwo("GMM(n_components=2, weighted=True)");
  ASSERT_EQ(q.sizes(), (std::vector<int64_t>{3, kHorizon, 6}));
  for (int k = 0; k < 2; ++k) {
    EXPECT_TRUE(torch::allclose(q.select(-1, k), (p.select(-1, k) - 0.5) / -2.0)) << k;
    EXPECT_TRUE(torch::allclose(q.select(-1, 2 + k), p.select(-1, 2 + k) / 2.0)) << k;
    EXPECT_TRUE(torch::allclose(q.select(-1, 4 + k), p.select(-1, 4 + k))) << k;
  }
  const auto mean = q.select(-1, 0) * q.select(-1, 4) + q.select(-1, 1) * q.select(-1, 5);
  EXPECT_TRUE(torch::allclose(point, mean, 1e-5, 1e-6));
}

// NF's valid_loss rules (BaseModel.__init__ and _compute_valid_loss): what validates on what.
TEST(Trainer, ValidLossFollowsNfsRules) {
  auto mlp = DefaultModelRegistry().Defaults("MLP");
  auto deepar = DefaultModelRegistry().Defaults("DeepAR");
  ASSERT_TRUE(mlp.ok() && deepar.ok());
  auto loss = [](const std::string& text) {
    auto parsed = ParsePointLoss(text);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : PointLoss();
  };
  auto valid = [&](const TrainDefaults& d, const std::string& trained, const std::string& text) {
    return ValidLossOf("M", d, trained.empty() ? PointLoss() : loss(trained), text);
  };
  // Accepted: a point loss on any point forecast (a distribution's mean, DeepAR's), MQLoss on
  // as many quantiles, the training DistributionLoss itself, IQLoss with IQLoss.
  EXPECT_EQ(valid(*mlp, "MSE", "MAE")->kind, PointLoss::kMae);
  EXPECT_EQ(valid(*mlp, "", "MASE(12)")->kind, PointLoss::kMase);
  EXPECT_EQ(valid(*mlp, "DistributionLoss(Normal)", "MSE")->kind, PointLoss::kMse);
  EXPECT_EQ(valid(*mlp, "DistributionLoss(Normal)", "MQLoss")->quantiles.size(), 5u);
  EXPECT_EQ(valid(*mlp, "MQLoss(level=[80])", "HuberMQLoss(level=[90])")->quantiles.size(), 3u);
  EXPECT_TRUE(
      valid(*mlp, "DistributionLoss(StudentT)", "DistributionLoss(StudentT)")->is_distribution());
  EXPECT_TRUE(valid(*mlp, "IQLoss", "IQLoss")->implicit_quantile());
  EXPECT_EQ(valid(*deepar, "", "MQLoss(level=[80])")->quantiles.size(), 3u);
  EXPECT_EQ(valid(*deepar, "DistributionLoss(Normal)", "RMSE")->kind, PointLoss::kRmse);
  // Refused, each saying why.
  auto refused = [&](const TrainDefaults& d, const std::string& trained, const std::string& text,
                     const std::string& why) {
    auto r = valid(d, trained, text);
    ASSERT_FALSE(r.ok()) << trained << " / " << text;
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status();
  };
  refused(*mlp, "", "MQLoss", "a point model gives no quantiles to score");
  refused(*mlp, "MQLoss", "MAE", "a multi-quantile loss validates on MQLoss or HuberMQLoss");
  refused(*mlp, "MQLoss(level=[80])", "MQLoss",
          "the model gives 3 quantiles and valid_loss scores 5");
  refused(*mlp, "DistributionLoss(Normal, level=[80])", "MQLoss", "gives 3 quantiles");
  refused(*mlp, "IQLoss", "MAE", "IQLoss and HuberIQLoss train and validate together");
  refused(*mlp, "IQLoss", "HuberIQLoss", "train and validate together");
  refused(*mlp, "MAE", "IQLoss", "train and validate together");
  refused(*mlp, "MAE", "DistributionLoss(Normal)", "a point model has no distribution to score");
  refused(*mlp, "DistributionLoss(Normal)", "DistributionLoss(StudentT)",
          "a DistributionLoss validates on its own likelihood");
  refused(*deepar, "", "DistributionLoss(Normal)", "is not built");
  refused(*mlp, "", "Nonsense", "M: valid_loss: loss 'Nonsense'");
}

}  // namespace
}  // namespace drc::dl
