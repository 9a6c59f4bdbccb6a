// dock_spawn_1000 / dock_rss_1000: a hub just capable enough to deploy N
// `sleep` services to one dock the way a hub does (sync with a build served
// on `GET /<id>`, then start), timing it.
//
//   spawn_hub --services N --dock-pid-file F [--timeout S]
//
// Prints "port P" once listening; the dock is started against it. From the
// dock's handshake on, every service is synced (pipelined) and started as
// its sync completes; the clock stops when the dock has reported a spawn
// (with a pid) for every one, and ps confirms them all running. Then:
//   metric spawn_s X       seconds from the first sync to all running
//   metric dock_rss_mb X   the dock's resident memory then (VmRSS)
#include <archive.h>
#include <archive_entry.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "hms/peer.hpp"
#include "hms/reactor.hpp"

namespace {

std::string tiny_tarball() {
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  std::string buf(1 << 16, '\0');
  std::size_t used = 0;
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "README");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, 6);
  archive_write_header(a, e);
  archive_write_data(a, "build\n", 6);
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  buf.resize(used);
  return buf;
}

double rss_mb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int services = 1000;
  std::string pid_file;
  double timeout = 60;
  CLI::App app{"spawn_hub: deploys N sleep services to one dock and times it"};
  app.add_option("--services", services)->capture_default_str();
  app.add_option("--dock-pid-file", pid_file)->required();
  app.add_option("--timeout", timeout)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  hms::Reactor reactor;
  const std::string tgz = tiny_tarball();
  hms::ListenOptions lo;
  lo.http = [&tgz](const hms::HttpRequest&) {
    hms::HttpResponse r;
    r.content_type = "application/octet-stream";
    r.body = tgz;
    return r;
  };
  std::shared_ptr<hms::Peer> dock;
  std::chrono::steady_clock::time_point t0, t1;
  int spawned = 0, failures = 0, synced = 0;
  int exit_code = 1;
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "spawn_hub: %s\n", why.c_str());
    ++failures;
    reactor.stop();
  };
  auto finish = [&] {
    // Every spawn reported: confirm with ps.
    dock->ps([&](const hms::Result& r) {
      std::size_t running = 0;
      const std::string_view t = r.text;
      for (std::size_t p = t.find("\"status\":\"running\""); p != std::string_view::npos;
           p = t.find("\"status\":\"running\"", p + 1))
        ++running;
      if (running != static_cast<std::size_t>(services))
        return fail("ps shows " + std::to_string(running) + " running, want " + std::to_string(services));
      int pid = 0;
      std::ifstream(pid_file) >> pid;
      std::printf("metric spawn_s %.3f\n", std::chrono::duration<double>(t1 - t0).count());
      std::printf("metric dock_rss_mb %.1f\n", rss_mb(pid));
      std::fflush(stdout);
      exit_code = 0;
      reactor.stop();
    });
  };
  reactor.post([&] {
    hms::Listener& l = reactor.listen("127.0.0.1:0", lo, [&](hms::Connection& c) {
      auto p = hms::Peer::attach(c);
      p->on(hms::Opcode::spawn, [&](hms::Peer&, const hms::Message& m, hms::Reply) {
        if (m.payload == "null") return fail("a service did not spawn");
        if (++spawned == services) {
          t1 = std::chrono::steady_clock::now();
          finish();
        }
      });
      p->on(hms::Opcode::handshake, [&](hms::Peer& peer, const hms::Message&, hms::Reply r) {
        r.ok(R"({"type":"terminal","version":"spawn-bench"})");
        dock = peer.shared_from_this();
        peer.subscribe("*", {});
        t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < services; ++i) {
          const std::string id = "svc-" + std::to_string(i);
          const std::string json = R"({"id":")" + id + R"(","start":"sleep 100000","deployed":"bench"})";
          peer.sync(id, json, [&, id](const hms::Result& sr) {
            if (!sr.ok()) return fail("sync " + id + ": " + std::string(sr.text));
            if (++synced == services)
              std::fprintf(stderr, "spawn_hub: all synced after %.3f s\n",
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            dock->start(id, [&, id](const hms::Result& st) {
              if (!st.ok()) fail("start " + id + ": " + std::string(st.text));
            });
          });
        }
      });
    });
    std::printf("port %u\n", reactor.listen_port(l));
    std::fflush(stdout);
  });
  reactor.add_timer(std::chrono::milliseconds(static_cast<long>(timeout * 1000)), [&] {
    fail("timed out with " + std::to_string(spawned) + " of " + std::to_string(services) + " spawned");
  });
  reactor.run();
  return failures ? 1 : exit_code;
}
