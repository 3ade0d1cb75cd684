// One recurrent layer's forward + backward (training step without the optimizer): libtorch
// 1.13's own module against the same module on oneDNN's RNN primitives (src/dl/fused_rnn.h).
// Shapes: the forecasting models' (128 windows x 24 steps; first layer 1 input, second 128 or
// 200) and NeuralHydrology's CudaLSTM (256 samples x 365 days x 32 inputs, 128 units).
//
//   ninja -C build/release rnn_layers_bench
//   OMP_NUM_THREADS=2 build/release/src/dl/rnn_layers_bench --benchmark_min_time=2
//     [--benchmark_filter=Hydro]
#include <benchmark/benchmark.h>
#include <torch/nn/modules/rnn.h>
#include <torch/utils.h>

#include <tuple>

#include "src/dl/fused_rnn.h"

namespace drc::dl {
namespace {

struct Shape {
  int64_t batch, steps, in, hidden;
};

template <typename Module, typename Options, typename Run>
void Layer(benchmark::State& state, const Shape& s, Run run) {
  torch::set_num_threads(2);
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

const Shape kFirst{128, 24, 1, 128}, kSecond{128, 24, 128, 128}, kHydro{256, 365, 32, 128};
const Shape kGruFirst{128, 24, 1, 200}, kGruSecond{128, 24, 200, 200};

auto TorchLstm = [](torch::nn::LSTM m, const torch::Tensor& x) {
  return std::get<0>(m->forward(x));
};
auto OurLstm = [](torch::nn::LSTM m, const torch::Tensor& x) {
  return std::get<0>(FusedLstm(m, x));
};
auto TorchGru = [](torch::nn::GRU m, const torch::Tensor& x) { return std::get<0>(m->forward(x)); };
auto OurGru = [](torch::nn::GRU m, const torch::Tensor& x) { return std::get<0>(FusedGru(m, x)); };
auto TorchRnn = [](torch::nn::RNN m, const torch::Tensor& x) { return std::get<0>(m->forward(x)); };
auto OurRnn = [](torch::nn::RNN m, const torch::Tensor& x) { return std::get<0>(FusedRnn(m, x)); };

#define DRC_LAYER(name, Module, Options, shape, run)                                \
  void name(benchmark::State& state) { Layer<Module, Options>(state, shape, run); } \
  BENCHMARK(name)->Unit(benchmark::kMillisecond)->UseRealTime()

DRC_LAYER(LstmFirst_Torch, torch::nn::LSTM, torch::nn::LSTMOptions, kFirst, TorchLstm);
DRC_LAYER(LstmFirst_OneDnn, torch::nn::LSTM, torch::nn::LSTMOptions, kFirst, OurLstm);
DRC_LAYER(LstmSecond_Torch, torch::nn::LSTM, torch::nn::LSTMOptions, kSecond, TorchLstm);
DRC_LAYER(LstmSecond_OneDnn, torch::nn::LSTM, torch::nn::LSTMOptions, kSecond, OurLstm);
DRC_LAYER(GruFirst_Torch, torch::nn::GRU, torch::nn::GRUOptions, kGruFirst, TorchGru);
DRC_LAYER(GruFirst_OneDnn, torch::nn::GRU, torch::nn::GRUOptions, kGruFirst, OurGru);
DRC_LAYER(GruSecond_Torch, torch::nn::GRU, torch::nn::GRUOptions, kGruSecond, TorchGru);
DRC_LAYER(GruSecond_OneDnn, torch::nn::GRU, torch::nn::GRUOptions, kGruSecond, OurGru);
DRC_LAYER(RnnSecond_Torch, torch::nn::RNN, torch::nn::RNNOptions, kSecond, TorchRnn);
DRC_LAYER(RnnSecond_OneDnn, torch::nn::RNN, torch::nn::RNNOptions, kSecond, OurRnn);
DRC_LAYER(HydroLstm_Torch, torch::nn::LSTM, torch::nn::LSTMOptions, kHydro, TorchLstm);
DRC_LAYER(HydroLstm_OneDnn, torch::nn::LSTM, torch::nn::LSTMOptions, kHydro, OurLstm);

}  // namespace
}  // namespace drc::dl

BENCHMARK_MAIN();
