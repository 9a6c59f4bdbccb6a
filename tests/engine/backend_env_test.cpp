// The engine and interop suites run once per backend (HMS_BACKEND=uring and
// =epoll, see tests/CMakeLists.txt). Where io_uring cannot be set up (an old
// kernel, or a container whose seccomp profile forbids it), the uring run
// skips as a whole and says why, instead of failing every test; the epoll
// run still covers the engine.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <exception>

#include "hms/reactor.hpp"

namespace {

class BackendEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* want = std::getenv("HMS_BACKEND");
    if (!want || std::strcmp(want, "uring") != 0) return;
    try {
      hms::ReactorOptions o;
      o.backend = hms::Backend::uring;
      o.recv_buffers = 8;
      hms::Reactor probe(o);
    } catch (const std::exception& e) {
      GTEST_SKIP() << "HMS_BACKEND=uring but io_uring cannot be set up here: " << e.what();
    }
  }
};

[[maybe_unused]] ::testing::Environment* const kBackendEnvironment =
    ::testing::AddGlobalTestEnvironment(new BackendEnvironment);

}  // namespace
