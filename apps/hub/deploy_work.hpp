// The work of one deploy or tarball job, on its own thread (deploy.hpp).
// Lives for the duration of one call; the job and its connection outlive
// it (shared), the Deploys that started it too (stop() joins first).
#pragma once

#include <future>
#include <optional>
#include <string>

#include "deploy.hpp"

namespace hms::hub {

class DeployWork {
 public:
  DeployWork(Deploys& deploys, Deploys::Running& running);

  // PUT /<id>: unpack, build, record; the answer streams as it goes.
  void deploy(const std::string& id, const std::optional<std::string>& revision);
  // GET or HEAD /<id>: the cached tarball of the current build.
  void tarball(const std::string& id, bool head_only);

 private:
  // The control shard's answer to fn, or nothing if the hub stops first.
  template <class T, class Fn>
  std::optional<T> ask(Fn fn);
  std::optional<std::string> record(const std::string& id, Service build);
  template <class T>
  bool wait_ready(std::future<T>& f);

  // ---- the deploy's answer: a head once, output chunks, a trailer
  void send_output(std::string_view bytes);
  void fail(const std::string& id, const std::string& folder, int status, const std::string& why);
  void succeed(int status);
  void send_head(int status);
  void drain_body();

  // ---- plain answers
  void answer(int status, std::string_view text);

  Deploys& deploys_;
  Deploys::Running& running_;
  HttpJob& job_;
  bool head_sent_ = false;
  bool output_dropped_ = false;
};

}  // namespace hms::hub
