#include "bench_train.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "blas_kernels.h"
#include "drc/dl/train_bench.h"
#include "world.h"

namespace drc::app {

int RunBenchTrain(const BenchTrainArgs& args) {
  return RunOnRanks(args.ranks, args.backend, "drc bench train", [&](comm::Communicator* comm) {
    dl::TrainBenchConfig config;
    config.model = args.model;
    config.steps = args.steps;
    config.input_size = args.input_size;
    config.horizon = args.horizon;
    config.series = args.series;
    config.length = args.length;
    config.threads = args.threads;
    config.window_parts = args.window_parts;
    config.device = args.device;
    config.seed = args.seed;
    config.comm = comm;
    config.profile_path = args.profile;
    auto r = dl::BenchTrain(config);
    if (!r.ok()) {
      std::fprintf(stderr, "drc bench train: %s\n", r.status().ToString().c_str());
      return 1;
    }
    if (comm != nullptr && comm->rank() != 0) return 0;
    if (args.json) {
      nlohmann::json j = {{"model", r->model},
                          {"ranks", r->ranks},
                          {"steps", r->steps},
                          {"windows_per_step", r->windows_per_step},
                          {"seconds", r->seconds},
                          {"samples_per_s", r->samples_per_second},
                          {"final_loss", r->final_loss},
                          {"parameters", r->parameters},
                          {"window_parts", r->window_parts},
                          {"device", r->device},
                          {"openblas_core", OpenBlasCore()},
                          {"input_size", args.input_size},
                          {"h", args.horizon}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf(
          "%s: %d steps x %lld windows x %d rank(s) in %.3f s = %.0f samples/s; final loss "
          "%.4f; %lld parameters\n",
          r->model.c_str(), r->steps, static_cast<long long>(r->windows_per_step), r->ranks,
          r->seconds, r->samples_per_second, r->final_loss, static_cast<long long>(r->parameters));
    }
    return 0;
  });
}

}  // namespace drc::app
