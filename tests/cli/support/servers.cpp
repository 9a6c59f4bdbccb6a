#include "support/servers.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace hms::clitest {

const char* to_string(HubKind k) { return k == HubKind::native ? "hms_hub" : "node_terminal"; }

std::vector<std::string> hms_argv(const std::vector<std::string>& args) {
  std::vector<std::string> v{HMS_CLI_BINARY};
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

std::vector<std::string> node_argv(const std::vector<std::string>& args) {
  std::vector<std::string> v{HMS_NODE, "-r", HMS_NODE_PRELOAD, std::string(HMS_NODE_MODULES) + "/hms/bin/hms.js"};
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

RunOptions cli_options(const TempDir& dir, RunOptions o) {
  o.env["HOME"] = dir.mkdir("home");
  o.env["TMPDIR"] = dir.mkdir("tmp");
  if (o.cwd.empty()) o.cwd = dir.path();
  if (!o.tty) o.unset.push_back("COLORTERM");
  if (!o.env.count("TERM")) o.env["TERM"] = "xterm";
  return o;
}

RunResult hms(const TempDir& dir, const std::vector<std::string>& args, RunOptions o) {
  return run(hms_argv(args), cli_options(dir, std::move(o)));
}

RunResult node_hms(const TempDir& dir, const std::vector<std::string>& args, RunOptions o) {
  o.timeout = std::max(o.timeout, std::chrono::milliseconds(30s));
  return run(node_argv(args), cli_options(dir, std::move(o)));
}

// ---------------------------------------------------------------- hubs

Hub::Hub(HubKind kind, const TempDir& dir) : kind_(kind) {
  if (kind == HubKind::native) {
    RunOptions o;
    o.cwd = dir.mkdir("hub");
    proc_ = std::make_unique<Background>(
        std::vector<std::string>{HMS_HUB_BINARY, "--port", "0", "--address", "127.0.0.1", "--db",
                                 dir.file("hub/hub.db"), "--threads", "1", "--log-level", "info"},
        o);
    const std::string marker = "listening on port ";
    if (!proc_->wait_out_has("\n"))
      throw std::runtime_error("hms-hub did not start: " + proc_->out() + proc_->err());
    const std::string out = proc_->out();
    port_ = std::stoi(out.substr(out.find(marker) + marker.size()));
    return;
  }
  // The reference terminal takes a port; a free one may be taken by the
  // time it binds (it then dies of EADDRINUSE): try again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();
    RunOptions o;
    o.cwd = dir.mkdir("term");
    proc_ = std::make_unique<Background>(node_argv({"terminal", "--port", std::to_string(port_)}), o);
    if (proc_->wait_out_has("listening on " + std::to_string(port_), 30s)) return;
    proc_->stop();
  }
  throw std::runtime_error("the Node terminal did not start: " + proc_->out() + proc_->err());
}

Hub::~Hub() { stop(); }

void Hub::stop() {
  if (proc_) proc_->stop();
}

std::string Hub::log() { return proc_ ? proc_->out() + proc_->err() : std::string(); }

NodeDock::NodeDock(const Hub& hub, const TempDir& dir, const std::string& id, const std::vector<std::string>& tags) {
  port_ = free_port();
  std::vector<std::string> args{"dock", hub.remote(), "--port", std::to_string(port_), "--id", id};
  for (const auto& t : tags) args.insert(args.end(), {"--tag", t});
  RunOptions o;
  o.cwd = dir.mkdir("dock-" + id);
  proc_ = std::make_unique<Background>(node_argv(args), o);
  // Up when the hub lists it in ps.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    RunOptions q;
    q.env["HOME"] = dir.mkdir("home");
    const RunResult r = run(hms_argv({"ps", hub.remote()}), q);
    if (r.out.find(id) != std::string::npos) return;
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("the Node dock did not connect: " + log());
}

// ---------------------------------------------------------------- fake dock

FakeDock::FakeDock(const Hub& hub, std::string id, std::vector<std::string> tags) : id_(std::move(id)) {
  std::promise<hms::Result::Status> hs;
  auto f = hs.get_future();
  loop_.call([&] {
    ConnectOptions co;
    co.origin = id_;
    peer_ = Peer::connect(loop_.reactor(), "127.0.0.1:" + std::to_string(hub.port()), co);
    const auto ok = [](Peer&, const Message&, Reply r) { r.ok(); };
    for (Opcode op : {Opcode::update, Opcode::stop, Opcode::sync, Opcode::remove}) peer_->on(op, ok);
    for (Opcode op : {Opcode::start, Opcode::restart}) {
      peer_->on(op, [this](Peer& p, const Message& m, Reply r) {
        if (const std::int64_t pid = spawn_pid_.load()) p.spawn(m.service, id_, pid);
        r.ok();
      });
    }
    peer_->on(Opcode::subscribe, [this](Peer&, const Message& m, Reply r) {
      {
        std::lock_guard l(mu_);
        subs_.insert(m.id.empty() ? "*" : std::string(m.id));
      }
      changed_.update([](int& n) { ++n; });
      r.ok();
    });
    peer_->on(Opcode::unsubscribe, [this](Peer&, const Message& m, Reply r) {
      std::lock_guard l(mu_);
      subs_.erase(std::string(m.id));
      r.ok();
    });
    peer_->on(Opcode::ps, [this](Peer&, const Message&, Reply r) {
      std::lock_guard l(mu_);
      r.ok(R"([{"id":")" + id_ + R"(","list":)" + procs_ + "}]");
    });
    peer_->on(Opcode::list, [](Peer&, const Message&, Reply r) { r.ok("[]"); });
    std::string json = R"({"type":"dock","id":")" + id_ + R"(","tags":[)";
    for (std::size_t i = 0; i < tags.size(); ++i) json += (i ? ",\"" : "\"") + tags[i] + "\"";
    json += R"(],"default":false,"version":"test"})";
    peer_->handshake(json, [&hs](const hms::Result& r) { hs.set_value(r.status); });
  });
  if (f.wait_for(10s) != std::future_status::ready || f.get() != hms::Result::Status::ok)
    throw std::runtime_error("fake dock " + id_ + ": no handshake");
}

FakeDock::~FakeDock() {
  loop_.call([&] {
    if (peer_ && !peer_->closed()) peer_->close();
  });
  loop_.stop();
}

bool FakeDock::wait_subscribed(const std::string& service, std::chrono::milliseconds d) {
  return changed_.wait_for(
      [&](int) {
        std::lock_guard l(mu_);
        return subs_.count(service) || subs_.count("*");
      },
      d);
}

void FakeDock::stdout_(const std::string& service, const std::string& data) {
  loop_.call([&] { peer_->write_stdout(service, id_, data); });
}
void FakeDock::stderr_(const std::string& service, const std::string& data) {
  loop_.call([&] { peer_->write_stderr(service, id_, data); });
}
void FakeDock::spawn(const std::string& service, std::int64_t pid) {
  loop_.call([&] { peer_->spawn(service, id_, pid); });
}
void FakeDock::exit(const std::string& service, const std::string& code_json) {
  loop_.call([&] { peer_->exit(service, id_, code_json); });
}
void FakeDock::set_processes(std::string json) {
  std::lock_guard l(mu_);
  procs_ = std::move(json);
}

}  // namespace hms::clitest
