// `drc demo`: what runs end to end today. The forecasting pipeline (issue 5) will take this
// place; until then the demo runs the data + communicator slice on the bundled carrier data.
#pragma once

#include <string>

namespace drc::app {

struct DemoArgs {
  std::string data_dir;  // folder holding us_carrier/us_carrier_passenger.csv
  std::string out_dir;   // where yearly_passengers.parquet is written
  int ranks = 4;
};

int RunDemo(const DemoArgs& args);

}  // namespace drc::app
