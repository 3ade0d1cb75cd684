// `drc demo`: the forecasting demo on the bundled data — the US air-carrier passenger series
// with the published settings (train on all but the last 24 months, h=24, input_size=24,
// max_steps=100), every model of the zoo that trains in seconds, a per-model accuracy table, and
// the forecasts written to <out>/forecasts.csv.
#pragma once

#include <string>

namespace drc::app {

struct DemoArgs {
  std::string data_dir;  // folder holding us_carrier/us_carrier_passenger.csv
  std::string out_dir;   // where forecasts.csv is written
  int ranks = 1;
};

int RunDemo(const DemoArgs& args);

}  // namespace drc::app
