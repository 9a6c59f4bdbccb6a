// LogThrottle (hms/log.hpp): one line per period for a flood, each line
// telling how many occurred since the one before.
#include <gtest/gtest.h>

#include <chrono>

#include "hms/log.hpp"

namespace hms {
namespace {

using std::chrono::milliseconds;

TEST(LogThrottleTest, TheFirstOccurrenceIsToldAtOnce) {
  LogThrottle t;
  const auto start = std::chrono::steady_clock::time_point{};  // the clock's epoch: no special case
  EXPECT_EQ(t.note(start), 1u);
}

TEST(LogThrottleTest, AFloodIsOneLinePerPeriodWithItsCount) {
  LogThrottle t(milliseconds(1000));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(t.note(t0), 1u);
  for (int i = 1; i < 100; ++i) EXPECT_EQ(t.note(t0 + milliseconds(i)), 0u) << i;
  // The period is over: the 99 kept quiet and this one.
  EXPECT_EQ(t.note(t0 + milliseconds(1000)), 100u);
  EXPECT_EQ(t.note(t0 + milliseconds(1500), 7), 0u);
  EXPECT_EQ(t.note(t0 + milliseconds(2000), 3), 10u);
}

TEST(LogThrottleTest, NothingToTellIsNoLine) {
  LogThrottle t(milliseconds(10));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(t.note(t0, 0), 0u);
  EXPECT_EQ(t.note(t0 + milliseconds(50), 0), 0u);
  EXPECT_EQ(t.note(t0 + milliseconds(60), 2), 2u);
}

}  // namespace
}  // namespace hms
