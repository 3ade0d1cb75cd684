// `drc bench train --model NAME --steps N [--ranks R] [--json]`: training throughput of one model
// of the zoo on synthetic seasonal series (data-parallel over R ranks under mpirun); prints
// samples/s, seconds of the training steps alone and the final loss.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace drc::app {

struct BenchTrainArgs {
  std::string model = "MLP";
  int steps = 100;
  int ranks = 1;
  std::string backend = "mpi";  // for ranks > 1: mpi or gloo
  int input_size = 24;
  int horizon = 24;
  int series = 64;
  int length = 512;
  int threads = 0;
  int window_parts = 0;
  std::string device = "cpu";
  uint64_t seed = 1;
  bool json = false;
  std::string profile;  // Chrome trace of libtorch's operators
  std::string loss;     // as drc forecast --loss; empty: the model's own
  // KEY=VALUE (or MODEL.KEY=VALUE) hyper-parameter overrides, as drc forecast --param.
  std::vector<std::string> params;
};

// `args.backend` is checked by main.cc's CLI (IsMember), the only caller.
int RunBenchTrain(const BenchTrainArgs& args);

}  // namespace drc::app
