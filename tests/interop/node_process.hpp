// Test helper: a Node.js child process (the interop agent) that the test
// talks to through its stdin and stdout, one JSON document per line.
//
// Nothing may hang a CI run: the child is killed (SIGKILL, by its pid) when
// its time limit passes, and when the helper is destroyed after closing the
// child's stdin does not end it within a few seconds. The child's stderr is
// our stderr, so a Node stack trace lands in the ctest log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <simdjson.h>

namespace hms::interop {

// One line of the agent's output, parsed. Accessors take a JSON pointer
// ("/args/0") and answer a neutral value ("" / fallback / false) when the
// member is absent or of another type, so a missing line or field shows up
// as a failed comparison, never as a crash.
class Line {
 public:
  Line() = default;
  Line(std::string text, std::size_t index);

  bool valid() const noexcept { return valid_; }
  const std::string& text() const noexcept { return text_; }
  // Position in the child's output (0 = first line): orders events.
  std::size_t index() const noexcept { return index_; }

  bool has(std::string_view pointer) const;
  bool is_null(std::string_view pointer) const;
  bool is_string(std::string_view pointer) const;
  std::string str(std::string_view pointer) const;
  std::int64_t num(std::string_view pointer, std::int64_t fallback = -1) const;
  bool flag(std::string_view pointer) const;  // true only for JSON true
  // The whole document is a number (the server's first line, its port).
  bool is_number() const;

 private:
  simdjson::simdjson_result<simdjson::dom::element> at(std::string_view pointer) const;

  std::string text_;
  std::size_t index_ = 0;
  std::shared_ptr<simdjson::dom::parser> parser_;  // owns root_'s memory
  simdjson::dom::element root_;
  bool valid_ = false;
};

class NodeProcess {
 public:
  // Runs `node script args...` with NODE_PATH=node_path. `node` is the
  // executable's path. Check started() / error() afterwards.
  NodeProcess(const std::string& node, const std::string& node_path,
              const std::string& script, const std::vector<std::string>& args,
              std::chrono::seconds limit = std::chrono::seconds(60));
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  bool started() const noexcept { return pid_ > 0; }
  const std::string& error() const noexcept { return error_; }

  // Writes one line (a newline is appended). False when the child is gone.
  bool send(std::string_view line);

  // Waits for the first line that matches and has not been returned before,
  // and returns it (marking it taken). An invalid Line on timeout or when
  // the child's output ended without one.
  Line wait(const std::function<bool(const Line&)>& match,
            std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Whether any line so far (taken or not) matches; does not wait.
  bool any(const std::function<bool(const Line&)>& match) const;

  // The child's last lines and whether its output ended: for failure
  // messages.
  std::string transcript(std::size_t last = 15) const;

 private:
  void read_loop();
  void watchdog_loop(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int in_fd_ = -1;   // child's stdin (our write end)
  int out_fd_ = -1;  // child's stdout (our read end)
  std::string error_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Line> lines_;
  std::vector<bool> taken_;
  bool eof_ = false;
  bool stopping_ = false;  // tells the watchdog to stand down
  bool killed_ = false;    // the watchdog fired

  std::thread reader_;
  std::thread watchdog_;
};

}  // namespace hms::interop
