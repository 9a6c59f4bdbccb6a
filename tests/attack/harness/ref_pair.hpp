// The reference pair: a Node dock and a Node client on npm hms-protocol
// 1.2.3 (tests/attack/node/ref_peer.js), connected through the hub before an
// attack starts and streaming sequence-numbered lines through it while the
// attack runs. check() proves that nothing was lost or reordered, that both
// are still on their first connection, and that the hub still answers the
// client's commands (ps reaches the dock).
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness/common.hpp"

namespace hms::attack {

// One ref_peer.js process; its stdout lines are collected by a thread.
class NodeProc {
 public:
  explicit NodeProc(const std::string& conf_json);
  ~NodeProc();
  NodeProc(const NodeProc&) = delete;
  NodeProc& operator=(const NodeProc&) = delete;

  pid_t pid() const { return pid_; }
  bool send(const std::string& json_line);
  // The first line not taken yet that starts with `prefix`, taken; nullopt
  // after `timeout` (or when the process ended first).
  std::optional<std::string> take(const std::string& prefix, Ms timeout = 10s);
  // Whether any line (taken or not) starts with `prefix`.
  bool said(const std::string& prefix);
  bool ended();
  // The last lines it printed, for failure messages.
  std::string transcript();
  // Ends stdin (the peer hangs up), waits, then kills if needed.
  void finish();

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::vector<bool> taken_;
  bool eof_ = false;
};

class RefPair {
 public:
  // Connects the dock ("ref-dock", tag "ref") and the client, adds service
  // "ref", subscribes the client to it and starts the stream (a line every
  // few ms). Throws std::runtime_error when any step fails.
  explicit RefPair(std::uint16_t port);
  ~RefPair();
  RefPair(const RefPair&) = delete;
  RefPair& operator=(const RefPair&) = delete;

  static constexpr const char* kDockId = "ref-dock";
  static constexpr const char* kService = "ref";

  // Asserts (gtest) that every line the dock wrote so far reached the
  // client in order, that neither was disconnected, and that a ps from the
  // client gets an answer with the dock's entry. `when` names the moment.
  void check(const std::string& when);
  // Lines the client has received so far (for progress notes).
  long received();
  // A protocol call from the reference client: {err, value} as JSON texts
  // ("null" for no error).
  std::pair<std::string, std::string> call(const std::string& name, const std::string& args_json, Ms timeout = 20s);

  pid_t dock_pid() const { return dock_->pid(); }
  pid_t client_pid() const { return client_->pid(); }

 private:
  std::unique_ptr<NodeProc> dock_, client_;
  int seq_ = 0;
};

// Whether node and the hms-protocol package are there ("" when they are,
// else why not).
std::string node_missing();

}  // namespace hms::attack
