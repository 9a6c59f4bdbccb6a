#include "options.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <thread>

#include "hms/log.hpp"

namespace hms::hub {

void add_hub_flags(CLI::App& app, HubFlags& f) {
  HubOptions& o = f.opts;
  o.threads = std::max(1u, std::thread::hardware_concurrency());
  app.add_option("-p,--port", o.port, "TCP port to listen on")->capture_default_str();
  app.add_option("-a,--address", o.address, "Address to listen on (use :: for IPv6)")->capture_default_str();
  app.add_option("--db", o.db, "Registry database file (SQLite, WAL)")->capture_default_str();
  app.add_option("-e,--env", f.env, "Default env for new services, KEY=VALUE (repeatable)");
  app.add_option("-t,--threads", o.threads, "Reactor threads (default: the cores)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  app.add_option("--token", o.token, "Shared token every handshake must carry (or HMS_TOKEN)");
  app.add_option("--client-hard-limit-mb", f.hard_mb, "Disconnect a client whose output queue passes this")
      ->capture_default_str();
  app.add_option("--client-soft-limit-mb", f.soft_mb, "... or stays above this for --client-soft-seconds")
      ->capture_default_str();
  app.add_option("--client-soft-seconds", f.soft_seconds, "Soft limit grace time")->capture_default_str();
  app.add_option("--recv-buffers", o.recv_buffers, "Receive buffers per thread (power of two)")->capture_default_str();
  app.add_option("--log-level", f.log_level, "error, warn, info or debug")->capture_default_str();
  auto* lim = app.add_option_group("Deadlines and limits");
  const auto positive = CLI::PositiveNumber;
  lim->add_option("--ping-interval", f.ping_interval, "Seconds between pings of every dock and client")
      ->capture_default_str()->check(positive);
  lim->add_option("--ping-timeout", f.ping_timeout, "Seconds a peer has to answer a ping, else it is dropped")
      ->capture_default_str()->check(positive);
  lim->add_option("--handshake-timeout", f.handshake_timeout,
                  "Seconds a connection has to send its HTTP head and handshake")
      ->capture_default_str()->check(positive);
  lim->add_option("--read-timeout", f.read_timeout, "Seconds a frame (or HTTP head) that has begun has to finish")
      ->capture_default_str()->check(positive);
  lim->add_option("--dock-timeout", f.dock_timeout, "Seconds a dock has to answer a command")
      ->capture_default_str()->check(positive);
  lim->add_option("--max-frame-mb", f.max_frame_mb, "Largest frame body accepted after the handshake (MiB)")
      ->capture_default_str()->check(CLI::Range(1u, 64u));
  lim->add_option("--partial-budget-mb", f.partial_budget_mb,
                  "Memory for partly received frames, all connections together (MiB)")
      ->capture_default_str()->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  auto* dep = app.add_option_group("Deploys");
  dep->add_option("--builds", o.builds, "Folder for the builds of deployed services")->capture_default_str();
  dep->add_option("--build-timeout", f.build_timeout, "Seconds a build may run before it is killed")
      ->capture_default_str()->check(positive);
  dep->add_option("--upload-timeout", f.upload_timeout,
                  "Seconds a deploy's whole upload may take (a trickle that beats --read-timeout still ends)")
      ->capture_default_str()->check(positive);
  dep->add_option("--max-deploys", o.max_deploys, "Deploys and tarball downloads at once (more get 503)")
      ->capture_default_str()->check(CLI::Range(1u, 1024u));
}

std::string finish_hub_flags(HubFlags& f) {
  LogLevel level;
  if (!parse_log_level(f.log_level.c_str(), &level))
    return "bad --log-level '" + f.log_level + "' (error, warn, info, debug)";
  set_log_level(level);
  HubOptions& o = f.opts;
  if (!o.token) {
    if (const char* t = std::getenv("HMS_TOKEN"); t && *t) o.token = t;
  }
  for (const auto& e : f.env) {
    std::pair<std::string, std::string> kv;
    if (!parse_env_assignment(e, &kv)) {
      std::fprintf(stderr, "ignoring --env '%s' (want KEY=VALUE)\n", e.c_str());
      continue;
    }
    o.default_env.push_back(std::move(kv));
  }
  o.client_limits.hard = f.hard_mb << 20;
  o.client_limits.soft = f.soft_mb << 20;
  o.client_limits.soft_seconds = std::chrono::seconds(f.soft_seconds);
  auto ms = [](double seconds) { return std::chrono::milliseconds(static_cast<long long>(seconds * 1000 + 0.5)); };
  o.ping_interval = ms(f.ping_interval);
  o.ping_timeout = ms(f.ping_timeout);
  o.handshake_timeout = ms(f.handshake_timeout);
  o.read_timeout = ms(f.read_timeout);
  o.dock_timeout = ms(f.dock_timeout);
  o.max_frame = f.max_frame_mb << 20;
  o.partial_budget = f.partial_budget_mb << 20;
  o.build_timeout = std::chrono::seconds(static_cast<long long>(f.build_timeout + 0.5));
  o.upload_timeout = std::chrono::seconds(static_cast<long long>(f.upload_timeout + 0.5));
  // Limits that agree: a frame the hub takes must reach a reader that keeps
  // up, i.e. fit under a client's hard output limit.
  if (o.client_limits.hard && o.max_frame > o.client_limits.hard)
    return "--max-frame-mb must not be above --client-hard-limit-mb";
  return {};
}

int run_hub(const HubOptions& opts, const char* name, const ListeningFn& listening, const CompanionSpec* dock) {
  // Signals are taken by sigwait on this thread; every reactor thread
  // inherits the blocked mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  try {
    Hub hub(opts);
    hub.start();
    if (listening) {
      listening(hub.port());
    } else {
      std::printf("%s listening on port %u\n", name, hub.port());
      std::fflush(stdout);
    }
    std::optional<CompanionDock> companion;
    if (dock) companion.emplace(*dock, hub.port());
    int sig = 0;
    sigwait(&set, &sig);
    HMS_LOG(info, "signal %d: stopping", sig);
    companion.reset();  // its services stop while the hub still answers
    hub.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
  return 0;
}

}  // namespace hms::hub
