#include "log_format.hpp"

#include <algorithm>

#include "jsvalue.hpp"
#include "text.hpp"

namespace hms::cli {

void OutBuf::grow(std::size_t n) {
  const std::size_t cap = std::max({cap_ * 2, size_ + n, std::size_t{64} << 10});
  char* d = new char[cap];
  if (size_) std::memcpy(d, data_, size_);
  delete[] data_;
  data_ = d;
  cap_ = cap;
}

const std::string& LogFormatter::prefix(std::string_view id, std::string_view service, std::string_view origin) {
  Prefix* e = nullptr;
  if (last_ && id == last_id_ && service.size() == last_->service.size()) {
    e = last_;
  } else {
    auto it = cache_.find(id);
    if (it == cache_.end() || it->second.service != service) {
      // Keyed by the whole id; the split is part of the entry (a payload of
      // another split of the same bytes cannot happen: the split is fixed).
      Prefix p;
      p.service.assign(service);
      p.origin.assign(origin);
      p.service_len = js_length(service);
      p.origin_len = js_length(origin);
      if (cache_.size() > 4096) cache_.clear(), last_ = nullptr;  // bound it: ids are peer-chosen
      it = cache_.insert_or_assign(std::string(id), std::move(p)).first;
    }
    e = &it->second;
    last_ = e;
    last_id_.assign(id);
  }
  // The padders run for every line: a longer value widens its column.
  if (style_.show_id && e->service_len >= id_w_) id_w_ = e->service_len + 1;
  if (style_.show_origin && e->origin_len >= origin_w_) origin_w_ = e->origin_len + 1;
  if (e->text.empty() || e->id_w != id_w_ || e->origin_w != origin_w_) {
    std::string t;
    if (style_.show_id) {
      std::string col = e->service + std::string(id_w_ - e->service_len, ' ');
      if (style_.color) t += "\x1b[33m" + col + "\x1b[39m";
      else t += col;
    }
    if (style_.show_origin) {
      std::string col = e->origin + std::string(origin_w_ - e->origin_len, ' ');
      if (style_.color) t += "\x1b[90m" + col + "\x1b[39m";
      else t += col;
    }
    e->text = std::move(t);
    e->id_w = id_w_;
    e->origin_w = origin_w_;
  }
  return e->text;
}

void LogFormatter::lines(const std::string& pre, std::string_view text, OutBuf& out) {
  text = js_trim(text);
  for (;;) {
    const void* nl = std::memchr(text.data(), '\n', text.size());
    const std::size_t n = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - text.data()) : text.size();
    out.append(pre.data(), pre.size());
    out.append(text.data(), n);
    out.push('\n');
    if (!nl) return;
    text.remove_prefix(n + 1);
  }
}

void LogFormatter::output(std::string_view id, std::string_view service, std::string_view origin,
                          std::string_view data, OutBuf& out) {
  const std::string& pre = prefix(id, service, origin);
  if (utf8_repair(data, &scratch_)) {
    lines(pre, scratch_, out);
  } else {
    lines(pre, data, out);
  }
}

void LogFormatter::event(std::string_view id, std::string_view service, std::string_view origin,
                         std::string_view what, std::string_view payload, OutBuf& out) {
  if (!style_.show_events) return;
  const std::string& pre = prefix(id, service, origin);
  std::string text(what);
  text += js_text_of_json(payload);
  std::string line;
  if (style_.color) line = "\x1b[36m" + text + "\x1b[39m";
  else line = std::move(text);
  std::string fixed;
  lines(pre, utf8_repair(line, &fixed) ? fixed : line, out);
}

void LogFormatter::spawn(std::string_view id, std::string_view service, std::string_view origin,
                         std::string_view payload, OutBuf& out) {
  event(id, service, origin, "Process spawned with pid ", payload, out);
}

void LogFormatter::exit(std::string_view id, std::string_view service, std::string_view origin,
                        std::string_view payload, OutBuf& out) {
  event(id, service, origin, "Process exited with code ", payload, out);
}

std::string js_text_of_json(std::string_view payload) {
  JsParse p = parse_json(payload);
  if (!p.ok()) return std::string(payload);
  return p.value.to_js_string();
}

}  // namespace hms::cli
