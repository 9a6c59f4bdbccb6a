#include "dock/dock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "dock/client_port.hpp"
#include "dock/commands.hpp"
#include "dock/context.hpp"
#include "dock/hub_link.hpp"
#include "dock/leftovers.hpp"
#include "dock/outputs.hpp"
#include "dock/procstat.hpp"
#include "dock/say.hpp"
#include "dock/services.hpp"
#include "dock/signals.hpp"
#include "dock/spawner.hpp"
#include "dock/store.hpp"
#include "dock/supervisor.hpp"
#include "dock/sync.hpp"
#include "dock/workers.hpp"
#include "hms/log.hpp"
#include "hms/reactor.hpp"

extern char** environ;

namespace hms::dock {

namespace {

// A thousand services hold two pipes each: ask for all the descriptors the
// hard limit allows.
void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

// Downloads interrupted by a crash leave hidden folders behind.
void remove_incoming(const std::string& builds) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(builds, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".incoming-", 0) == 0) std::filesystem::remove_all(e.path(), ec);
  }
}

std::string code_text(std::optional<int> code) { return code ? std::to_string(*code) : std::string("null"); }

}  // namespace

int run(const DockOptions& opts) {
  LogLevel level;
  if (!parse_log_level(opts.log_level.c_str(), &level)) {
    std::fprintf(stderr, "[!] bad --log-level '%s' (error, warn, info, debug)\n", opts.log_level.c_str());
    return 1;
  }
  set_log_level(level);
  HubAddress hub;
  std::string error;
  if (!parse_remote(opts.remote, &hub, &error)) {
    std::fprintf(stderr, "[!] %s\n", error.c_str());
    return 1;
  }
  const std::string id = opts.id.empty() ? default_dock_id() : opts.id;

  SignalWatch::block();  // before any thread starts
  raise_fd_limit();
  // Every service's stdin: a pipe nobody writes, as the reference leaves
  // it; a service that reads stdin waits instead of seeing end of file.
  int stdin_pipe[2];
  if (::pipe2(stdin_pipe, O_CLOEXEC) != 0) {
    std::perror("[!] pipe");
    return 1;
  }
  std::unique_ptr<Spawner> spawner;
  try {
    // Now, while the dock holds a handful of descriptors (spawner.hpp).
    spawner = std::make_unique<Spawner>(stdin_pipe[0]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[!] %s\n", e.what());
    return 1;
  }
  std::vector<std::string> base_env;
  for (char** e = environ; e && *e; ++e) base_env.emplace_back(*e);
  remove_incoming(opts.builds);
  map_big_allocations();

  int exit_code = 0;
  try {
    ReactorOptions ro;
    ro.recv_buffers = opts.recv_buffers;
    ro.recv_buffer_size = opts.recv_buffer_size;
    // Output is dropped (Outputs) while fewer than a quarter of the
    // buffers are free, well before the engine's own mark where it would
    // copy frames out: the relay stays copy-free.
    ro.low_water = 0.125;
    Reactor reactor(ro);
    Store store(opts.db, reactor);
    Workers io("dock-io", 2, 4096);
    Workers net("dock-net", 1, 4);
    Outputs outputs(reactor, id, opts.output_queue_bytes, ro.recv_buffers / 4);

    Supervisor::Hooks hooks;
    hooks.spawned = [&outputs, &store](const std::string& svc, pid_t pid, int out, int err) {
      say(svc, "spawned " + std::to_string(pid));
      store.child_started({pid, svc, start_ticks(pid).value_or(0)});
      outputs.adopt(svc, out, err);
      outputs.spawn(svc, pid);
    };
    hooks.spawn_failed = [&outputs](const std::string& svc, const std::string& why) {
      say(svc, "spawn failed (" + why + ")");
      outputs.spawn(svc, std::nullopt);
    };
    hooks.exited = [&outputs, &store](const std::string& svc, pid_t pid, std::optional<int> code) {
      say(svc, "exited (" + code_text(code) + ")");
      store.child_gone(pid);
      outputs.exit(svc, code);
    };
    hooks.killed = [&opts](const std::string& svc) {
      say(svc, "did not stop within " + std::to_string(opts.stop_grace.count()) + " ms: killed");
    };
    hooks.retired = [&store, &io, &opts](const std::string& svc, const std::string& cwd) {
      // The reference's finalize: an older build no monitor uses any more.
      const Service* s = store.get(svc);
      if (!s || !s->cwd || *s->cwd != cwd) remove_build_folder(io, opts.builds, cwd);
    };
    Supervisor supervisor(reactor, std::move(hooks), opts.stop_grace, *spawner, std::move(base_env));

    Context ctx{opts, id, hub, reactor, store, supervisor, outputs, io, JsonParser{}};
    Services services(ctx);
    Syncer syncer(ctx);
    Commands commands(ctx, services, syncer);
    HubLink link(ctx, commands, net);
    ClientPort port(ctx, commands);
    reactor.add_before_flush([&store] { store.flush(); });

    bool shutting_down = false;
    std::unique_ptr<SignalWatch> signals;
    auto on_signal = [&](int sig) {
      if (sig == SIGCHLD) return supervisor.reap();
      if (shutting_down) {
        // Asked twice: no more grace.
        supervisor.kill_all();
        return;
      }
      shutting_down = true;
      say("shutting down");
      link.stop();
      port.close();
      // Bounded even if a process outlives its SIGKILL (D state).
      reactor.add_timer(opts.stop_grace + std::chrono::seconds(3), [&reactor] { reactor.stop(); });
      supervisor.shutdown([&reactor] { reactor.stop(); });
    };

    reactor.post([&] {
      try {
        signals = std::make_unique<SignalWatch>(reactor, on_signal);
        const std::uint16_t p = port.listen();
        say(id + " listening on " + std::to_string(p));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "[!] %s\n", e.what());
        exit_code = 1;
        reactor.stop();
        return;
      }
      // What a crashed run left running goes before anything starts again.
      if (!store.previous_children().empty()) {
        stop_leftovers(store.previous_children(), opts.stop_grace);
        store.clear_previous_children();
      }
      services.boot();
      link.start();
    });
    reactor.run();
    store.drain();
    net.stop();
    io.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[!] %s\n", e.what());
    exit_code = 1;
  }
  spawner.reset();
  ::close(stdin_pipe[0]);
  ::close(stdin_pipe[1]);
  return exit_code;
}

}  // namespace hms::dock
