// One recurrent layer's forward + backward (training step without the optimizer): libtorch
// 1.13's own module against the same module on oneDNN's RNN primitives (src/dl/fused_rnn.h).
// Shapes: the forecasting models' (128 windows x 24 steps; first layer 1 input, second 128 or
// 200) and NeuralHydrology's CudaLSTM (256 samples x 365 days x 32 inputs, 128 units).
//
//   ninja -C build/release rnn_layers_bench
//   OMP_NUM_THREADS=2 build/release/src/dl/rnn_layers_bench --benchmark_min_time=2
//     [--benchmark_filter=Hydro]
// RNN_BENCH_THREADS (default 2) and RNN_BENCH_BATCH (default 128) set the intra-op threads and
// the forecasting shapes' windows: a window-parallel training step runs each half of its 128
// windows on one thread (RNN_BENCH_THREADS=1 RNN_BENCH_BATCH=64 OMP_NUM_THREADS=1).
#include <benchmark/benchmark.h>
#include <torch/nn/modules/rnn.h>
#include <torch/utils.h>

#include <cstdint>
#include <cstdlib>
#include <tuple>

#include "src/dl/fused_rnn.h"

namespace drc::dl {
namespace {

// A whole number from the environment, or `fallback` when unset.
int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::atoll(value) : fallback;
}

struct Shape {
  int64_t batch, steps, in, hidden;
};

template <typename Module, typename Options, typename Run>
void Layer(benchmark::State& state, const Shape& s, Run run) {
  torch::set_num_threads(static_cast<int>(EnvInt("RNN_BENCH_THREADS", 2)));
  torch::manual_seed(1);
  Module module(Options(s.in, s.hidden).batch_first(true));
  const auto x = torch::randn({s.batch, s.steps, s.in}).requires_grad_();
  const auto probe = torch::randn({s.batch, s.steps, s.hidden});
  for (auto _ : state) {
    module->zero_grad();
    torch::Tensor out = run(module, x);
    (out * probe).sum().backward();
    benchmark::DoNotOptimize(x.grad().data_ptr());
  }
  state.counters["steps"] = static_cast<double>(s.steps);
}

const int64_t kB = EnvInt("RNN_BENCH_BATCH", 128);
const Shape kFirst{kB, 24, 1, 128}, kSecond{kB, 24, 128, 128}, kHydro{256, 365, 32, 128};
const Shape kGruFirst{kB, 24, 1, 200}, kGruSecond{kB, 24, 200, 200};

// libtorch's own module, for every module kind.
auto Torch = [](auto module, const torch::Tensor& x) { return std::get<0>(module->forward(x)); };

// <name>_Torch and <name>_OneDnn for torch::nn::<Kind> on `shape`; `fused` is FusedLstm,
// FusedGru or FusedRnn.
#define DRC_LAYERS(name, Kind, shape, fused)                                                 \
  void name##_Torch(benchmark::State& state) {                                               \
    Layer<torch::nn::Kind, torch::nn::Kind##Options>(state, shape, Torch);                   \
  }                                                                                          \
  void name##_OneDnn(benchmark::State& state) {                                              \
    Layer<torch::nn::Kind, torch::nn::Kind##Options>(                                        \
        state, shape,                                                                        \
        [](torch::nn::Kind m, const torch::Tensor& x) { return std::get<0>(fused(m, x)); }); \
  }                                                                                          \
  BENCHMARK(name##_Torch)->Unit(benchmark::kMillisecond)->UseRealTime();                     \
  BENCHMARK(name##_OneDnn)->Unit(benchmark::kMillisecond)->UseRealTime()

DRC_LAYERS(LstmFirst, LSTM, kFirst, FusedLstm);
DRC_LAYERS(LstmSecond, LSTM, kSecond, FusedLstm);
DRC_LAYERS(GruFirst, GRU, kGruFirst, FusedGru);
DRC_LAYERS(GruSecond, GRU, kGruSecond, FusedGru);
DRC_LAYERS(RnnSecond, RNN, kSecond, FusedRnn);
DRC_LAYERS(HydroLstm, LSTM, kHydro, FusedLstm);

}  // namespace
}  // namespace drc::dl

BENCHMARK_MAIN();
