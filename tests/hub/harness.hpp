// Test harness for the hub end-to-end tests: an in-process Hub on a private
// database, docks and clients (engine Peers on a client-side reactor) that
// record what they receive, a raw blocking socket for byte-level checks, and
// a child process runner for the hms-hub binary.
//
// Nothing here may hang ctest: every wait has a deadline, every socket call a
// timeout, and every child process is killed (by its pid) when its runner is
// destroyed.
#pragma once

#include "hub/child_process.hpp"
#include "hub/harness_basics.hpp"
#include "hub/raw_socket.hpp"
#include "hub/test_peers.hpp"

namespace hms::hubtest {

using ClientOpts = TestClient::Options;
using DockOpts = TestDock::Options;


}  // namespace hms::hubtest
