// libFuzzer entry point for parse_request_head() and parse_response_head().
//
// Each input is parsed whole and at prefixes of itself, under the default
// limit and a small one, and the contract in hms/http.hpp is checked; any
// violation traps, so both libFuzzer and the corpus replay in ctest report it.
// Invariants:
//   - exactly one outcome; complete: 0 < size <= min(len, max_size);
//     error: a named error and error_offset < len; need_more: len <= max_size;
//   - every view lies inside the head [data, data + size);
//   - find_header() finds each returned field as the same view, in any case;
//   - *out is written only when complete;
//   - complete and error are final: a longer prefix gives the same result
//     (size, or error and offset);
//   - a complete head at the full input means every shorter prefix was
//     need_more, never an error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hms/http.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool inside(std::string_view v, const std::uint8_t* data, std::size_t size) {
  if (v.data() == nullptr) return v.empty();
  const auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
  return p >= data && p + v.size() <= data + size;
}

// A field the parser returns (at most once in a head) is what find_header()
// finds under that name, in any case: the very same view.
void check_lookups(const std::uint8_t* d, std::size_t size, std::string_view field,
                   std::string_view lower_name) {
  const char* head = reinterpret_cast<const char*>(d);
  const std::string_view found = hms::find_header(head, size, lower_name);
  check(found.data() == field.data() && found.size() == field.size());
  char upper[32];
  check(lower_name.size() <= sizeof upper);
  for (std::size_t i = 0; i < lower_name.size(); ++i) {
    const char c = lower_name[i];
    upper[i] = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  }
  const std::string_view again = hms::find_header(head, size, {upper, lower_name.size()});
  check(again.data() == field.data() && again.size() == field.size());
  // Any other name's value lies inside the head.
  check(inside(hms::find_header(head, size, "x-status"), d, size));
}

// A sentinel that a real parse can never produce: shows *out was untouched.
constexpr int kUntouchedStatus = -12345;

struct Request {
  static hms::HttpResult run(const std::uint8_t* d, std::size_t n, std::size_t max) {
    hms::RequestHead h;
    h.content_length = 12345;
    h.target = std::string_view("sentinel");
    const hms::HttpResult r = hms::parse_request_head(d, n, &h, max);
    if (r.status == hms::HttpStatus::complete) {
      for (auto v : {h.method_text, h.target, h.origin, h.host, h.upgrade, h.expect,
                     h.transfer_encoding}) {
        check(inside(v, d, r.size));
      }
      check(!h.method_text.empty() && !h.target.empty());
      check(h.minor_version <= 9);
      check(h.has_content_length || h.content_length == 0);
      check_lookups(d, r.size, h.host, "host");
      check_lookups(d, r.size, h.expect, "expect");
      check_lookups(d, r.size, h.transfer_encoding, "transfer-encoding");
      check(h.has_content_length ==
            (hms::find_header(reinterpret_cast<const char*>(d), r.size, "Content-Length").data() !=
             nullptr));
    } else {
      check(h.content_length == 12345 && h.target == "sentinel");
    }
    return r;
  }
};

struct Response {
  static hms::HttpResult run(const std::uint8_t* d, std::size_t n, std::size_t max) {
    hms::ResponseHead h;
    h.status = kUntouchedStatus;
    const hms::HttpResult r = hms::parse_response_head(d, n, &h, max);
    if (r.status == hms::HttpStatus::complete) {
      check(h.status >= 100 && h.status <= 999);
      check(inside(h.reason, d, r.size));
      check(inside(h.transfer_encoding, d, r.size));
      check(h.minor_version <= 9);
      check(h.has_content_length || h.content_length == 0);
      check_lookups(d, r.size, h.transfer_encoding, "transfer-encoding");
      check(h.has_content_length ==
            (hms::find_header(reinterpret_cast<const char*>(d), r.size, "content-length").data() !=
             nullptr));
    } else {
      check(h.status == kUntouchedStatus);
    }
    return r;
  }
};

void check_one(const hms::HttpResult& r, std::size_t len, std::size_t max) {
  switch (r.status) {
    case hms::HttpStatus::complete:
      check(r.size > 0 && r.size <= len && r.size <= max);
      check(r.error == hms::HttpError::none);
      break;
    case hms::HttpStatus::need_more:
      check(len <= max && r.size == 0 && r.error == hms::HttpError::none);
      break;
    case hms::HttpStatus::error:
      check(r.error != hms::HttpError::none && r.error_offset < len && r.size == 0);
      check(std::string_view(hms::to_string(r.error)) != "unknown");
      if (r.error == hms::HttpError::head_too_large) check(r.error_offset == max);
      break;
    default:
      check(false);
  }
}

bool same(const hms::HttpResult& a, const hms::HttpResult& b) {
  return a.status == b.status && a.size == b.size && a.error == b.error &&
         a.error_offset == b.error_offset;
}

template <class P>
void scan(const std::uint8_t* data, std::size_t size, std::size_t max) {
  const hms::HttpResult whole = P::run(data, size, max);
  check_one(whole, size, max);

  // Every prefix for short inputs; for long ones a stride plus the bytes
  // around the interesting boundaries, so one input stays fast.
  const std::size_t step = size <= 1024 ? 1 : size / 512;
  bool final_seen = false;
  hms::HttpResult first_final;
  auto at = [&](std::size_t k) {
    const hms::HttpResult r = P::run(data, k, max);
    check_one(r, k, max);
    if (final_seen) {
      check(same(r, first_final));
    } else if (r.status != hms::HttpStatus::need_more) {
      final_seen = true;
      first_final = r;
      check(same(r, whole));  // final at k means final, the same, at size
    }
    if (whole.status == hms::HttpStatus::complete && k < whole.size) {
      check(r.status == hms::HttpStatus::need_more);
    }
  };
  for (std::size_t k = 0; k < size; k += step) at(k);
  // Boundaries: the limit and the head's end, if the whole input passes them.
  const std::size_t marks[] = {max, max + 1,
                               whole.status == hms::HttpStatus::complete ? whole.size - 1 : 0,
                               whole.size, whole.error_offset, whole.error_offset + 1};
  for (std::size_t k : marks) {
    if (k <= size) {
      const hms::HttpResult r = P::run(data, k, max);
      check_one(r, k, max);
      if (whole.status != hms::HttpStatus::need_more && r.status != hms::HttpStatus::need_more) {
        check(same(r, whole));
      }
    }
  }
  at(size);
  check(final_seen == (whole.status != hms::HttpStatus::need_more));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The default limit, and a small one so head_too_large is reached often.
  for (std::size_t max : {hms::kMaxHeadSize, std::size_t{64}}) {
    scan<Request>(data, size, max);
    scan<Response>(data, size, max);
  }
  // A head complete under the small limit is complete, the same, under the
  // large one: the limit only decides when to give up.
  const hms::HttpResult small = Request::run(data, size, 64);
  if (small.status == hms::HttpStatus::complete) {
    check(same(Request::run(data, size, hms::kMaxHeadSize), small));
  }
  return 0;
}
