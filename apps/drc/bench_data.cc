#include "bench_data.h"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>
#include <vector>

#include <arrow/table.h>
#include <nlohmann/json.hpp>

#include "drc/comm/local.h"
#include "drc/common/clock.h"
#include "drc/data/dist.h"
#include "drc/data/generate.h"
#include "world.h"

namespace drc::app {
namespace {

using data::TablePtr;

struct Outcome {
  double seconds = 0;       // median over iterations of the slowest rank's time
  int64_t result_rows = 0;  // global rows of the result
};

Result<TablePtr> RunOp(const data::Context& ctx, const std::string& op, const TablePtr& left,
                       const TablePtr& right) {
  if (op == "join") {
    data::JoinOptions o;
    o.left_keys = {"key"};
    o.right_keys = {"key"};
    return data::DistJoin(ctx, left, right, o);
  }
  if (op == "groupby") {
    return data::DistGroupBy(ctx, left, {"key"},
                             {{data::AggKind::kSum, "value", "sum"},
                              {data::AggKind::kMean, "value", "mean"},
                              {data::AggKind::kCount, "value", "count"}});
  }
  if (op == "sort") return data::DistSort(ctx, left, {{"key"}});
  return data::Shuffle(ctx, left, {"key"});
}

// Runs the benchmark on one rank of `comm`; every rank returns the same Outcome.
Result<Outcome> RunOnComm(comm::Communicator& comm, const BenchDataArgs& args) {
  const data::Context ctx(&comm);
  const double key_factor = 0.9 * comm.size();
  const TablePtr left = data::CylonTable(args.rows, key_factor, 2 * comm.rank() + 1);
  const TablePtr right = data::CylonTable(args.rows, key_factor, 2 * comm.rank() + 2);
  std::vector<double> times;
  int64_t result_rows = 0;
  for (int i = 0; i < args.iters; ++i) {
    DRC_RETURN_NOT_OK(comm.Barrier());
    Stopwatch watch;
    DRC_ASSIGN_OR_RETURN(TablePtr out, RunOp(ctx, args.op, left, right));
    double t = watch.Seconds();
    DRC_RETURN_NOT_OK(comm.AllReduce(&t, &t, 1, comm::DataType::kFloat64, comm::ReduceOp::kMax));
    int64_t rows = out->num_rows();
    DRC_RETURN_NOT_OK(
        comm.AllReduce(&rows, &rows, 1, comm::DataType::kInt64, comm::ReduceOp::kSum));
    times.push_back(t);
    result_rows = rows;
  }
  std::sort(times.begin(), times.end());
  return Outcome{times[times.size() / 2], result_rows};
}

nlohmann::json ToJson(const BenchDataArgs& args, const Outcome& out) {
  const int64_t total = args.rows * args.ranks;
  nlohmann::json j = {{"op", args.op},
                      {"backend", args.backend},
                      {"rows", args.rows},
                      {"total_rows", total},
                      {"ranks", args.ranks},
                      {"iters", args.iters},
                      {"seconds", out.seconds},
                      {"result_rows", out.result_rows},
                      {"rows_per_s", total / out.seconds}};
  if (args.op == "shuffle") {
    const double bytes = 16.0 * static_cast<double>(args.rows);  // per rank: two int64 columns
    j["bytes_per_rank"] = bytes;
    j["gbps_per_rank"] = bytes / out.seconds / 1e9;
  }
  return j;
}

void Print(const BenchDataArgs& args, const Outcome& out) {
  const int64_t total = args.rows * args.ranks;
  if (args.json) {
    std::printf("%s\n", ToJson(args, out).dump().c_str());
  } else {
    std::printf("%s of %lld rows (%d rank%s x %lld, %s): %.4f s, %.1f M rows/s, %lld result rows\n",
                args.op.c_str(), static_cast<long long>(total), args.ranks,
                args.ranks == 1 ? "" : "s", static_cast<long long>(args.rows), args.backend.c_str(),
                out.seconds, total / out.seconds / 1e6, static_cast<long long>(out.result_rows));
  }
}

int Fail(const Status& st) {
  std::fprintf(stderr, "drc bench data: %s\n", st.ToString().c_str());
  return 1;
}

}  // namespace

Result<nlohmann::json> BenchDataOnComm(comm::Communicator& comm, const BenchDataArgs& args) {
  BenchDataArgs a = args;
  a.ranks = comm.size();
  a.backend = std::string(comm.backend());
  DRC_ASSIGN_OR_RETURN(Outcome out, RunOnComm(comm, a));
  return ToJson(a, out);
}

int RunBenchData(const BenchDataArgs& args) {
  const std::vector<std::string> ops = {"join", "groupby", "sort", "shuffle"};
  if (std::find(ops.begin(), ops.end(), args.op) == ops.end()) {
    std::fprintf(stderr, "drc bench data: --op must be join, groupby, sort or shuffle\n");
    return 2;
  }
  if (args.rows < 0 || args.ranks < 1 || args.iters < 1) {
    std::fprintf(stderr, "drc bench data: --rows >= 0, --ranks >= 1 and --iters >= 1 please\n");
    return 2;
  }
  if (args.backend == "local") {
    std::optional<Outcome> result;
    std::mutex mu;
    Status st = comm::RunLocal(args.ranks, [&](comm::Communicator& c) -> Status {
      DRC_ASSIGN_OR_RETURN(Outcome o, RunOnComm(c, args));
      std::lock_guard<std::mutex> lock(mu);
      result = o;
      return Status::OK();
    });
    if (!st.ok()) return Fail(st);
    Print(args, *result);
    return 0;
  }
  if (!InsideMpiJob()) return RelaunchUnderMpirun(args.ranks, args.backend, "drc bench data");
  auto world = MakeJobWorld(args.backend);
  if (!world.ok()) return Fail(world.status());
  auto out = RunOnComm(**world, args);
  if (!out.ok()) return Fail(out.status());
  if ((*world)->rank() == 0) Print(args, *out);
  return 0;
}

}  // namespace drc::app
