#include "bench_train.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "blas_kernels.h"
#include "drc/dl/forecast.h"
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
    config.loss = args.loss;
    auto fail = [](const Status& st) {
      std::fprintf(stderr, "drc bench train: %s\n", st.ToString().c_str());
      return 1;
    };
    // The overrides are those of drc forecast --param, for the one model trained here.
    dl::ForecastConfig overrides;
    for (const auto& text : args.params) {
      const auto eq = text.find('=');
      const bool named = text.substr(0, eq).find('.') != std::string::npos;
      Status st = dl::ParseModelParam(named ? text : args.model + "." + text, overrides);
      if (!st.ok()) return fail(st);
    }
    auto other = [&](const std::string& model) {
      return fail(
          Status::InvalidArgument("--param names ", model, ", but the model is ", args.model));
    };
    for (const auto& [model, params] : overrides.params) {
      if (model != args.model) return other(model);
      config.params = params;
    }
    for (const auto& [model, scaler] : overrides.model_scalers) {
      if (model != args.model) return other(model);
      config.scaler = scaler;
    }
    for (const auto& [model, loss] : overrides.model_losses) {  // --param loss=... over --loss
      if (model != args.model) return other(model);
      config.loss = loss;
    }
    auto r = dl::BenchTrain(config);
    if (!r.ok()) return fail(r.status());
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
                          {"threads", r->threads},
                          {"device", r->device},
                          {"loss", r->loss},
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
