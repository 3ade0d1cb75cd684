#include "demo.h"

#include <arrow/table.h>

#include <cstdio>

#include "drc/common/clock.h"
#include "drc/data/io.h"
#include "drc/dl/forecast.h"
#include "forecast_cmd.h"
#include "world.h"

namespace drc::app {

namespace {

int DemoOnRank(const DemoArgs& args, comm::Communicator* comm) {
  const bool root = comm == nullptr || comm->rank() == 0;
  Stopwatch watch;
  const std::string csv = args.data_dir + "/us_carrier/us_carrier_passenger.csv";
  auto table = data::ReadCsv(csv);
  if (!table.ok()) {
    std::fprintf(stderr, "drc demo: %s\n", table.status().ToString().c_str());
    return 1;
  }
  dl::ForecastConfig config;
  config.models = {"MLP", "NBEATS", "NHITS"};
  config.horizon = 24;
  config.input_size = 24;
  config.max_steps = 100;
  config.comm = comm;
  // Narrower layers than NeuralForecast's defaults keep the demo within a minute on two cores
  // (`drc forecast` trains the full-size models).
  config.params["MLP"] = {{"hidden_size", 256}};
  config.params["NBEATS"] = {{"mlp_units", 128}};
  config.params["NHITS"] = {{"mlp_units", 128}};
  if (root) {
    std::printf(
        "drc demo: forecasting US air-carrier passengers (%s, %lld months)\n"
        "train on all but the last %d months, forecast them: h=%d, input_size=%d, max_steps=%d\n"
        "(demo widths: MLP hidden_size 256, NBEATS/NHITS mlp_units 128)\n\n",
        csv.c_str(), static_cast<long long>((*table)->num_rows()), config.horizon, config.horizon,
        config.input_size, config.max_steps);
    if (comm != nullptr)
      std::printf("data-parallel over %d ranks (%s)\n\n", comm->size(),
                  std::string(comm->backend()).c_str());
  }
  auto results = dl::Forecast(*table, data::SeriesColumns{}, config);
  if (!results.ok()) {
    std::fprintf(stderr, "drc demo: %s\n", results.status().ToString().c_str());
    return 1;
  }
  if (!root) return 0;
  PrintForecastTable(*results);
  const std::string out = args.out_dir + "/forecasts.csv";
  Status st = WriteForecasts(*results, out);
  if (!st.ok()) {
    std::fprintf(stderr, "drc demo: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("\nwrote %s (%lld rows) in %.3f s\n", out.c_str(),
              static_cast<long long>(results->front().predictions->num_rows()), watch.Seconds());
  return 0;
}

}  // namespace

int RunDemo(const DemoArgs& args) {
  return RunOnRanks(args.ranks, "mpi", "drc demo",
                    [&](comm::Communicator* comm) { return DemoOnRank(args, comm); });
}

}  // namespace drc::app
