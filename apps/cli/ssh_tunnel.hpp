// `user@host` remotes: the hub listens on the server's loopback, and we
// reach it through the system ssh client (its config, agent, known_hosts
// and prompts; no keys or host-key logic of ours).
//
// One ssh process per command: `ssh -N -L <sock>:127.0.0.1:<hub port>
// [-p <ssh port>] [-i <key>] -l <user> <host>` forwards a unix socket in a
// private 0700 directory to the hub; every connection of the command (the
// protocol, deploy's upload, tarball's download) goes through it. HMS_SSH
// replaces "ssh" (split at spaces, e.g. "ssh -F /path/config"), as
// GIT_SSH_COMMAND does for git.
//
// Deadlines: ssh's own ConnectTimeout (15 s, as the reference's ssh2) for the
// TCP connect, and `ready_within` for the forward to be up, which includes
// any passphrase or host-key prompt the user answers. The ssh process dies
// with us (PR_SET_PDEATHSIG) and is stopped (SIGTERM, then SIGKILL after
// 2 s) when the tunnel is destroyed.
//
// ### Threads
// Linux sends the death signal when the *thread* that forked ends, not the
// process: open tunnels on the main thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "outcome.hpp"
#include "remote.hpp"

namespace hms::cli {

class SshTunnel {
 public:
  static Outcome<std::unique_ptr<SshTunnel>> open(const Remote& r, std::chrono::milliseconds ready_within);
  ~SshTunnel();
  SshTunnel(const SshTunnel&) = delete;
  SshTunnel& operator=(const SshTunnel&) = delete;

  const std::string& socket_path() const noexcept { return sock_; }

 private:
  SshTunnel() = default;
  pid_t pid_ = -1;
  std::string dir_, sock_;
};

}  // namespace hms::cli
