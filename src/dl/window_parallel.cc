#include "src/dl/window_parallel.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <omp.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

namespace drc::dl {
namespace {

constexpr int64_t kMinWindowsPerPart = 32;

// OpenBLAS (libtorch's BLAS for Linear on Debian) keeps one process-wide thread count; found at
// run time, since the BLAS behind libblas.so.3 is the system's choice. Absent: no-ops.
using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();

// The default CPU generator's state, to check that no part drew from it.
at::Tensor GeneratorState() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

// Rows [begin, begin + n) of every tensor of the batch that has them.
TrainBatch Rows(const TrainBatch& batch, int64_t begin, int64_t n) {
  TrainBatch part;
  part.input.insample_y = batch.input.insample_y.narrow(0, begin, n);
  part.input.insample_mask = batch.input.insample_mask.narrow(0, begin, n);
  auto rows = [&](const torch::Tensor& t) { return t.defined() ? t.narrow(0, begin, n) : t; };
  part.input.weight = rows(batch.input.weight);
  part.input.futr_exog = rows(batch.input.futr_exog);
  part.input.hist_exog = rows(batch.input.hist_exog);
  part.input.stat_exog = rows(batch.input.stat_exog);
  part.input.quantiles = rows(batch.input.quantiles);
  part.input.scale = WindowScale{rows(batch.input.scale.shift), rows(batch.input.scale.scale)};
  part.outsample_y = batch.outsample_y.narrow(0, begin, n);
  part.outsample_mask = batch.outsample_mask.narrow(0, begin, n);
  return part;
}

// The mask total that the default masked loss divides by: sum(mask * weight).
double MaskTotal(const TrainBatch& batch) {
  const auto& mask = batch.outsample_mask;
  if (!batch.input.weight.defined()) return mask.sum().item<double>();
  return (mask * batch.input.weight.unsqueeze(1)).sum().item<double>();
}

// Sets this thread's intra-op thread count. libtorch sets a thread's OpenMP count to its
// process-wide one on the thread's first parallel operator; at::get_num_threads() runs that
// first-use initialization now, so that it does not undo ours later.
void SetThisThreadsIntraOpThreads(int n) {
  at::get_num_threads();
  omp_set_num_threads(n);
}

}  // namespace

int BlasThreads() {
  static auto get = reinterpret_cast<GetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get != nullptr ? get() : 0;
}

void SetBlasThreads(int n) {
  static auto set = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set != nullptr && n > 0) set(n);
}

Result<int> ChooseWindowParts(const std::string& model, WindowParallelism allowed, int requested,
                              int threads, int64_t windows) {
  if (requested < 0) {
    return Status::InvalidArgument(model, ": window parts must be >= 0 (0: automatic), got ",
                                   requested);
  }
  if (requested == 0) {
    if (allowed != WindowParallelism::kDefault || threads < 2) return 1;
    const int64_t by_size = std::max<int64_t>(1, windows / kMinWindowsPerPart);
    return static_cast<int>(std::min<int64_t>(threads, by_size));
  }
  if (requested > 1 && allowed == WindowParallelism::kNone) {
    return Status::InvalidArgument(
        model,
        ": its windows cannot be trained in parts (the model couples the windows of a "
        "batch: batch statistics, random draws or its own loss); window parts must be 0 "
        "or 1, got ",
        requested);
  }
  if (requested > windows) {
    return Status::InvalidArgument(model, ": ", requested, " window parts for ", windows,
                                   " windows per step");
  }
  return requested;
}

WindowParallelStep::WindowParallelStep(std::string model, int parts, int threads_per_part)
    : model_(std::move(model)),
      parts_(std::max(parts, 2)),
      threads_per_part_(std::max(threads_per_part, 1)),
      saved_omp_threads_(at::get_num_threads()),
      saved_blas_threads_(BlasThreads()) {
  SetThisThreadsIntraOpThreads(threads_per_part_);
  SetBlasThreads(threads_per_part_);
  const int per_part = threads_per_part_;
  workers_ = std::make_unique<c10::ThreadPool>(
      parts_ - 1, -1, [per_part] { SetThisThreadsIntraOpThreads(per_part); });
}

WindowParallelStep::~WindowParallelStep() {
  workers_.reset();
  omp_set_num_threads(saved_omp_threads_);
  SetBlasThreads(saved_blas_threads_);
}

WindowParallelStep::AllThreads::AllThreads(const WindowParallelStep& step) : step_(step) {
  omp_set_num_threads(step_.saved_omp_threads_);
  SetBlasThreads(step_.saved_blas_threads_);
}

WindowParallelStep::AllThreads::~AllThreads() {
  omp_set_num_threads(step_.threads_per_part_);
  SetBlasThreads(step_.threads_per_part_);
}

double WindowParallelStep::ForwardBackward(ForecastModel& model, const TrainBatch& batch) {
  const int64_t rows = batch.input.insample_y.size(0);
  const int parts = static_cast<int>(std::min<int64_t>(parts_, std::max<int64_t>(rows, 1)));
  const double total = MaskTotal(batch);
  std::vector<TrainBatch> pieces;
  for (int k = 0, begin = 0; k < parts; ++k) {
    const int64_t n = rows / parts + (k < rows % parts ? 1 : 0);
    pieces.push_back(Rows(batch, begin, n));
    begin += static_cast<int>(n);
  }
  std::vector<at::Tensor> params;
  for (const auto& p : model.parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  std::vector<double> losses(parts, 0.0);
  std::vector<std::vector<at::Tensor>> grads(parts);
  std::vector<std::exception_ptr> errors(parts);
  auto run = [&](int k) {
    try {
      const TrainBatch& p = pieces[k];
      auto loss = model.TrainingLoss(p.input, p.outsample_y, p.outsample_mask);
      // The part's masked mean times its share of the mask total: the parts sum to the batch's
      // masked mean (a batch without any horizon point has loss 0, as a whole step gives).
      const double share = total > 0 ? MaskTotal(p) / total : 0.0;
      loss = loss * share;
      grads[k] = torch::autograd::grad({loss}, params, /*grad_outputs=*/{},
                                       /*retain_graph=*/false, /*create_graph=*/false,
                                       /*allow_unused=*/true);
      losses[k] = loss.item<double>();
    } catch (...) {
      errors[k] = std::current_exception();
    }
  };
  const at::Tensor generator_before = GeneratorState();
  std::mutex mu;
  std::condition_variable done_cv;
  int done = 0;
  for (int k = 1; k < parts; ++k) {
    workers_->run([&, k] {
      run(k);
      std::lock_guard lock(mu);
      ++done;
      done_cv.notify_one();
    });
  }
  run(0);
  {
    std::unique_lock lock(mu);
    done_cv.wait(lock, [&] { return done == parts - 1; });
  }
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  if (!at::equal(generator_before, GeneratorState())) {
    throw std::logic_error(model_ +
                           ": drew random numbers while training its windows in parallel parts, "
                           "so the run would not repeat (a bug: the model allows window "
                           "parallelism); train with one window part (--window-parts 1)");
  }
  // The parts' gradients added to .grad in part order (repeatable), as backward() would.
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor& grad = params[i].mutable_grad();
    for (int k = 0; k < parts; ++k) {
      const at::Tensor& g = grads[k][i];
      if (!g.defined()) continue;
      if (grad.defined()) {
        grad.add_(g);
      } else {
        grad = g.clone();  // autograd may hand one tensor to several inputs
      }
    }
  }
  double sum = 0;
  for (double l : losses) sum += l;
  return sum;
}

}  // namespace drc::dl
