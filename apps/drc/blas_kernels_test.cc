#include "blas_kernels.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace drc::app {
namespace {

// Before any test below loads it: drc-dl asks only an OpenBLAS that its libtorch loaded.
TEST(OpenBlasCore, LoadsOpenBlasOnlyWhenAskedTo) {
  if (::dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD) != nullptr) {
    GTEST_SKIP() << "libopenblas.so.0 is already loaded";
  }
  EXPECT_EQ(OpenBlasCore(/*load=*/false), "");
  EXPECT_EQ(::dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD), nullptr);
}

TEST(BetterOpenBlasCore, ReplacesOnlyThePrescottFallback) {
  CpuIsa avx512{.avx512 = true, .avx2_fma = true, .avx = true};
  CpuIsa avx2{.avx512 = false, .avx2_fma = true, .avx = true};
  CpuIsa avx{.avx512 = false, .avx2_fma = false, .avx = true};
  CpuIsa sse{};
  EXPECT_EQ(BetterOpenBlasCore("Prescott", avx512), "SkylakeX");
  EXPECT_EQ(BetterOpenBlasCore("Prescott", avx2), "Haswell");
  EXPECT_EQ(BetterOpenBlasCore("Prescott", avx), "Sandybridge");
  EXPECT_EQ(BetterOpenBlasCore("Prescott", sse), "");
  // OpenBLAS knew the CPU: its choice stands, even where another would run.
  EXPECT_EQ(BetterOpenBlasCore("Cooperlake", avx512), "");
  EXPECT_EQ(BetterOpenBlasCore("Haswell", avx512), "");
  EXPECT_EQ(BetterOpenBlasCore("Zen", avx2), "");
  // No OpenBLAS in the process.
  EXPECT_EQ(BetterOpenBlasCore("", avx512), "");
}

TEST(ForceBetterOpenBlasCore, LeavesTheUsersSettingAlone) {
  const char* before = std::getenv("OPENBLAS_CORETYPE");
  const std::string saved = before != nullptr ? before : "";
  ASSERT_EQ(::setenv("OPENBLAS_CORETYPE", "Prescott", 1), 0);
  EXPECT_EQ(ForceBetterOpenBlasCore(), "");
  EXPECT_STREQ(std::getenv("OPENBLAS_CORETYPE"), "Prescott");
  if (before != nullptr) {
    ::setenv("OPENBLAS_CORETYPE", saved.c_str(), 1);
  } else {
    ::unsetenv("OPENBLAS_CORETYPE");
  }
}

TEST(ForceBetterOpenBlasCore, SetsWhatTheCpuAndOpenBlasCallFor) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) GTEST_SKIP() << "OPENBLAS_CORETYPE is set";
  const std::string expected = BetterOpenBlasCore(OpenBlasCore(/*load=*/true), DetectCpuIsa());
  EXPECT_EQ(ForceBetterOpenBlasCore(/*load=*/true), expected);
  const char* set = std::getenv("OPENBLAS_CORETYPE");
  if (expected.empty()) {
    EXPECT_EQ(set, nullptr);
  } else {
    ASSERT_NE(set, nullptr);
    EXPECT_EQ(set, expected);
  }
  ::unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace
}  // namespace drc::app
