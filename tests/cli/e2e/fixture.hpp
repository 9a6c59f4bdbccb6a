// The end-to-end fixture: a hub of each kind (hms-hub, the Node terminal),
// a directory with HOME, and helpers to run hms and compare all it printed.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/servers.hpp"

namespace hms::clitest {

struct Want {
  std::string out;
  std::string err;
  int code = 0;
};

inline std::string show(const RunResult& r) {
  return "exit " + std::to_string(r.code) + (r.timed_out ? " (timed out)" : "") + "\n--- stdout\n" + r.out +
         "--- stderr\n" + r.err;
}

class CliTest : public ::testing::TestWithParam<HubKind> {
 protected:
  void SetUp() override { hub_ = std::make_unique<Hub>(GetParam(), dir_); }
  void TearDown() override {
    if (HasFailure()) std::cerr << "hub log:\n" << hub_->log() << "\n";
  }
  std::string remote() const { return hub_->remote(); }
  RunResult hms_run(const std::vector<std::string>& args, RunOptions o = {}) { return hms(dir_, args, std::move(o)); }
  // Runs hms and checks stdout, stderr and the exit code, all three.
  void check(const std::vector<std::string>& args, const Want& want, RunOptions o = {}) {
    const RunResult r = hms_run(args, std::move(o));
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    EXPECT_EQ(r.out, want.out) << "hms" << cmd << "\n" << show(r);
    EXPECT_EQ(r.err, want.err) << "hms" << cmd << "\n" << show(r);
    EXPECT_EQ(r.code, want.code) << "hms" << cmd << "\n" << show(r);
  }

  TempDir dir_;
  std::unique_ptr<Hub> hub_;
};

inline std::string hub_name(const ::testing::TestParamInfo<HubKind>& i) { return to_string(i.param); }

#define HMS_BOTH_HUBS(Suite)                                                                              \
  INSTANTIATE_TEST_SUITE_P(Hubs, Suite, ::testing::Values(::hms::clitest::HubKind::native,               \
                                                          ::hms::clitest::HubKind::node),                 \
                           ::hms::clitest::hub_name)

}  // namespace hms::clitest
