// Small-GEMM throughput on this CPU: libtorch's at::addmm (Debian's libtorch 1.13 calls
// OpenBLAS) against oneDNN's dnnl_sgemm, on the shapes of the forecasting LSTM's and PatchTST's
// steps (docs/dl-benchmarks.md, "Where the 3x goal is still missed"), and at::mm on bfloat16
// copies of the same operands (libtorch hands those to oneDNN's bf16 matmul, which uses
// AVX512_BF16 where the CPU has it: ONEDNN_VERBOSE=1 prints the ISA). Not part of the build:
//   sudo apt-get install libdnnl-dev   # the header; libdnnl.so.2 already comes with libtorch
//   g++ -O2 -std=c++17 bench/gemm_small.cc -I/usr/include/torch/csrc/api/include \
//       -ltorch -ltorch_cpu -lc10 -ldnnl -o /tmp/gemm_small && /tmp/gemm_small 2
// On a CPU that OpenBLAS does not know, it uses its slow Prescott kernels unless
// OPENBLAS_CORETYPE is set (drc sets it itself: apps/drc/blas_kernels.h). Session 13 ran this
// with it unset and with OPENBLAS_CORETYPE=SkylakeX (docs/dl-benchmarks.md, "Session 13").
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <oneapi/dnnl/dnnl.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace {

struct Shape {
  int64_t m, k, n;
  bool transposed_b;  // b stored [n, k] (a weight used as w^T), else [k, n]
};

template <typename F>
double SecondsPerCall(F&& f, int reps) {
  for (int i = 0; i < 50; ++i) f();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / reps;
}

}  // namespace

int main(int argc, char** argv) {
  __builtin_cpu_init();
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  at::set_num_threads(threads);
  const Shape shapes[] = {{128, 128, 512, true},   // LSTM step forward: h [B, H] x w_hh^T
                          {128, 512, 128, false},  // backward: d_gates [B, 4H] x w_hh
                          {256, 128, 512, true},  {512, 3072, 128, false},
                          {3072, 128, 384, true},   // PatchTST: Q, K, V of 1024 windows x 3 patches
                          {3072, 128, 256, true}};  // PatchTST: feed-forward in
  for (const Shape& s : shapes) {
    at::Tensor a = at::randn({s.m, s.k});
    at::Tensor w = s.transposed_b ? at::randn({s.n, s.k}) : at::randn({s.k, s.n});
    at::Tensor c = at::zeros({s.m, s.n});
    at::Tensor bias = at::randn({s.m, s.n});
    at::Tensor b = s.transposed_b ? w.t() : w;
    const int reps = 1000;
    const double aten = SecondsPerCall([&] { at::addmm_out(c, bias, a, b); }, reps);
    const double dnnl = SecondsPerCall(
        [&] {
          dnnl_sgemm('N', s.transposed_b ? 'T' : 'N', s.m, s.n, s.k, 1.f, a.data_ptr<float>(), s.k,
                     w.data_ptr<float>(), s.transposed_b ? s.k : s.n, 1.f, c.data_ptr<float>(),
                     s.n);
        },
        reps);
    // Without AVX512_BF16 oneDNN has no bf16 matmul kernel for this CPU and the fallback runs
    // for minutes (session 16's AMD Zen 1): the column is left out there (NaN).
    double bf16 = std::nan("");
    if (__builtin_cpu_supports("avx512bf16")) {
      const at::Tensor a16 = a.to(at::kBFloat16), b16 = b.to(at::kBFloat16);
      bf16 = SecondsPerCall([&] { at::mm(a16, b16); }, reps);
    }
    const double flop = 2.0 * s.m * s.k * s.n;
    std::printf(
        "%lldx%lldx%lld%s  at::addmm %7.1f us %4.0f GFLOPS   dnnl_sgemm %7.1f us %4.0f GFLOPS   "
        "at::mm bf16 %7.1f us %4.0f GFLOPS\n",
        static_cast<long long>(s.m), static_cast<long long>(s.k), static_cast<long long>(s.n),
        s.transposed_b ? " (b^T)" : "", aten * 1e6, flop / aten / 1e9, dnnl * 1e6,
        flop / dnnl / 1e9, bf16 * 1e6, flop / bf16 / 1e9);
  }
  return 0;
}
