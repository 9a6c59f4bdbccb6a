// Deploys: routing, admission and the job threads (the work itself is in
// deploy_work.cpp).
#include "deploy.hpp"

#include <cstdio>
#include <ctime>
#include <vector>

#include "hms/http_body.hpp"
#include "deploy_work.hpp"
#include "hms/log.hpp"

namespace hms::hub {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// decodeURIComponent: %XX escapes; false on a malformed one.
bool percent_decode(std::string_view in, std::string* out, bool plus_is_space) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+' && plus_is_space) {
      *out += ' ';
    } else if (c != '%') {
      *out += c;
    } else {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      *out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return true;
}

// A connection answered at once: everything it still sends is ignored.
struct Ignore final : ConnectionHandler {
  void on_frame(Connection&, const FrameView&, const BufRef&) override {}
  void on_close(Connection&, const CloseInfo&) override {}
};
Ignore ignore_rest;

bool storable_id(std::string_view id) {
  if (id.empty() || id.size() > 256) return false;
  for (const char ch : id) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

void answer_now(Connection& c, int status, std::string_view text) {
  c.set_handler(&ignore_rest);
  const std::string out = plain_response(status, text);
  c.send_copy(out.data(), out.size());
  c.close();
}

}  // namespace

std::optional<std::string> deploy_target_id(std::string_view target, bool* malformed) {
  *malformed = false;
  const std::string_view path = target.substr(0, target.find('?'));
  std::string decoded;
  if (!percent_decode(path, &decoded, false)) {
    *malformed = true;
    return std::nullopt;
  }
  // ^/([^/]+)/?$
  if (decoded.size() < 2 || decoded[0] != '/') return std::nullopt;
  std::string id = decoded.substr(1);
  if (id.back() == '/') id.pop_back();
  if (id.empty() || id.find('/') != std::string::npos) return std::nullopt;
  return id;
}

std::optional<std::string> query_revision(std::string_view target) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    std::string key;
    if (!percent_decode(pair.substr(0, eq), &key, true) || key != "revision") continue;
    std::string value;
    if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), &value, true)) continue;
    return value;
  }
  return std::nullopt;
}

std::string iso_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the fields could hold (-Wformat-truncation)
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

// ---------------------------------------------------------------- admission

Deploys::Deploys(DeployOptions opts, DeployHost host) : opts_(std::move(opts)), host_(std::move(host)) {}

Deploys::~Deploys() { stop(); }

void Deploys::reap() {
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->finished.load()) {
      if (it->thread.joinable()) it->thread.join();
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t Deploys::active() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const Running& r : running_) n += r.finished.load() ? 0 : 1;
  return n;
}

void Deploys::stop() {
  std::list<Running> all;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (Running& r : running_) {
      r.job->cancel();
      r.build->kill();
    }
    all.splice(all.end(), running_);
  }
  for (Running& r : all)
    if (r.thread.joinable()) r.thread.join();
}

bool Deploys::take(Connection& c, const HttpRequest& req, HttpJob::Post post) {
  const RequestHead& h = req.head;
  const bool put = h.method == HttpMethod::put;
  const bool head_only = h.method_text == "HEAD";
  if (!put && h.method != HttpMethod::get && !head_only) return false;
  bool malformed = false;
  const std::optional<std::string> id = deploy_target_id(h.target, &malformed);
  if (!id && !malformed) return false;  // "/", "/a/b": not a service
  if (!put && id && *id == "metrics") return false;  // the hub's own page wins
  host_.release(c);
  if (malformed) {
    answer_now(c, 400, "url is malformed");
    return true;
  }
  // Only a name the registry could hold (^[a-zA-Z0-9.-]+$, as add checks)
  // names a folder: never a NUL, a slash or anything a path would bend.
  if (!storable_id(*id)) {
    answer_now(c, 404, "Service not found");
    return true;
  }
  // A body is read by Content-Length or chunked; anything else (another
  // coding, or both framings: request smuggling) is refused.
  const bool chunked = is_chunked(h.transfer_encoding);
  if ((!h.transfer_encoding.empty() && !chunked) || (chunked && h.has_content_length)) {
    answer_now(c, 400, "Unsupported request framing (Transfer-Encoding)");
    return true;
  }
  {
    std::lock_guard lock(mu_);
    reap();
    if (stopping_ || running_.size() >= opts_.max_jobs) {  // reaped: all still running
      counters_.refused_busy.fetch_add(1, std::memory_order_relaxed);
      answer_now(c, 503, "Too many deploys and tarball downloads at once; try again shortly");
      return true;
    }
  }
  auto job = std::make_shared<HttpJob>(std::move(post), c);
  c.set_handler(new BodyReader(job, chunked, put ? h.content_length : 0));
  if (put && expects_continue(h.expect)) c.send_copy(kContinueResponse.data(), kContinueResponse.size());
  if (put) {
    start_job(std::move(job), [this, id = *id, revision = query_revision(h.target)](Running& r) {
      DeployWork(*this, r).deploy(id, revision);
    });
  } else {
    start_job(std::move(job), [this, id = *id, head_only](Running& r) { DeployWork(*this, r).tarball(id, head_only); });
  }
  return true;
}

void Deploys::start_job(std::shared_ptr<HttpJob> job, std::function<void(Running&)> work) {
  std::lock_guard lock(mu_);
  Running& r = running_.emplace_back();
  r.job = std::move(job);
  r.thread = std::thread([&r, work = std::move(work)] {
    work(r);
    r.finished.store(true);
  });
}

}  // namespace hms::hub
