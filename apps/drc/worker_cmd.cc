#include "worker_cmd.h"

#include <arrow/util/thread_pool.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "bench_data.h"
#include "drc/common/clock.h"
#include "drc/pipeline/pipeline.h"

namespace drc::app {
namespace {

using runtime::FunctionCall;

Status Sleep(FunctionCall& call) {
  DRC_ASSIGN_OR_RETURN(double seconds, call.DoubleArg("seconds", 1));
  if (seconds < 0) return Status::InvalidArgument("sleep: seconds must be >= 0");
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return Status::OK();
}

// Every rank contributes rank + 1 in each element; each element must come back as n(n+1)/2.
Status AllReduce(FunctionCall& call) {
  DRC_ASSIGN_OR_RETURN(int64_t bytes, call.IntArg("bytes", 8));
  DRC_ASSIGN_OR_RETURN(int64_t iters, call.IntArg("iters", 1));
  if (bytes < 8 || iters < 1) {
    return Status::InvalidArgument("allreduce: bytes must be >= 8 and iters >= 1");
  }
  comm::Communicator& comm = *call.comm;
  const double n = comm.size();
  std::vector<double> values(static_cast<size_t>(bytes / 8));
  Stopwatch watch;
  for (int64_t i = 0; i < iters; ++i) {
    std::fill(values.begin(), values.end(), comm.rank() + 1.0);
    DRC_RETURN_NOT_OK(comm::AllReduce(comm, std::span<double>(values), comm::ReduceOp::kSum));
    for (double v : values) {
      if (v != n * (n + 1) / 2) {
        return Status::Internal("allreduce: got ", v, ", expected ", n * (n + 1) / 2);
      }
    }
  }
  const double seconds = watch.Seconds();
  if (comm.rank() == 0) {
    *call.out << nlohmann::json{{"op", "allreduce"},
                                {"ranks", comm.size()},
                                {"bytes", bytes},
                                {"iters", iters},
                                {"seconds", seconds}}
                     .dump()
              << "\n";
  }
  return Status::OK();
}

runtime::Function DataOp(std::string op) {
  return [op](FunctionCall& call) -> Status {
    BenchDataArgs args;
    args.op = op;
    DRC_ASSIGN_OR_RETURN(args.rows, call.IntArg("rows", 1000000));
    DRC_ASSIGN_OR_RETURN(int64_t iters, call.IntArg("iters", 1));
    if (args.rows < 0 || iters < 1) {
      return Status::InvalidArgument("data.", op, ": rows must be >= 0 and iters >= 1");
    }
    args.iters = static_cast<int>(iters);
    // The data engine's threads come from Arrow's CPU pool, sized from OMP_NUM_THREADS when
    // the process starts; a worker serves tasks of any size, so it follows each task's cores.
    if (auto st = arrow::SetCpuThreadPoolCapacity(call.threads); !st.ok()) {
      return Status::Internal("data.", op, ": Arrow's thread pool: ", st.ToString());
    }
    DRC_ASSIGN_OR_RETURN(nlohmann::json result, BenchDataOnComm(*call.comm, args));
    if (call.comm->rank() == 0) *call.out << result.dump() << "\n";
    return Status::OK();
  };
}

// A pipeline's prepare stage (pipeline.h), on the task's ranks: paths relative to the task's
// folder; rank 0 prints the result.
Status Prepare(FunctionCall& call) {
  DRC_ASSIGN_OR_RETURN(pipeline::PrepareSpec spec, pipeline::PrepareFromArgs(*call.args));
  std::vector<std::string*> paths = {&spec.input, &spec.output};
  for (pipeline::JoinSpec& join : spec.join) paths.push_back(&join.table);
  for (std::string* path : paths) {
    if (path->front() != '/') {
      *path = std::filesystem::path(call.workdir + "/" + *path).lexically_normal().string();
    }
  }
  if (auto st = arrow::SetCpuThreadPoolCapacity(call.threads); !st.ok()) {
    return Status::Internal("pipeline.prepare: Arrow's thread pool: ", st.ToString());
  }
  DRC_ASSIGN_OR_RETURN(pipeline::PrepareResult result, pipeline::PrepareTable(spec, call.comm));
  if (call.comm->rank() != 0) return Status::OK();
  *call.out << nlohmann::json{{"rows_in", result.rows_in},
                              {"rows_out", result.rows_out},
                              {"series_dropped", result.series_dropped},
                              {"columns", result.columns},
                              {"output", spec.output}}
                   .dump()
            << "\n";
  return Status::OK();
}

}  // namespace

Status RegisterBuiltinFunctions(runtime::FunctionRegistry& registry) {
  DRC_RETURN_NOT_OK(registry.Register(
      "noop", [](FunctionCall&) { return Status::OK(); }, "does nothing"));
  DRC_RETURN_NOT_OK(registry.Register("sleep", Sleep, "seconds=1: sleeps"));
  DRC_RETURN_NOT_OK(registry.Register(
      "allreduce", AllReduce,
      "bytes=8 iters=1: sums float64 values over the task's ranks and checks the sums"));
  for (const char* op : {"join", "groupby", "sort", "shuffle"}) {
    DRC_RETURN_NOT_OK(
        registry.Register(std::string("data.") + op, DataOp(op),
                          "rows=1000000 iters=1: drc bench data --op " + std::string(op) +
                              " on the task's ranks (rows per rank); rank 0 prints the JSON line"));
  }
  DRC_RETURN_NOT_OK(registry.Register(
      "pipeline.prepare", Prepare,
      "input= output= rename= select= start= end= drop_nulls= resample= min_length=: a "
      "pipeline's prepare stage (read a table, clean it, write it)"));
  return Status::OK();
}

int RunWorkerCommand(const WorkerArgs& args, Status (*more)(runtime::FunctionRegistry&)) {
  runtime::FunctionRegistry registry;
  Status st = RegisterBuiltinFunctions(registry);
  if (st.ok() && more != nullptr) st = more(registry);
  if (st.ok() && args.list) {
    for (const auto& name : registry.Names()) {
      std::printf("%-14s %s\n", name.c_str(), registry.Help(name).c_str());
    }
    return 0;
  }
  if (st.ok()) {
    runtime::WorkerOptions options;
    options.connect = args.connect;
    st = runtime::RunWorker(registry, options);
  }
  if (!st.ok()) {
    std::fprintf(stderr, "drc worker: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace drc::app
