// Deploys and tarballs, as the reference terminal serves them:
//   PUT /<id>   a gzip'd tarball of the service's source (Content-Length or
//               chunked; `Expect: 100-continue` answered), unpacked as it
//               arrives into <builds>/<id>@<date>, never held whole in
//               memory; then the service's `build` runs there and its
//               output streams back chunked, ending with an `X-Status`
//               trailer (200, or the failure's status). On success the
//               service gets `cwd`, `deployed` and `revision`, the docks are
//               synced and the previous build is removed; on failure the
//               new folder goes and the previous deploy stays, and the
//               answer says so.
//   GET /<id>   the current build as a gzip'd tarball (what docks fetch and
//               `hms tarball` saves), packed once per deploy and cached.
//
// ### Threads
// take() runs on the shard that accepted the request; each job's blocking
// work (unpacking, the build, packing, reading the tarball) runs on a
// thread of its own, at most `max_jobs` at once (more are answered 503).
// The registry is only read and written on the control shard, through
// DeployHost. stop() ends every job (builds are killed) and joins.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "archive/untar.hpp"
#include "hms/connection.hpp"
#include "hms/control.hpp"
#include "build_process.hpp"
#include "http_job.hpp"

namespace hms::hub {

struct DeployOptions {
  std::string builds = "builds";       // relative to the hub's working folder
  std::chrono::seconds build_timeout{3600};
  std::chrono::seconds upload_idle{60};  // an upload that sends nothing this long fails (--read-timeout)
  std::chrono::seconds upload_timeout{3600};  // the whole upload (--upload-timeout)
  unsigned max_jobs = 8;
  bool keep_old_builds = false;        // --dock: the dock in the hub uses the same folder
  archive::UnpackLimits unpack;
};

// What deploys need of the hub. Each function but `release` runs on the
// control shard.
struct DeployHost {
  // On the accepting shard: the hub lets go of a connection it takes over.
  std::function<void(Connection&)> release;
  // Posts a function to the control shard.
  std::function<void(std::function<void()>)> to_control;
  // The stored service, or nothing.
  std::function<std::optional<Service>(const std::string& id)> find;
  // Stores the new build's cwd, deployed and revision over the stored
  // service, then syncs the docks; done("") once it is on disk, or
  // done(error). The service may have gone meanwhile: "Service not found".
  std::function<void(const std::string& id, Service build, std::function<void(std::string)> done)> record;
};

struct DeployCounters {
  std::atomic<std::uint64_t> deploys{0}, deploys_ok{0}, deploys_failed{0}, tarballs{0}, refused_busy{0};
};

class Deploys {
 public:
  Deploys(DeployOptions opts, DeployHost host);
  ~Deploys();
  Deploys(const Deploys&) = delete;
  Deploys& operator=(const Deploys&) = delete;

  // On the accepting shard: PUT, GET or HEAD of /<id> (the path decoded as
  // the reference does: "/hel%6Co/" is "hello") become jobs; false for any
  // other request. `post` runs a function on this shard.
  bool take(Connection& c, const HttpRequest& req, HttpJob::Post post);
  // Cancels every job (builds killed, uploads failed), then joins them.
  void stop();
  const DeployCounters& counters() const noexcept { return counters_; }
  // Jobs running now (a job's answer may reach its client just before its
  // thread ends: it counts until then).
  std::size_t active() const;
  const DeployOptions& options() const noexcept { return opts_; }

 private:
  struct Running {
    std::shared_ptr<HttpJob> job;
    std::shared_ptr<BuildProcess> build = std::make_shared<BuildProcess>();  // kill() ends it
    std::thread thread;
    std::atomic<bool> finished{false};
  };
  friend class DeployWork;

  void start_job(std::shared_ptr<HttpJob> job, std::function<void(Running&)> work);
  void reap();  // joins finished jobs (mu_ held)

  DeployOptions opts_;
  DeployHost host_;
  DeployCounters counters_;
  mutable std::mutex mu_;
  std::list<Running> running_;  // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
};

// The service id in a request target ("/<id>" or "/<id>/", %-decoded, the
// query left out), or nothing when the path is not of that shape or an
// escape is malformed (*malformed set then).
std::optional<std::string> deploy_target_id(std::string_view target, bool* malformed);
// The `revision` query parameter, %-decoded (and '+' as a space), if any.
std::optional<std::string> query_revision(std::string_view target);
// "2026-12-01T17:24:47.110Z" for now (UTC, milliseconds).
std::string iso_now();

}  // namespace hms::hub
