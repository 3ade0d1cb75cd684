// `drc bench comm`: see bench_comm.h.
//
// Method: every timed iteration is a barrier followed by one collective; each rank times its
// own call and the per-iteration time is the maximum over ranks (an all-reduce at the end).
// We report the median and the mean of those. Bandwidths follow the NCCL-tests conventions:
// algbw = bytes / seconds; busbw = algbw * 2(R-1)/R for all-reduce and algbw * (R-1)/R for
// all-to-all(v).
#include "bench_comm.h"

#include "world.h"

#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "drc/comm/communicator.h"
#include "drc/comm/local.h"
#include "drc/comm/mpi.h"
#include "drc/common/clock.h"

extern char** environ;

namespace drc::app {
namespace {

using comm::Communicator;

constexpr int kUsageError = 2;
constexpr int kRunError = 1;
constexpr double kTargetSeconds = 1.5;  // timed part of a run when --iters is not given
constexpr int kMinIters = 5;
constexpr int kMaxIters = 100000;

struct Stats {
  double median = 0;
  double mean = 0;
};

Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return s;
}

struct BenchResult {
  int ranks = 0;
  int64_t bytes = 0;  // per rank, after rounding to whole elements / blocks
  int iters = 0;
  Stats ours;
  std::optional<Stats> raw;  // mpi only
};

// One collective on one communicator, plus (for mpi) the same call straight through MPI.
class Workload {
 public:
  Workload(Communicator& comm, const std::string& op, int64_t bytes, MPI_Comm raw)
      : comm_(comm), alltoallv_(op == "alltoallv"), raw_(raw) {
    const int n = comm.size();
    if (alltoallv_) {
      block_ = bytes / n;
      moved_ = block_ * n;
      counts_.assign(static_cast<size_t>(n), block_);
      displs_ = comm::Displacements(counts_);
      send_.assign(static_cast<size_t>(moved_), std::byte{1});
      recv_.assign(static_cast<size_t>(moved_), std::byte{0});
      if (raw_ != MPI_COMM_NULL && block_ * n <= INT_MAX) {
        for (int q = 0; q < n; ++q) {
          raw_counts_.push_back(static_cast<int>(block_));
          raw_displs_.push_back(static_cast<int>(block_ * q));
        }
      }
    } else {
      count_ = bytes / 4;
      moved_ = count_ * 4;
      send_f_.assign(static_cast<size_t>(count_), 1.0f);
      recv_f_.assign(static_cast<size_t>(count_), 0.0f);
    }
  }

  int64_t moved_bytes() const { return moved_; }
  bool has_raw() const {
    if (raw_ == MPI_COMM_NULL) return false;
    return alltoallv_ ? !raw_counts_.empty() : count_ <= INT_MAX;
  }

  Status RunOurs() {
    if (alltoallv_) {
      return comm_.AllToAllV(send_.data(), counts_, displs_, recv_.data(), counts_, displs_);
    }
    return comm_.AllReduce(send_f_.data(), recv_f_.data(), count_, comm::DataType::kFloat32,
                           comm::ReduceOp::kSum);
  }

  Status RunRaw() {
    int rc;
    if (alltoallv_) {
      rc = MPI_Alltoallv(send_.data(), raw_counts_.data(), raw_displs_.data(), MPI_BYTE,
                         recv_.data(), raw_counts_.data(), raw_displs_.data(), MPI_BYTE, raw_);
    } else {
      rc = MPI_Allreduce(send_f_.data(), recv_f_.data(), static_cast<int>(count_), MPI_FLOAT,
                         MPI_SUM, raw_);
    }
    if (rc != MPI_SUCCESS) return Status::Internal("raw MPI collective failed with code ", rc);
    return Status::OK();
  }

 private:
  Communicator& comm_;
  const bool alltoallv_;
  const MPI_Comm raw_;
  int64_t moved_ = 0;
  // allreduce
  int64_t count_ = 0;
  std::vector<float> send_f_, recv_f_;
  // alltoallv
  int64_t block_ = 0;
  std::vector<int64_t> counts_, displs_;
  std::vector<std::byte> send_, recv_;
  std::vector<int> raw_counts_, raw_displs_;
};

// Barrier, then times one call on this rank.
Status TimeOne(Communicator& comm, const std::function<Status()>& call, double* seconds) {
  DRC_RETURN_NOT_OK(comm.Barrier());
  Stopwatch watch;
  DRC_RETURN_NOT_OK(call());
  *seconds = watch.Seconds();
  return Status::OK();
}

// Runs the benchmark on every rank of `comm`; the result is meaningful on every rank.
// `raw` (MPI_COMM_NULL unless mpi) is where the direct MPI calls go.
Result<BenchResult> RunOnComm(Communicator& comm, const BenchCommArgs& args, MPI_Comm raw) {
  Workload work(comm, args.op, args.bytes, raw);
  const bool with_raw = work.has_raw();
  auto ours = [&] { return work.RunOurs(); };
  auto direct = [&] { return work.RunRaw(); };

  // Warm-up, which also sizes the run when --iters is not given.
  double warm_total = 0;
  for (int i = 0; i < args.warmup; ++i) {
    double t = 0;
    DRC_RETURN_NOT_OK(TimeOne(comm, ours, &t));
    warm_total += t;
    if (with_raw) DRC_RETURN_NOT_OK(TimeOne(comm, direct, &t));
  }
  int iters = args.iters;
  if (iters <= 0) {
    double per_op = 0;
    if (args.warmup > 0) {
      per_op = warm_total / args.warmup;
    } else {
      DRC_RETURN_NOT_OK(TimeOne(comm, ours, &per_op));
    }
    // Same value on every rank, hence the same iteration count.
    DRC_RETURN_NOT_OK(
        comm.AllReduce(&per_op, &per_op, 1, comm::DataType::kFloat64, comm::ReduceOp::kMax));
    const double per_iter = std::max(per_op, 1e-7) * (with_raw ? 2 : 1);
    iters = static_cast<int>(std::clamp(std::ceil(kTargetSeconds / per_iter),
                                        static_cast<double>(kMinIters),
                                        static_cast<double>(kMaxIters)));
  }

  std::vector<double> ours_t(static_cast<size_t>(iters)), raw_t(with_raw ? ours_t.size() : 0);
  for (int i = 0; i < iters; ++i) {
    const auto k = static_cast<size_t>(i);
    // Alternate the order so that neither side always runs right after the other.
    if (with_raw && i % 2 == 1) DRC_RETURN_NOT_OK(TimeOne(comm, direct, &raw_t[k]));
    DRC_RETURN_NOT_OK(TimeOne(comm, ours, &ours_t[k]));
    if (with_raw && i % 2 == 0) DRC_RETURN_NOT_OK(TimeOne(comm, direct, &raw_t[k]));
  }
  // Per-iteration time = the slowest rank's.
  DRC_RETURN_NOT_OK(comm.AllReduce(ours_t.data(), ours_t.data(), iters, comm::DataType::kFloat64,
                                   comm::ReduceOp::kMax));
  BenchResult result;
  result.ranks = comm.size();
  result.bytes = work.moved_bytes();
  result.iters = iters;
  result.ours = Summarize(ours_t);
  if (with_raw) {
    DRC_RETURN_NOT_OK(comm.AllReduce(raw_t.data(), raw_t.data(), iters, comm::DataType::kFloat64,
                                     comm::ReduceOp::kMax));
    result.raw = Summarize(raw_t);
  }
  return result;
}

double BusFactor(const std::string& op, int ranks) {
  const double r = ranks;
  return op == "allreduce" ? 2.0 * (r - 1) / r : (r - 1) / r;
}

void Print(const BenchCommArgs& args, const BenchResult& res) {
  const double algbw = res.ours.median > 0 ? res.bytes / res.ours.median / 1e9 : 0.0;
  const double busbw = algbw * BusFactor(args.op, res.ranks);
  std::optional<double> overhead;
  if (res.raw && res.raw->median > 0) {
    overhead = (res.ours.median - res.raw->median) / res.raw->median * 100.0;
  }
  if (args.json) {
    nlohmann::json j = {
        {"backend", args.backend},    {"op", args.op},
        {"ranks", res.ranks},         {"bytes", res.bytes},
        {"iters", res.iters},         {"warmup", args.warmup},
        {"seconds", res.ours.median}, {"mean_seconds", res.ours.mean},
        {"algbw_gbps", algbw},        {"busbw_gbps", busbw},
    };
    if (res.raw) {
      const double raw_alg = res.raw->median > 0 ? res.bytes / res.raw->median / 1e9 : 0.0;
      j["raw_mpi_seconds"] = res.raw->median;
      j["raw_mpi_mean_seconds"] = res.raw->mean;
      j["raw_mpi_busbw_gbps"] = raw_alg * BusFactor(args.op, res.ranks);
      j["overhead_pct"] = overhead.value_or(0.0);
    }
    std::cout << j.dump() << std::endl;
    return;
  }
  std::printf(
      "%s %s ranks=%d bytes=%lld iters=%d: median %.3f us, mean %.3f us, algbw %.3f GB/s, "
      "busbw %.3f GB/s",
      args.backend.c_str(), args.op.c_str(), res.ranks, static_cast<long long>(res.bytes),
      res.iters, res.ours.median * 1e6, res.ours.mean * 1e6, algbw, busbw);
  if (res.raw) {
    std::printf("; raw MPI median %.3f us (overhead %+.2f %%)", res.raw->median * 1e6,
                overhead.value_or(0.0));
  }
  std::printf("\n");
  std::fflush(stdout);
}

int Fail(const Status& st, int rank) {
  std::fprintf(stderr, "drc bench comm: rank %d: %s\n", rank, st.ToString().c_str());
  return kRunError;
}

// ---- local: threads in this process -------------------------------------------------------

int RunLocalBench(const BenchCommArgs& args) {
  std::optional<BenchResult> result;
  std::mutex mu;
  Status st = comm::RunLocal(args.ranks, [&](Communicator& comm) -> Status {
    DRC_ASSIGN_OR_RETURN(BenchResult r, RunOnComm(comm, args, MPI_COMM_NULL));
    if (comm.rank() == 0) {
      std::lock_guard<std::mutex> lock(mu);
      result = r;
    }
    return Status::OK();
  });
  if (!st.ok()) return Fail(st, 0);
  Print(args, *result);
  return 0;
}

// ---- mpi and gloo: one process per rank under mpirun (see world.h) -------------------

int RunInsideJob(const BenchCommArgs& args) {
  auto made = MakeJobWorld(args.backend);
  if (!made.ok()) return Fail(made.status(), -1);
  std::unique_ptr<Communicator> comm = std::move(made).ValueOrDie();
  MPI_Comm raw = MPI_COMM_NULL;
  if (args.backend == "mpi" && MPI_Comm_dup(MPI_COMM_WORLD, &raw) != MPI_SUCCESS) {
    return Fail(Status::Internal("MPI_Comm_dup(MPI_COMM_WORLD) failed"), comm->rank());
  }
  auto result = RunOnComm(*comm, args, raw);
  const int rank = comm->rank();
  if (raw != MPI_COMM_NULL) MPI_Comm_free(&raw);
  if (!result.ok()) return Fail(result.status(), rank);
  if (rank == 0) Print(args, *result);
  return 0;
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "drc bench comm: %s\n", message.c_str());
  return kUsageError;
}

}  // namespace

int RunBenchComm(const BenchCommArgs& args) {
  if (args.op != "allreduce" && args.op != "alltoallv") {
    return UsageError("--op must be allreduce or alltoallv, got '" + args.op + "'");
  }
  if (args.bytes < 0) return UsageError("--bytes must be >= 0, got " + std::to_string(args.bytes));
  if (args.ranks < 1) return UsageError("--ranks must be >= 1, got " + std::to_string(args.ranks));
  if (args.iters < 0) return UsageError("--iters must be >= 0, got " + std::to_string(args.iters));
  if (args.warmup < 0) {
    return UsageError("--warmup must be >= 0, got " + std::to_string(args.warmup));
  }
  if (args.backend == "local") return RunLocalBench(args);
  if (!InsideMpiJob()) return RelaunchUnderMpirun(args.ranks, args.backend, "drc bench comm");
  return RunInsideJob(args);
}

}  // namespace drc::app
