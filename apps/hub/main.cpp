// hms-hub: the terminal-compatible hub. See `hms-hub --help`.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "hms/log.hpp"
#include "hub.hpp"

int main(int argc, char** argv) {
  hms::hub::HubOptions o;
  CLI::App app{"hms-hub: the hms terminal (service registry, dock commands, log fan-out).\n"
               "Docks and clients connect with HTTP CONNECT (or raw frames) on one port;\n"
               "GET / answers the version, GET /metrics Prometheus metrics."};
  std::vector<std::string> env;
  std::string log_level = "info";
  std::size_t hard_mb = 32, soft_mb = 8;
  unsigned soft_seconds = 60;
  o.threads = std::max(1u, std::thread::hardware_concurrency());
  app.add_option("-p,--port", o.port, "TCP port to listen on")->capture_default_str();
  app.add_option("-a,--address", o.address, "Address to listen on (use :: for IPv6)")->capture_default_str();
  app.add_option("--db", o.db, "Registry database file (SQLite, WAL)")->capture_default_str();
  app.add_option("-e,--env", env, "Default env for new services, KEY=VALUE (repeatable)");
  app.add_option("-t,--threads", o.threads, "Reactor threads (default: the cores)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  app.add_option("--token", o.token, "Shared token every handshake must carry (or HMS_TOKEN)");
  app.add_option("--client-hard-limit-mb", hard_mb, "Disconnect a client whose output queue passes this")
      ->capture_default_str();
  app.add_option("--client-soft-limit-mb", soft_mb, "... or stays above this for --client-soft-seconds")
      ->capture_default_str();
  app.add_option("--client-soft-seconds", soft_seconds, "Soft limit grace time")->capture_default_str();
  app.add_option("--recv-buffers", o.recv_buffers, "Receive buffers per thread (power of two)")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "error, warn, info or debug")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  hms::LogLevel level;
  if (!hms::parse_log_level(log_level.c_str(), &level)) {
    std::fprintf(stderr, "hms-hub: bad --log-level '%s' (error, warn, info, debug)\n", log_level.c_str());
    return 2;
  }
  hms::set_log_level(level);
  if (!o.token) {
    if (const char* t = std::getenv("HMS_TOKEN"); t && *t) o.token = t;
  }
  for (const auto& e : env) {
    std::pair<std::string, std::string> kv;
    if (!hms::hub::parse_env_assignment(e, &kv)) {
      std::fprintf(stderr, "hms-hub: ignoring --env '%s' (want KEY=VALUE)\n", e.c_str());
      continue;
    }
    o.default_env.push_back(std::move(kv));
  }
  o.client_limits.hard = hard_mb << 20;
  o.client_limits.soft = soft_mb << 20;
  o.client_limits.soft_seconds = std::chrono::seconds(soft_seconds);

  // Signals are taken by sigwait on this thread; every reactor thread
  // inherits the blocked mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    hms::hub::Hub hub(o);
    hub.start();
    std::printf("hms-hub listening on port %u\n", hub.port());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    HMS_LOG(info, "signal %d: stopping", sig);
    hub.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hms-hub: %s\n", e.what());
    return 1;
  }
  return 0;
}
