// Window-parallel training steps (internal to the dl layer).
//
// With two cores and a model of small operators (NF's RNN: 128 windows of 24 steps, hidden
// 128), splitting every operator over the cores costs more than it gains: each of the step's
// thousands of small GEMMs and element-wise kernels ends in a barrier, and OpenMP's waits were a
// fifth of the RNN's samples. A step of such a model can instead be split by windows: P parts of
// the batch run forward and backward at once on P threads, each part's operators on
// threads / P cores, and their gradients are added. That is exact for a model whose loss is a
// sum of per-window terms over the batch's mask total (no batch statistics, no random draws in
// training: ForecastModel::WindowParallel), up to the order of floating-point sums.
//
// Each part's loss is its masked mean rescaled by its share of the batch's mask total, so the
// parts' losses (and gradients) sum to the whole batch's. Part 0 runs on the calling thread,
// the others on long-lived workers (oneDNN primitives and caches are per thread). Each part
// computes its own gradients (torch::autograd::grad), and the caller adds them into the
// parameters' .grad in part order, so results repeat for a given number of parts; they differ
// in the last bits from a step computed whole.
#pragma once

#include <c10/core/thread_pool.h>

#include <memory>
#include <string>

#include "drc/common/result.h"
#include "src/dl/model.h"
#include "src/dl/windows.h"

namespace drc::dl {

// OpenBLAS's process-wide thread count (libtorch's BLAS on Debian), looked up at run time; 0
// and a no-op without OpenBLAS. A trainer sets it with torch's: OpenBLAS otherwise takes it
// from OMP_NUM_THREADS when it loads, and a process that trains for several tasks in turn (a
// worker of function tasks) must follow each task's cores.
int BlasThreads();
void SetBlasThreads(int n);

// The number of parts to split a step of `windows` windows into, given `threads` cores and the
// user's choice `requested` (0: automatic, 1: whole steps, N: N parts). Automatic splits the
// models whose default it is (WindowParallelism::kDefault), into at most `threads` parts of at
// least 32 windows. InvalidArgument naming the model when N > 1 parts are requested for a model
// whose windows are coupled, or when N exceeds the windows.
Result<int> ChooseWindowParts(const std::string& model, WindowParallelism allowed, int requested,
                              int threads, int64_t windows);

class WindowParallelStep {
 public:
  // `parts` >= 2 parts per step, each run with `threads_per_part` intra-op threads.
  WindowParallelStep(std::string model, int parts, int threads_per_part);
  ~WindowParallelStep();
  WindowParallelStep(const WindowParallelStep&) = delete;
  WindowParallelStep& operator=(const WindowParallelStep&) = delete;

  // Runs the model's TrainingLoss on the parts of `batch` and backward on each, accumulating
  // into the parameters' gradients; returns the whole batch's loss. The calling thread runs
  // with threads_per_part intra-op threads while this object lives (and libtorch's BLAS with
  // as many), since it runs a part itself. Throws what a part threw (the first part's first);
  // throws std::logic_error naming the model if a part drew from libtorch's default generator
  // (its draws would interleave across threads and the run would not repeat).
  double ForwardBackward(ForecastModel& model, const TrainBatch& batch);

  // While alive, the calling thread has the intra-op threads (and BLAS threads) it had before
  // `step` was made: for work between steps, such as validation.
  class AllThreads {
   public:
    explicit AllThreads(const WindowParallelStep& step);
    ~AllThreads();
    AllThreads(const AllThreads&) = delete;
    AllThreads& operator=(const AllThreads&) = delete;

   private:
    const WindowParallelStep& step_;
  };

 private:
  std::string model_;
  int parts_;
  int threads_per_part_;
  int saved_omp_threads_;
  int saved_blas_threads_;
  std::unique_ptr<c10::ThreadPool> workers_;
};

}  // namespace drc::dl
