// A worker program of your own functions for function tasks: a registry and WorkerMain.
//
//   cmake --build build/release --target drc-example-worker
//   build/release/apps/drc/drc run examples/custom_worker/pi.yaml
//       --worker build/release/examples/custom_worker/drc-example-worker   (one command line)
//
// `drc run` starts it under mpirun, one process per core of the pilot, and sends it the tasks
// that name its functions; each task's ranks get a communicator of their own (call.comm).
// Link it with drc::runtime_worker (CMakeLists.txt beside this file).
#include <cstdint>
#include <random>
#include <span>

#include "drc/runtime/worker.h"

namespace {

using drc::Status;
using drc::runtime::FunctionCall;

// pi by Monte Carlo: every rank draws `samples` points in the unit square, the ranks add up
// how many fell inside the quarter circle, and rank 0 prints the estimate.
Status EstimatePi(FunctionCall& call) {
  DRC_ASSIGN_OR_RETURN(int64_t samples, call.IntArg("samples", 1000000));
  if (samples < 1) return Status::InvalidArgument("pi: samples must be >= 1");
  std::mt19937_64 rng(12345 + static_cast<uint64_t>(call.comm->rank()));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int64_t counts[2] = {0, samples};  // inside, drawn
  for (int64_t i = 0; i < samples; ++i) {
    const double x = unit(rng), y = unit(rng);
    counts[0] += x * x + y * y <= 1.0;
  }
  DRC_RETURN_NOT_OK(
      drc::comm::AllReduce(*call.comm, std::span<int64_t>(counts, 2), drc::comm::ReduceOp::kSum));
  if (call.comm->rank() == 0) {
    *call.out << "pi ~ " << 4.0 * static_cast<double>(counts[0]) / static_cast<double>(counts[1])
              << " from " << counts[1] << " samples on " << call.comm->size() << " ranks\n";
  }
  return Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  drc::runtime::FunctionRegistry registry;
  const Status st = registry.Register("pi", EstimatePi, "samples=1000000: pi by Monte Carlo");
  if (!st.ok()) return 1;
  return drc::runtime::WorkerMain(registry, argc, argv);
}
