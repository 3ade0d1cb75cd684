#include "hydro_cmd.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "drc/common/status.h"
#include "drc/common/strings.h"
#include "drc/dl/hydrology.h"

namespace drc::app {
namespace {

// "2000-01-01:2001-12-31" -> start, end.
Status SplitPeriod(const std::string& option, const std::string& text, std::string* start,
                   std::string* end) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos) {
    return Status::InvalidArgument(option, " ", text, ": expected START:END, e.g. ",
                                   "2000-01-01:2001-12-31");
  }
  *start = text.substr(0, colon);
  *end = text.substr(colon + 1);
  return Status::OK();
}

}  // namespace

int RunHydro(const HydroArgs& args) {
  auto fail = [](const Status& st) {
    std::fprintf(stderr, "drc hydro: %s\n", st.ToString().c_str());
    return 1;
  };
  dl::HydroConfig config;
  config.data_dir = args.data;
  config.model = args.model;
  config.basins = SplitList(args.basins);
  if (Status st = SplitPeriod("--train", args.train, &config.train_start, &config.train_end);
      !st.ok()) {
    return fail(st);
  }
  if (Status st = SplitPeriod("--test", args.test, &config.test_start, &config.test_end);
      !st.ok()) {
    return fail(st);
  }
  config.epochs = args.epochs;
  config.seq_length = args.seq_length;
  config.hidden_size = args.hidden_size;
  config.learning_rate = {{0, args.learning_rate}};
  config.output_dropout = args.dropout;
  config.batch_size = args.batch_size;
  config.loss = args.loss;
  config.seed = args.seed;
  config.threads = args.threads;
  config.device = args.device;
  if (!args.json) {
    std::printf(
        "%s: %s on %s; train %s, test %s; seq_length=%d hidden=%d epochs=%d lr=%g batch=%d "
        "loss=%s seed=%llu\n",
        args.data.c_str(), args.model.c_str(),
        args.basins.empty() ? "all basins" : args.basins.c_str(), args.train.c_str(),
        args.test.c_str(), args.seq_length, args.hidden_size, args.epochs, args.learning_rate,
        args.batch_size, args.loss.c_str(), static_cast<unsigned long long>(args.seed));
    std::fflush(stdout);
  }
  auto result = dl::TrainAndEvaluateHydro(config);
  if (!result.ok()) return fail(result.status());
  const double final_loss = result->epoch_losses.empty() ? 0 : result->epoch_losses.back();
  if (args.json) {
    for (const auto& b : result->basins) {
      nlohmann::json j = {
          {"model", result->model}, {"basin", b.basin}, {"nse", b.nse}, {"kge", b.kge}};
      std::printf("%s\n", j.dump().c_str());
    }
    nlohmann::json summary = {
        {"model", result->model},          {"median_nse", result->median_nse},
        {"seconds", result->seconds},      {"device", result->device},
        {"epochs", args.epochs},           {"seq_length", args.seq_length},
        {"hidden_size", args.hidden_size}, {"train_samples", result->train_samples},
        {"final_loss", final_loss}};
    std::printf("%s\n", summary.dump().c_str());
  } else {
    std::printf("%-10s %10s %10s\n", "basin", "NSE", "KGE");
    for (const auto& b : result->basins) {
      std::printf("%-10s %10.4f %10.4f\n", b.basin.c_str(), b.nse, b.kge);
    }
    std::printf("%s: median NSE %.4f, %lld training samples, final loss %.4f, %.1f s\n",
                result->model.c_str(), result->median_nse,
                static_cast<long long>(result->train_samples), final_loss, result->seconds);
  }
  return 0;
}

}  // namespace drc::app
