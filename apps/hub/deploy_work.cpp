#include "deploy_work.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <thread>

#include "archive/pack.hpp"
#include "hms/log.hpp"

namespace hms::hub {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kOutputBacklog = 4u << 20;         // the worker waits above this
constexpr auto kOutputStall = std::chrono::seconds(60);  // a client that takes nothing this long
constexpr auto kControlWait = std::chrono::seconds(30);  // the control shard answers well within

// builds/<id>@<date>, colons as dashes (the reference's path.join + replace).
std::string build_folder(const std::string& builds, const std::string& id, const std::string& deployed) {
  std::string name = id + "@" + deployed;
  std::replace(name.begin(), name.end(), ':', '-');
  return (fs::path(builds) / name).lexically_normal().string();
}

// Where the tarball of a build is cached; one per deploy.
std::string cache_file(const std::string& builds, const std::string& id, const std::string& deployed) {
  return build_folder(fs::path(builds) / ".tarballs", id, deployed) + ".tgz";
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) HMS_LOG(warn, "could not remove %s: %s", printable(p.string()).c_str(), ec.message().c_str());
}

// Removes the cached tarballs of `id` (a new deploy makes them stale).
void drop_cached(const std::string& builds, const std::string& id) {
  std::error_code ec;
  const std::string prefix = id + "@";
  for (const auto& e : fs::directory_iterator(fs::path(builds) / ".tarballs", ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) remove_quietly(e.path());
}

// Whether `folder` lies inside `builds` (a record is never trusted to name
// what may be deleted).
bool inside(const std::string& builds, const std::string& folder) {
  const fs::path root = fs::absolute(builds).lexically_normal();
  const fs::path p = fs::absolute(folder).lexically_normal();
  const auto rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != ".." && rel != ".";
}

}  // namespace

template <class T>
bool DeployWork::wait_ready(std::future<T>& f) {
  // The control shard answers within milliseconds; a hub that is stopping
  // may never run the question, so the wait ends with the job too.
  const auto until = std::chrono::steady_clock::now() + kControlWait;
  while (f.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
    if (job_.cancelled() || std::chrono::steady_clock::now() >= until) return false;
  return true;
}

DeployWork::DeployWork(Deploys& deploys, Deploys::Running& running)
    : deploys_(deploys), running_(running), job_(*running.job) {}

template <class T, class Fn>
std::optional<T> DeployWork::ask(Fn fn) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> answer = promise->get_future();
  deploys_.host_.to_control([promise, fn = std::move(fn)]() mutable { promise->set_value(fn()); });
  if (!wait_ready(answer)) return std::nullopt;
  return answer.get();
}

std::optional<std::string> DeployWork::record(const std::string& id, Service build) {
  auto promise = std::make_shared<std::promise<std::string>>();
  std::future<std::string> done = promise->get_future();
  DeployHost& host = deploys_.host_;
  host.to_control([&host, promise, id, build = std::move(build)]() mutable {
    host.record(id, std::move(build), [promise](std::string error) { promise->set_value(std::move(error)); });
  });
  if (!wait_ready(done)) return std::nullopt;
  return done.get();
}

// ---------------------------------------------------------------- deploy

void DeployWork::deploy(const std::string& id, const std::optional<std::string>& revision) {
  const DeployOptions& opts = deploys_.opts_;
  DeployCounters& counters = deploys_.counters_;
  counters.deploys.fetch_add(1, std::memory_order_relaxed);
  const std::string deployed = iso_now();
  const std::string folder = build_folder(opts.builds, id, deployed);
  HMS_LOG(info, "[%s] receiving tarball", printable(id).c_str());

  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return fail(id, {}, 500, "cannot make the build folder " + folder + ": " + ec.message());
  // Each read waits --read-timeout at most, and the whole upload
  // --upload-timeout: a byte now and then must not hold a slot for ever.
  using std::chrono::milliseconds;
  const auto upload_ends = std::chrono::steady_clock::now() + opts.upload_timeout;
  const auto idle = std::chrono::duration_cast<milliseconds>(opts.upload_idle);
  bool too_long = false;
  const archive::UnpackResult unpacked = archive::unpack_tar(
      [this, upload_ends, idle, &too_long](const void** data) -> long {
        const auto left = std::chrono::ceil<milliseconds>(upload_ends - std::chrono::steady_clock::now());
        if (left <= milliseconds(0)) {
          too_long = true;
          return -1;
        }
        const long n = job_.next_body(data, std::min(idle, left));
        if (n < 0 && left < idle && std::chrono::steady_clock::now() >= upload_ends) too_long = true;
        return n;
      },
      [this, &opts, &too_long] {
        return too_long ? "the upload did not finish within " + std::to_string(opts.upload_timeout.count()) + " s"
                        : job_.body_error();
      },
      folder, opts.unpack);
  if (!unpacked.ok) return fail(id, folder, 500, unpacked.error);
  drain_body();  // the gzip trailer and tar padding libarchive did not ask for

  const std::optional<std::optional<Service>> found =
      ask<std::optional<Service>>([&host = deploys_.host_, id] { return host.find(id); });
  if (!found) return fail(id, folder, 500, "the hub is stopping");
  if (!*found) return fail(id, folder, 404, "Service not found");
  const Service& service = **found;

  int status = 204;  // no build script: nothing to run (the reference's ondone(204))
  if (service.build && !service.build->empty()) {
    BuildSpec spec;
    spec.command = *service.build;
    spec.folder = folder;
    spec.id = id;
    spec.env = service.env.value_or(std::vector<std::pair<std::string, std::string>>{});
    spec.timeout = opts.build_timeout;
    const BuildOutcome built = running_.build->run(spec, [this](std::string_view out) {
      send_output(out);
      return true;  // the build goes on even when nobody reads its output
    });
    if (!built.ok()) {
      std::string why = built.error;
      if (service.deployed) why += "; the previous deploy (" + *service.deployed + ") stays";
      return fail(id, folder, 500, why);
    }
    status = 200;
  }

  Service build;
  build.cwd = folder;
  build.deployed = deployed;
  build.revision = revision;
  const std::optional<std::string> recorded = record(id, std::move(build));
  if (!recorded) return fail(id, folder, 500, "the hub is stopping");
  if (!recorded->empty()) return fail(id, folder, *recorded == "Service not found" ? 404 : 500, *recorded);

  // The reference's text, spelling and all.
  HMS_LOG(info, "[%s] build succeded", printable(id).c_str());
  counters.deploys_ok.fetch_add(1, std::memory_order_relaxed);
  drop_cached(opts.builds, id);
  if (service.cwd && *service.cwd != folder && !opts.keep_old_builds && inside(opts.builds, *service.cwd))
    remove_quietly(*service.cwd);
  succeed(status);
}

void DeployWork::drain_body() {
  const void* data;
  std::uint64_t extra = 0;
  for (long n; (n = job_.next_body(&data, std::chrono::seconds(5))) > 0 && extra < (64u << 20);)
    extra += static_cast<std::uint64_t>(n);
}

void DeployWork::send_head(int status) {
  if (head_sent_) return;
  head_sent_ = true;
  job_.send(response_head(status, "Trailer: X-Status\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"));
}

void DeployWork::send_output(std::string_view bytes) {
  if (output_dropped_ || job_.gone()) return;
  send_head(200);
  if (!job_.wait_for_room(kOutputBacklog, std::chrono::steady_clock::now() + kOutputStall)) {
    // The client takes nothing: the build still finishes, unheard.
    output_dropped_ = true;
    return;
  }
  job_.send(chunk(bytes));
}

void DeployWork::fail(const std::string& id, const std::string& folder, int status, const std::string& why) {
  HMS_LOG(warn, "[%s] build failed (%s)", printable(id).c_str(), printable(why, 400).c_str());
  deploys_.counters_.deploys_failed.fetch_add(1, std::memory_order_relaxed);
  if (!folder.empty()) remove_quietly(folder);
  drain_body();  // read what is left of the upload, so the answer is read
  const bool after_output = head_sent_;
  send_head(status);  // no-op if output went out already (then the status is 200)
  std::string text = why;
  if (after_output) text += '\n';  // its own line after the build's
  job_.send(chunk(text));
  job_.send("0\r\nX-Status: " + std::to_string(status) + "\r\n\r\n");
  job_.end();
}

void DeployWork::succeed(int status) {
  if (status == 204 && !head_sent_) {
    job_.send(response_head(204, "Connection: close\r\n"));
  } else {
    send_head(200);
    job_.send("0\r\nX-Status: 200\r\n\r\n");
  }
  job_.end();
}

// ---------------------------------------------------------------- tarball

void DeployWork::answer(int status, std::string_view text) {
  job_.send(plain_response(status, text));
  job_.end();
}

void DeployWork::tarball(const std::string& id, bool head_only) {
  const DeployOptions& opts = deploys_.opts_;
  const std::optional<std::optional<Service>> found =
      ask<std::optional<Service>>([&host = deploys_.host_, id] { return host.find(id); });
  if (!found) return answer(503, "the hub is stopping");
  if (!*found) return answer(404, "Service not found");
  const Service& service = **found;
  if (!service.cwd || !service.deployed) return answer(404, "No builds found");

  const std::string cached = cache_file(opts.builds, id, *service.deployed);
  struct stat st;
  if (::stat(cached.c_str(), &st) != 0) {
    HMS_LOG(info, "[%s] writing tarball to cache", printable(id).c_str());
    std::error_code ec;
    fs::create_directories(fs::path(cached).parent_path(), ec);
    // Packed beside its final name, then renamed: a download that runs at
    // the same time never sees half a file.
    const std::string partial = cached + ".part" + std::to_string(::gettid());
    const archive::PackResult packed = archive::pack_directory(*service.cwd, partial);
    if (!packed.ok) {
      ::unlink(partial.c_str());
      return answer(500, "cannot pack the build: " + archive::describe(packed));
    }
    if (::rename(partial.c_str(), cached.c_str()) != 0) return answer(500, "cannot cache the tarball");
  }
  const int fd = ::open(cached.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    if (fd >= 0) ::close(fd);
    return answer(500, "cannot read the cached tarball");
  }
  deploys_.counters_.tarballs.fetch_add(1, std::memory_order_relaxed);
  HMS_LOG(info, "[%s] sending tarball", printable(id).c_str());
  job_.send(response_head(200, "Content-Type: application/gzip\r\nContent-Length: " + std::to_string(st.st_size) +
                                   "\r\nConnection: close\r\n"));
  std::string buf;
  for (std::uint64_t left = head_only ? 0 : static_cast<std::uint64_t>(st.st_size); left > 0;) {
    if (!job_.wait_for_room(kOutputBacklog, std::chrono::steady_clock::now() + kOutputStall)) break;
    buf.resize(static_cast<std::size_t>(std::min<std::uint64_t>(left, 256 * 1024)));
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;  // the client gets a short body and knows it from Content-Length
    buf.resize(static_cast<std::size_t>(n));
    left -= static_cast<std::uint64_t>(n);
    job_.send(std::move(buf));
    buf = std::string();
  }
  ::close(fd);
  job_.end();
}

}  // namespace hms::hub
