// The hms-hub binary as a child process: started with the suite's flags
// (and any resource limit an attack needs), its port read from its first
// line of stdout, its log (stderr) kept in a file, its memory read from
// /proc, its metrics over HTTP, and stopped with SIGTERM at the end, when it
// must exit 0 (under ASan that includes the leak check).
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/common.hpp"

namespace hms::attack {

// A private directory under /tmp, removed with what is in it at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Flags as name/value pairs ("--dock-timeout", "1"); a value of "" is a
// flag without value.
using Flags = std::vector<std::pair<std::string, std::string>>;

struct HubConfig {
  Flags flags{};                          // merged over the suite's defaults, by name
  std::optional<rlim_t> nofile{};        // RLIMIT_NOFILE for the hub
  std::optional<rlim_t> address_space{}; // RLIMIT_AS for the hub, bytes
};

// The flags every hub of the suite gets unless a test overrides one.
Flags default_flags();

// The names of the flags `hms-hub --help` does not list (the hub has not
// learnt them yet). Such flags are left out when a hub starts, so that the
// rest of the suite still runs; the tests of what they control then fail.
std::vector<std::string> unknown_flags(const Flags& flags);

class HubProcess {
 public:
  // Starts the hub in `dir` and waits until it says on which port it
  // listens; throws std::runtime_error (with its log) when it does not.
  HubProcess(const TempDir& dir, const HubConfig& config = {});
  ~HubProcess();
  HubProcess(const HubProcess&) = delete;
  HubProcess& operator=(const HubProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }
  // Still running (not exited, not killed).
  bool alive();
  // Resident set and its peak (VmRSS, VmHWM), KiB; 0 when gone.
  std::size_t rss_kb() const;
  std::size_t hwm_kb() const;
  // Open descriptors of the hub.
  std::size_t open_fds() const;

  // GET /metrics (empty when it does not answer within a few seconds).
  std::string metrics() const;
  // One sample of the metrics text: `name` with its labels as written, or
  // -1 when absent.
  double metric(std::string_view series) const;
  static double metric_in(const std::string& text, std::string_view series);

  // The hub's log so far (its stderr), and its length in lines.
  std::string log() const;
  std::size_t log_lines() const;
  // Sanitizer or crash reports in the log ("" when none).
  std::string reports() const;

  // SIGTERM, then wait up to `limit` for the exit; returns the wait status,
  // or -1 when it had to be killed.
  int stop(Ms limit);
  void kill9();
  // SIGSTOP / SIGCONT are for docks; the hub is never stopped.

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int status_ = 0;
  std::string log_path_;
};

// Descriptors this process may open: raises the soft RLIMIT_NOFILE to the
// hard one (attacks that open thousands of sockets need it); returns it.
rlim_t raise_own_nofile();

}  // namespace hms::attack
