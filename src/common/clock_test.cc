#include "drc/common/clock.h"

#include <gtest/gtest.h>

namespace drc {
namespace {

TEST(FakeClock, MovesOnlyWhenAdvanced) {
  FakeClock clock(std::chrono::seconds(10), 1000.0);
  const auto t0 = clock.Now();
  EXPECT_EQ(clock.Now(), t0);
  Stopwatch watch(clock);
  clock.Advance(std::chrono::milliseconds(1500));
  EXPECT_DOUBLE_EQ(watch.Seconds(), 1.5);
  EXPECT_DOUBLE_EQ(clock.WallSeconds(), 1011.5);
}

TEST(SteadyClock, IsMonotonicAndWallIsRecent) {
  const Clock& clock = RealClock();
  const auto a = clock.Now();
  const auto b = clock.Now();
  EXPECT_LE(a, b);
  EXPECT_GT(clock.WallSeconds(), 1.7e9);  // after 2023
}

}  // namespace
}  // namespace drc
