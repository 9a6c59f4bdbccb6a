// The hub: start and stop, the shard threads, and the mesh between them.
#include <sys/resource.h>

#include <algorithm>
#include <stdexcept>

#include "hms/log.hpp"
#include "hub_impl.hpp"

namespace hms::hub {

namespace {
// The shard whose reactor runs on this thread (nullptr elsewhere).
thread_local Shard* tls_shard = nullptr;
}  // namespace

HubImpl::HubImpl(const HubOptions& o) : opts_(o) {
  if (opts_.threads == 0) throw std::invalid_argument("--threads must be at least 1");
  if (opts_.threads > 64) throw std::invalid_argument("--threads must be at most 64");
  // Registry completions run on the control shard (it exists by the time
  // the first write is queued: writes come from commands).
  registry_ = std::make_unique<Registry>(opts_.db, [this](std::function<void()> fn) {
    control().reactor->post(std::move(fn));
  });
  services_.store(registry_->size(), std::memory_order_relaxed);
  version_banner_ = std::string("hms-terminal ") + kHubVersion + "\n";
  DeployOptions d;
  d.builds = opts_.builds;
  d.build_timeout = opts_.build_timeout;
  d.upload_timeout = opts_.upload_timeout;
  d.max_jobs = opts_.max_deploys;
  // An upload that stalls is a body begun and not finished: --read-timeout.
  if (opts_.read_timeout.count() > 0)
    d.upload_idle = std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(opts_.read_timeout));
  d.keep_old_builds = opts_.keep_old_builds;
  deploys_ = std::make_unique<Deploys>(std::move(d), deploy_host());
}

HubImpl::~HubImpl() { stop(); }

void HubImpl::start() {
  // Thousands of docks need thousands of descriptors: raise the soft limit
  // to the hard one.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  set_partial_budget(opts_.partial_budget);
  map_big_allocations();
  std::vector<Reactor*> reactors;
  for (unsigned i = 0; i < opts_.threads; ++i) {
    auto s = std::make_unique<Shard>();
    s->hub = this;
    s->index = i;
    ReactorOptions ro;
    ro.recv_buffers = opts_.recv_buffers;
    ro.recv_buffer_size = opts_.recv_buffer_size;
    s->reactor = std::make_unique<Reactor>(ro);
    reactors.push_back(s->reactor.get());
    shards_.push_back(std::move(s));
  }
  if (shards_.size() > 1)
    mesh_ = std::make_unique<ShardMesh>(
        reactors, [this](unsigned to, unsigned, Envelope& e) { on_handoff(to, e); },
        [](Envelope& e) {  // left over at shutdown: free what ptr owns
          if (e.kind == static_cast<std::uint32_t>(Handoff::request)) delete static_cast<Request*>(e.ptr);
          if (e.kind == static_cast<std::uint32_t>(Handoff::task)) delete static_cast<std::function<void()>*>(e.ptr);
        });
  const std::string host = opts_.address.find(':') != std::string::npos ? "[" + opts_.address + "]" : opts_.address;
  std::uint16_t bound = opts_.port;
  for (auto& sp : shards_) {
    Shard& s = *sp;
    setup_shard(s);
    ListenOptions lo;
    lo.conn.limits = opts_.client_limits;
    // Little before the handshake (raised after it, in on_handshake); a
    // frame or head begun must finish in time.
    lo.conn.decode.max_body = opts_.max_frame_before_handshake;
    lo.conn.read_timeout = opts_.read_timeout;
    lo.reuse_port = opts_.threads > 1;
    lo.banner = version_banner_;
    lo.http = [this](const HttpRequest& req) { return on_http(req); };
    lo.http_takeover = [this, &s](Connection& c, const HttpRequest& req) { return on_takeover(s, c, req); };
    Listener& l = s.reactor->listen(host + ":" + std::to_string(bound), lo,
                                    [this, &s](Connection& c) { on_accept(s, c); });
    bound = s.reactor->listen_port(l);
  }
  port = bound;
  const auto sweep_every = std::clamp(std::min(opts_.ping_timeout, opts_.handshake_timeout) / 4,
                                      std::chrono::milliseconds(20), std::chrono::milliseconds(1000));
  for (auto& sp : shards_) {
    Shard* s = sp.get();
    s->reactor->add_periodic(sweep_every, [this, s] { sweep(*s); });
    s->thread = std::thread([s] {
      tls_shard = s;
      s->reactor->run();
      tls_shard = nullptr;
    });
  }
  started_ = true;
  HMS_LOG(info, "hub listening on %s:%u (%u thread%s, %s, registry %s with %zu services)", host.c_str(), port,
          opts_.threads, opts_.threads == 1 ? "" : "s", to_string(shards_[0]->reactor->backend()), opts_.db.c_str(),
          static_cast<std::size_t>(services_.load(std::memory_order_relaxed)));
}

void HubImpl::stop() {
  if (!started_) return;
  started_ = false;
  deploys_->stop();  // its jobs post to the shards: they go first
  for (auto& s : shards_) s->reactor->stop();
  for (auto& s : shards_)
    if (s->thread.joinable()) s->thread.join();
  mesh_.reset();  // after the threads, before the reactors (hms/mesh.hpp)
}

// ---------------------------------------------------------------- hand-off

void HubImpl::run_on(Shard& s, std::function<void()> fn) {
  Shard* here = tls_shard;
  if (here == &s) {
    fn();
    return;
  }
  if (!here || !mesh_) {  // not on a shard thread (start-up, tests)
    s.reactor->post(std::move(fn));
    return;
  }
  Envelope e;
  e.kind = static_cast<std::uint32_t>(Handoff::task);
  e.ptr = new std::function<void()>(std::move(fn));
  mesh_->send(here->index, s.index, e);
}

void HubImpl::on_handoff(unsigned to, Envelope& e) {
  Shard& s = *shards_[to];
  switch (static_cast<Handoff>(e.kind)) {
    case Handoff::log_frame: {
      const DecodeResult r = decode_frame(e.data, e.len);
      if (r.status == DecodeStatus::frame) deliver(s, r.frame, e.ref);
      return;
    }
    case Handoff::request: {
      std::unique_ptr<Request> req(static_cast<Request*>(e.ptr));
      handle(*req);
      return;
    }
    case Handoff::task: {
      std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(e.ptr));
      (*fn)();
      return;
    }
  }
}

// ---------------------------------------------------------------- facade

Hub::Hub(const HubOptions& opts) : impl_(std::make_unique<HubImpl>(opts)) {}
Hub::~Hub() { impl_->stop(); }
void Hub::start() { impl_->start(); }
void Hub::stop() { impl_->stop(); }
std::uint16_t Hub::port() const { return impl_->port; }
std::string Hub::metrics() const { return impl_->metrics(); }

bool parse_env_assignment(std::string_view text, std::pair<std::string, std::string>* out) {
  // The reference splits at every '=' and keeps parts 0 and 1 only.
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) return false;
  std::string_view rest = text.substr(eq + 1);
  const auto eq2 = rest.find('=');
  if (eq2 != std::string_view::npos) rest = rest.substr(0, eq2);
  std::string key(trim_json_space(text.substr(0, eq)));
  std::string val(trim_json_space(rest));
  if (key.empty() || val.empty()) return false;
  *out = {std::move(key), std::move(val)};
  return true;
}

bool valid_service_name(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-';
    if (!ok) return false;
  }
  return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

}  // namespace hms::hub
