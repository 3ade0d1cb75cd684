#include "blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace drc::app {

CpuIsa DetectCpuIsa() {
  CpuIsa isa;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  isa.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
  isa.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  isa.avx = __builtin_cpu_supports("avx");
#endif
  return isa;
}

std::string BetterOpenBlasCore(std::string_view chosen, const CpuIsa& isa) {
  if (chosen != "Prescott") return "";
  if (isa.avx512) return "SkylakeX";
  if (isa.avx2_fma) return "Haswell";
  if (isa.avx) return "Sandybridge";
  return "";
}

std::string OpenBlasCore(bool load) {
  // The handle is kept: in drc-dl the library stays loaded anyway (libtorch links it), and drc
  // execs drc-dl next.
  void* lib = ::dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_LOCAL | (load ? 0 : RTLD_NOLOAD));
  if (lib == nullptr) return "";
  using CoreName = const char* (*)();
  auto core_name = reinterpret_cast<CoreName>(::dlsym(lib, "openblas_get_corename"));
  const char* name = core_name != nullptr ? core_name() : nullptr;
  return name != nullptr ? name : "";
}

std::string ForceBetterOpenBlasCore(bool load) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return "";
  std::string better = BetterOpenBlasCore(OpenBlasCore(load), DetectCpuIsa());
  if (!better.empty() && ::setenv("OPENBLAS_CORETYPE", better.c_str(), 1) != 0) return "";
  return better;
}

void RestartWithBetterOpenBlasCore(char** argv) {
  const std::string core = ForceBetterOpenBlasCore();
  if (core.empty()) return;
  // The new run finds OPENBLAS_CORETYPE set and does not restart again.
  std::fflush(nullptr);
  ::execv("/proc/self/exe", argv);
  std::fprintf(stderr,
               "drc: warning: OpenBLAS chose its slow Prescott kernels on this CPU and restarting "
               "with OPENBLAS_CORETYPE=%s failed (%s); set it before starting the program\n",
               core.c_str(), std::strerror(errno));
}

}  // namespace drc::app
