// OpenBLAS's kernel choice on CPUs newer than the OpenBLAS build.
//
// OpenBLAS built with DYNAMIC_ARCH (Debian's) picks its kernels when it is loaded, from the
// CPU's family and model numbers. On a model it does not know it falls back to its Prescott
// (SSE3) kernels: Debian 12's 0.3.21 does so on Intel family 6 model 207 (Emerald Rapids),
// where libtorch's OpenBLAS sgemm then runs at 34-46 GFLOPS instead of 129-190 with the
// SkylakeX kernels (bench/gemm_small.cc; docs/dl-benchmarks.md, "Session 13"). OpenBLAS reads
// OPENBLAS_CORETYPE only when it is loaded, so the better choice must be in the environment
// before the process that uses OpenBLAS starts: `drc` sets it before it execs `drc-dl`, and
// `drc-dl` started directly re-executes itself once with it set.
#pragma once

#include <string>
#include <string_view>

namespace drc::app {

// The instruction-set extensions that decide OpenBLAS's x86-64 kernel families.
struct CpuIsa {
  bool avx512 = false;  // AVX-512 F, CD, BW, DQ and VL, usable (the OS saves the state)
  bool avx2_fma = false;
  bool avx = false;
};

// This CPU's (from cpuid, through the compiler's builtins).
CpuIsa DetectCpuIsa();

// The OpenBLAS core type to force instead of `chosen`, OpenBLAS's own choice: "SkylakeX",
// "Haswell" or "Sandybridge" when `chosen` is its "Prescott" fallback on a CPU with AVX-512,
// AVX2 with FMA, or AVX; empty in every other case (OpenBLAS knew the CPU, or the CPU has
// nothing better).
std::string BetterOpenBlasCore(std::string_view chosen, const CpuIsa& isa);

// The core type of the OpenBLAS in this process (libopenblas.so.0); empty when there is none.
// With `load`, a process without it loads it to ask (drc, before it starts drc-dl, whose
// libtorch links it).
std::string OpenBlasCore(bool load = false);

// Sets OPENBLAS_CORETYPE in this process's environment to
// BetterOpenBlasCore(OpenBlasCore(load), DetectCpuIsa()) and returns it, unless OPENBLAS_CORETYPE
// is already set (the user's choice stands) or there is nothing better: then returns empty and
// changes nothing. Programs started from here afterwards load OpenBLAS with that core; this
// process's own OpenBLAS keeps its choice.
std::string ForceBetterOpenBlasCore(bool load = false);

// Called first thing in a program that uses OpenBLAS: when ForceBetterOpenBlasCore() sets a
// core, replaces this process with a fresh run of the same program and arguments
// (/proc/self/exe), whose OpenBLAS then loads with that core. Returns when nothing is to be
// done, or, after a warning on stderr, when the program cannot be run again.
void RestartWithBetterOpenBlasCore(char** argv);

}  // namespace drc::app
