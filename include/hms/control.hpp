// hms/control.hpp: the JSON control messages (handshake, service, service
// lists, ps replies), parsed in place with simdjson On-Demand, and a small
// escaping JSON writer for the other direction.
//
// ### Buffer contract (padding)
// simdjson reads up to SIMDJSON_PADDING (64) bytes past the end of the JSON
// text. A PaddedText promises that those bytes are readable memory (their
// content does not matter): the engine's receive buffers and assembly blocks
// are allocated with kJsonPadding spare bytes, so JSON is parsed where it
// arrived, with no copy. Text without that promise goes through
// parse_*_copy(), which copies into a padded string first.
//
// Parsed structs own their strings (std::string): they outlive the buffer.
// Parsing never throws; a bad document is a JsonError value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace simdjson::ondemand { class parser; }

namespace hms {

inline constexpr std::size_t kJsonPadding = 64;  // == SIMDJSON_PADDING

// JSON text followed by at least kJsonPadding readable bytes.
struct PaddedText {
  const char* data = nullptr;
  std::size_t size = 0;
};

enum class JsonError : std::uint8_t {
  none = 0,
  invalid_json,   // not well-formed JSON (simdjson rejected it)
  wrong_type,     // well-formed but a field or the root has the wrong type
  too_deep,       // nesting beyond the parser's limit
  too_large,      // document beyond the parser's capacity
};
const char* to_string(JsonError e) noexcept;

// An object member we do not model, kept verbatim so it round-trips:
// `key` is the raw (still escaped) key text without quotes, `value` the raw
// JSON text of the value (minified whitespace is not guaranteed).
struct RawMember {
  std::string key;
  std::string value;
  bool operator==(const RawMember&) const = default;
};

// handshake: {"type":"dock"|"client", "protocol":1, "id", "hostname",
// "tags":[..], "default":bool, "version", "route", "token", ...}
struct Handshake {
  std::optional<double> protocol;  // absent or not a number: no value
  std::string type;
  std::string id;
  std::string hostname;
  std::vector<std::string> tags;
  bool is_default = false;
  std::string version;
  std::optional<std::string> route;  // clients: dock id or tag
  std::optional<std::string> token;  // hub access token (ours, optional)
  std::vector<RawMember> extra;
};

// A service. Every field but id is optional; unknown members are kept.
struct Service {
  std::string id;
  std::optional<std::string> start;
  std::optional<std::string> build;
  std::optional<std::vector<std::string>> docks;  // a string is taken as [s]
  std::optional<std::vector<std::string>> tags;
  std::optional<double> limit;                    // only a JSON number
  std::optional<std::string> limit_raw;           // non-number limit, verbatim
  std::optional<std::vector<std::pair<std::string, std::string>>> env;
  std::optional<std::string> revision;
  std::optional<std::string> deployed;
  std::optional<std::string> cwd;
  std::optional<bool> stopped;
  std::vector<RawMember> extra;
};

// One dock in a ps reply: {id, hostname, tags, list:[process...]}; the
// processes are kept as raw JSON (the hub only concatenates them).
struct DockProcesses {
  std::string id;
  std::string hostname;
  std::vector<std::string> tags;
  std::vector<std::string> list;  // raw JSON of each process object
  std::vector<RawMember> extra;
};

template <class T>
struct Parsed {
  std::optional<T> value;
  JsonError error = JsonError::none;
  std::size_t error_offset = 0;  // best effort byte offset, 0 if unknown
  explicit operator bool() const noexcept { return value.has_value(); }
};

// Parse in place. `parser` is the calling thread's simdjson parser (one per
// thread; never shared).
Parsed<Handshake> parse_handshake(simdjson::ondemand::parser& parser, PaddedText text);
Parsed<Service> parse_service(simdjson::ondemand::parser& parser, PaddedText text);
// sync's payload may be the text `null`: value holds an empty optional then.
Parsed<std::optional<Service>> parse_service_or_null(simdjson::ondemand::parser& parser,
                                                     PaddedText text);
Parsed<std::vector<Service>> parse_service_list(simdjson::ondemand::parser& parser,
                                                PaddedText text);
Parsed<std::vector<DockProcesses>> parse_ps(simdjson::ondemand::parser& parser,
                                            PaddedText text);
// A JSON number (spawn pid) or a number or string (exit code / signal).
Parsed<std::string> parse_scalar_raw(simdjson::ondemand::parser& parser, PaddedText text);

// ---- Writer: appends JSON to a std::string with correct escaping
// (quotes, backslash, control characters as \u00XX; utf-8 passes through).
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);          // escapes k
  JsonWriter& raw_key(std::string_view escaped);  // k already escaped
  JsonWriter& string(std::string_view s);
  JsonWriter& number(double v);                 // integers print without ".0"
  JsonWriter& integer(std::int64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  JsonWriter& raw(std::string_view json);       // a complete JSON value
 private:
  void comma();
  std::string& out_;
  std::vector<bool> first_;  // per open container: no member written yet
  bool after_key_ = false;
};

void append_escaped(std::string& out, std::string_view s);  // with quotes

// Serializers, in the member order the reference writes (JS insertion
// order: the order fields were first set). Unknown members follow.
std::string to_json(const Handshake& h);
std::string to_json(const Service& s);
std::string to_json(const std::vector<Service>& list);

}  // namespace hms
