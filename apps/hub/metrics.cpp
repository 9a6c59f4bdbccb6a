// GET /metrics: Prometheus text, from one table. Counters are read live
// from every shard (relaxed atomics: no snapshot period).
#include <cstdio>

#include "hub_impl.hpp"

namespace hms::hub {

namespace {

struct Writer {
  std::string out;
  void header(const char* name, const char* help, const char* type) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
  }
  void sample(const char* name, const char* labels, double v) {
    out += name;
    out += labels;
    char buf[64];
    std::snprintf(buf, sizeof buf, " %.17g\n", v);
    out += buf;
  }
};

// Counters every reactor keeps, summed over the shards.
struct ReactorCounter {
  const char* name;
  const char* help;
  Counter ReactorStats::*field;
  double scale = 1;
};
constexpr ReactorCounter kReactorCounters[] = {
    {"hms_frames_in_total", "Frames received.", &ReactorStats::frames_in},
    {"hms_bytes_in_total", "Bytes received.", &ReactorStats::bytes_in},
    {"hms_frames_out_total", "Frames queued for sending.", &ReactorStats::frames_out},
    {"hms_bytes_out_total", "Bytes sent.", &ReactorStats::bytes_out},
    {"hms_assembled_frames_total", "Frames that straddled receive buffers (copied once).",
     &ReactorStats::assembled_frames},
    {"hms_pinned_copies_total", "Relayed frames copied out under receive-buffer pressure.",
     &ReactorStats::pinned_copies},
    {"hms_protocol_errors_total", "Connections closed for bad bytes.", &ReactorStats::protocol_errors},
    {"hms_slow_client_disconnects_total", "Connections closed for exceeding output limits.",
     &ReactorStats::slow_disconnects},
    {"hms_recv_buffer_stalls_total", "Receives delayed for want of buffers.", &ReactorStats::buffer_stalls},
    {"hms_accept_errors_total", "Accepts that failed (out of descriptors included).", &ReactorStats::accept_errors},
    {"hms_reactor_loop_iterations_total", "Reactor loop iterations.", &ReactorStats::loop_iterations},
    {"hms_reactor_wakeups_total", "Reactor wake-ups through the eventfd.", &ReactorStats::wakeups},
    {"hms_reactor_busy_seconds_total", "Reactor time spent outside the wait.", &ReactorStats::loop_busy_ns, 1e-9},
    {"hms_read_timeouts_total", "Connections closed: a frame or HTTP head begun was not finished in time.",
     &ReactorStats::read_timeouts},
    {"hms_budget_closes_total", "Connections closed: their partial frame would pass the memory budget.",
     &ReactorStats::budget_closes},
    {"hms_oom_closes_total", "Connections closed for an allocation failure.", &ReactorStats::oom_closes},
    {"hms_accept_shed_total", "Connections refused at once at the descriptor limit.", &ReactorStats::accept_shed},
};

// Counters the hub keeps per shard, summed.
struct ShardCounter {
  const char* name;
  const char* help;
  Counter Shard::*field;
};
constexpr ShardCounter kShardCounters[] = {
    {"hms_log_frames_total", "Log and process events received from docks.", &Shard::log_frames},
    {"hms_log_deliveries_total", "Log and process events queued to clients.", &Shard::deliveries},
    {"hms_handoff_drops_total", "Log frames dropped because another shard could not keep up.",
     &Shard::handoff_drops},
    {"hms_ping_timeouts_total", "Peers dropped for not answering a ping in time.", &Shard::ping_timeouts},
    {"hms_handshake_timeouts_total", "Connections closed for not handshaking in time.", &Shard::handshake_timeouts},
    {"hms_dock_timeouts_total", "Requests to docks that missed their deadline.", &Shard::dock_timeouts},
    {"hms_invalid_dock_answers_total", "Dock answers that were not what the request asks for.",
     &Shard::invalid_dock_answers},
    {"hms_web_requests_total", "HTTP requests to the page and its API (/ui, /api/).", &Shard::web_requests},
    {"hms_web_refused_total", "Page and API requests refused for want of the token.", &Shard::web_refused},
    {"hms_web_events_total", "Log and process events written as event-stream text (once per frame and thread).",
     &Shard::web_events},
    {"hms_web_event_failures_total", "Events not written for the page for want of memory.",
     &Shard::web_event_failures},
    {"hms_web_deliveries_total", "Log and process events queued to the page's event streams.",
     &Shard::web_deliveries},
};

// Deploy counters (deploy.hpp).
struct DeployCounter {
  const char* name;
  const char* help;
  std::atomic<std::uint64_t> DeployCounters::*field;
};
constexpr DeployCounter kDeployCounters[] = {
    {"hms_deploys_total", "Deploys received (PUT /<id>).", &DeployCounters::deploys},
    {"hms_deploys_succeeded_total", "Deploys built and recorded.", &DeployCounters::deploys_ok},
    {"hms_deploys_failed_total", "Deploys that failed (the previous build stays).", &DeployCounters::deploys_failed},
    {"hms_tarballs_served_total", "Build tarballs sent (GET /<id>).", &DeployCounters::tarballs},
    {"hms_deploys_refused_busy_total", "Deploys and downloads answered 503: too many at once.",
     &DeployCounters::refused_busy},
};

}  // namespace

std::string HubImpl::metrics() const {
  Writer w;
  w.header("hms_connections", "Open connections by kind.", "gauge");
  w.sample("hms_connections", "{kind=\"dock\"}", static_cast<double>(docks_connected_.load(std::memory_order_relaxed)));
  w.sample("hms_connections", "{kind=\"client\"}",
           static_cast<double>(clients_connected_.load(std::memory_order_relaxed)));
  w.sample("hms_connections", "{kind=\"handshaking\"}",
           static_cast<double>(pending_connected_.load(std::memory_order_relaxed)));
  w.sample("hms_connections", "{kind=\"event_stream\"}",
           static_cast<double>(streams_connected_.load(std::memory_order_relaxed)));
  w.header("hms_services", "Services in the registry.", "gauge");
  w.sample("hms_services", "", static_cast<double>(services_.load(std::memory_order_relaxed)));
  for (const auto& c : kReactorCounters) {
    double sum = 0;
    for (const auto& s : shards_) sum += static_cast<double>((s->reactor->stats().*c.field).get());
    w.header(c.name, c.help, "counter");
    w.sample(c.name, "", sum * c.scale);
  }
  for (const auto& c : kShardCounters) {
    double sum = 0;
    for (const auto& s : shards_) sum += static_cast<double>(((*s).*c.field).get());
    w.header(c.name, c.help, "counter");
    w.sample(c.name, "", sum);
  }
  for (const auto& c : kDeployCounters) {
    w.header(c.name, c.help, "counter");
    w.sample(c.name, "", static_cast<double>((deploys_->counters().*c.field).load(std::memory_order_relaxed)));
  }
  w.header("hms_deploy_jobs", "Deploys and tarball downloads running now.", "gauge");
  w.sample("hms_deploy_jobs", "", static_cast<double>(deploys_->active()));
  w.header("hms_handshake_errors_total", "Refused handshakes.", "counter");
  w.sample("hms_handshake_errors_total", "", static_cast<double>(handshake_errors_.load(std::memory_order_relaxed)));
  w.header("hms_partial_bytes", "Bytes held by partly received frames (all connections).", "gauge");
  w.sample("hms_partial_bytes", "", static_cast<double>(partial_bytes()));
  w.header("hms_registry_writes_total", "Registry writes committed.", "counter");
  w.sample("hms_registry_writes_total", "", static_cast<double>(registry_->writes()));
  w.header("hms_registry_commits_total", "Registry transactions (one fsync each; writes are grouped).", "counter");
  w.sample("hms_registry_commits_total", "", static_cast<double>(registry_->commits()));
  w.header("hms_reactor_threads", "Reactor threads.", "gauge");
  w.sample("hms_reactor_threads", "", static_cast<double>(shards_.size()));
  return std::move(w.out);
}

}  // namespace hms::hub
