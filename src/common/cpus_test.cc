#include "drc/common/cpus.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace drc {
namespace {

// Sets or clears OMP_NUM_THREADS for one test and restores it after.
class OmpNumThreads {
 public:
  explicit OmpNumThreads(const char* value) {
    if (const char* old = std::getenv("OMP_NUM_THREADS")) saved_ = old;
    if (value != nullptr) {
      setenv("OMP_NUM_THREADS", value, 1);
    } else {
      unsetenv("OMP_NUM_THREADS");
    }
  }
  ~OmpNumThreads() {
    if (saved_) {
      setenv("OMP_NUM_THREADS", saved_->c_str(), 1);
    } else {
      unsetenv("OMP_NUM_THREADS");
    }
  }

 private:
  std::optional<std::string> saved_;
};

TEST(Cpus, UsableCoresFollowsTheAffinityMask) {
  cpu_set_t all;
  ASSERT_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
  EXPECT_EQ(UsableCores(), CPU_COUNT(&all));
  // Pinned to one CPU (as taskset or a pilot's core binding would), the process has one core.
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &all)) {
      CPU_SET(c, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  EXPECT_EQ(UsableCores(), 1);
  {
    OmpNumThreads unset(nullptr);
    EXPECT_EQ(DefaultThreads(), 1);
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
}

TEST(Cpus, DefaultThreadsTakesWhatTheLauncherSet) {
  {
    OmpNumThreads three("3");
    EXPECT_EQ(DefaultThreads(), 3);
    EXPECT_EQ(DefaultThreads(4), 3);  // already per process
  }
  for (const char* bad : {"", "0", "-2", "two", "3x"}) {
    OmpNumThreads ignored(bad);
    EXPECT_EQ(DefaultThreads(), UsableCores()) << "'" << bad << "'";
    EXPECT_EQ(DefaultThreads(1 << 20), 1) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace drc
