#include "harness/ref_pair.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace hms::attack {

std::string node_missing() {
  if (access(HMS_NODE, X_OK) != 0)
    return std::string("node not found at configure time ('") + HMS_NODE + "'): install Node.js and re-run cmake";
  if (access(HMS_NODE_MODULES "/hms-protocol/index.js", R_OK) != 0)
    return "hms-protocol is not installed in " HMS_NODE_MODULES " (the node_npm_install fixture installs it)";
  return {};
}

NodeProc::NodeProc(const std::string& conf_json) {
  if (const std::string why = node_missing(); !why.empty()) throw std::runtime_error(why);
  ::signal(SIGPIPE, SIG_IGN);
  int out[2], in[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args{HMS_NODE, HMS_ATTACK_NODE_SCRIPTS "/ref_peer.js", conf_json};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  env_s.emplace_back("NODE_PATH=" HMS_NODE_MODULES);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out[1], 1);
    dup2(in[0], 0);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(in[0]);
  out_ = out[0];
  in_ = in[1];
  reader_ = std::thread([this] {
    std::string buf;
    for (;;) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char tmp[65536];
      const ssize_t n = ::read(out_, tmp, sizeof tmp);
      std::lock_guard l(mu_);
      if (n <= 0) {
        eof_ = true;
        cv_.notify_all();
        return;
      }
      buf.append(tmp, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = buf.find('\n')) != std::string::npos;) {
        lines_.push_back(buf.substr(0, nl));
        taken_.push_back(false);
        buf.erase(0, nl + 1);
      }
      cv_.notify_all();
    }
  });
}

NodeProc::~NodeProc() {
  finish();
  if (reader_.joinable()) reader_.join();
  if (out_ >= 0) ::close(out_);
}

void NodeProc::finish() {
  if (in_ >= 0) {
    ::close(in_);
    in_ = -1;
  }
  if (pid_ <= 0) return;
  int st = 0;
  const bool gone = eventually([&] { return ::waitpid(pid_, &st, WNOHANG) == pid_; }, 3s);
  if (!gone) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &st, 0);
  }
  pid_ = -1;
}

bool NodeProc::send(const std::string& line) {
  if (in_ < 0) return false;
  std::string l = line + "\n";
  std::string_view d(l);
  while (!d.empty()) {
    const ssize_t n = ::write(in_, d.data(), d.size());
    if (n <= 0) return false;
    d.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<std::string> NodeProc::take(const std::string& prefix, Ms timeout) {
  std::unique_lock l(mu_);
  std::optional<std::string> found;
  cv_.wait_for(l, timeout, [&] {
    for (std::size_t i = 0; i < lines_.size(); ++i)
      if (!taken_[i] && lines_[i].compare(0, prefix.size(), prefix) == 0) {
        taken_[i] = true;
        found = lines_[i];
        return true;
      }
    return eof_;
  });
  return found;
}

bool NodeProc::said(const std::string& prefix) {
  std::lock_guard l(mu_);
  for (const auto& s : lines_)
    if (s.compare(0, prefix.size(), prefix) == 0) return true;
  return false;
}

bool NodeProc::ended() {
  std::lock_guard l(mu_);
  return eof_;
}

std::string NodeProc::transcript() {
  std::lock_guard l(mu_);
  std::string t;
  const std::size_t from = lines_.size() > 10 ? lines_.size() - 10 : 0;
  for (std::size_t i = from; i < lines_.size(); ++i) t += "    " + printable(lines_[i], 300) + "\n";
  if (eof_) t += "    <end of output>\n";
  return t;
}

// ---------------------------------------------------------------- RefPair

namespace {

// The number after "key": in a JSON line (-1 when absent).
long json_long(const std::string& line, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  const std::size_t p = line.find(k);
  if (p == std::string::npos) return -1;
  return std::strtol(line.c_str() + p + k.size(), nullptr, 10);
}

}  // namespace

RefPair::RefPair(std::uint16_t port) {
  const std::string p = std::to_string(port);
  dock_ = std::make_unique<NodeProc>(R"({"port":)" + p + R"(,"role":"dock","id":")" + kDockId +
                                     R"(","tags":["ref"],"service":")" + kService + "\"}");
  client_ = std::make_unique<NodeProc>(R"({"port":)" + p + R"(,"role":"client","service":")" + kService + "\"}");
  const std::string ok = R"({"event":"handshake","err":null,)";
  for (NodeProc* n : {dock_.get(), client_.get()}) {
    const auto hs = n->take(R"({"event":"handshake")", 20s);
    if (!hs || hs->compare(0, ok.size(), ok) != 0)
      throw std::runtime_error("reference peer did not handshake: " + hs.value_or("<nothing>") + "\n" + n->transcript());
  }
  auto r = call("add", std::string(R"([")") + kService + R"(",{"start":"run","tags":["ref"]}])");
  if (r.first != "null" && r.first != R"("Service already exist")")
    throw std::runtime_error("reference client could not add the service: " + r.first);
  r = call("subscribe", std::string(R"([")") + kService + "\"]");
  if (r.first != "null") throw std::runtime_error("reference client could not subscribe: " + r.first);
  // The dock hears the subscription; from the client's reply on, every line
  // the dock writes reaches it.
  if (!dock_->take(R"({"event":"call","op":"subscribe","args":["ref"]})", 20s))
    throw std::runtime_error("the hub did not subscribe the reference dock:\n" + dock_->transcript());
  // 2 lines every 10 ms: 200 lines/s through the hub all along.
  dock_->send(R"({"op":"stream","interval":10,"batch":2})");
  if (!dock_->take(R"({"event":"streaming")", 10s)) throw std::runtime_error("reference dock did not stream");
}

RefPair::~RefPair() {
  client_->finish();
  dock_->finish();
}

std::pair<std::string, std::string> RefPair::call(const std::string& name, const std::string& args_json, Ms timeout) {
  const int seq = ++seq_;
  client_->send(R"({"op":"call","seq":)" + std::to_string(seq) + R"(,"name":")" + name + R"(","args":)" + args_json +
                "}");
  const auto line = client_->take(R"({"event":"reply","seq":)" + std::to_string(seq) + ",", timeout);
  if (!line) return {"\"<no reply>\"", ""};
  const std::string e = R"(,"err":)", v = R"(,"value":)";
  const std::size_t ep = line->find(e), vp = line->rfind(v);
  if (ep == std::string::npos || vp == std::string::npos || vp < ep) return {"\"<odd reply>\"", *line};
  return {line->substr(ep + e.size(), vp - ep - e.size()), line->substr(vp + v.size(), line->size() - vp - v.size() - 1)};
}

long RefPair::received() {
  client_->send(R"({"op":"report"})");
  const auto r = client_->take(R"({"event":"report")", 10s);
  return r ? json_long(*r, "received") : -1;
}

void RefPair::check(const std::string& when) {
  SCOPED_TRACE("reference pair, " + when);
  ASSERT_FALSE(dock_->said(R"({"event":"closed")")) << "the hub dropped the reference dock\n" << dock_->transcript();
  ASSERT_FALSE(client_->said(R"({"event":"closed")")) << "the hub dropped the reference client\n"
                                                       << client_->transcript();
  ASSERT_FALSE(dock_->ended()) << "the reference dock died\n" << dock_->transcript();
  ASSERT_FALSE(client_->ended()) << "the reference client died\n" << client_->transcript();
  dock_->send(R"({"op":"mark"})");
  const auto mark = dock_->take(R"({"event":"mark")", 10s);
  ASSERT_TRUE(mark) << "reference dock does not answer its pipe\n" << dock_->transcript();
  const long sent = json_long(*mark, "sent");
  std::string report;
  long got = -1;
  const bool caught_up = eventually(
      [&] {
        client_->send(R"({"op":"report"})");
        const auto r = client_->take(R"({"event":"report")", 10s);
        if (!r) return false;
        report = *r;
        got = json_long(report, "received");
        return got >= sent || json_long(report, "errors") > 0;
      },
      kSanitized ? 30s : 15s, 50ms);
  EXPECT_TRUE(caught_up) << "the client got " << got << " of the " << sent << " lines the dock wrote: " << report;
  EXPECT_EQ(json_long(report, "errors"), 0) << "lines lost or out of order: " << report;
  EXPECT_EQ(json_long(report, "last") + 1, json_long(report, "received")) << report;
  EXPECT_GT(sent, 0) << "the reference dock wrote nothing";
  // Commands still work for the reference client, and ps reaches the dock
  // (the reference parses the answer: a bad one would kill the client).
  const auto [err, value] = call("ps", "[]");
  EXPECT_EQ(err, "null") << value;
  EXPECT_NE(value.find(std::string(R"({"id":")") + kDockId + "\""), std::string::npos) << printable(value, 2000);
}

}  // namespace hms::attack
