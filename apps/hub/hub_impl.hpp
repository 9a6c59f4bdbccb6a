// Internal: the hub's state, shared by its pieces (one file each):
//   hub.cpp        start, stop, the shard threads and the mesh between them
//   shard.cpp      accepted connections: handshake, kinds, close
//   fanout.cpp     log frames to subscribers, on every shard
//   commands.cpp   the client commands, one method each (control shard)
//   docks.cpp      asking docks and gathering their answers (control shard)
//   placement.cpp  sync's choice of docks (a pure function)
//   metrics.cpp    /metrics, table-driven
//   http.cpp       the plain HTTP routes
//   web_*.cpp      the page (/ui) and its API (/api/): routes, JSON
//                  endpoints, event streams (web_stream.hpp)
//
// ### Threads
// N shards, one reactor thread each, all listening on one port
// (SO_REUSEPORT). Every connection lives on the shard that accepted it. The
// hub's shared state (registry, dock list, subscription counts) belongs to
// shard 0, the control shard: other shards hand it requests through the
// ShardMesh and it hands answers and dock commands back. The log path never
// touches it: a dock's frame is relayed to the subscribers on its own shard
// directly, and handed (as a reference to the same bytes) to the other
// shards that have any subscriber.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "hms/control.hpp"
#include "hms/log.hpp"
#include "hms/mesh.hpp"
#include "hms/peer.hpp"
#include "hms/reactor.hpp"
#include "deploy.hpp"
#include "hub.hpp"
#include "registry.hpp"

namespace hms::hub {

// Error texts the reference terminal sends, byte for byte.
inline constexpr std::string_view kNotFound = "Service not found";
inline constexpr std::string_view kExists = "Service already exist";
inline constexpr std::string_view kBadName = "Service name should be alphanumericish";
inline constexpr std::string_view kBadProtocol = "Server and client do not speak the same protocol";
inline constexpr std::string_view kBadHandshake = "Invalid handshake";
inline constexpr std::string_view kBadToken = "Invalid token";

class HubImpl;
struct Shard;
struct WebShard;  // web_stream.hpp

// `bytes` random bytes (getrandom) as lower-case hex (web_routes.cpp).
std::string random_hex(std::size_t bytes);

struct DockInfo {
  std::string id, hostname, version;
  std::vector<std::string> tags;
  bool is_default = false;
  Shard* shard = nullptr;
  std::weak_ptr<Peer> peer;
  std::string address;        // the peer's "ip:port", for the page
  std::int64_t since_ms = 0;  // handshake time, ms since the epoch
};

struct SvHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// One connection's hub state; owned by its Peer (Peer::user), used on its
// shard's thread (the control shard keeps shared_ptrs to send answers back).
struct ConnState {
  enum class Kind : std::uint8_t { pending, failed, dock, client, stream } kind = Kind::pending;
  Shard* shard = nullptr;
  Peer* peer = nullptr;  // valid until on_close (the peer owns this state)
  std::uint64_t key = 0;
  // Liveness (shard thread): the handshake deadline runs from accepted_at;
  // once handshaken, a ping goes out at next_ping and must be answered
  // within the ping timeout.
  std::size_t slot = 0;  // index in Shard::conns
  std::chrono::steady_clock::time_point accepted_at{}, next_ping{}, ping_sent{};
  bool ping_out = false;
  // client
  std::optional<std::string> route;
  bool globbing = false;  // subscribed to '*'
  std::unordered_set<std::string> local_subs;
  // dock
  std::shared_ptr<DockInfo> dock;
  // stream: an event stream of the page (web_stream.hpp), a subscriber
  // with no Peer; set while its connection is open. Never in the liveness
  // list (it does not handshake).
  Connection* stream = nullptr;
};

// Where an answer goes: the client's Reply, on the client's shard.
struct ReplyTo {
  std::shared_ptr<Reply> reply;
  Shard* from = nullptr;
  // Instead of `reply` (the page's API, a deploy's sync): called on `from`
  // with the outcome.
  std::function<void(bool ok, std::string text)> done;
};

// A client's command on its way to the control shard. The id and payload
// are views into `storage`, the receive buffer (or assembly block) the
// frame arrived in, which carries simdjson's padding: the control shard
// parses the payload where it lies (no copy). Async commands keep what they
// need (ReplyTo, the id as a string) and let the storage go at once, so a
// slow dock never pins a receive buffer.
struct Request {
  Opcode op = Opcode::handshake;
  BufRef storage;
  std::string_view id;       // the service id (before any '@')
  std::string_view payload;  // JSON text, padded
  ReplyTo to;
  std::shared_ptr<ConnState> st;
  std::optional<std::string> route;
  std::uint64_t key = 0;
  PaddedText padded_payload() const noexcept { return {payload.data(), payload.size()}; }
};

// What the shards hand each other through the mesh.
enum class Handoff : std::uint32_t {
  log_frame,  // a dock's event frame: ref + data/len, for local subscribers
  request,    // ptr: Request*, for the control shard
  task,       // ptr: std::function<void()>*, control-plane work
};

struct Shard {
  HubImpl* hub = nullptr;
  unsigned index = 0;
  std::unique_ptr<Reactor> reactor;
  std::thread thread;
  JsonParser parser;  // this thread's
  std::shared_ptr<HandlerTable> pre, client, dock;
  // Local fan-out tables (this shard's thread only).
  std::unordered_map<std::string, std::vector<ConnState*>, SvHash, std::equal_to<>> subs;
  std::vector<ConnState*> star;
  // Entries in the tables above; other shards read it (relaxed) to decide
  // whether to hand a log frame here at all.
  std::atomic<std::uint32_t> local_entries{0};
  // Every connection of this shard, for the liveness sweep.
  std::vector<ConnState*> conns;
  Counter log_frames, deliveries, handoff_drops;
  Counter ping_timeouts, handshake_timeouts, dock_timeouts, invalid_dock_answers;
  // Missed dock deadlines come in floods (70,000 requests to a mute dock):
  // one log line a second, with the count of the ones not logged.
  LogThrottle dock_timeout_log;  // "did not answer" lines
  // The page (web_*.cpp): its event text, made on first use (this thread).
  std::shared_ptr<WebShard> web;
  Counter web_requests, web_refused, web_events, web_event_failures, web_deliveries;
};

// The result of asking one dock something, owned (it crosses shards). For
// a failure, `text` is what a client is told: the dock's own error text, or
// one that names the dock (a deadline missed, a connection gone); a ps
// entry for the dock carries the same text.
struct DockAnswer {
  Result::Status status = Result::Status::ok;
  std::string text;
  bool ok() const { return status == Result::Status::ok; }
};

class HubImpl {
 public:
  explicit HubImpl(const HubOptions& o);
  ~HubImpl();
  void start();
  void stop();
  std::string metrics() const;  // metrics.cpp
  std::uint16_t port = 0;

 private:
  // ---- plumbing (hub.cpp)
  Shard& control() { return *shards_[0]; }
  // Runs fn on shard s: now when already there, else through the mesh.
  void run_on(Shard& s, std::function<void()> fn);
  void to_control(std::function<void()> fn) { run_on(control(), std::move(fn)); }
  void on_handoff(unsigned to, Envelope& e);

  // ---- plain HTTP (http.cpp)
  // Short answers (the banner, /metrics), made whole.
  HttpResponse on_http(const HttpRequest& req);
  // Requests whose body or answer streams (a deploy upload, a tarball, an
  // event stream): true when one of the routes took the connection over.
  bool on_takeover(Shard& s, Connection& c, const HttpRequest& req);
  // A connection taken over leaves the protocol: its Peer lets go of it
  // and its hub state (handshake count, liveness list) goes. The caller
  // then sets the connection's handler.
  void release_to_http(Connection& c);

  // ---- the page and its API (web_routes.cpp, web_api.cpp)
  // /ui and /api/...: true when the request is one of theirs (taken over).
  bool web_takeover(Shard& s, Connection& c, const HttpRequest& req);
  bool web_authorized(const RequestHead& head) const;
  // The JSON endpoints; each answers `to` (on shard s) with status + body.
  using WebAnswer = std::function<void(int status, std::string body)>;
  void web_command(Shard& s, Opcode op, std::string id, WebAnswer to);
  void web_docks(Shard& s, WebAnswer to);
  // GET /api/logs/<id>: the connection becomes an event stream.
  void web_open_stream(Shard& s, Connection& c, std::string id);

  // ---- connections (shard.cpp)
  void setup_shard(Shard& s);
  void sweep(Shard& s);  // liveness: handshake deadline, pings
  void on_accept(Shard& s, Connection& c);
  void on_conn_close(ConnState& st);
  void on_handshake(Shard& s, Peer& p, const Message& m, Reply r);
  void on_client_request(Shard& s, Peer& p, const Message& m, Reply r);

  // ---- fan-out, any shard (fanout.cpp)
  void publish(Shard& s, const FrameView& f, const BufRef& storage);
  void deliver(Shard& s, const FrameView& f, const BufRef& storage);
  void add_local(Shard& s, ConnState* st, const std::string& id);
  void remove_local(Shard& s, ConnState* st, const std::string& id);

  // ---- commands, control shard only (commands.cpp)
  void handle(Request& req);
  void answer(const ReplyTo& to, bool ok, std::string text);
  void cmd_add(Request& req);
  void cmd_update(Request& req);
  void cmd_get(Request& req);
  void cmd_list(Request& req);
  void cmd_remove(Request& req);
  void cmd_status(Request& req);  // start, stop, restart
  void cmd_ps(Request& req);
  void cmd_sync(Request& req);
  void cmd_subscribe(Request& req);
  void cmd_unsubscribe(Request& req);
  // Counts `key`'s subscription to `id`; the docks hear of the first one.
  // False (nothing counted) when there is no such service and id is not '*'.
  bool subscribe_key(std::uint64_t key, const std::string& id);
  void place(const ReplyTo& to, Service service);
  // sync to the chosen docks, start (unless stopped), remove from the rest.
  void tell_docks(const ReplyTo& to, Service service, const std::vector<std::string>& chosen);
  // Merges `opts` into the stored record (as the reference's save) and
  // writes it; `done` runs after the commit with "" or the error. Returns
  // false (and calls nothing) when the merged record breaks a limit, with
  // the error in *refused.
  bool save(const std::string& id, const Service& opts, std::function<void(const std::string&)> done,
            std::string* refused);
  // The record limits of an add/update payload; "" or the error text.
  std::string check_service(const Request& req, const Service* parsed) const;
  void client_gone(std::uint64_t key);
  void global_unsubscribe(const std::string& id);

  // ---- asking docks, control shard only (docks.cpp)
  using Issue = std::function<void(Peer&, ReplyCallback)>;
  using Gathered = std::function<void(bool ok, std::string error, std::vector<std::string> answers)>;
  // Runs `issue` on the dock's shard, within the dock deadline; `done` runs
  // on the control shard, once.
  void dock_call(const std::shared_ptr<DockInfo>& d, Issue issue, std::function<void(DockAnswer)> done);
  // Asks every dock of `list` and calls `cb` once with every answer (in the
  // order they came), failures included.
  using Answers = std::vector<std::pair<std::shared_ptr<DockInfo>, DockAnswer>>;
  void gather(std::vector<std::shared_ptr<DockInfo>> list, const std::function<Issue(const DockInfo&)>& make,
              std::function<void(Answers)> cb);
  // Asks every dock of `list` (make(dock) says what) and calls `cb` once:
  // with every answer, or with the first error.
  void for_each(std::vector<std::shared_ptr<DockInfo>> list,
                const std::function<Issue(const DockInfo&)>& make, Gathered cb);
  std::vector<std::shared_ptr<DockInfo>> routed_docks(const std::optional<std::string>& route) const;
  void dock_subscription(const std::shared_ptr<DockInfo>& d, const std::string& id, bool on);

  HubOptions opts_;
  std::string version_banner_;
  std::vector<std::unique_ptr<Shard>> shards_;
  // After shards_: destroyed first, once the shard threads have stopped.
  std::unique_ptr<ShardMesh> mesh_;
  std::atomic<std::uint64_t> next_key_{1};
  std::atomic<std::int64_t> docks_connected_{0}, clients_connected_{0}, pending_connected_{0};
  std::atomic<std::uint64_t> handshake_errors_{0};
  std::atomic<std::int64_t> streams_connected_{0};  // the page's event streams
  std::string web_session_ = random_hex(16);  // the login cookie's value (web_routes.cpp)
  bool started_ = false;

  // Deploys and tarballs (deploy.hpp); stopped before the shards.
  std::unique_ptr<Deploys> deploys_;
  DeployHost deploy_host();  // deploy_hooks.cpp
  void record_deploy(const std::string& id, Service build, std::function<void(std::string)> done);

  // Control state (shard 0's thread only).
  std::unique_ptr<Registry> registry_;
  std::vector<std::shared_ptr<DockInfo>> docks_;
  std::unordered_map<std::string, std::uint32_t> sub_counts_;
  std::unordered_map<std::uint64_t, std::unordered_set<std::string>> client_subs_;
  std::mt19937 rng_{std::random_device{}()};
  std::atomic<std::uint64_t> services_{0};
};

// Whether an id is a service name the reference accepts: ^[a-zA-Z0-9.-]+$.
bool valid_service_name(std::string_view id);
// Compares without an early exit (the time taken does not tell how much of
// a guessed token was right).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace hms::hub
