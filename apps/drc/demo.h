// `drc demo`: the forecasting pipeline on the bundled data — the US air-carrier passenger series
// prepared, then MLP, NBEATS and NHITS (narrowed) trained side by side as function tasks on a
// local pilot with the published settings (train on all but the last 24 months, h=24,
// input_size=24, max_steps=100); a per-model accuracy table, the forecasts written to
// <out>/forecasts.csv and the pipeline's report to <out>/run/report/index.html.
#pragma once

#include <string>

namespace drc::app {

struct DemoArgs {
  std::string data_dir;  // folder holding us_carrier/us_carrier_passenger.csv
  std::string out_dir;   // where forecasts.csv and the run folder go
  int ranks = 1;         // each model data-parallel over this many ranks
};

int RunDemo(const DemoArgs& args);

}  // namespace drc::app
