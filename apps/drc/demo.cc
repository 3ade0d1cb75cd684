#include "demo.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "drc/common/clock.h"
#include "drc/pipeline/pipeline.h"
#include "run_cmd.h"

namespace drc::app {

namespace {

// The demo's pipeline: the series prepared, then each model a function task on the pilot's
// worker pool. Narrower layers than NeuralForecast's defaults keep it within a minute on two
// cores (`drc forecast` and examples/pipeline_deep_rc.yaml train the full-size models).
std::string DemoPipeline(const std::string& csv, int ranks) {
  return "name: drc-demo\n"
         "stages:\n"
         "  - name: prepare\n"
         "    kind: prepare\n"
         "    input: '" +
         csv +
         "'\n"
         "    drop_nulls: [y]\n"
         "  - name: forecast\n"
         "    kind: forecast\n"
         "    from: prepare\n"
         "    models: [MLP, NBEATS, NHITS]\n"
         "    h: 24\n"
         "    input_size: 24\n"
         "    steps: 100\n"
         "    freq: ME\n"
         "    ranks: " +
         std::to_string(ranks) +
         "\n"
         "    params: {MLP: {hidden_size: 256}, NBEATS: {mlp_units: 128}, "
         "NHITS: {mlp_units: 128}}\n";
}

}  // namespace

int RunDemo(const DemoArgs& args) {
  namespace fs = std::filesystem;
  Stopwatch watch;
  const std::string csv = args.data_dir + "/us_carrier/us_carrier_passenger.csv";
  std::error_code ec;
  if (!fs::exists(csv, ec)) {
    std::fprintf(stderr, "drc demo: %s: no such file (--data names the bundled data folder)\n",
                 csv.c_str());
    return 1;
  }
  auto plan = pipeline::ParsePipeline(DemoPipeline(csv, args.ranks), "drc demo");
  if (!plan.ok()) {
    std::fprintf(stderr, "drc demo: %s\n", plan.status().ToString().c_str());
    return 1;
  }
  std::printf(
      "drc demo: the forecasting pipeline on the US air-carrier passengers (%s)\n"
      "prepare the series, then train MLP, NBEATS and NHITS side by side on the pilot's worker "
      "pool:\ntrain on all but the last 24 months, forecast them: h=24, input_size=24, "
      "max_steps=100%s\n(demo widths: MLP hidden_size 256, NBEATS/NHITS mlp_units 128)\n\n",
      csv.c_str(),
      args.ranks > 1 ? (", data-parallel over " + std::to_string(args.ranks) + " ranks").c_str()
                     : "");
  std::fflush(stdout);
  RunArgs run;
  run.file = "drc demo";
  run.workdir = (fs::path(args.out_dir) / "run").string();
  run.data_dir = args.data_dir;
  fs::remove_all(run.workdir, ec);  // the demo's own folder: a fresh run each time
  const int rc = RunPipeline(run, *plan);

  const pipeline::Stage& forecast = *plan->FindStage("forecast");
  std::printf("\n%-8s %12s %12s %9s %9s %9s\n", "model", "MAE", "RMSE", "MAPE %", "sMAPE %",
              "seconds");
  for (const auto& uid : forecast.task_uids) {
    const std::string line = pipeline::ForecastMetricsLine(run.workdir, uid);
    if (line.empty()) {
      std::printf("%-8s (no result: see the report)\n", uid.c_str());
      continue;
    }
    const auto j = nlohmann::json::parse(line);
    std::printf("%-8s %12.1f %12.1f %9.2f %9.2f %9.2f\n", j["model"].get<std::string>().c_str(),
                j["mae"].get<double>(), j["rmse"].get<double>(), j["mape"].get<double>(),
                j["smape"].get<double>(), j["seconds"].get<double>());
  }
  const std::string out = (fs::path(args.out_dir) / "forecasts.csv").string();
  auto rows = pipeline::WriteStagePredictions(forecast, run.workdir, out);
  if (!rows.ok()) {
    std::fprintf(stderr, "drc demo: %s\n", rows.status().ToString().c_str());
    return 1;
  }
  std::printf("\nwrote %s (%lld rows) and the report %s/report/index.html in %.3f s\n", out.c_str(),
              static_cast<long long>(*rows), run.workdir.c_str(), watch.Seconds());
  return rc;
}

}  // namespace drc::app
