// `drc hydro`: trains a NeuralHydrology-style rainfall-runoff model (LSTM or EA-LSTM) on
// CAMELS-US basins or on a table of basins' daily series, and prints each basin's test-period NSE
// and KGE, the median NSE and the seconds taken (--json: one object per basin, then a summary
// object); --out writes the simulated discharge beside the observed one.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "drc/comm/communicator.h"
#include "drc/common/status.h"
#include "drc/dl/hydro_defaults.h"

namespace drc::app {

// The training settings (train, test, epochs, ..., loss) are the ones hydro stages share.
struct HydroArgs : dl::HydroSettings {
  std::string data;  // CAMELS-US root
  // Or a series table and an attribute table (dl::HydroConfig's table and attributes_table).
  std::string table, attributes;
  std::string inputs;   // comma-separated dynamic inputs; empty: the defaults
  std::string statics;  // comma-separated static attributes, or "none"; empty: the defaults
  // Write the basins of `data` as a series table, their attributes as an attribute table, and
  // train nothing.
  std::string write_table, write_attributes;
  std::string model = "LSTM";
  std::string basins;  // comma-separated gauge ids; empty: all under --data
  uint64_t seed = 1;
  int threads = 0;
  int ranks = 1;                // data-parallel; > 1 re-runs the command under mpirun
  std::string backend = "mpi";  // for ranks > 1: mpi, gloo or nccl
  std::string device = "cpu";
  bool json = false;
  // .csv, .parquet or .arrow: unique_id (the basin), ds (the day), y (observed mm/day, null where
  // missing) and a column named after the model (simulated mm/day) over the test period; the
  // long format of drc forecast's --out.
  std::string out;
};

int RunHydro(const HydroArgs& args);

// The run without the banner, for function tasks: data-parallel over `comm` (null: this process
// alone); rank 0 writes --json's lines to `out` and the predictions to args.out when set. Errors
// name the field, the basin or the file.
Status HydroToStream(const HydroArgs& args, comm::Communicator* comm, std::ostream& out);

}  // namespace drc::app
