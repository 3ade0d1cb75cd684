// What the models and the trainer compute on a GPU (--device cuda), against the CPU. Every test
// here skips where libtorch sees no GPU, as with Debian's CPU-only libtorch: they run in a build
// against a CUDA libtorch (scripts/configure-pip-torch.sh) on a machine with a GPU
// (docs/cuda-build.md).
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <ATen/Context.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "drc/comm/local.h"
#include "drc/dl/hydrology.h"
#include "src/dl/camels_sample.h"
#include "src/dl/data_parallel.h"
#include "src/dl/model.h"
#include "src/dl/trainer.h"
#include "src/dl/windows.h"

namespace drc::dl {
namespace {

constexpr int kInput = 24;
constexpr int kHorizon = 12;

#define DRC_SKIP_WITHOUT_GPU() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "libtorch sees no CUDA device"

// cuDNN's convolutions run in TF32 by default (PyTorch's default too), which rounds their
// inputs to 10 mantissa bits: comparisons with the CPU ask for full fp32 while they run.
class FullFp32 {
 public:
  FullFp32()
      : cudnn_(at::globalContext().allowTF32CuDNN()),
        cublas_(at::globalContext().allowTF32CuBLAS()) {
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
  ~FullFp32() {
    at::globalContext().setAllowTF32CuDNN(cudnn_);
    at::globalContext().setAllowTF32CuBLAS(cublas_);
  }

 private:
  bool cudnn_, cublas_;
};

// cuDNN's RNN backward runs only in training mode, where dropout would make the devices
// differ: gradients in eval mode come from libtorch's own CUDA kernels while this lives.
class CudnnOff {
 public:
  CudnnOff() : enabled_(at::globalContext().userEnabledCuDNN()) {
    at::globalContext().setUserEnabledCuDNN(false);
  }
  ~CudnnOff() { at::globalContext().setUserEnabledCuDNN(enabled_); }

 private:
  bool enabled_;
};

// `value` equals `reference` (on any devices) within `tol` times the largest |reference|, or
// times `floor` where that is larger (a gradient that is 0 on the CPU is rounding noise on the
// GPU).
::testing::AssertionResult Near(const torch::Tensor& value, const torch::Tensor& reference,
                                double tol, double floor = 1e-6) {
  if (!value.defined() || !reference.defined()) {
    return ::testing::AssertionFailure() << "undefined tensor";
  }
  if (value.sizes() != reference.sizes()) {
    return ::testing::AssertionFailure()
           << "shape " << value.sizes() << " against " << reference.sizes();
  }
  const torch::Tensor a = value.cpu().to(torch::kFloat64), b = reference.cpu().to(torch::kFloat64);
  const double scale = std::max(b.abs().max().item<double>(), floor);
  const double diff = (a - b).abs().max().item<double>();
  if (std::isfinite(diff) && diff <= tol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "max |difference| = " << diff << " > " << tol << " * " << scale
         << " (the largest |reference|, at least " << floor << ")";
}

// Near, and `on_gpu` was computed on a GPU.
::testing::AssertionResult Close(const torch::Tensor& on_gpu, const torch::Tensor& on_cpu,
                                 double tol, double floor = 1e-6) {
  if (on_gpu.defined() && !on_gpu.is_cuda()) {
    return ::testing::AssertionFailure() << "not on a GPU";
  }
  return Near(on_gpu, on_cpu, tol, floor);
}

ModelConfig Config() {
  ModelConfig c;
  c.input_size = kInput;
  c.horizon = kHorizon;
  return c;  // NeuralForecast's default hyper-parameters
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  std::replace_if(
      s.begin(), s.end(), [](char ch) { return !std::isalnum(ch); }, '_');
  return s;
}

// The same model built twice from one seed, one copy on the GPU, both in eval mode.
struct TwinModels {
  std::shared_ptr<ForecastModel> cpu, gpu;
};
Result<TwinModels> MakeTwins(const std::string& name, const ModelConfig& config) {
  TwinModels twins;
  for (auto* model : {&twins.cpu, &twins.gpu}) {
    torch::manual_seed(1);
    DRC_ASSIGN_OR_RETURN(*model, DefaultModelRegistry().Make(name, config));
    (*model)->eval();
  }
  twins.gpu->to(torch::kCUDA);
  return twins;
}

// Every tensor of `batch` that is defined, on the GPU.
WindowBatch OnGpu(const WindowBatch& batch) {
  auto to = [](const torch::Tensor& t) { return t.defined() ? t.to(torch::kCUDA) : t; };
  return WindowBatch{to(batch.insample_y), to(batch.insample_mask), to(batch.weight),
                     to(batch.futr_exog),  to(batch.hist_exog),     to(batch.stat_exog)};
}

// DeepAR's sampled paths draw the same numbers on both devices (Likelihood::Sample), but a
// gamma draw's rejection steps can differ with the last bits of its parameter.
double PointForecastTolerance(const std::string& name) { return name == "DeepAR" ? 5e-2 : 1e-3; }

class CudaModelTest : public ::testing::TestWithParam<std::string> {};

// The same initial parameters on both devices (one seed), eval mode: the forward pass, every
// parameter's gradient and the point forecast agree with the CPU's. A gradient is compared
// relative to the model's largest gradient where its own is smaller than 1 % of that: biases
// whose gradient is exactly 0 on the CPU (a key projection's bias, which the softmax cancels)
// were ~1e-9 on an H200.
TEST_P(CudaModelTest, ComputesWhatTheCpuComputes) {
  DRC_SKIP_WITHOUT_GPU();
  FullFp32 fp32;
  const std::string& name = GetParam();
  auto twins = MakeTwins(name, Config());
  ASSERT_TRUE(twins.ok()) << twins.status();
  auto& cpu = twins->cpu;
  auto& gpu = twins->gpu;

  torch::manual_seed(2);
  WindowBatch batch{10.0f + 3.0f * torch::randn({8, kInput}), torch::ones({8, kInput})};
  batch.insample_mask.select(0, 0).slice(0, 0, 6).zero_();  // a window with missing values
  const WindowBatch on_gpu = OnGpu(batch);

  torch::Tensor y_cpu = cpu->Forward(batch);
  torch::Tensor y_gpu = gpu->Forward(on_gpu);
  EXPECT_TRUE(Close(y_gpu, y_cpu, 1e-3)) << name << ": forward";
  y_cpu.pow(2).mean().backward();
  {
    CudnnOff no_cudnn;
    gpu->Forward(on_gpu).pow(2).mean().backward();
  }
  double largest = 0;
  for (const auto& p : cpu->parameters()) {
    if (p.grad().defined()) largest = std::max(largest, p.grad().abs().max().item<double>());
  }
  EXPECT_GT(largest, 0) << name;
  auto grads_gpu = gpu->named_parameters();
  for (const auto& p : cpu->named_parameters()) {
    if (!p.value().grad().defined()) continue;
    EXPECT_TRUE(Close(grads_gpu[p.key()].grad(), p.value().grad(), 2e-3, 0.01 * largest))
        << name << ": gradient of " << p.key();
  }

  torch::NoGradGuard no_grad;
  EXPECT_TRUE(
      Close(gpu->PointForecast(on_gpu), cpu->PointForecast(batch), PointForecastTolerance(name)))
      << name << ": point forecast";
}

// The models that read exogenous variables.
std::vector<std::string> ExogenousModels() {
  std::vector<std::string> names;
  for (const auto& name : DefaultModelRegistry().Names()) {
    auto defaults = DefaultModelRegistry().Defaults(name);
    if (defaults.ok() && defaults->futr_exog) names.push_back(name);
  }
  return names;
}

class CudaExogenousTest : public ::testing::TestWithParam<std::string> {};

// With each kind of exogenous variable that the model reads, the last column of each kind
// categorical (embedded: categorical.h), eval mode: the forward pass and the point forecast
// agree with the CPU's (the models' own tensors, e.g. DeepAR's horizon steps, must be made on
// the batch's device).
TEST_P(CudaExogenousTest, ComputesWhatTheCpuComputes) {
  DRC_SKIP_WITHOUT_GPU();
  FullFp32 fp32;
  const std::string& name = GetParam();
  auto defaults = DefaultModelRegistry().Defaults(name);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  ModelConfig config = Config();
  if (defaults->recurrent) config.input_size = kInput + 1;
  const int64_t L = config.input_size;
  config.futr_exog = 3;
  config.categorical = {{CategoricalExog::kFutr, 2, 4, 3}};
  if (defaults->hist_exog) {
    config.hist_exog = 3;
    config.categorical.push_back({CategoricalExog::kHist, 2, 5, 2});
  }
  if (defaults->stat_exog) {
    config.stat_exog = 2;
    config.categorical.push_back({CategoricalExog::kStat, 1, 3, 2});
  }
  auto twins = MakeTwins(name, config);
  ASSERT_TRUE(twins.ok()) << twins.status();
  auto& cpu = twins->cpu;
  auto& gpu = twins->gpu;

  torch::manual_seed(2);
  const int64_t B = 8;
  // Continuous columns, then one of codes 0..cardinality.
  auto columns = [&](std::vector<int64_t> shape, int64_t cardinality) {
    auto continuous = torch::randn(shape);
    shape.back() = 1;
    return torch::cat({continuous, torch::randint(0, cardinality + 1, shape)}, -1);
  };
  WindowBatch batch{10.0f + 3.0f * torch::randn({B, L}), torch::ones({B, L})};
  batch.futr_exog = columns({B, L + kHorizon, 2}, 4);
  if (config.hist_exog > 0) batch.hist_exog = columns({B, L, 2}, 5);
  if (config.stat_exog > 0) batch.stat_exog = columns({B, 1}, 3);
  const WindowBatch on_gpu = OnGpu(batch);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(Close(gpu->Forward(on_gpu), cpu->Forward(batch), 1e-3)) << name << ": forward";
  EXPECT_TRUE(
      Close(gpu->PointForecast(on_gpu), cpu->PointForecast(batch), PointForecastTolerance(name)))
      << name << ": point forecast";
}

INSTANTIATE_TEST_SUITE_P(Zoo, CudaExogenousTest, ::testing::ValuesIn(ExogenousModels()), TestName);

std::vector<float> SinePlusTrend(int n) {
  std::vector<float> v(n);
  for (int t = 0; t < n; ++t) {
    v[t] = 10.0f + 0.05f * t + 3.0f * std::sin(2.0f * static_cast<float>(M_PI) * t / 12.0f);
  }
  return v;
}

struct FitResult {
  double first = 0, last = 0;  // mean training loss of the first and of the last 5 steps
  torch::Tensor forecast;
  torch::Device device = torch::kCPU;
};

FitResult FitOn(const std::string& name, const std::string& device, int steps) {
  FitResult r;
  auto defaults = DefaultModelRegistry().Defaults(name);
  EXPECT_TRUE(defaults.ok()) << defaults.status();
  auto wo = WindowOptionsFrom(*defaults, kInput, kHorizon);
  EXPECT_TRUE(wo.ok()) << wo.status();
  const std::vector<float> v = SinePlusTrend(240);
  auto data = WindowedDataset::Make(SeriesData{torch::tensor(v), {0, 240}}, *wo);
  EXPECT_TRUE(data.ok()) << data.status();
  TrainOptions options = OptionsFrom(*defaults, steps, /*seed=*/1);
  options.learning_rate = std::max(options.learning_rate, 1e-3);  // as in models_test.cc
  options.device = device;
  auto trainer = Trainer::Make(name, Config(), options, DefaultModelRegistry());
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  if (!trainer.ok() || !data.ok()) return r;
  r.device = (*trainer)->device();
  auto loss = (*trainer)->Fit(*data);
  EXPECT_TRUE(loss.ok()) << loss.status();
  const auto& l = (*trainer)->losses();
  EXPECT_EQ(l.size(), static_cast<size_t>(steps));
  if (l.size() < 10) return r;
  r.first = std::accumulate(l.begin(), l.begin() + 5, 0.0) / 5;
  r.last = std::accumulate(l.end() - 5, l.end(), 0.0) / 5;
  auto forecast = (*trainer)->Predict(*data);
  EXPECT_TRUE(forecast.ok()) << forecast.status();
  if (forecast.ok()) r.forecast = *forecast;
  return r;
}

// The trainer on the GPU, from the same seed as on the CPU: the loss falls, ends no worse than
// twice the CPU run's (dropout masks come from another generator there, so the runs are not the
// same), and the forecast comes back to the host.
TEST_P(CudaModelTest, TrainsAsOnTheCpu) {
  DRC_SKIP_WITHOUT_GPU();
  const std::string& name = GetParam();
  constexpr int kSteps = 60;
  const FitResult gpu = FitOn(name, "cuda", kSteps);
  const FitResult cpu = FitOn(name, "cpu", kSteps);
  EXPECT_TRUE(gpu.device.is_cuda()) << name;
  ASSERT_TRUE(gpu.forecast.defined() && cpu.forecast.defined()) << name;
  EXPECT_TRUE(gpu.forecast.is_cpu()) << name;
  EXPECT_EQ(gpu.forecast.sizes(), (std::vector<int64_t>{1, kHorizon})) << name;
  EXPECT_TRUE(torch::isfinite(gpu.forecast).all().item<bool>()) << name;
  EXPECT_LT(gpu.last, gpu.first) << name << " on the GPU";
  EXPECT_LE(gpu.last, 2 * cpu.last) << name << ": last 5 steps' loss " << gpu.last
                                    << " on the GPU, " << cpu.last << " on the CPU";
}

INSTANTIATE_TEST_SUITE_P(Zoo, CudaModelTest, ::testing::ValuesIn(DefaultModelRegistry().Names()),
                         TestName);

// What the checkpoint tests share: `model`'s defaults, fresh datasets of one series windowed as
// they say, and a scratch directory, removed at the end.
struct CheckpointCase {
  explicit CheckpointCase(const std::string& model)
      : dir(std::filesystem::temp_directory_path() /
            ("drc_cuda_test_" + model + "_" + std::to_string(::getpid()))) {
    auto d = DefaultModelRegistry().Defaults(model);
    EXPECT_TRUE(d.ok()) << d.status();
    if (d.ok()) defaults = *d;
    auto w = WindowOptionsFrom(defaults, kInput, kHorizon);
    EXPECT_TRUE(w.ok()) << w.status();
    if (w.ok()) windows = *w;
    std::filesystem::create_directories(dir);
  }
  ~CheckpointCase() { std::filesystem::remove_all(dir); }
  WindowedDataset Data() const {
    const std::vector<float> v = SinePlusTrend(240);
    auto d = WindowedDataset::Make(SeriesData{torch::tensor(v), {0, 240}}, windows);
    EXPECT_TRUE(d.ok()) << d.status();
    return std::move(*d);
  }

  TrainDefaults defaults;
  WindowOptions windows;
  std::filesystem::path dir;
};

// A checkpoint written by a trainer on the GPU resumes on the CPU (and on the GPU) with the
// same parameters, and both forecast the same.
TEST(Cuda, CheckpointFromTheGpuResumesOnTheCpu) {
  DRC_SKIP_WITHOUT_GPU();
  FullFp32 fp32;
  const CheckpointCase ckpt("NHITS");
  const std::string path = (ckpt.dir / "nhits.ckpt").string();
  TrainOptions options = OptionsFrom(ckpt.defaults, /*max_steps=*/20, /*seed=*/3);
  options.device = "cuda";
  options.checkpoint_path = path;
  auto data = ckpt.Data();
  auto on_gpu = Trainer::Make("NHITS", Config(), options, DefaultModelRegistry());
  ASSERT_TRUE(on_gpu.ok()) << on_gpu.status();
  ASSERT_TRUE((*on_gpu)->Fit(data).ok());
  ASSERT_TRUE(std::filesystem::exists(path));
  auto expected = (*on_gpu)->Predict(data);
  ASSERT_TRUE(expected.ok()) << expected.status();

  for (const std::string device : {"cpu", "cuda"}) {
    TrainOptions resumed = options;
    resumed.checkpoint_path.clear();
    resumed.device = device;
    resumed.seed = 99;  // everything must come from the checkpoint
    auto data_r = ckpt.Data();
    auto r = Trainer::Make("NHITS", Config(), resumed, DefaultModelRegistry());
    ASSERT_TRUE(r.ok()) << r.status();
    Status st = (*r)->Resume(path, data_r);
    ASSERT_TRUE(st.ok()) << st;
    EXPECT_EQ((*r)->step(), 20) << device;
    auto params = (*r)->model().named_parameters();
    for (const auto& p : (*on_gpu)->model().named_parameters()) {
      EXPECT_EQ(params[p.key()].device().type(), (*r)->device().type()) << device;
      EXPECT_TRUE(torch::equal(params[p.key()].cpu(), p.value().cpu())) << device << " " << p.key();
    }
    auto forecast = (*r)->Predict(data_r);
    ASSERT_TRUE(forecast.ok()) << forecast.status();
    EXPECT_TRUE(Near(*forecast, *expected, 1e-4)) << device;
  }
}

// A run on the GPU interrupted by a checkpoint and resumed on the GPU (with another seed) ends
// where the uninterrupted run ends: PatchTST's dropout masks come from the GPU's generator, whose
// state the checkpoint carries.
TEST(Cuda, ResumedRunOnTheGpuMatchesUninterruptedRun) {
  DRC_SKIP_WITHOUT_GPU();
  FullFp32 fp32;
  const CheckpointCase ckpt("PatchTST");
  TrainOptions options = OptionsFrom(ckpt.defaults, /*max_steps=*/20, /*seed=*/5);
  options.device = "cuda";
  auto data_a = ckpt.Data();
  auto a = Trainer::Make("PatchTST", Config(), options, DefaultModelRegistry());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE((*a)->Fit(data_a).ok());

  TrainOptions with_ckpt = options;
  with_ckpt.checkpoint_path = (ckpt.dir / "patchtst.ckpt").string();
  auto data_b = ckpt.Data();
  auto b = Trainer::Make("PatchTST", Config(), with_ckpt, DefaultModelRegistry());
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE((*b)->Fit(data_b, nullptr, /*until_step=*/10).ok());

  TrainOptions other = options;
  other.seed = 99;  // the CPU's and the GPU's generators must come from the checkpoint
  auto data_c = ckpt.Data();
  auto c = Trainer::Make("PatchTST", Config(), other, DefaultModelRegistry());
  ASSERT_TRUE(c.ok()) << c.status();
  Status st = (*c)->Resume(with_ckpt.checkpoint_path, data_c);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_TRUE((*c)->Fit(data_c).ok());
  ASSERT_EQ((*c)->step(), 20);
  auto params = (*c)->model().named_parameters();
  for (const auto& p : (*a)->model().named_parameters()) {
    EXPECT_TRUE(Near(params[p.key()], p.value(), 1e-5)) << p.key();
  }
  ASSERT_EQ((*a)->losses().size(), (*c)->losses().size());
  for (size_t i = 0; i < (*a)->losses().size(); ++i) {
    EXPECT_NEAR((*a)->losses()[i], (*c)->losses()[i], 1e-5 * std::abs((*a)->losses()[i]))
        << "step " << i;
  }
}

// drc hydro on the GPU learns what it learns on the CPU: the same samples in the same order (the
// shuffle is on the host), without dropout (its masks come from different generators), so the
// epochs' losses and the test NSE agree up to fp32 rounding.
TEST(Cuda, HydrologyTrainsAsOnTheCpu) {
  DRC_SKIP_WITHOUT_GPU();
  FullFp32 fp32;
  HydroConfig c;
  c.data_dir = test_data::CamelsSampleDir();
  c.basins = {"01022500"};
  c.seq_length = 30;
  c.hidden_size = 16;
  c.epochs = 3;
  c.learning_rate = {{0, 1e-2}};
  c.batch_size = 128;
  c.output_dropout = 0;
  c.threads = 1;
  c.seed = 7;
  auto cpu = TrainAndEvaluateHydro(c);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  c.device = "cuda";
  auto gpu = TrainAndEvaluateHydro(c);
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  EXPECT_EQ(gpu->device, "cuda:0");
  ASSERT_EQ(gpu->epoch_losses.size(), cpu->epoch_losses.size());
  for (size_t e = 0; e < cpu->epoch_losses.size(); ++e) {
    EXPECT_NEAR(gpu->epoch_losses[e], cpu->epoch_losses[e], 1e-2 * cpu->epoch_losses[e])
        << "epoch " << e;
  }
  EXPECT_NEAR(gpu->median_nse, cpu->median_nse, 0.02);
}

// Data-parallel over nccl: one rank per GPU (up to 2), as threads of this process bootstrapped by
// a `local` world. Rank 0's parameters reach every rank, the gradients and the loss are averaged
// in GPU buckets, and a failure on one rank reaches the others. On one GPU this is one rank (NCCL
// refuses two ranks on one device): each collective is then an identity, and what is checked is
// the staging on the GPU, the synchronisation with torch's stream and the bucket bookkeeping.
TEST(Cuda, DataParallelOverNccl) {
  DRC_SKIP_WITHOUT_GPU();
  const auto backends = comm::DefaultCommRegistry().Names();
  if (std::find(backends.begin(), backends.end(), "nccl") == backends.end()) {
    GTEST_SKIP() << "this build has no nccl backend";
  }
  const int ranks = std::min<int>(2, static_cast<int>(torch::cuda::device_count()));
  struct Seen {
    std::vector<torch::Tensor> weights, grads_before, grads_after;
    double loss_before = 0, loss_after = 0;
    int collectives = 0;
    Status agreed, one_failed;
  };
  std::vector<Seen> seen(ranks);
  const Status st = comm::RunLocal(ranks, [&](comm::Communicator& local) -> Status {
    const int r = local.rank();
    comm::CommOptions o;
    o.bootstrap = &local;
    o.device = r;
    o.timeout = std::chrono::seconds(60);
    DRC_ASSIGN_OR_RETURN(auto nccl, comm::DefaultCommRegistry().Make("nccl", o));
    Seen& mine = seen[r];
    const torch::Device device(torch::kCUDA, static_cast<c10::DeviceIndex>(r));
    torch::nn::Linear model(8, 3);
    model->to(device);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : model->parameters()) p.fill_(static_cast<float>(r + 1));  // replicas differ
    }
    mine.agreed = AgreeOnStatus(nccl.get(), Status::OK());
    mine.one_failed = AgreeOnStatus(
        nccl.get(), r == ranks - 1 ? Status::InvalidArgument("rank ", r, " fails") : Status::OK());
    // A bucket of 16 floats: the weight (24) goes alone, the bias (3) with the loss.
    GradientAllReducer reducer(nccl.get(), /*bucket_bytes=*/16 * sizeof(float));
    DRC_RETURN_NOT_OK(reducer.BroadcastParameters(*model));
    for (const auto& p : model->parameters()) mine.weights.push_back(p.detach().cpu());
    const torch::Tensor x =
        torch::arange(32, torch::TensorOptions().dtype(torch::kFloat32).device(device))
            .reshape({4, 8}) *
        static_cast<float>(r + 1) / 32.0f;
    const torch::Tensor loss = model(x).pow(2).mean();
    loss.backward();
    for (const auto& p : model->parameters()) mine.grads_before.push_back(p.grad().cpu());
    mine.loss_before = mine.loss_after = loss.item<double>();
    DRC_ASSIGN_OR_RETURN(mine.collectives,
                         reducer.AllReduceGradients(model->parameters(), &mine.loss_after));
    for (const auto& p : model->parameters()) {
      if (!p.grad().is_cuda()) return Status::Internal("a gradient left the GPU");
      mine.grads_after.push_back(p.grad().cpu());
    }
    return Status::OK();
  });
  ASSERT_TRUE(st.ok()) << st;
  double mean_loss = 0;
  for (const Seen& s : seen) mean_loss += s.loss_before / ranks;
  for (int r = 0; r < ranks; ++r) {
    SCOPED_TRACE("rank " + std::to_string(r));
    const Seen& s = seen[r];
    EXPECT_TRUE(s.agreed.ok()) << s.agreed;
    EXPECT_EQ(s.one_failed.code(),
              r == ranks - 1 ? StatusCode::kInvalidArgument : StatusCode::kAborted)
        << s.one_failed;
    EXPECT_EQ(s.collectives, 2);
    ASSERT_EQ(s.weights.size(), 2u);
    for (const auto& w : s.weights) EXPECT_TRUE(torch::equal(w, torch::ones_like(w)));  // rank 0's
    EXPECT_NEAR(s.loss_after, mean_loss, 1e-5 * std::abs(mean_loss));
    for (size_t i = 0; i < s.grads_after.size(); ++i) {
      torch::Tensor mean = torch::zeros_like(s.grads_after[i]);
      for (const Seen& other : seen) mean += other.grads_before[i] / ranks;
      EXPECT_TRUE(torch::allclose(s.grads_after[i], mean, 1e-5, 1e-6)) << "parameter " << i;
    }
  }
}

}  // namespace
}  // namespace drc::dl
