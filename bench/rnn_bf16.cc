// One LSTM layer, forward_training + backward, on oneDNN 2.6's primitive with f32 data against
// bf16 data (bias, cell state and every gradient f32, as oneDNN's bf16 LSTM takes them): the
// measurement behind docs/dl-benchmarks.md's bf16 paragraph. Weights stay in the primitive's
// layout (no per-call reorders, unlike src/dl/dnnl_rnn.cc). Not part of the build:
//   sudo apt-get install libdnnl-dev
//   g++ -O2 -std=c++17 bench/rnn_bf16.cc -ldnnl -o /tmp/rnn_bf16 && OMP_NUM_THREADS=2 /tmp/rnn_bf16
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <unordered_map>
#include <utility>

namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

// Seconds per forward + backward of a [T, B, C] -> [T, B, H] layer with data type d.
double Run(dnnl::engine& eng, dnnl::stream& s, dt d, int T, int B, int C, int H, int reps) {
  auto md = [&](memory::dims dims, dt t, tag g) { return memory::desc(dims, t, g); };
  auto dir = dnnl::rnn_direction::unidirectional_left2right;
  auto src = md({T, B, C}, d, tag::tnc), dst = md({T, B, H}, d, tag::tnc);
  auto st = md({1, 1, B, H}, d, tag::ldnc), stc = md({1, 1, B, H}, dt::f32, tag::ldnc);
  auto wl = md({1, 1, C, 4, H}, d, tag::any), wi = md({1, 1, H, 4, H}, d, tag::any);
  auto bias = md({1, 1, 4, H}, dt::f32, tag::ldgo);
  dnnl::lstm_forward::desc fd(dnnl::prop_kind::forward_training, dir, src, st, stc, wl, wi, bias,
                              dst, st, stc);
  dnnl::lstm_forward::primitive_desc fpd(fd, eng);
  // Gradients in f32 whatever the data type.
  auto dsrc = md({T, B, C}, dt::f32, tag::tnc), ddst = md({T, B, H}, dt::f32, tag::tnc);
  auto dst_ = md({1, 1, B, H}, dt::f32, tag::ldnc);
  auto dwl = md({1, 1, C, 4, H}, dt::f32, tag::any), dwi = md({1, 1, H, 4, H}, dt::f32, tag::any);
  dnnl::lstm_backward::desc bd(dnnl::prop_kind::backward, dir, src, st, stc, wl, wi, bias, dst, st,
                               stc, dsrc, dst_, dst_, dwl, dwi, bias, ddst, dst_, dst_);
  dnnl::lstm_backward::primitive_desc bpd(bd, eng, fpd);
  auto mem = [&](const memory::desc& m) { return memory(m, eng); };
  std::unordered_map<int, memory> fa = {{DNNL_ARG_SRC_LAYER, mem(fpd.src_layer_desc())},
                                        {DNNL_ARG_SRC_ITER, mem(fpd.src_iter_desc())},
                                        {DNNL_ARG_SRC_ITER_C, mem(fpd.src_iter_c_desc())},
                                        {DNNL_ARG_WEIGHTS_LAYER, mem(fpd.weights_layer_desc())},
                                        {DNNL_ARG_WEIGHTS_ITER, mem(fpd.weights_iter_desc())},
                                        {DNNL_ARG_BIAS, mem(fpd.bias_desc())},
                                        {DNNL_ARG_DST_LAYER, mem(fpd.dst_layer_desc())},
                                        {DNNL_ARG_DST_ITER, mem(fpd.dst_iter_desc())},
                                        {DNNL_ARG_DST_ITER_C, mem(fpd.dst_iter_c_desc())},
                                        {DNNL_ARG_WORKSPACE, mem(fpd.workspace_desc())}};
  auto ba = fa;
  ba[DNNL_ARG_WEIGHTS_LAYER] = mem(bpd.weights_layer_desc());
  ba[DNNL_ARG_WEIGHTS_ITER] = mem(bpd.weights_iter_desc());
  ba[DNNL_ARG_DIFF_SRC_LAYER] = mem(bpd.diff_src_layer_desc());
  ba[DNNL_ARG_DIFF_SRC_ITER] = mem(bpd.diff_src_iter_desc());
  ba[DNNL_ARG_DIFF_SRC_ITER_C] = mem(bpd.diff_src_iter_c_desc());
  ba[DNNL_ARG_DIFF_WEIGHTS_LAYER] = mem(bpd.diff_weights_layer_desc());
  ba[DNNL_ARG_DIFF_WEIGHTS_ITER] = mem(bpd.diff_weights_iter_desc());
  ba[DNNL_ARG_DIFF_BIAS] = mem(bpd.diff_bias_desc());
  ba[DNNL_ARG_DIFF_DST_LAYER] = mem(bpd.diff_dst_layer_desc());
  ba[DNNL_ARG_DIFF_DST_ITER] = mem(bpd.diff_dst_iter_desc());
  ba[DNNL_ARG_DIFF_DST_ITER_C] = mem(bpd.diff_dst_iter_c_desc());
  for (auto* args : {&fa, &ba})
    for (auto& [k, m] : *args) {
      auto* p = static_cast<char*>(m.get_data_handle());
      std::fill(p, p + m.get_desc().get_size(), 0);
    }
  dnnl::lstm_forward f(fpd);
  dnnl::lstm_backward b(bpd);
  for (int i = 0; i < 5; ++i) {
    f.execute(s, fa);
    b.execute(s, ba);
  }
  s.wait();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) {
    f.execute(s, fa);
    b.execute(s, ba);
  }
  s.wait();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

}  // namespace

int main() {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  for (auto [C, H] : {std::pair{1, 128}, {128, 128}, {200, 200}}) {
    double f = Run(eng, s, dt::f32, 24, 128, C, H, 50),
           b = Run(eng, s, dt::bf16, 24, 128, C, H, 50);
    std::printf("LSTM 128 x 24 x %d -> %d, forward + backward: f32 %.2f ms, bf16 %.2f ms\n", C, H,
                f * 1e3, b * 1e3);
  }
}
