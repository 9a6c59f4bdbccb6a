// The respawn policy's numbers: one start plus ten restarts within the
// window of run time, then crashed; long runs refill the budget.
#include <gtest/gtest.h>

#include "dock/restart_policy.hpp"

namespace hms::dock {
namespace {

using namespace std::chrono_literals;

TEST(RestartPolicyTest, TenRestartsThenCrash) {
  RestartBudget b;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(after_exit(b, 0ms), AfterExit::respawn) << i;
  EXPECT_EQ(after_exit(b, 0ms), AfterExit::crash);
}

TEST(RestartPolicyTest, RunTimeRefillsTheBudget) {
  RestartBudget b;
  // Ten quick crashes, then one that ran past the window: the count starts over.
  for (int i = 0; i < 10; ++i) ASSERT_EQ(after_exit(b, 100ms), AfterExit::respawn);
  EXPECT_EQ(after_exit(b, 60s), AfterExit::respawn);
  EXPECT_EQ(b.restarts, 1);
  // A process that runs six seconds each time never crashes the budget.
  RestartBudget slow;
  for (int i = 0; i < 100; ++i) ASSERT_EQ(after_exit(slow, 6s), AfterExit::respawn) << i;
  // Only run time counts: 5.9 s runs, ten of them, then the eleventh is one too many.
  RestartBudget edge;
  for (int i = 0; i < 10; ++i) ASSERT_EQ(after_exit(edge, 5900ms), AfterExit::respawn);
  EXPECT_EQ(after_exit(edge, 10ms), AfterExit::crash);
}

TEST(RestartPolicyTest, TheNumbers) {
  EXPECT_EQ(kRespawnDelay, 1000ms);
  EXPECT_EQ(kRestartWindow, 60000ms);
  EXPECT_EQ(kMaxRestarts, 10);
}

}  // namespace
}  // namespace hms::dock
