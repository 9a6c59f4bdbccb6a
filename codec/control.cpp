// codec/control.cpp: the parse_* and parse_*_copy entry points of
// hms/control.hpp: the size limit, one Reader pass over the root, the
// second pass on the wrong_type path, and the padded copy. What each kind
// of object holds is in control_messages.cpp; the walking in
// json_reader.cpp (codec/json_reader.hpp shows how the pieces fit).
#include <algorithm>
#include <cstring>
#include <new>

#include "json_reader.hpp"

namespace hms {

namespace {

using detail::Reader;
namespace od = detail::od;

// simdjson keeps its buffers at the size of the largest document it has
// seen (about 5 bytes per byte of text): one 15 MiB ps answer would pin
// some 75 MiB for the thread's life. Past 1 MiB they go back to the size a
// new parser starts with; the results hold no pointer into them.
constexpr std::size_t kKeptCapacity = std::size_t{1} << 20;

void shrink_if_big(JsonParser& jp) noexcept {
  auto& impl = JsonParserAccess::impl(jp);
  if (impl.parser.capacity() > kKeptCapacity) {
    // A failure leaves the parser empty; its next iterate allocates again.
    if (impl.parser.allocate(4096, impl.parser.max_depth()) != simdjson::SUCCESS) return;
  }
  if (impl.scratch_size > kKeptCapacity) {
    impl.scratch.reset();
    impl.scratch_size = 0;
  }
}

// The frame of every parse_*: size limit, iterate, the body, the result.
// `body` reads the root and returns false on error (recorded in the Reader).
template <class T, class Body>
Parsed<T> run(JsonParser& jp, PaddedText text, Body body) noexcept {
  Parsed<T> r;
  if (text.size > jp.limits().max_size) {
    r.error = JsonError::too_large;  // before touching a byte (DoS guard)
    return r;
  }
  try {
    auto& parser = JsonParserAccess::impl(jp).parser;
    Reader reader(parser, text, jp.limits().max_depth);
    T value{};
    if (reader.start() && body(reader, value)) {
      r.value.emplace(std::move(value));
    } else {
      r.error = reader.error();
      r.error_offset = reader.offset();
    }
    if (r.error == JsonError::wrong_type) {
      // A second pass, on the error path only: if the text is not JSON at
      // all, that is the error to report.
      Reader check(parser, text, jp.limits().max_depth);
      if (!(check.start() && check.validate_document())) {
        r.error = check.error();
        r.error_offset = check.offset();
      }
    }
  } catch (const std::bad_alloc&) {
    // Our strings could not grow: the document is too large for this host.
    r.value.reset();
    r.error = JsonError::too_large;
    r.error_offset = 0;
  }
  shrink_if_big(jp);
  return r;
}

// The *_copy functions: into the scratch buffer with zeroed padding (the
// content of the padding does not matter to simdjson, but zeroes keep
// uninitialised-read checkers quiet), then the in-place parse.
template <class T, class Fn>
Parsed<T> run_copy(JsonParser& jp, std::string_view text, Fn in_place) noexcept {
  Parsed<T> too_large;
  too_large.error = JsonError::too_large;
  if (text.size() > jp.limits().max_size) return too_large;
  auto& impl = JsonParserAccess::impl(jp);
  const std::size_t need = text.size() + kJsonPadding;
  if (impl.scratch_size < need) {
    const std::size_t grow = std::max(need, impl.scratch_size * 2);
    char* block = new (std::nothrow) char[grow];
    if (block == nullptr) return too_large;
    impl.scratch.reset(block);
    impl.scratch_size = grow;
  }
  if (!text.empty()) std::memcpy(impl.scratch.get(), text.data(), text.size());
  std::memset(impl.scratch.get() + text.size(), 0, kJsonPadding);
  return in_place(jp, PaddedText{impl.scratch.get(), text.size()});
}

// A root object of one kind.
template <class T>
bool root_object(Reader& r, T& out,
                 bool (*read)(Reader&, od::object&, T&, std::size_t depth)) {
  od::object obj;
  return r.root_object(obj) && read(r, obj, out, 1) && r.finish();
}

// A root array whose every element is an object of one kind.
template <class T>
bool root_array_of(Reader& r, std::vector<T>& list,
                   bool (*read)(Reader&, od::object&, T&, std::size_t depth)) {
  od::array arr;
  if (!r.root_array(arr)) return false;
  const bool walked = r.elements(arr, [&](od::value& v) {
    od::object obj;
    return r.element_object(v, obj, 2) && read(r, obj, list.emplace_back(), 2);
  });
  return walked && r.finish();
}

}  // namespace

// ---- parse, in place

Parsed<Handshake> parse_handshake(JsonParser& parser, PaddedText text) {
  return run<Handshake>(parser, text, [](Reader& r, Handshake& h) {
    return root_object(r, h, detail::read_handshake);
  });
}

Parsed<Service> parse_service(JsonParser& parser, PaddedText text) {
  return run<Service>(parser, text, [](Reader& r, Service& s) {
    return root_object(r, s, detail::read_service);
  });
}

Parsed<std::optional<Service>> parse_service_or_null(JsonParser& parser, PaddedText text) {
  return run<std::optional<Service>>(parser, text, [](Reader& r, std::optional<Service>& s) {
    od::json_type t{};
    if (!r.root_type(t)) return false;
    if (t == od::json_type::null) return r.root_null();
    return root_object(r, s.emplace(), detail::read_service);
  });
}

Parsed<std::vector<Service>> parse_service_list(JsonParser& parser, PaddedText text) {
  return run<std::vector<Service>>(parser, text, [](Reader& r, std::vector<Service>& list) {
    return root_array_of(r, list, detail::read_service);
  });
}

Parsed<std::vector<DockProcesses>> parse_ps(JsonParser& parser, PaddedText text) {
  return run<std::vector<DockProcesses>>(
      parser, text, [](Reader& r, std::vector<DockProcesses>& docks) {
        return root_array_of(r, docks, detail::read_dock_processes);
      });
}

Parsed<std::string> parse_scalar_raw(JsonParser& parser, PaddedText text) {
  return run<std::string>(parser, text,
                          [](Reader& r, std::string& out) { return r.root_scalar(out); });
}

// ---- parse, copying

Parsed<Handshake> parse_handshake_copy(JsonParser& parser, std::string_view text) {
  return run_copy<Handshake>(parser, text, parse_handshake);
}
Parsed<Service> parse_service_copy(JsonParser& parser, std::string_view text) {
  return run_copy<Service>(parser, text, parse_service);
}
Parsed<std::optional<Service>> parse_service_or_null_copy(JsonParser& parser,
                                                          std::string_view text) {
  return run_copy<std::optional<Service>>(parser, text, parse_service_or_null);
}
Parsed<std::vector<Service>> parse_service_list_copy(JsonParser& parser, std::string_view text) {
  return run_copy<std::vector<Service>>(parser, text, parse_service_list);
}
Parsed<std::vector<DockProcesses>> parse_ps_copy(JsonParser& parser, std::string_view text) {
  return run_copy<std::vector<DockProcesses>>(parser, text, parse_ps);
}
Parsed<std::string> parse_scalar_raw_copy(JsonParser& parser, std::string_view text) {
  return run_copy<std::string>(parser, text, parse_scalar_raw);
}

}  // namespace hms
