// PUT /<id>?revision=<rev>: the chunked upload, the progress line and the
// build's streamed answer (the reference's commands/deploy.js and
// lib/client.js deploy()).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "deploy_steps.hpp"
#include "http_client.hpp"
#include "progress.hpp"
#include "text.hpp"

namespace hms::cli {

using namespace std::chrono_literals;

namespace {

constexpr std::size_t kChunk = 64 << 10;  // what Node's file stream reads

// /\033\[[0-9;]*m/g removed, then trimmed: is anything left?
bool blank_line(std::string_view s) {
  std::string plain;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      std::size_t j = i + 2;
      while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';')) ++j;
      if (j < s.size() && s[j] == 'm') {
        i = j + 1;
        continue;
      }
    }
    plain += s[i++];
  }
  return js_trim(plain).empty();
}

}  // namespace

void BuildOutput::line(std::string_view raw) {
  std::string fixed;
  const std::string_view text = utf8_repair(raw, &fixed) ? std::string_view(fixed) : raw;
  const bool empty = blank_line(text);
  if (first_ && empty) return;
  if (first_) term_.line("");
  first_ = false;
  // The reference's folding: the first blank line of a run is dropped, the
  // next one printed, and so on.
  if (empty && !was_empty_) {
    was_empty_ = true;
    return;
  }
  was_empty_ = false;
  term_.line(term_.indent_mark() + " " + std::string(text));
}

void BuildOutput::feed(std::string_view bytes) {
  constexpr std::size_t kMaxLine = 1 << 20;  // a line without end is cut here
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(bytes);
      if (partial_.size() >= kMaxLine) {
        line(partial_);
        partial_.clear();
      }
      return;
    }
    partial_.append(bytes.substr(0, nl));
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    line(partial_);
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
}

void BuildOutput::end() {
  // split emits what is left, even "".
  line(partial_);
  partial_.clear();
  if (!first_) term_.line("");
}

UploadResult upload_build(Term& term, const HttpRoute& route, const std::string& id,
                          const std::optional<std::string>& rev, const std::string& tgz, const Timeouts& t) {
  UploadResult result;
  struct stat st;
  const std::uint64_t total = ::stat(tgz.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  UploadProgress progress(term, id, total);
  bool uploaded = false;
  // An error before the upload finished reads as the reference's upload
  // error (with its trailing space); after, as its ui.error.
  const auto fail = [&](const std::string& msg) {
    if (uploaded) {
      term.fail(msg);
    } else {
      const std::string text = term.error_mark() + " Uploading " + id + " (" + msg + ") ";
      if (term.tty()) term.live(text);
      else term.line(text);
    }
    return result;
  };

  auto http = HttpClient::connect(route, after(t.connect));
  if (!http) return fail(http.error());
  HttpClient& c = http.value();
  const int fd = ::open(tgz.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(fs_error(errno, "open", tgz));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  std::string target = std::string("/") + uri_encode(id) + "?revision=" + (rev ? uri_encode(*rev) : std::string());
  std::string head = "PUT " + target + " HTTP/1.1\r\nHost: " + route.host_header +
                     "\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string send_error;
  if (auto w = c.send(head); !w) send_error = w.error();
  std::vector<char> buf(kChunk);
  std::uint64_t sent = 0;
  bool early = false;
  while (send_error.empty()) {
    // A server that answers before taking the whole body (a dock's
    // "Cannot deploy to a dock") is heard, not written over.
    if (c.answered()) {
      early = true;
      break;
    }
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(fs_error(errno, "read", tgz));
    if (n == 0) break;
    if (auto w = c.send_chunk(buf.data(), static_cast<std::size_t>(n)); !w) {
      send_error = w.error();
      break;
    }
    sent += static_cast<std::uint64_t>(n);
    progress.update(sent);
  }
  if (send_error.empty() && !early) {
    if (auto w = c.send_last_chunk(); !w) send_error = w.error();
  }
  if (send_error.empty() && !early) {
    progress.finish();
    uploaded = true;
  }
  // A failed write may still have an answer behind it (the server closed
  // after answering); without one, the write error is the story.
  if (!send_error.empty() && !c.answered()) return fail(send_error);

  auto resp = c.read_head(t.transfer_idle);
  if (!resp) return fail(resp.error());
  const int status = resp->status;
  if (status == 204) {
    result.kind = UploadResult::Kind::built;
    return result;
  }
  if (status != 200) {
    auto text = c.read_text(resp.value(), t.transfer_idle, 64 << 10);
    std::string msg = text ? text.value() : text.error();
    if (msg.empty()) msg = status == 500 ? "Build failed" : "Request failed with status " + std::to_string(status);
    return fail(msg);
  }
  BuildOutput out(term);
  auto trailers = c.read_body(resp.value(), t.transfer_idle, [&](std::string_view piece) {
    out.feed(piece);
    return true;
  });
  out.end();
  if (!trailers) return fail(trailers.error());
  int x_status = 200;
  for (const auto& [k, v] : trailers.value())
    if (k == "x-status") x_status = std::atoi(v.c_str());
  if (x_status != 200) {
    term.fail("Build failed");
    return result;
  }
  result.kind = UploadResult::Kind::built;
  return result;
}

}  // namespace hms::cli
