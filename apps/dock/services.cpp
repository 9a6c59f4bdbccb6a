#include "dock/services.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "dock/outputs.hpp"
#include "dock/procstat.hpp"
#include "dock/say.hpp"
#include "dock/shell_words.hpp"
#include "dock/store.hpp"
#include "dock/supervisor.hpp"
#include "hms/reactor.hpp"

namespace hms::dock {

namespace {

// As JavaScript's Date#toISOString: 2026-12-01T17:24:47.480Z.
std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

bool Services::valid(const Service& s) const {
  static const std::vector<std::string> none;
  const std::vector<std::string>& tags = s.tags ? *s.tags : none;
  if (tags.empty() && ctx_.opts.is_default) return true;
  for (const auto& t : tags) {
    if (t == ctx_.id) return true;
    for (const auto& mine : ctx_.opts.tags)
      if (t == mine) return true;
  }
  return false;
}

bool Services::define(const std::string& id, const Service& s) {
  if (!s.start || !s.cwd) return false;
  // xtend({SERVICE_NAME: id}, service.env): SERVICE_NAME first, and the
  // service's own env may override it in place.
  EnvList env{{"SERVICE_NAME", id}};
  if (s.env) {
    for (const auto& [k, v] : *s.env) {
      if (k == "SERVICE_NAME") env[0].second = v;
      else env.emplace_back(k, v);
    }
  }
  Words w = split_command(*s.start, env);
  ProcessSpec spec;
  spec.cwd = *s.cwd;
  spec.env = std::move(env);
  if (w.error.empty()) {
    spec.command = std::move(w.argv);
  } else {
    spec.command = {*s.start};
    spec.error = std::move(w.error);
  }
  return ctx_.supervisor.define(id, std::move(spec), s.revision, s.deployed);
}

void Services::save_stopped(const std::string& id, bool stopped, Done done) {
  const Service* cur = ctx_.store.get(id);
  if (!cur || (cur->stopped && *cur->stopped == stopped)) {
    // Nothing new to write (or the service was removed meanwhile).
    done(true, {});
    return;
  }
  Service s = *cur;
  s.stopped = stopped;
  ctx_.store.put(s, std::move(done));
}

void Services::status_change(const std::string& id, Opcode op, Done done) {
  const Service* s = ctx_.store.get(id);
  if (!s) {
    done(true, {});
    return;
  }
  define(id, *s);
  switch (op) {
    case Opcode::start:
      say(id, "starting process");
      if (valid(*s)) ctx_.supervisor.start(id);
      return save_stopped(id, false, std::move(done));
    case Opcode::restart:
      say(id, "restarting process");
      if (valid(*s)) ctx_.supervisor.restart(id);
      return save_stopped(id, false, std::move(done));
    case Opcode::stop:
      say(id, "stopping process");
      // The reply waits until the process is gone (SIGKILL after the grace
      // period at the latest), then for the flag on disk.
      ctx_.supervisor.stop(id, [this, id, done = std::move(done)]() mutable {
        save_stopped(id, true, std::move(done));
      });
      return;
    default:
      done(false, "Command is not supported");
  }
}

void Services::boot() {
  std::vector<std::string> ids;
  for (const Service* s : ctx_.store.list()) ids.push_back(s->id);
  for (const auto& id : ids) {
    const Service* s = ctx_.store.get(id);
    if (!s) continue;
    if (s->stopped && *s->stopped) define(id, *s);
    else status_change(id, Opcode::start, [](bool, const std::string&) {});
  }
}

std::string Services::ps_json() const {
  std::string out;
  JsonWriter w(out);
  w.begin_array().begin_object();
  w.key("id").string(ctx_.id);
  w.key("list").begin_array();
  for (const ProcessView& v : ctx_.supervisor.list()) {
    // The reference's respawn toJSON (id, status, started, pid, command,
    // cwd, env) + {revision, deployed}; then ours.
    w.begin_object();
    w.key("id").string(v.id);
    w.key("status").string(to_string(v.status));
    if (v.started) w.key("started").string(iso_time(*v.started));
    if (v.pid > 0) w.key("pid").integer(v.pid);
    w.key("command").begin_array();
    for (const auto& a : v.spec->command) w.string(a);
    w.end_array();
    w.key("cwd").string(v.spec->cwd);
    w.key("env").begin_object();
    for (const auto& [k, val] : v.spec->env) w.key(k).string(val);
    w.end_object();
    if (v.revision) w.key("revision").string(*v.revision);
    if (v.deployed) w.key("deployed").string(*v.deployed);
    w.key("restarts").integer(v.restarts);
    if (!v.spec->error.empty()) w.key("error").string(v.spec->error);
    if (v.pid > 0) {
      if (auto p = sample_process(v.pid)) {
        w.key("rss").integer(static_cast<std::int64_t>(p->rss_bytes));
        w.key("cpu").number(static_cast<double>(static_cast<std::int64_t>(p->cpu_seconds * 100)) / 100);
      }
    }
    if (const OutputCounters* c = ctx_.outputs.counters(v.id)) {
      w.key("outputBytes").integer(static_cast<std::int64_t>(c->bytes_read));
      w.key("outputFrames").integer(static_cast<std::int64_t>(c->frames_sent));
      w.key("droppedBytes").integer(static_cast<std::int64_t>(c->dropped_bytes));
    }
    w.end_object();
  }
  w.end_array();
  // The dock's own counters. copiedBytes is the payload the dock had to
  // copy (0 while the output path is zero-copy).
  const OutputTotals t = ctx_.outputs.totals();
  w.key("stats").begin_object();
  w.key("outputBytes").integer(static_cast<std::int64_t>(t.bytes_read));
  w.key("framesSent").integer(static_cast<std::int64_t>(t.frames_sent));
  w.key("payloadBytesSent").integer(static_cast<std::int64_t>(t.payload_bytes_sent));
  w.key("droppedBytes").integer(static_cast<std::int64_t>(t.dropped_bytes));
  w.key("droppedFrames").integer(static_cast<std::int64_t>(t.dropped_frames));
  w.key("copiedBytes").integer(static_cast<std::int64_t>(t.copied_bytes));
  w.key("copiedFrames").integer(static_cast<std::int64_t>(t.copied_frames));
  w.key("children").integer(static_cast<std::int64_t>(ctx_.supervisor.live_children()));
  w.key("pipes").integer(t.open_pipes);
  if (auto me = sample_process(::getpid())) {
    w.key("rss").integer(static_cast<std::int64_t>(me->rss_bytes));
    w.key("cpu").number(static_cast<double>(static_cast<std::int64_t>(me->cpu_seconds * 100)) / 100);
  }
  w.end_object();
  w.end_object().end_array();
  return out;
}

}  // namespace hms::dock
